//! The tray icon and its menu, rebuilt from the watchers' state (porthole_core::tray decides
//! what it shows). Left clicks never reach the app on Linux, so the menu is the tray's whole UI.

use std::sync::atomic::Ordering;
use std::sync::Mutex;

use chrono::Utc;
use porthole_core::accounts::AccountStore;
use porthole_core::tray::{TrayAction, TrayModel};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};

use crate::menus::{append_items, OPEN};
use crate::state::AppState;
use crate::windows;

const TRAY: &str = "main";
const QUIT: &str = "quit";
const QUIT_KEEP: &str = "quit-keep";
const QUIT_STOP: &str = "quit-stop";

pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let model = model(app);
    let mut builder = TrayIconBuilder::with_id(TRAY)
        .tooltip(&model.tooltip)
        .menu(&menu(app, &model)?)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()));
    if let Some(icon) = icon(app, model.warning) {
        builder = builder.icon(icon);
    }
    builder.build(app)?;
    app.manage(Drawn(Mutex::new(model)));
    Ok(())
}

/// What the tray shows right now: a refresh that would draw the same again does nothing (each
/// redraw rebuilds a GTK menu and exports it over D-Bus, on the main thread).
struct Drawn(Mutex<TrayModel>);

/// What the tray shows now (the account switcher's choice applied).
pub fn model(app: &AppHandle) -> TrayModel {
    let state = app.state::<AppState>();
    let accounts: Vec<(String, String)> = AccountStore::new(&state.dirs.config)
        .list()
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let shown = state.tray_account();
    let unanswered: Vec<String> = state
        .hub
        .unanswered()
        .into_keys()
        .map(|id| {
            let name = accounts.iter().find(|(a, _)| *a == id).map(|(_, n)| n);
            name.cloned().unwrap_or(id)
        })
        .collect();
    TrayModel::build(
        &state.hub.sessions(None),
        Utc::now(),
        &accounts,
        shown.as_deref(),
    )
    .with_unanswered(&unanswered)
}

/// Redraws the menu, tooltip and icon from the current sessions when they changed, and the
/// session windows' titles and menus with them.
pub fn refresh(app: &AppHandle) {
    windows::refresh_session_windows(app);
    let (Some(tray), Some(drawn)) = (app.tray_by_id(TRAY), app.try_state::<Drawn>()) else {
        return;
    };
    let model = model(app);
    let mut last = drawn.0.lock().unwrap_or_else(|p| p.into_inner());
    if *last == model {
        return;
    }
    match menu(app, &model) {
        Ok(menu) => {
            let _ = tray.set_menu(Some(menu));
        }
        Err(e) => tracing::warn!("cannot rebuild the tray menu: {e}"),
    }
    if last.tooltip != model.tooltip {
        let _ = tray.set_tooltip(Some(&model.tooltip));
    }
    if last.warning != model.warning {
        let _ = tray.set_icon(icon(app, model.warning));
    }
    *last = model;
}

/// The app's icon, tinted while some session is about to end.
fn icon(app: &AppHandle, warning: bool) -> Option<Image<'static>> {
    let icon = app.default_window_icon()?;
    Some(if warning {
        warning_tint(icon)
    } else {
        icon.clone().to_owned()
    })
}

fn menu(app: &AppHandle, model: &TrayModel) -> tauri::Result<Menu<tauri::Wry>> {
    let menu = Menu::new(app)?;
    for (i, notice) in model.notices.iter().enumerate() {
        let id = format!("notice-{i}");
        menu.append(&MenuItem::with_id(app, id, notice, false, None::<&str>)?)?;
    }
    if !model.notices.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    for row in &model.rows {
        let sub = Submenu::new(app, &row.label, true)?;
        append_items(app, &sub, &row.items)?;
        menu.append(&sub)?;
    }
    if model.rows.is_empty() {
        menu.append(&MenuItem::with_id(
            app,
            "no-sessions",
            "No sessions running",
            false,
            None::<&str>,
        )?)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    if !model.accounts.is_empty() {
        let switcher = Submenu::new(app, "Show account", true)?;
        for account in &model.accounts {
            switcher.append(&CheckMenuItem::with_id(
                app,
                &account.id,
                &account.label,
                true,
                account.selected,
                None::<&str>,
            )?)?;
        }
        menu.append(&switcher)?;
    }
    menu.append(&MenuItem::with_id(
        app,
        OPEN,
        "Open Porthole",
        true,
        None::<&str>,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    if model.rows.is_empty() {
        menu.append(&MenuItem::with_id(app, QUIT, "Quit", true, None::<&str>)?)?;
    } else {
        // Sessions are running: quitting asks what becomes of them.
        let quit = Submenu::new(app, "Quit", true)?;
        quit.append(&MenuItem::with_id(
            app,
            QUIT_KEEP,
            "Keep sessions running",
            true,
            None::<&str>,
        )?)?;
        quit.append(&MenuItem::with_id(
            app,
            QUIT_STOP,
            "Stop all sessions",
            true,
            None::<&str>,
        )?)?;
        menu.append(&quit)?;
    }
    Ok(menu)
}

/// Every menu event of the app (tray and session windows alike: Tauri delivers them all here).
fn on_menu(app: &AppHandle, id: &str) {
    match id {
        OPEN => windows::show_main(app),
        QUIT => app.exit(0),
        QUIT_STOP => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                stop_all(&app).await;
                app.exit(0);
            });
        }
        QUIT_KEEP => quit(app, true),
        other => {
            if let Some(action) = TrayAction::parse(other) {
                perform(app, action);
            }
        }
    }
}

