//! Auto-extend, wired: every few seconds, each live session whose window's proxy saw traffic
//! recently and which is about to end is extended, within the spending cap and the provider's
//! limit (porthole_core::alerts::auto_extend_decision decides; off by default). Each extension is
//! recorded in the session's history and notified; a session it holds back from is told once.

use std::time::Duration;

use chrono::Utc;
use porthole_core::alerts::{auto_extend_decision, auto_extended_notice, AutoExtendDecision};
use tauri::{AppHandle, Manager};

use crate::state::AppState;

/// How often sessions are looked at (cheap: in-memory snapshots only).
const EVERY: Duration = Duration::from_secs(5);

pub fn start(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        loop {
            every.tick().await;
            check(&app).await;
        }
    });
}

async fn check(app: &AppHandle) {
    let state = app.state::<AppState>();
    let settings = state.settings().clone();
    if !settings.auto_extend.enabled {
        return;
    }
    let now = Utc::now();
    for session in state.hub.sessions(None) {
        let last_activity = state.window_activity(&session.id);
        let minutes = match auto_extend_decision(
            &settings.auto_extend,
            &session,
            now,
            last_activity,
            session.provider.max_session_minutes(),
        ) {
            AutoExtendDecision::Extend(minutes) => minutes,
            // Held back (the spending cap, the provider's limit): said once, before it ends.
            AutoExtendDecision::Held(held) => {
                if let Some(notice) = state.auto_extend_held(&session, held) {
                    crate::notify::tell_about(app, &notice, &session);
                }
                continue;
            }
            AutoExtendDecision::Nothing => continue,
        };
        match state
            .hub
            .auto_extend(&session.account_id, &session.id, minutes)
            .await
        {
            Ok(()) => {
                tracing::info!(session = %session.id, minutes, "auto-extended");
                if let Some(notice) = auto_extended_notice(&settings, &session, minutes) {
                    crate::notify::tell(app, &notice.title, &notice.body);
                }
            }
            Err(e) => tracing::warn!(code = ?e.code, "auto-extend failed: {}", e.message),
        }
    }
}
