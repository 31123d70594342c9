//! Window creation. The main window shows the app's own UI; session windows show remote content
//! and get no capability (capabilities name the "main" label only), so they cannot call commands.

use std::collections::HashMap;
use std::sync::Mutex;

use porthole_core::model::{EndReason, Session};
use porthole_core::tray::{session_items, window_title, TrayAction, TrayItem};
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::{AppHandle, Manager, Runtime, Url, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

use tauri_specta::Event;

use crate::labels::{session_label, MAIN};
use crate::prepared::AllowedOrigin;

/// Creates the main window (its size and position are restored by the window-state plugin).
pub fn create_main(app: &AppHandle) -> tauri::Result<WebviewWindow> {
    let handle = app.clone();
    let dev_origin = app.config().build.dev_url.as_ref().map(Url::origin);
    let lean = lean_rendering_wanted();
    // Lean rendering is a setting WebKit reads when it creates the page: the window starts on
    // about:blank, and the app's page loads once the setting is in place (lean_rendering).
    let first = if lean {
        WebviewUrl::External(Url::parse("about:blank").map_err(tauri::Error::InvalidUrl)?)
    } else {
        WebviewUrl::App("index.html".into())
    };
    let window = with_private_store(app, WebviewWindowBuilder::new(app, MAIN, first))
        .title("Porthole")
        .inner_size(1024.0, 700.0)
        .min_inner_size(640.0, 420.0)
        .on_navigation(move |url| {
            let own = is_app_url(url)
                || (cfg!(debug_assertions) && dev_origin.as_ref() == Some(&url.origin()));
            if !own {
                open_in_browser(&handle, url);
            }
            own
        })
        .build()?;
    if lean {
        lean_rendering(&window, app_page(app)?);
    }
    Ok(window)
}

/// The app's own page, where `WebviewUrl::App("index.html")` points: the dev server in a build
/// without the embedded UI, else Tauri's own `tauri://localhost`.
fn app_page(app: &AppHandle) -> tauri::Result<Url> {
    let base = match (tauri::is_dev(), &app.config().build.dev_url) {
        (true, Some(dev)) => dev.clone(),
        _ => Url::parse("tauri://localhost/").map_err(tauri::Error::InvalidUrl)?,
    };
    base.join("index.html").map_err(tauri::Error::InvalidUrl)
}

/// Whether the main window is painted without accelerated compositing: on Linux, unless
/// `PORTHOLE_MAIN_COMPOSITING=1`.
fn lean_rendering_wanted() -> bool {
    cfg!(target_os = "linux")
        && std::env::var_os("PORTHOLE_MAIN_COMPOSITING").is_none_or(|v| v != "1")
}

/// The main window is a list of text: WebKit paints it without accelerated compositing. Under
/// software GL (no GPU, remote desktops, Xvfb) compositing costs the web process ~100–250 MB, a GL
/// repaint of the whole layer each second for the countdowns, and at start a compositor and a
/// vblank thread that keep both CPUs of a small machine busy; painting damaged rectangles
/// directly costs none of it. Session windows keep WebKit's default, since their pages (ComfyUI's
/// canvas) want the GPU. The setting is made first, then `page` is loaded.
fn lean_rendering(window: &WebviewWindow, page: Url) {
    #[cfg(target_os = "linux")]
    {
        let applied = window.with_webview(move |webview| {
            use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
            let webview = webview.inner();
            if let Some(settings) = webview.settings() {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
            webview.load_uri(page.as_str());
        });
        if let Err(err) = applied {
            tracing::error!("cannot load the main window's page: {err}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (window, page);
}

/// Shows and focuses the main window, recreating it if it was closed.
pub fn show_main(app: &AppHandle) {
    let window = match app.get_webview_window(MAIN) {
        Some(window) => window,
        None => match create_main(app) {
            Ok(window) => window,
            Err(err) => {
                tracing::error!("cannot reopen the main window: {err}");
                return;
            }
        },
    };
    let _ = window.unminimize();
    let _ = window.show();
    let _ = window.set_focus();
}

/// Opens remote content (a session's UI through its proxy) in its own window, shown or (a
/// prepared window, see `prepared`) hidden. Navigation that leaves the origin `allowed` names, and
/// requests for new windows, go to the system browser instead.
pub fn open_remote<R: Runtime>(
    app: &AppHandle<R>,
    label: &str,
    url: Url,
    title: &str,
    menu: Option<Menu<R>>,
    allowed: AllowedOrigin,
    visible: bool,
) -> tauri::Result<WebviewWindow<R>> {
    let nav_handle = app.clone();
    let popup_handle = app.clone();
    let mut builder = with_private_store(
        app,
        WebviewWindowBuilder::new(app, label, WebviewUrl::External(url)),
    );
    if let Some(menu) = menu {
        builder = builder.menu(menu);
    }
    builder
        .title(title)
        .inner_size(1200.0, 800.0)
        .visible(visible)
        .on_navigation(move |target| {
            let same = allowed.allows(target);
            if !same && target.as_str() != "about:blank" {
                open_in_browser(&nav_handle, target);
            }
            same
        })
        .on_new_window(move |target, _features| {
            open_in_browser(&popup_handle, &target);
            tauri::webview::NewWindowResponse::Deny
        })
        .build()
}

/// Every window keeps its web data in the app's private folder (see `webdata`).
fn with_private_store<'a, R: Runtime, M: Manager<R>>(
    app: &AppHandle<R>,
    builder: WebviewWindowBuilder<'a, R, M>,
) -> WebviewWindowBuilder<'a, R, M> {
    match crate::webdata::folder(&app.state::<crate::state::AppState>().dirs) {
        Ok(folder) => builder.data_directory(folder),
        Err(e) => {
            tracing::error!("no private folder for web data: {}", e.message);
            builder
        }
    }
}

/// Shows a session in the main window (opening it), and with `relaunch` launches it again there
/// as the main window's own Relaunch does.
pub fn show_in_main(
    app: &AppHandle,
    account_id: &str,
    session_id: &str,
    relaunch: bool,
) -> Result<(), porthole_core::Error> {
    let shown = crate::state::ShowSession {
        account_id: account_id.to_owned(),
        session_id: session_id.to_owned(),
        relaunch,
    };
    app.state::<crate::state::AppState>()
        .show_session(shown.clone());
    show_main(app);
    shown.emit_to(app, MAIN).map_err(|e| {
        porthole_core::Error::new(
            porthole_core::ErrorCode::Internal,
            format!("The main window could not be told to show the session: {e}"),
        )
    })
}

/// Opens (or focuses) a session's window. The window loads the session's own loopback proxy
/// through its one-time token handshake; the proxy (and so the window's address) outlives the
/// window, so reopening lands on the same port. A window prepared while the session started (see
/// `prepared`) is pointed at the proxy and shown.
pub async fn open_session(app: &AppHandle, session: &Session) -> Result<(), porthole_core::Error> {
    let label = session_label(&session.id);
    let window = app.get_webview_window(&label);
    let prepared = window
        .as_ref()
        .and_then(|_| crate::prepared::take(app, &label));
    if let (Some(window), None) = (&window, &prepared) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        return Ok(());
    }
    let url = match page_url(app, &label, session).await {
        Ok(url) => url,
        Err(e) => {
            if let Some(allowed) = prepared {
                crate::prepared::keep(app, &label, allowed);
            }
            return Err(e);
        }
    };
    let Some(url) = url else {
        // No page of its own: the main window shows it (a window made ahead is not wanted).
        if let (Some(window), Some(_)) = (&window, &prepared) {
            let _ = window.close();
        }
        return show_in_main(app, &session.account_id, &session.id, false);
    };
    match (window, prepared) {
        (Some(window), Some(allowed)) => {
            allowed.set(&url);
            window.navigate(url).map_err(window_error)?;
            let _ = window.set_title(&window_title(session, chrono::Utc::now()));
            let items = menu_items(session);
            let menu = session_menu(app, &session.account_id, &session.id, &items)?;
            if window.set_menu(menu).is_ok() {
                shown_menus(app).insert(label, items);
            }
            window.show().map_err(window_error)?;
            let _ = window.set_focus();
        }
        _ => {
            let title = window_title(session, chrono::Utc::now());
            let items = menu_items(session);
            let menu = session_menu(app, &session.account_id, &session.id, &items)?;
            let allowed = AllowedOrigin::of(&url);
            let ids = (session.account_id.as_str(), session.id.as_str());
            build_session_window(app, ids, url, &title, Some(menu), allowed, true)?;
            shown_menus(app).insert(label, items);
        }
    }
    Ok(())
}

/// Makes the window of session `session_id` of `account_id` ahead of its opening (see
/// `prepared`): hidden, on about:blank, unless it has a window already. Its title and menu come
/// when it is opened; the launch dialog asks only for a session with a page of its own (one
/// without has its prepared window closed when it is opened).
pub fn prepare_session_window(
    app: &AppHandle,
    account_id: &str,
    session_id: &str,
) -> Result<(), porthole_core::Error> {
    let label = session_label(session_id);
    if app.get_webview_window(&label).is_some() {
        return Ok(());
    }
    let allowed = AllowedOrigin::default();
    let blank = Url::parse("about:blank").map_err(|e| {
        porthole_core::Error::new(porthole_core::ErrorCode::Internal, e.to_string())
    })?;
    let ids = (account_id, session_id);
    build_session_window(app, ids, blank, "Porthole", None, allowed.clone(), false)?;
    crate::prepared::keep(app, &label, allowed);
    Ok(())
}

/// The address a session's window loads (a fresh entry to its proxy), or `None` for a session
/// that the main window shows; an error when it cannot be opened (yet).
async fn page_url(
    app: &AppHandle,
    label: &str,
    session: &Session,
) -> Result<Option<Url>, porthole_core::Error> {
    if session.opens_in_app() {
        return Ok(None);
    }
    if !session.can_open() {
        return Err(porthole_core::Error::invalid_input(
            if session.capabilities.has_ui {
                "This session is not ready yet: it can be opened once its page answers."
            } else {
                "This session has no web UI to open."
            },
        ));
    }
    let upstream = url::Url::parse(session.url.as_deref().unwrap_or_default()).map_err(|e| {
        porthole_core::Error::new(
            porthole_core::ErrorCode::InvalidResponse,
            format!("The session's URL cannot be opened: {e}"),
        )
    })?;
    let entry = crate::proxies::entry_url(app, label, session, upstream).await?;
    Url::parse(entry.expose()).map(Some).map_err(|e| {
        porthole_core::Error::new(
            porthole_core::ErrorCode::Internal,
            format!("proxy URL: {e}"),
        )
    })
}

fn window_error(e: tauri::Error) -> porthole_core::Error {
    porthole_core::Error::new(
        porthole_core::ErrorCode::Internal,
        format!("The session window could not open: {e}"),
    )
}

/// Makes the window of session `ids` (account, session) on `url`, shown or (a prepared one)
/// hidden; when it closes, the proxy of a session that has ended goes.
pub fn build_session_window(
    app: &AppHandle,
    (account_id, session_id): (&str, &str),
    url: Url,
    title: &str,
    menu: Option<Menu<tauri::Wry>>,
    allowed: AllowedOrigin,
    visible: bool,
) -> Result<WebviewWindow, porthole_core::Error> {
    let label = session_label(session_id);
    let window =
        open_remote(app, &label, url, title, menu, allowed, visible).map_err(window_error)?;
    // A window kept open on an ended session holds its proxy until it closes.
    let (handle, account_id, session_id) =
        (app.clone(), account_id.to_owned(), session_id.to_owned());
    window.on_window_event(move |event| {
        if matches!(event, tauri::WindowEvent::Destroyed) {
            let label = session_label(&session_id);
            crate::prepared::take(&handle, &label);
            let state = handle.state::<crate::state::AppState>();
            let live = state
                .hub
                .sessions(Some(&account_id))
                .iter()
                .any(|s| s.id == session_id);
            if !live {
                crate::proxies::forget(&handle, &label);
            }
        }
    });
    Ok(window)
}

/// The session entries each open session window's menu shows, by window label: a refresh
/// rebuilds a menu only when they changed (a rebuild replaces the GTK menu bar and its
/// accelerators, on the main thread).
#[derive(Default)]
struct ShownMenus(Mutex<HashMap<String, Vec<TrayItem>>>);

fn shown_menus(app: &AppHandle) -> std::sync::MutexGuard<'_, HashMap<String, Vec<TrayItem>>> {
    if app.try_state::<ShownMenus>().is_none() {
        app.manage(ShownMenus::default());
    }
    let shown = app.state::<ShownMenus>().inner();
    shown.0.lock().unwrap_or_else(|p| p.into_inner())
}

/// The session's own entries in its window's menu (the window is already open: no "Open").
fn menu_items(session: &Session) -> Vec<TrayItem> {
    session_items(session)
        .into_iter()
        .filter(|item| !item.id.starts_with("open\u{1f}"))
        .collect()
}

/// A session window's menu: "Session" with Extend +5/15/30/60 min and Stop (confirmed), "Open
/// Porthole" and "Close Window" (Ctrl+W). Its events reach the tray's handler, which serves every
/// menu of the app (Tauri delivers them all there).
fn session_menu(
    app: &AppHandle,
    account_id: &str,
    session_id: &str,
    items: &[TrayItem],
) -> Result<Menu<tauri::Wry>, porthole_core::Error> {
    let build = || -> tauri::Result<Menu<tauri::Wry>> {
        let menu = Menu::new(app)?;
        let sub = Submenu::new(app, "Session", true)?;
        crate::menus::append_items(app, &sub, items)?;
        sub.append(&PredefinedMenuItem::separator(app)?)?;
        sub.append(&MenuItem::with_id(
            app,
            crate::menus::OPEN,
            "Open Porthole",
            true,
            None::<&str>,
        )?)?;
        let close = TrayAction::CloseWindow {
            account_id: account_id.to_owned(),
            session_id: session_id.to_owned(),
        };
        sub.append(&MenuItem::with_id(
            app,
            close.id(),
            "Close Window",
            true,
            Some("CmdOrCtrl+W"),
        )?)?;
        menu.append(&sub)?;
        Ok(menu)
    };
    build().map_err(|e| {
        porthole_core::Error::new(
            porthole_core::ErrorCode::Internal,
            format!("The session window's menu could not be built: {e}"),
        )
    })
}

/// Brings every open session window's title (name and time left) and menu up to date; a menu
/// is rebuilt only when its entries changed.
pub fn refresh_session_windows(app: &AppHandle) {
    let state = app.state::<crate::state::AppState>();
    let now = chrono::Utc::now();
    // The lock is never held across a call into the window system (which may wait on the
    // main thread, where a refresh can also run).
    shown_menus(app).retain(|label, _| app.get_webview_window(label).is_some());
    for session in state.hub.sessions(None) {
        let label = session_label(&session.id);
        let Some(window) = app.get_webview_window(&label) else {
            continue;
        };
        let _ = window.set_title(&window_title(&session, now));
        let items = menu_items(&session);
        if shown_menus(app).get(&label) == Some(&items) {
            continue;
        }
        if let Ok(menu) = session_menu(app, &session.account_id, &session.id, &items) {
            if window.set_menu(menu).is_ok() {
                shown_menus(app).insert(label, items);
            }
        }
    }
}

/// A session ended on its own (nobody here asked) while its window was open: the window stays,
/// on the page its proxy now serves (see `proxies::on_event`), its title saying how it ended
/// and its menu offering Relaunch.
pub fn session_ended(
    app: &AppHandle,
    account_id: &str,
    session_id: &str,
    name: &str,
    reason: &EndReason,
) {
    let label = session_label(session_id);
    let Some(window) = app.get_webview_window(&label) else {
        return;
    };
    let _ = window.set_title(&format!("{name} — {} — Porthole", reason.describe()));
    let relaunch = TrayAction::Relaunch {
        account_id: account_id.to_owned(),
        session_id: session_id.to_owned(),
    };
    let items = vec![TrayItem {
        id: relaunch.id(),
        label: "Relaunch".to_owned(),
        enabled: true,
        confirm: None,
    }];
    if let Ok(menu) = session_menu(app, account_id, session_id, &items) {
        if window.set_menu(menu).is_ok() {
            shown_menus(app).insert(label, items);
        }
    }
}

/// Closes a session's window (the session has ended, or its "Close Window" entry was chosen;
/// the proxy stays, so reopening lands on the same port).
pub fn close_session_window(app: &AppHandle, session_id: &str) {
    if let Some(window) = app.get_webview_window(&session_label(session_id)) {
        let _ = window.close();
    }
}

/// The app's own pages: `tauri://localhost` on Linux and macOS, `http(s)://tauri.localhost` on
/// Windows.
fn is_app_url(url: &Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        "about" => url.as_str() == "about:blank",
        _ => false,
    }
}

