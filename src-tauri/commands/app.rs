use std::time::Duration;

use porthole_core::app_info::AppInfo;
use porthole_core::{Error, ErrorCode};
use tauri::State;

use crate::error::ApiError;
use crate::state::AppState;

/// A keychain that does not answer within this time counts as unavailable (a prompt nobody sees).
const KEYCHAIN_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the answer waits for the Local server to finish starting (finding GPUs and its key
/// can take a few seconds), so the page does not show "Starting…" that nothing would update.
const LOCAL_START_WAIT: Duration = Duration::from_secs(10);

/// The app's version, folders, whether the OS keychain is usable, and how the Local server is.
#[tauri::command]
#[specta::specta]
pub async fn app_info(state: State<'_, AppState>) -> Result<AppInfo, ApiError> {
    let dirs = state.dirs.clone();
    let probe = tauri::async_runtime::spawn_blocking(porthole_secrets::self_test);
    let (probed, ()) = tokio::join!(
        tokio::time::timeout(KEYCHAIN_PROBE_TIMEOUT, probe),
        state.local.settled(LOCAL_START_WAIT),
    );
    let probe_result = match probed {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => return Err(ApiError::internal(join)),
        Err(_) => Err(Error::new(
            ErrorCode::KeychainUnavailable,
            "The keychain did not answer within 10 seconds (is an unlock prompt waiting?).",
        )),
    };
    let mut info = AppInfo::gather(
        env!("CARGO_PKG_VERSION"),
        &dirs,
        state.local.status(),
        || probe_result,
    );
    info.settings_problem = state.settings_problem();
    Ok(info)
}

/// Whether Porthole starts when the user logs in (an XDG autostart entry on Linux).
#[tauri::command]
#[specta::specta]
pub fn get_start_at_login(state: State<'_, AppState>) -> Result<bool, ApiError> {
    use tauri_plugin_autostart::ManagerExt;
    let app = app(&state)?;
    app.autolaunch()
        .is_enabled()
        .map_err(|e| autostart_error("Whether Porthole starts at login could not be read", e))
}

/// Turns starting at login on or off (off by default).
#[tauri::command]
#[specta::specta]
pub fn set_start_at_login(state: State<'_, AppState>, enabled: bool) -> Result<(), ApiError> {
    use tauri_plugin_autostart::ManagerExt;
    let app = app(&state)?;
    let autolaunch = app.autolaunch();
    if enabled {
        autolaunch.enable()
    } else {
        autolaunch.disable()
    }
    .map_err(|e| autostart_error("Starting at login could not be changed", e))
}

fn app(state: &AppState) -> Result<tauri::AppHandle, ApiError> {
    state
        .app_handle()
        .ok_or_else(|| ApiError::internal("the app is still starting"))
}

fn autostart_error(what: &str, e: tauri_plugin_autostart::Error) -> ApiError {
    Error::new(ErrorCode::Io, format!("{what}: {e}")).into()
}
