//! The shell's consumers of the watchers' events: each subscribes to the hub's broadcast channel
//! on its own and handles the events in order, without knowing of the others. The main window
//! gets every event; notifications, the session proxies, the session windows and the tray act on
//! them. Subscribed before any account is watched, so none misses the first events.

use porthole_core::watcher::WatchEvent;
use tauri::{AppHandle, Manager};
use tauri_specta::Event;
use tokio::sync::broadcast::error::RecvError;

use crate::labels::MAIN;
use crate::state::{AppState, SessionEvent};

/// Starts every consumer.
pub fn start(app: &AppHandle) {
    consume(app, "main window", |app, event| {
        // Only the main window: session windows are remote content.
        if let Err(e) = SessionEvent(event.clone()).emit_to(app, MAIN) {
            tracing::debug!("session event not delivered: {e}");
        }
    });
    consume(app, "notifications", crate::notify::on_event);
    consume(app, "proxies", crate::proxies::on_event);
    consume(app, "windows and tray", |app, event| {
        if let WatchEvent::Ended {
            account_id,
            session_id,
            name,
            reason,
            requested,
            ..
        } = event
        {
            if *requested {
                crate::windows::close_session_window(app, session_id);
            } else {
                crate::windows::session_ended(app, account_id, session_id, name, reason);
            }
        }
        crate::tray::refresh(app);
    });
}

/// Runs `handle` for every event, in order, on a task of its own.
fn consume(app: &AppHandle, name: &'static str, handle: fn(&AppHandle, &WatchEvent)) {
    let mut events = app.state::<AppState>().hub.subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => handle(&app, &event),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(consumer = name, missed, "fell behind the session events");
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}