fn open_in_browser<R: Runtime>(app: &AppHandle<R>, url: &Url) {
    if !matches!(url.scheme(), "http" | "https" | "mailto") {
        tracing::warn!("refusing to open a link with scheme {}", url.scheme());
        return;
    }
    #[allow(deprecated)] // tauri-plugin-shell's open() is the design card's opener.
    let result = tauri_plugin_shell::ShellExt::shell(app).open(url.as_str(), None);
    if let Err(err) = result {
        tracing::warn!("cannot open {url} in the system browser: {err}");
    }
}

/// Debug builds only: `PORTHOLE_E2E_FOREIGN_URL` opens that page in a session-style window, so the
/// end-to-end suite can prove that remote content cannot invoke app commands.
#[cfg(debug_assertions)]
pub fn open_debug_foreign_window(app: &AppHandle) {
    let Some(raw) = std::env::var_os("PORTHOLE_E2E_FOREIGN_URL") else {
        return;
    };
    match Url::parse(&raw.to_string_lossy()) {
        Ok(url) => {
            let allowed = AllowedOrigin::of(&url);
            let opened = open_remote(
                app,
                "session-e2e-probe",
                url,
                "Foreign page",
                None,
                allowed,
                true,
            );
            if let Err(err) = opened {
                tracing::error!("cannot open the foreign test window: {err}");
            }
        }
        Err(err) => tracing::error!("PORTHOLE_E2E_FOREIGN_URL is not a URL: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn only_the_app_origin_is_own() {
        assert!(is_app_url(&url("tauri://localhost/index.html")));
        assert!(is_app_url(&url("http://tauri.localhost/")));
        assert!(!is_app_url(&url("http://127.0.0.1:8080/")));
        assert!(!is_app_url(&url("tauri://evil.example/")));
        assert!(!is_app_url(&url("https://tauri.localhost.evil.example/")));
        assert!(!is_app_url(&url("file:///etc/passwd")));
    }
}
