//! Account profiles: `accounts.json` in Porthole's config folder, shared by the app and the CLI.
//! Only non-secret fields live here; each account's key is in the OS keychain under its id.
//! Every write goes to a temporary file that is renamed over the old one, so a crash never
//! leaves half a file, and a file that cannot be read is never overwritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Result};
use crate::model::{Account, ProviderKind};

pub const ACCOUNTS_FILE: &str = "accounts.json";

/// The embedded portholed's account: present from the first start, never removed.
pub const LOCAL_ACCOUNT_ID: &str = "local";

/// Where a standalone portholed and the embedded one (when the port is free) listen.
pub const LOCAL_BASE_URL: &str = "http://127.0.0.1:7788/api";

const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AccountsFile {
    version: u32,
    /// The account commands use when none is named.
    #[serde(default)]
    default_account: Option<String>,
    #[serde(default)]
    accounts: Vec<Account>,
    /// When each account's key was last set (RFC 3339), by id. The key is in the keychain; this
    /// changes the file, so that a running app (which watches it) connects the account again
    /// with its new key when it was set elsewhere (`porthole accounts set-key`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    keys_set: BTreeMap<String, String>,
}

/// Whether an account's key can be used, as the UI and `porthole accounts list` show it. The key
/// itself never leaves Rust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum KeyState {
    /// In the OS keychain.
    Set,
    /// Not in the keychain: the account needs its key again.
    Missing,
    /// The keychain cannot be read now; `message` says why and what to do.
    KeychainUnavailable { message: String },
    /// The Local account: the embedded portholed manages its own key.
    Builtin,
}

/// An account as listed: its profile, its key's state, and whether it is the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct AccountView {
    pub account: Account,
    pub key: KeyState,
    pub is_default: bool,
}

/// The Local account as it is first written.
pub fn local_account() -> Account {
    Account {
        id: LOCAL_ACCOUNT_ID.to_owned(),
        name: "Local".to_owned(),
        provider: ProviderKind::Portholed,
        base_url: LOCAL_BASE_URL.to_owned(),
        fields: BTreeMap::new(),
    }
}

/// The accounts file of one config folder.
#[derive(Debug, Clone)]
pub struct AccountStore {
    path: PathBuf,
}

