//! `porthole accounts …`: the same accounts file and keychain entries as the app. Keys are read
//! from a hidden prompt, or from stdin when it is not a terminal; never from an argument. A
//! pairing string may be an argument: its token works once, then is worth nothing.

use std::io::{BufRead, IsTerminal};

use porthole_core::accounts::{AccountView, KeyState};
use porthole_core::Error;
use porthole_local::pairing::Pairing;
use porthole_secrets::Sensitive;
use serde_json::json;

use crate::args::AccountsCommand;
use crate::output::{print, print_json};
use crate::table;
use crate::target::accounts;

pub async fn run(command: AccountsCommand, json: bool) -> Result<(), Error> {
    let accounts = accounts()?;
    match command {
        AccountsCommand::List => {
            let views = accounts.list()?;
            if json {
                return print_json(&views);
            }
            print(&accounts_table(&views))
        }
        AccountsCommand::Add {
            name,
            provider,
            url,
            fields,
            pair: None,
        } => {
            let kind = provider.ok_or_else(|| {
                Error::invalid_input("Say which API the account speaks: --provider NAME.")
            })?;
            let descriptor = kind.descriptor();
            let url = match (url, descriptor.default_base_url) {
                (Some(u), _) => u,
                (None, Some(default)) => default.to_owned(),
                (None, None) => {
                    return Err(Error::invalid_input(format!(
                        "A {} account needs its address: --url {}",
                        descriptor.label,
                        descriptor.example_base_url.unwrap_or("https://HOST/api")
                    )))
                }
            };
            // The accounts file and the name first: no key asked for, and no server contacted,
            // for an account that could not be saved.
            accounts.store().check_new(&name, &url)?;
            let fields = fields.into_iter().collect();
            descriptor.check_account_fields(&fields)?;
            let key = read_key(&format!("API key for {name}: "))?;
            eprintln!("Checking the key with {}…", kind.label());
            let account = accounts.add(&name, kind, &url, fields, key).await?;
            added(&accounts, &account, json).await
        }
        AccountsCommand::Add {
            name,
            pair: Some(text),
            ..
        } => {
            let text = match text.trim() {
                "" => read_key(&format!(
                    "Pairing string for {name} ({}): ",
                    porthole_local::pairing::WHERE_FROM
                ))?,
                given => Sensitive::new(given.to_owned()),
            };
            let pairing = Pairing::parse(text.expose())?;
            eprintln!(
                "Pairing with {} (certificate {}…)…",
                pairing.base_url,
                pairing.fingerprint.short()
            );
            let account = accounts.pair(&name, &pairing).await?;
            added(&accounts, &account, json).await
        }
        AccountsCommand::SetKey { name } => {
            let key = read_key(&format!("New API key for {name}: "))?;
            let account = accounts.set_key(&name, key).await?;
            done(
                json,
                &account.id,
                "key_set",
                &format!("The key of {} works and is saved.\n", account.name),
            )
        }
        AccountsCommand::Test { name } => {
            let account = accounts.test(&name).await?;
            done(
                json,
                &account.id,
                "key_works",
                &format!("The key of {} works.\n", account.name),
            )
        }
        AccountsCommand::Use { name } => {
            let account = accounts.store().set_default(&name)?;
            done(
                json,
                &account.id,
                "default",
                &format!("{} is now the default account.\n", account.name),
            )
        }
        AccountsCommand::Remove { name } => {
            let account = accounts.remove(&name)?;
            done(
                json,
                &account.id,
                "removed",
                &format!("Removed {} and deleted its key.\n", account.name),
            )
        }
    }
}

fn done(json: bool, id: &str, what: &str, text: &str) -> Result<(), Error> {
    if json {
        print_json(&json!({ "id": id, what: true }))
    } else {
        print(text)
    }
}

/// A hidden prompt on a terminal; otherwise the first line of stdin (scripts, pipes).
/// Says what was added, with what the provider tells about the account (a read-only key, a QPU
/// budget).
async fn added(
    accounts: &porthole_providers::accounts::Accounts,
    account: &porthole_core::model::Account,
    json: bool,
) -> Result<(), Error> {
    let details = match accounts
        .provider(account)
        .map(|p| async move { p.account_details().await })
    {
        Ok(asked) => asked.await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    if json {
        let mut shown = serde_json::to_value(account)
            .map_err(|e| Error::new(porthole_core::ErrorCode::Internal, e.to_string()))?;
        shown["details"] = serde_json::to_value(&details).unwrap_or_default();
        return print_json(&shown);
    }
    let mut said = format!(
        "Added {} ({}); its key is in the OS keychain.\n",
        account.name, account.id
    );
    for d in &details {
        said.push_str(&format!(
            "{}: {}\n",
            d.label,
            d.value.as_deref().unwrap_or("")
        ));
    }
    print(&said)
}

fn read_key(prompt: &str) -> Result<Sensitive<String>, Error> {
    let key = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
            .map_err(|e| Error::io("cannot read the key from the terminal", &e))?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::io("cannot read the key from stdin", &e))?;
        line
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(Error::invalid_input(
            "No key was given (type it at the prompt, or pipe it on stdin).",
        ));
    }
    Ok(Sensitive::new(key))
}

pub fn accounts_table(views: &[AccountView]) -> String {
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|v| {
            vec![
                format!("{}{}", v.account.name, if v.is_default { " *" } else { "" }),
                v.account.id.clone(),
                v.account.provider.label().to_owned(),
                v.account.base_url.clone(),
                key_state(&v.key),
            ]
        })
        .collect();
    let mut out = table::render(&["NAME", "ID", "PROVIDER", "BASE URL", "KEY"], &rows);
    out.push_str("(* the default account)\n");
    out
}

fn key_state(key: &KeyState) -> String {
    match key {
        KeyState::Set => "set".to_owned(),
        KeyState::Missing => "MISSING (porthole accounts set-key)".to_owned(),
        KeyState::KeychainUnavailable { message } => format!("keychain unavailable: {message}"),
        KeyState::Builtin => "built in".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use porthole_core::accounts::local_account;

    #[test]
    fn the_table_marks_the_default_and_each_key_state() {
        let mut other = local_account();
        other.id = "cloud".into();
        other.name = "Cloud".into();
        let views = vec![
            AccountView {
                account: local_account(),
                key: KeyState::Builtin,
                is_default: false,
            },
            AccountView {
                account: other.clone(),
                key: KeyState::Missing,
                is_default: true,
            },
            AccountView {
                account: other,
                key: KeyState::KeychainUnavailable {
                    message: "no Secret Service".into(),
                },
                is_default: false,
            },
        ];
        let text = accounts_table(&views);
        assert!(text.contains("Cloud *"), "{text}");
        assert!(text.contains("built in"), "{text}");
        assert!(text.contains("MISSING"), "{text}");
        assert!(
            text.contains("keychain unavailable: no Secret Service"),
            "{text}"
        );
    }
}
