//! The loopback proxies of opened sessions (porthole-proxy): one per session window, kept while
//! the session lives, retargeted when its URL changes, dropped (and so stopped) when it ends, or,
//! when it ended on its own with its window open, once that window closes.

use porthole_core::model::Session;
use porthole_core::watcher::WatchEvent;
use porthole_proxy::{Proxy, ProxyConfig};
use porthole_secrets::Sensitive;
use tauri::{AppHandle, Manager};

use crate::labels::session_label;
use crate::state::AppState;

/// A fresh one-time entry URL for the session's window, starting its proxy if needed. A session
/// of a paired server on another computer is reached through that server's tunnel.
pub async fn entry_url(
    app: &AppHandle,
    label: &str,
    session: &Session,
    upstream: url::Url,
) -> Result<Sensitive<String>, porthole_core::Error> {
    let state = app.state::<AppState>();
    if let Some(entry) = existing(&state, label, &upstream) {
        return entry;
    }
    let accounts = state.accounts();
    let account_id = session.account_id.clone();
    // The key comes from the keychain: a blocking D-Bus call, off the async workers.
    let tunnel = tauri::async_runtime::spawn_blocking(move || {
        accounts.get(&account_id).and_then(|a| accounts.tunnel(&a))
    })
    .await
    .map_err(|e| porthole_core::Error::new(porthole_core::ErrorCode::Internal, e.to_string()))??;
    let mut config = ProxyConfig::new(upstream, &session.id);
    config.tunnel = tunnel;
    // An address of its own: no other session's page shares its cookies or is same-site to it.
    config.listen_ip = porthole_proxy::own_loopback_address();
    let started = Proxy::start(config).await?;
    let mut proxies = state.proxies.lock().unwrap_or_else(|p| p.into_inner());
    // Two opens at once: keep the first proxy, so the window's address never changes.
    let proxy = proxies.entry(label.to_owned()).or_insert(started);
    proxy.new_entry_url()
}

fn existing(
    state: &AppState,
    label: &str,
    upstream: &url::Url,
) -> Option<Result<Sensitive<String>, porthole_core::Error>> {
    let proxies = state.proxies.lock().unwrap_or_else(|p| p.into_inner());
    let proxy = proxies.get(label)?;
    Some(
        proxy
            .retarget(upstream.clone())
            .and_then(|()| proxy.new_entry_url()),
    )
}

/// Keeps the proxies in step with the watchers (a consumer of the hub's channel, see `fanout`): a
/// new URL retargets; an end stops the session's proxy and removes what WebKit kept for it,
/// unless the session's window is open and nobody here asked for the end: then the proxy serves
/// the ended page to that window (see `windows::session_ended`) until the window closes.
pub fn on_event(app: &AppHandle, event: &WatchEvent) {
    match event {
        WatchEvent::Updated { session } | WatchEvent::Ready { session } => retarget(app, session),
        WatchEvent::Ended {
            session_id,
            name,
            reason,
            requested,
            outcome,
            ..
        } => {
            // A window made ahead for a session that never became ready goes with it.
            if crate::prepared::release(app, session_id) {
                return;
            }
            let label = session_label(session_id);
            let window = app.get_webview_window(&label).filter(|_| !requested);
            if let Some(window) = window {
                let state = app.state::<AppState>();
                let proxies = state.proxies.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(proxy) = proxies.get(&label) {
                    let mut lines: Vec<&str> = outcome.iter().map(String::as_str).collect();
                    lines.push(ENDED_HINT);
                    proxy.end(&format!("{name} {}", reason.describe()), &lines);
                    let page = url::Url::parse(&format!("{}/", proxy.local_origin()));
                    drop(proxies);
                    if let Ok(page) = page {
                        let _ = window.navigate(page);
                    }
                    return;
                }
            }
            forget(app, &label);
        }
        _ => {}
    }
}

/// What an ended session's window can do, as its page says.
const ENDED_HINT: &str = "Relaunch it from this window's Session menu, or close the window \
                          (Ctrl+W). Porthole's main window keeps it among the ended sessions.";

/// Stops a session's proxy and removes what WebKit kept for its address.
pub fn forget(app: &AppHandle, label: &str) {
    let state = app.state::<AppState>();
    let removed = state
        .proxies
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(label);
    // A proxy that fell back to 127.0.0.1 shares it with others: nothing of it is its own.
    if let Some(proxy) = removed.filter(|p| p.local_addr().ip() != std::net::Ipv4Addr::LOCALHOST) {
        crate::webdata::forget_session(app, proxy.local_addr().ip());
    }
}

fn retarget(app: &AppHandle, session: &Session) {
    let Some(url) = session.url.as_deref().and_then(|u| url::Url::parse(u).ok()) else {
        return;
    };
    let state = app.state::<AppState>();
    let proxies = state.proxies.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(proxy) = proxies.get(&session_label(&session.id)) {
        if let Err(e) = proxy.retarget(url) {
            tracing::warn!(code = ?e.code, "cannot retarget a session proxy: {}", e.message);
        }
    }
}
