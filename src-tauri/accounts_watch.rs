//! The accounts file, watched: an account added, changed or removed by `porthole accounts …`
//! (or another copy of the app) while the app runs is watched, reconnected or let go within a
//! second or two, and the main window is told (`accounts-changed`) so it reads them again. A key
//! set there is in the keychain; the file notes when (`AccountStore::keys_set`), and the account
//! is connected again with it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use porthole_core::accounts::LOCAL_ACCOUNT_ID;
use porthole_core::model::Account;
use tauri::{AppHandle, Manager};
use tauri_specta::Event;

use crate::labels::MAIN;
use crate::state::AppState;

/// How often the file is looked at (a stat: nothing is read unless it changed).
const EVERY: Duration = Duration::from_secs(1);

/// The accounts changed on disk: read them again.
#[derive(Debug, Clone, serde::Serialize, specta::Type, tauri_specta::Event)]
pub struct AccountsChanged;

/// When and how big the file is now (`None`: there is none).
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Starts watching; runs as long as the app.
pub fn start(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let path = app.state::<AppState>().accounts().store().path().to_owned();
        let mut seen = stamp(&path);
        let mut known = accounts_now(&app).await;
        loop {
            tokio::time::sleep(EVERY).await;
            let now = stamp(&path);
            if now == seen {
                continue;
            }
            seen = now;
            let Some(accounts) = accounts_now(&app).await else {
                continue;
            };
            // Connecting reads keys from the keychain, a blocking D-Bus call: off the workers.
            let before = known.take().unwrap_or_default();
            let (handle, after) = (app.clone(), accounts.clone());
            let _ = tauri::async_runtime::spawn_blocking(move || {
                sync(&handle, &before, &after);
            })
            .await;
            known = Some(accounts);
            if let Err(e) = AccountsChanged.emit_to(&app, MAIN) {
                tracing::debug!("accounts-changed not sent: {e}");
            }
        }
    });
}

/// The accounts in the file and when each key was set (`None` while it cannot be read: a
/// half-written file is read again at its next change).
async fn accounts_now(app: &AppHandle) -> Option<Known> {
    let accounts = app.state::<AppState>().accounts();
    // The file is small, but reading it is blocking I/O.
    tauri::async_runtime::spawn_blocking(move || {
        let store = accounts.store();
        Some(Known {
            accounts: store.list().ok()?,
            keys_set: store.keys_set().ok()?,
        })
    })
    .await
    .ok()
    .flatten()
}

/// What the file said at a look.
#[derive(Clone, Default)]
struct Known {
    accounts: Vec<Account>,
    keys_set: BTreeMap<String, String>,
}

/// The accounts of `after` to connect (again): new, changed, given a new key, or not watched;
/// Local is the app's own.
fn to_connect<'a>(
    before: &Known,
    after: &'a Known,
    watching: impl Fn(&str) -> bool,
) -> Vec<&'a str> {
    after
        .accounts
        .iter()
        .filter(|a| a.id != LOCAL_ACCOUNT_ID)
        .filter(|a| {
            !before.accounts.contains(a)
                || before.keys_set.get(&a.id) != after.keys_set.get(&a.id)
                || !watching(&a.id)
        })
        .map(|a| a.id.as_str())
        .collect()
}

/// Watches what is new or changed, lets go of what is gone.
fn sync(app: &AppHandle, before: &Known, after: &Known) {
    let state = app.state::<AppState>();
    for id in to_connect(before, after, |id| state.hub.is_watching(id)) {
        state.connect(id);
    }
    for gone in before
        .accounts
        .iter()
        .filter(|b| !after.accounts.iter().any(|a| a.id == b.id))
    {
        state.hub.unwatch(&gone.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use porthole_core::model::ProviderKind;

    fn account(id: &str, name: &str) -> Account {
        Account {
            id: id.to_owned(),
            name: name.to_owned(),
            provider: ProviderKind::ComfyDeploy,
            base_url: "https://x.example".to_owned(),
            fields: BTreeMap::new(),
        }
    }

    fn known(accounts: &[Account], keys: &[(&str, &str)]) -> Known {
        Known {
            accounts: accounts.to_vec(),
            keys_set: keys
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn an_account_is_connected_again_when_new_renamed_given_a_key_or_not_watched() {
        let (a, b) = (account("a", "A"), account("b", "B"));
        let before = known(&[a.clone(), b.clone()], &[("a", "t1")]);
        let all = |_: &str| true;
        assert!(to_connect(&before, &before.clone(), all).is_empty());
        // A key set with the CLI: only that account.
        let keyed = known(&[a.clone(), b.clone()], &[("a", "t1"), ("b", "t2")]);
        assert_eq!(to_connect(&before, &keyed, all), vec!["b"]);
        let rekeyed = known(&[a.clone(), b.clone()], &[("a", "t3")]);
        assert_eq!(to_connect(&before, &rekeyed, all), vec!["a"]);
        // Renamed, added, or not watched (its connection failed before).
        let renamed = known(&[account("a", "A2"), b.clone()], &[("a", "t1")]);
        assert_eq!(to_connect(&before, &renamed, all), vec!["a"]);
        let added = known(&[a.clone(), b.clone(), account("c", "C")], &[("a", "t1")]);
        assert_eq!(to_connect(&before, &added, all), vec!["c"]);
        assert_eq!(
            to_connect(&before, &before.clone(), |id| id != "b"),
            vec!["b"]
        );
        // Local is never connected from the file.
        let local = known(&[account(LOCAL_ACCOUNT_ID, "Local")], &[]);
        assert!(to_connect(&Known::default(), &local, all).is_empty());
    }
}
