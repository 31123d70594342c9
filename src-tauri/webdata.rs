//! What WebKit keeps for the windows (cookies, local storage, caches): in one private folder
//! (0700) in the app's data folder, never in WebKit's default folders (0755, with 0644 files that
//! hold session pages and tokens).
//!
//! Every window uses that one store: WebKit lets automation drive one web context only (the
//! end-to-end suite drives session windows), and Tauri keeps each context's network process for
//! the app's life. Sessions are kept apart by origin instead: each session's proxy listens on a
//! loopback address of its own (`porthole_proxy::own_loopback_address`), and a browser keeps
//! cookies per host and storage per origin, so no session sees another's cookies or storage,
//! and to each other they are cross-site. When a session ends, everything WebKit holds for its
//! address is removed; at start, whatever earlier runs left for session addresses is.

use std::net::IpAddr;
use std::path::PathBuf;

use porthole_core::paths::Dirs;
use tauri::{AppHandle, Manager, Runtime};

/// The folder, created private (0700) if needed.
pub fn folder(dirs: &Dirs) -> porthole_core::error::Result<PathBuf> {
    let folder = dirs.data.join("webkit");
    porthole_core::paths::create_private_dir(&folder)?;
    Ok(folder)
}

/// Whether WebKit's record named `name` (a host) belongs to a session proxy: a loopback address.
fn is_session_site(name: &str) -> bool {
    name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Removes what WebKit keeps for the session proxy on `ip` (cookies, storage, cache).
pub fn forget_session<R: Runtime>(app: &AppHandle<R>, ip: IpAddr) {
    let host = ip.to_string();
    forget(app, move |name| name == host);
}

/// Removes what WebKit keeps for every session address (at start: earlier runs' sessions).
pub fn forget_all_sessions<R: Runtime>(app: &AppHandle<R>) {
    forget(app, is_session_site);
}

fn forget<R: Runtime>(app: &AppHandle<R>, matches: impl Fn(&str) -> bool + Send + 'static) {
    // Any window reaches the one store (the main one first: a session window may be closing);
    // with none open there is nothing to ask now, and the next start removes what is left.
    let Some(window) = app
        .get_webview_window(crate::labels::MAIN)
        .or_else(|| app.webview_windows().into_values().next())
    else {
        return;
    };
    #[cfg(target_os = "linux")]
    {
        let applied = window.with_webview(move |webview| {
            use webkit2gtk::{
                WebViewExt, WebsiteDataManagerExt, WebsiteDataManagerExtManual, WebsiteDataTypes,
            };
            let Some(manager) = webview.inner().website_data_manager() else {
                return;
            };
            let remover = manager.clone();
            manager.fetch(
                WebsiteDataTypes::ALL,
                None::<&webkit2gtk::gio::Cancellable>,
                move |found| {
                    let found = match found {
                        Ok(found) => found,
                        Err(e) => {
                            tracing::warn!("cannot list the web data: {e}");
                            return;
                        }
                    };
                    let doomed: Vec<_> = found
                        .iter()
                        .filter(|data| data.name().is_some_and(|name| matches(&name)))
                        .collect();
                    tracing::debug!(
                        sites = found.len(),
                        removed = doomed.len(),
                        "removing sessions' web data"
                    );
                    if doomed.is_empty() {
                        return;
                    }
                    remover.remove(
                        WebsiteDataTypes::ALL,
                        &doomed,
                        None::<&webkit2gtk::gio::Cancellable>,
                        |result| {
                            if let Err(e) = result {
                                tracing::warn!("cannot remove a session's web data: {e}");
                            }
                        },
                    );
                },
            );
        });
        if let Err(e) = applied {
            tracing::warn!("cannot reach the web data store: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (window, matches);
}

#[cfg(test)]
mod tests {
    use super::is_session_site;

    #[test]
    fn session_sites_are_loopback_addresses() {
        assert!(is_session_site("127.4.5.6"));
        assert!(is_session_site("127.0.0.1"));
        assert!(!is_session_site("tauri.localhost"));
        assert!(!is_session_site("localhost"));
        assert!(!is_session_site("10.0.0.1"));
    }
}
