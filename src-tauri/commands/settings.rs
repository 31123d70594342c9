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

#[tauri::command]
#[specta::specta]
pub fn save_settings(state: State<'_, AppState>, settings: AlertSettings) -> Result<(), ApiError> {
    Ok(state.save_settings(settings)?)
}
