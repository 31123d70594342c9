//! The accounts file, watched: an account added, changed or removed by `porthole accounts …`
//! (or another copy of the app) while the app runs is watched, reconnected or let go within a
//! second or two, and the main window is told (`accounts-changed`) so it reads them again.

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
            let _ =
                tauri::async_runtime::spawn_blocking(move || sync(&handle, &before, &after)).await;
            known = Some(accounts);
            if let Err(e) = AccountsChanged.emit_to(&app, MAIN) {
                tracing::debug!("accounts-changed not sent: {e}");
            }
        }
    });
}

/// The accounts in the file (`None` while it cannot be read: a half-written file is read again
/// at its next change).
async fn accounts_now(app: &AppHandle) -> Option<Vec<Account>> {
    let accounts = app.state::<AppState>().accounts();
    // The file is small, but reading it is blocking I/O.
    tauri::async_runtime::spawn_blocking(move || accounts.store().list().ok())
        .await
        .ok()
        .flatten()
}

/// Watches what is new or changed, lets go of what is gone; Local is the app's own.
fn sync(app: &AppHandle, before: &[Account], after: &[Account]) {
    let state = app.state::<AppState>();
    for account in after.iter().filter(|a| a.id != LOCAL_ACCOUNT_ID) {
        if !before.contains(account) || !state.hub.is_watching(&account.id) {
            state.connect(&account.id);
        }
    }
    for gone in before
        .iter()
        .filter(|b| !after.iter().any(|a| a.id == b.id))
    {
        state.hub.unwatch(&gone.id);
    }
}
