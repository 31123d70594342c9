//! Desktop notifications for watcher events (porthole_core::alerts decides which, once each).

use porthole_core::watcher::WatchEvent;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::state::AppState;

/// Called for every watcher event (a consumer of the hub's channel, see `fanout`).
pub fn on_event(app: &AppHandle, event: &WatchEvent) {
    let state = app.state::<AppState>();
    if let Some(notice) = state.alert_for(event) {
        show(app, &notice.title, &notice.body);
    }
}

/// Something the user should hear about even without the window open (a failure, an automatic
/// extension).
pub fn tell(app: &AppHandle, title: &str, body: &str) {
    show(app, title, body);
}

fn show(app: &AppHandle, title: &str, body: &str) {
    // Best effort: with no notification daemon this still returns Ok, and the tray and the
    // window carry the same information.
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!("notification not shown: {e}");
    }
}