/// Does `action` in the background (a menu entry, a notification's action); a failure is told
/// in a notification.
pub fn perform(app: &AppHandle, action: TrayAction) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Err(e) = act(&app, action).await {
            tracing::warn!(code = ?e.code, "action failed: {}", e.message);
            crate::notify::tell(&app, "Porthole could not do that", &e.message);
        }
    });
}

/// Quits; the Local sessions' processes stop with the app unless `keep_local_sessions`.
pub fn quit(app: &AppHandle, keep_local_sessions: bool) {
    app.state::<AppState>()
        .keep_sessions
        .store(keep_local_sessions, Ordering::SeqCst);
    app.exit(0);
}

/// Does what a session's menu entry (or the account switcher) says.
pub async fn act(app: &AppHandle, action: TrayAction) -> Result<(), porthole_core::Error> {
    let state = app.state::<AppState>();
    let result = match &action {
        TrayAction::Open {
            account_id,
            session_id,
        } => match state
            .hub
            .sessions(Some(account_id))
            .iter()
            .find(|s| &s.id == session_id)
        {
            Some(session) => windows::open_session(app, session).await,
            None => Err(porthole_core::Error::new(
                porthole_core::ErrorCode::SessionGone,
                "That session is no longer running.",
            )),
        },
        TrayAction::Extend {
            account_id,
            session_id,
            minutes,
        } => state.hub.extend(account_id, session_id, *minutes).await,
        TrayAction::Stop {
            account_id,
            session_id,
        } => state.hub.stop(account_id, session_id).await,
        TrayAction::CloseWindow { session_id, .. } => {
            windows::close_session_window(app, session_id);
            Ok(())
        }
        TrayAction::Relaunch {
            account_id,
            session_id,
        } => {
            windows::close_session_window(app, session_id);
            windows::show_in_main(app, account_id, session_id, true)
        }
        TrayAction::ShowAccount { account_id } => {
            state.set_tray_account(account_id.clone());
            Ok(())
        }
    };
    refresh(app);
    result
}

/// Asks every provider to stop every live session (each at most a few seconds).
async fn stop_all(app: &AppHandle) {
    let state = app.state::<AppState>();
    let stops = state.hub.sessions(None).into_iter().map(|s| {
        let hub = &state.hub;
        async move {
            let stop = hub.stop(&s.account_id, &s.id);
            match tokio::time::timeout(std::time::Duration::from_secs(10), stop).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("could not stop {}: {}", s.name, e.message),
                Err(_) => tracing::warn!("stopping {} took too long", s.name),
            }
        }
    });
    futures::future::join_all(stops).await;
}

/// Redraws the tray every 30 s so the rows' time left stays current.
pub fn keep_fresh(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let period = std::time::Duration::from_secs(30);
        // The first redraw in 30 s: the tray was drawn when it was created.
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            every.tick().await;
            refresh(&app);
        }
    });
}

/// The app icon, tinted amber: some session is about to end.
fn warning_tint(icon: &Image<'_>) -> Image<'static> {
    let mut rgba = icon.rgba().to_vec();
    for px in rgba.chunks_exact_mut(4) {
        if px[3] > 0 {
            px[0] = ((u16::from(px[0]) + 255) / 2) as u8;
            px[1] = ((u16::from(px[1]) + 150) / 2) as u8;
            px[2] /= 3;
        }
    }
    Image::new_owned(rgba, icon.width(), icon.height())
}
