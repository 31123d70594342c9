//! Sessions: what the watchers know, and launch / extend / stop / logs through them. The UI's
//! list comes from `session-event`s; these commands only act, or give the current snapshot.

use futures::StreamExt;
use porthole_core::history::HistoryEntry;
use porthole_core::model::{LaunchRequest, LogLine, Machine, Resource, Session};
use tauri::ipc::Channel;
use tauri::State;

use crate::error::ApiError;
use crate::state::AppState;

/// The sessions of one account (or of all), as the watchers last saw them (without their URLs:
/// windows reach sessions only through the proxy).
#[tauri::command]
#[specta::specta]
pub fn list_sessions(
    state: State<'_, AppState>,
    account_id: Option<String>,
) -> Result<Vec<Session>, ApiError> {
    // Serialized without their URLs (see `Session::url`).
    Ok(state.hub.sessions(account_id.as_deref()))
}

#[tauri::command]
#[specta::specta]
pub async fn launch_session(
    state: State<'_, AppState>,
    account_id: String,
    request: LaunchRequest,
) -> Result<Session, ApiError> {
    Ok(state.hub.launch(&account_id, &request).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn extend_session(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
    minutes: u32,
) -> Result<(), ApiError> {
    Ok(state.hub.extend(&account_id, &session_id, minutes).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn stop_session(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
) -> Result<(), ApiError> {
    Ok(state.hub.stop(&account_id, &session_id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn list_machines(
    state: State<'_, AppState>,
    account_id: String,
) -> Result<Vec<Machine>, ApiError> {
    Ok(state.hub.machines(&account_id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn list_resources(
    state: State<'_, AppState>,
    account_id: String,
) -> Result<Vec<Resource>, ApiError> {
    Ok(state.hub.resources(&account_id).await?)
}

/// Streams a session's log to the window, line by line, until the log ends.
#[tauri::command]
#[specta::specta]
pub async fn follow_logs(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
    on_line: Channel<LogLine>,
) -> Result<(), ApiError> {
    let mut lines = state.hub.logs(&account_id, &session_id).await?;
    while let Some(line) = lines.next().await {
        // The window went away: stop reading.
        if on_line.send(line?).is_err() {
            break;
        }
    }
    Ok(())
}

/// Fetch every account now.
#[tauri::command]
#[specta::specta]
pub fn refresh_sessions(state: State<'_, AppState>) {
    state.hub.refresh_all();
}

/// Opens the session's own UI in its window (`session-<id>`), or focuses it if open already.
#[tauri::command]
#[specta::specta]
pub async fn open_session(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
) -> Result<(), ApiError> {
    let session = state
        .hub
        .sessions(Some(&account_id))
        .into_iter()
        .find(|s| s.id == session_id)
        .ok_or_else(|| {
            porthole_core::Error::new(
                porthole_core::ErrorCode::SessionGone,
                "This session has ended or is no longer known.",
            )
        })?;
    let app = state
        .app_handle()
        .ok_or_else(|| ApiError::internal("the app is still starting"))?;
    crate::windows::open_session(&app, &session)
        .await
        .map_err(ApiError::from)
}

/// What this app did to a session (launched, extended by hand or automatically, stop asked),
/// oldest first.
#[tauri::command]
#[specta::specta]
pub fn session_history(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
) -> Vec<HistoryEntry> {
    state.hub.history(&account_id, &session_id)
}