impl AccountStore {
    pub fn new(config_dir: &Path) -> Self {
        Self {
            path: config_dir.join(ACCOUNTS_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every account, the Local one first.
    pub fn list(&self) -> Result<Vec<Account>> {
        Ok(self.load()?.accounts)
    }

    /// The id of the default account (Local unless another was chosen).
    pub fn default_id(&self) -> Result<String> {
        Ok(self.default_account()?.id)
    }

    pub fn get(&self, id_or_name: &str) -> Result<Account> {
        let file = self.load()?;
        find(&file.accounts, id_or_name)
            .cloned()
            .ok_or_else(|| not_found(id_or_name))
    }

    /// The account to use when none is named: the chosen default, else Local.
    pub fn default_account(&self) -> Result<Account> {
        let file = self.load()?;
        let id = file.default_account.as_deref().unwrap_or(LOCAL_ACCOUNT_ID);
        Ok(find(&file.accounts, id)
            .or_else(|| find(&file.accounts, LOCAL_ACCOUNT_ID))
            .cloned()
            .unwrap_or_else(local_account))
    }

    pub fn set_default(&self, id_or_name: &str) -> Result<Account> {
        self.update(|file| {
            let account = find(&file.accounts, id_or_name)
                .cloned()
                .ok_or_else(|| not_found(id_or_name))?;
            file.default_account = Some(account.id.clone());
            Ok(account)
        })
    }

    /// Whether `add` would accept this name and base URL, without writing anything: callers that
    /// check a key over the network first ask this before.
    pub fn check_new(&self, name: &str, base_url: &str) -> Result<()> {
        let name = valid_name(name)?;
        valid_base_url(base_url)?;
        if find(&self.load()?.accounts, &name).is_some() {
            return Err(Error::invalid_input(format!(
                "An account named \"{name}\" exists already. Choose another name."
            )));
        }
        Ok(())
    }

    /// Adds an account; its id is made from the name and must not clash.
    pub fn add(
        &self,
        name: &str,
        provider: ProviderKind,
        base_url: &str,
        fields: BTreeMap<String, String>,
    ) -> Result<Account> {
        self.add_then(name, provider, base_url, fields, |_| Ok(()))
    }

    /// Adds an account, running `before_saved` with it (its id settled) before the file names it:
    /// whoever watches the file never sees an account whose key is not stored yet. An error from
    /// `before_saved` leaves the file as it was.
    pub fn add_then(
        &self,
        name: &str,
        provider: ProviderKind,
        base_url: &str,
        fields: BTreeMap<String, String>,
        before_saved: impl FnOnce(&Account) -> Result<()>,
    ) -> Result<Account> {
        let name = valid_name(name)?;
        let base_url = valid_base_url(base_url)?;
        self.update(|file| {
            if find(&file.accounts, &name).is_some() {
                return Err(Error::invalid_input(format!(
                    "An account named \"{name}\" exists already. Choose another name."
                )));
            }
            let account = Account {
                id: unique_id(&file.accounts, &name),
                name: name.clone(),
                provider,
                base_url: base_url.clone(),
                fields: fields.clone(),
            };
            before_saved(&account)?;
            file.accounts.push(account.clone());
            Ok(account)
        })
    }

    /// Renames and/or points an account elsewhere; its id (and so its key) stays.
    pub fn edit(
        &self,
        id_or_name: &str,
        name: Option<&str>,
        base_url: Option<&str>,
    ) -> Result<Account> {
        let name = name.map(valid_name).transpose()?;
        let base_url = base_url.map(valid_base_url).transpose()?;
        self.update(|file| {
            let id = find(&file.accounts, id_or_name)
                .map(|a| a.id.clone())
                .ok_or_else(|| not_found(id_or_name))?;
            if let Some(new) = &name {
                if file
                    .accounts
                    .iter()
                    .any(|a| a.id != id && same_name(&a.name, new))
                {
                    return Err(Error::invalid_input(format!(
                        "An account named \"{new}\" exists already. Choose another name."
                    )));
                }
            }
            let account = file
                .accounts
                .iter_mut()
                .find(|a| a.id == id)
                .ok_or_else(|| not_found(id_or_name))?;
            if let Some(new) = name.clone() {
                account.name = new;
            }
            if let Some(url) = base_url.clone() {
                account.base_url = url;
            }
            Ok(account.clone())
        })
    }

    /// Notes that account `id`'s key was just set (the caller stored it): see
    /// [`AccountStore::keys_set`].
    pub fn note_key_set(&self, id: &str) -> Result<()> {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        self.update(|file| {
            find(&file.accounts, id).ok_or_else(|| not_found(id))?;
            file.keys_set.insert(id.to_owned(), now);
            Ok(())
        })
    }

    /// When each account's key was last set, by id (those set since the file has said so).
    pub fn keys_set(&self) -> Result<BTreeMap<String, String>> {
        Ok(self.load()?.keys_set)
    }

    /// Removes an account (the caller deletes its key). The Local account cannot be removed.
    pub fn remove(&self, id_or_name: &str) -> Result<Account> {
        self.update(|file| {
            let pos = file
                .accounts
                .iter()
                .position(|a| a.id == id_or_name || same_name(&a.name, id_or_name))
                .ok_or_else(|| not_found(id_or_name))?;
            if file.accounts[pos].id == LOCAL_ACCOUNT_ID {
                return Err(Error::invalid_input(
                    "The Local account is built in and cannot be removed.",
                ));
            }
            let removed = file.accounts.remove(pos);
            file.keys_set.remove(&removed.id);
            if file.default_account.as_deref() == Some(removed.id.as_str()) {
                file.default_account = None;
            }
            Ok(removed)
        })
    }

    /// Reads the file; a missing file is the first start (just the Local account).
    fn load(&self) -> Result<AccountsFile> {
        let mut file = match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice::<AccountsFile>(&bytes).map_err(|e| {
                // A local file: `Io`, which the CLI's exit codes call "local files" (1).
                Error::new(
                    ErrorCode::Io,
                    format!(
                        "{} cannot be read ({e}). Fix or move it; Porthole will not overwrite it.",
                        self.path.display()
                    ),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => AccountsFile {
                version: FORMAT_VERSION,
                default_account: None,
                accounts: Vec::new(),
                keys_set: BTreeMap::new(),
            },
            Err(e) => {
                return Err(Error::io(
                    &format!("cannot read {}", self.path.display()),
                    &e,
                ))
            }
        };
        if file.version > FORMAT_VERSION {
            return Err(Error::invalid_input(format!(
                "{} was written by a newer Porthole (format {}). Update Porthole.",
                self.path.display(),
                file.version
            )));
        }
        if !file.accounts.iter().any(|a| a.id == LOCAL_ACCOUNT_ID) {
            file.accounts.insert(0, local_account());
        }
        Ok(file)
    }

    fn update<T>(&self, change: impl FnOnce(&mut AccountsFile) -> Result<T>) -> Result<T> {
        let mut file = self.load()?;
        let out = change(&mut file)?;
        file.version = FORMAT_VERSION;
        self.save(&file)?;
        Ok(out)
    }

    fn save(&self, file: &AccountsFile) -> Result<()> {
        let json = serde_json::to_vec_pretty(file)
            .map_err(|e| Error::new(ErrorCode::Internal, format!("accounts: {e}")))?;
        crate::paths::write_private(&self.path, &json)
    }
}

fn find<'a>(accounts: &'a [Account], id_or_name: &str) -> Option<&'a Account> {
    accounts
        .iter()
        .find(|a| a.id == id_or_name)
        .or_else(|| accounts.iter().find(|a| same_name(&a.name, id_or_name)))
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn not_found(what: &str) -> Error {
    Error::invalid_input(format!(
        "There is no account \"{what}\". `porthole accounts list` shows them."
    ))
}

fn valid_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid_input("Give the account a name."));
    }
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(Error::invalid_input(
            "An account name is at most 64 characters, without control characters.",
        ));
    }
    Ok(name.to_owned())
}

fn valid_base_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    // A test build's scripted provider is reached through a folder (`file:///path`).
    if cfg!(feature = "scripted") && url.starts_with("file:///") && url.len() > "file:///".len() {
        return Ok(url.to_owned());
    }
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > "https://".len()
        && !url.chars().any(char::is_whitespace);
    if !ok {
        return Err(Error::invalid_input(format!(
            "\"{url}\" is not a base URL: it must start with http:// or https://."
        )));
    }
    Ok(url.to_owned())
}

/// A readable id from the name (`my-gpus`), with a number added if taken.
fn unique_id(accounts: &[Account], name: &str) -> String {
    let mut base: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    base = base.trim_matches('-').to_owned();
    while base.contains("--") {
        base = base.replace("--", "-");
    }
    if base.is_empty() || base == LOCAL_ACCOUNT_ID {
        base = "account".to_owned();
    }
    let mut id = base.clone();
    let mut n = 2;
    while accounts.iter().any(|a| a.id == id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
mod tests;
