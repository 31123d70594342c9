//! Desktop notifications for watcher events (porthole_core::alerts decides which, once each),
//! and the tray redrawn on every change.

use porthole_core::watcher::WatchEvent;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::state::AppState;

/// Called for every watcher event, after it went to the window.
pub fn on_event(app: &AppHandle, event: &WatchEvent) {
    crate::proxies::on_event(app, event);
    let state = app.state::<AppState>();
    if let Some(notice) = state.alert_for(event) {
        show(app, &notice.title, &notice.body);
    }
    crate::tray::refresh(app);
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
