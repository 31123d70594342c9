//! Alert settings: notification thresholds, notifications on or off, auto-extend.

use porthole_core::alerts::AlertSettings;
use tauri::State;

use crate::error::ApiError;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub fn get_settings(state: State<'_, AppState>) -> AlertSettings {
    state.settings().clone()
}

/// Saves the settings; new warning thresholds apply to running sessions at once.
#[tauri::command]
#[specta::specta]
pub async fn save_settings(
    state: State<'_, AppState>,
    settings: AlertSettings,
) -> Result<(), ApiError> {
    if state.save_settings(settings)? {
        if let Some(app) = state.app_handle() {
            // The keychain may block: off the async threads.
            tauri::async_runtime::spawn_blocking(move || {
                use tauri::Manager;
                app.state::<AppState>().connect_all();
            });
        }
    }
    Ok(())
}
