//! `porthole://session/<account>/<id>` links (porthole_core::links parses them): they open or
//! focus that session's window. `porthole://pair?code=…` offers to add the portholed it names:
//! the pairing waits in [`AppState::offer_pairing`] (its token never goes to the webview) and
//! the main window is told where it leads, for the person to name it and confirm. A link that does not parse, or names an account that does not
//! exist, is refused with a message and never acted on. A second launch hands its link to the
//! running instance (single-instance plugin), so links land here whether or not the app runs.

use std::time::Duration;

use porthole_core::accounts::AccountStore;
use porthole_core::links::DeepLink;
use porthole_core::{Error, ErrorCode};
use tauri::{AppHandle, Manager};

use crate::state::AppState;
use crate::windows;

/// How long a link that started the app waits for its account's watcher to see the session.
const FIRST_LOOK: Duration = Duration::from_secs(20);

/// Acts on a link from the desktop, in the background; refusals are logged and notified.
pub fn handle(app: &AppHandle, link: String) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        match open(&app, &link).await {
            Ok(()) => tracing::info!("opened a porthole:// link"),
            Err(e) => {
                tracing::warn!(code = ?e.code, "link refused: {}", e.message);
                windows::show_main(&app);
                crate::notify::tell(&app, "Porthole did not open that link", &e.message);
            }
        }
    });
}

async fn open(app: &AppHandle, link: &str) -> Result<(), Error> {
    let (account_id, session_id) = match DeepLink::parse(link)? {
        DeepLink::Session {
            account_id,
            session_id,
        } => (account_id, session_id),
        DeepLink::Pair { link } => return offer_pairing(app, &link),
    };
    let state = app.state::<AppState>();
    let known = AccountStore::new(&state.dirs.config)
        .list()?
        .into_iter()
        .any(|a| a.id == account_id);
    if !known {
        return Err(Error::invalid_input(format!(
            "The link names the account “{account_id}”, which Porthole does not have. Nothing was opened."
        )));
    }
    // A link that started the app arrives before the account's watcher has looked.
    let deadline = tokio::time::Instant::now() + FIRST_LOOK;
    loop {
        let found = state
            .hub
            .sessions(Some(&account_id))
            .into_iter()
            .find(|s| s.id == session_id && s.state.is_live());
        match found {
            Some(session) if windows::open_session(app, &session).await.is_ok() => return Ok(()),
            _ if tokio::time::Instant::now() >= deadline => {
                return Err(Error::new(
                    ErrorCode::SessionGone,
                    format!("No session {session_id} is running on “{account_id}” (or it is not ready to open)."),
                ))
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Keeps the pairing a link offers and shows it in the main window's Add account form.
fn offer_pairing(app: &AppHandle, link: &str) -> Result<(), Error> {
    let pairing = porthole_local::pairing::Pairing::parse(link)?;
    let offered = app.state::<AppState>().offer_pairing(pairing);
    windows::show_main(app);
    if let Err(e) = tauri_specta::Event::emit_to(&offered, app, crate::labels::MAIN) {
        tracing::debug!("pairing offer not delivered: {e}");
    }
    Ok(())
}
