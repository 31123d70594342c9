//! The tray's menu as data, and its entries as actions: what the tray shows can be checked (and
//! clicked) through the app, since a tray menu cannot be read back from the desktop reliably.

use porthole_core::tray::{TrayAction, TrayModel};
use tauri::State;

use crate::error::ApiError;
use crate::state::AppState;

/// What the tray menu shows now: a row per session with its entries, the account switcher and
/// the tooltip. The menu is drawn from exactly this.
#[tauri::command]
#[specta::specta]
pub fn tray_menu(state: State<'_, AppState>) -> Result<TrayModel, ApiError> {
    let app = state
        .app_handle()
        .ok_or_else(|| ApiError::internal("the app is still starting"))?;
    Ok(crate::tray::model(&app))
}

/// Does what the tray (or session window) menu entry `id` does when clicked.
#[tauri::command]
#[specta::specta]
pub async fn activate_menu_item(state: State<'_, AppState>, id: String) -> Result<(), ApiError> {
    let action = TrayAction::parse(&id)
        .ok_or_else(|| porthole_core::Error::invalid_input("There is no such menu entry."))?;
    let app = state
        .app_handle()
        .ok_or_else(|| ApiError::internal("the app is still starting"))?;
    Ok(crate::tray::act(&app, action).await?)
}

/// Quits the app; Local sessions keep running when `keep_local_sessions`, else they stop with it
/// (as the tray's Quit entries do).
#[tauri::command]
#[specta::specta]
pub fn quit_app(state: State<'_, AppState>, keep_local_sessions: bool) -> Result<(), ApiError> {
    let app = state
        .app_handle()
        .ok_or_else(|| ApiError::internal("the app is still starting"))?;
    crate::tray::quit(&app, keep_local_sessions);
    Ok(())
}
