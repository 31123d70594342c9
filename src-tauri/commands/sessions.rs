//! Sessions: what the watchers know, and launch / extend / stop / logs through them. The UI's
//! list comes from `session-event`s; these commands only act, or give the current snapshot.

use std::collections::BTreeMap;

use futures::StreamExt;
use porthole_core::descriptor::ProviderDescriptor;
use porthole_core::ended::EndedSession;
use porthole_core::history::HistoryEntry;
use porthole_core::inputs::{Parameter, Prompt};
use porthole_core::model::{Job, LaunchRequest, LogLine, Machine, Resource, Session};
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

/// The sessions that have ended and are kept (across restarts), oldest first.
#[tauri::command]
#[specta::specta]
pub fn ended_sessions(state: State<'_, AppState>) -> Result<Vec<EndedSession>, ApiError> {
    Ok(state.hub.ended())
}

/// Forgets one ended session.
#[tauri::command]
#[specta::specta]
pub fn dismiss_ended(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
) -> Result<(), ApiError> {
    Ok(state.hub.dismiss_ended(&account_id, &session_id)?)
}

/// Forgets every ended session ("Clear ended").
#[tauri::command]
#[specta::specta]
pub fn clear_ended(state: State<'_, AppState>) -> Result<(), ApiError> {
    Ok(state.hub.clear_ended()?)
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

/// Cancels a session: its work is abandoned (providers whose descriptor offers it).
#[tauri::command]
#[specta::specta]
pub async fn cancel_session(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
) -> Result<(), ApiError> {
    Ok(state.hub.cancel(&account_id, &session_id).await?)
}

/// What a launch on `resource` takes (the form is generated from it).
#[tauri::command]
#[specta::specta]
pub async fn launch_parameters(
    state: State<'_, AppState>,
    account_id: String,
    resource: String,
) -> Result<Vec<Parameter>, ApiError> {
    Ok(state.hub.parameters(&account_id, &resource).await?)
}

/// A session's jobs, newest first (where its provider has jobs).
#[tauri::command]
#[specta::specta]
pub async fn session_jobs(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
) -> Result<Vec<Job>, ApiError> {
    Ok(state.hub.jobs(&account_id, &session_id).await?)
}

/// What a session waits on you for.
#[tauri::command]
#[specta::specta]
pub async fn session_prompts(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
) -> Result<Vec<Prompt>, ApiError> {
    Ok(state.hub.prompts(&account_id, &session_id).await?)
}

/// Answers one of a session's prompts.
#[tauri::command]
#[specta::specta]
pub async fn respond_to_prompt(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
    prompt_id: String,
    values: BTreeMap<String, String>,
) -> Result<(), ApiError> {
    Ok(state
        .hub
        .respond(&account_id, &session_id, &prompt_id, &values)
        .await?)
}

/// Refuses one of a session's prompts (its `reject_label` says it can be).
#[tauri::command]
#[specta::specta]
pub async fn reject_prompt(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
    prompt_id: String,
) -> Result<(), ApiError> {
    Ok(state
        .hub
        .reject(&account_id, &session_id, &prompt_id)
        .await?)
}

/// The session the main window is to show ("Open" on a session without a web page, from the
/// tray, a menu or a link), once; the `show-session` event says when there is one.
#[tauri::command]
#[specta::specta]
pub fn take_shown_session(state: State<'_, AppState>) -> Option<crate::state::ShowSession> {
    state.take_shown_session()
}

/// Every provider this build has, as the UI renders from them (a test build's scripted
/// provider included).
#[tauri::command]
#[specta::specta]
pub fn provider_descriptors() -> Vec<ProviderDescriptor> {
    porthole_core::descriptor::all()
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
    let session = live_session(&state, &account_id, &session_id)?;
    crate::windows::open_session(&app(&state)?, &session)
        .await
        .map_err(ApiError::from)
}

/// Makes a just-launched session's window ahead, hidden, so that it opens at once when the
/// session is ready (see `prepared`); nothing for a session without a page of its own.
#[tauri::command]
#[specta::specta]
pub async fn prepare_session_window(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
) -> Result<(), ApiError> {
    // Called as the launch returns: the watcher may not list the session yet.
    Ok(crate::windows::prepare_session_window(
        &app(&state)?,
        &account_id,
        &session_id,
    )?)
}

/// Closes the window made ahead for a session that will not be opened from the launch dialog
/// (it was dismissed while the session started); nothing when there is none.
#[tauri::command]
#[specta::specta]
pub fn release_session_window(
    state: State<'_, AppState>,
    session_id: String,
) -> Result<(), ApiError> {
    crate::prepared::release(&app(&state)?, &session_id);
    Ok(())
}

fn live_session(
    state: &AppState,
    account_id: &str,
    session_id: &str,
) -> Result<Session, porthole_core::Error> {
    state
        .hub
        .sessions(Some(account_id))
        .into_iter()
        .find(|s| s.id == session_id)
        .ok_or_else(|| {
            porthole_core::Error::new(
                porthole_core::ErrorCode::SessionGone,
                "This session has ended or is no longer known.",
            )
        })
}

fn app(state: &AppState) -> Result<tauri::AppHandle, ApiError> {
    state
        .app_handle()
        .ok_or_else(|| ApiError::internal("the app is still starting"))
}

/// What happened to a session while this app watched it (launched, its states and warnings,
/// extended by hand or automatically, stop or cancel asked, prompts answered), oldest first.
#[tauri::command]
#[specta::specta]
pub fn session_history(
    state: State<'_, AppState>,
    account_id: String,
    session_id: String,
) -> Vec<HistoryEntry> {
    state.hub.history(&account_id, &session_id)
}
