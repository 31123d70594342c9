//! The tray icon and its menu, rebuilt from the watchers' state (porthole_core::tray decides
//! what it shows). Left clicks never reach the app on Linux, so the menu is the tray's whole UI.

use std::sync::atomic::Ordering;

use chrono::Utc;
use porthole_core::tray::{TrayAction, TrayModel, EXTEND_CHOICES};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};

use crate::state::AppState;
use crate::windows;

const TRAY: &str = "main";
const OPEN: &str = "open-porthole";
const QUIT: &str = "quit";
const QUIT_KEEP: &str = "quit-keep";
const QUIT_STOP: &str = "quit-stop";

pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let mut builder = TrayIconBuilder::with_id(TRAY)
        .tooltip("Porthole")
        .menu(&menu(app, &model(app))?)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()));
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(())
}

fn model(app: &AppHandle) -> TrayModel {
    let state = app.state::<AppState>();
    TrayModel::build(
        &state.hub.sessions(None),
        Utc::now(),
        state.largest_warning(),
    )
}

/// Redraws the menu, tooltip and icon from the current sessions.
pub fn refresh(app: &AppHandle) {
    let Some(tray) = app.tray_by_id(TRAY) else {
        return;
    };
    let model = model(app);
    match menu(app, &model) {
        Ok(menu) => {
            let _ = tray.set_menu(Some(menu));
        }
        Err(e) => tracing::warn!("cannot rebuild the tray menu: {e}"),
    }
    let _ = tray.set_tooltip(Some(&model.tooltip));
    let icon = app.default_window_icon().cloned().map(|icon| {
        if model.warning {
            warning_tint(&icon)
        } else {
            icon
        }
    });
    let _ = tray.set_icon(icon);
}

fn menu(app: &AppHandle, model: &TrayModel) -> tauri::Result<Menu<tauri::Wry>> {
    let menu = Menu::new(app)?;
    for row in &model.rows {
        let (account_id, session_id) = (row.account_id.clone(), row.session_id.clone());
        let sub = Submenu::new(app, &row.label, true)?;
        let open = TrayAction::Open {
            account_id: account_id.clone(),
            session_id: session_id.clone(),
        };
        sub.append(&MenuItem::with_id(
            app,
            open.id(),
            "Open",
            row.can_open,
            None::<&str>,
        )?)?;
        for minutes in EXTEND_CHOICES {
            let extend = TrayAction::Extend {
                account_id: account_id.clone(),
                session_id: session_id.clone(),
                minutes,
            };
            let label = format!("Extend +{minutes} min");
            sub.append(&MenuItem::with_id(
                app,
                extend.id(),
                label,
                row.can_extend,
                None::<&str>,
            )?)?;
        }
        let stop = TrayAction::Stop {
            account_id,
            session_id,
        };
        sub.append(&MenuItem::with_id(
            app,
            stop.id(),
            "Stop",
            row.can_stop,
            None::<&str>,
        )?)?;
        menu.append(&sub)?;
    }
    if !model.rows.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
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
        QUIT_KEEP => {
            app.state::<AppState>()
                .keep_sessions
                .store(true, Ordering::SeqCst);
            app.exit(0);
        }
        other => {
            if let Some(action) = TrayAction::parse(other) {
                let app = app.clone();
                tauri::async_runtime::spawn(async move { act(&app, action).await });
            }
        }
    }
}

async fn act(app: &AppHandle, action: TrayAction) {
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
            None => Ok(()),
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
    };
    if let Err(e) = result {
        tracing::warn!(code = ?e.code, "tray action failed: {}", e.message);
        crate::notify::problem(app, "Porthole could not do that", &e.message);
    }
    refresh(app);
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
        let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
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
