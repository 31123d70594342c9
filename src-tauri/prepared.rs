//! Session windows made ahead of time. Opening a window costs WebKit a new web process and the
//! page's first load: most of the time from "ready" to a usable page on a small machine. The
//! launch dialog asks for its session's window as soon as the launch returns
//! (`windows::prepare_session_window`): it is made hidden, on about:blank, so that its web process starts while the session starts; once the
//! session is ready, `windows::open_session` points it at the session's proxy and shows it.
//!
//! A prepared window that is not opened goes away with its session's end (`proxies::on_event`)
//! or when the dialog lets the launch go on unwatched (`release`): it is never left hidden.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tauri::{AppHandle, Manager, Url};

use crate::labels::session_label;

/// The one origin a session window may show (its proxy's): none yet for a prepared window,
/// which may show only about:blank until it is opened.
#[derive(Clone, Default)]
pub struct AllowedOrigin(Arc<Mutex<Option<url::Origin>>>);

impl AllowedOrigin {
    pub fn of(url: &Url) -> Self {
        Self(Arc::new(Mutex::new(Some(url.origin()))))
    }

    pub fn set(&self, url: &Url) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(url.origin());
    }

    /// Whether the window may navigate to `target`.
    pub fn allows(&self, target: &Url) -> bool {
        match &*self.0.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(origin) => target.origin() == *origin,
            None => target.as_str() == "about:blank",
        }
    }
}

/// The prepared windows not opened yet, by label, with the origin each will be allowed.
#[derive(Default)]
struct Prepared(Mutex<HashMap<String, AllowedOrigin>>);

fn prepared(app: &AppHandle) -> std::sync::MutexGuard<'_, HashMap<String, AllowedOrigin>> {
    if app.try_state::<Prepared>().is_none() {
        app.manage(Prepared::default());
    }
    let prepared = app.state::<Prepared>().inner();
    prepared.0.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes the session's prepared window off the list, to be opened: the origin it is to allow,
/// or `None` when the window (if any) is not a prepared one.
pub fn take(app: &AppHandle, label: &str) -> Option<AllowedOrigin> {
    prepared(app).remove(label)
}

/// Lists a prepared window: one just made, or one that could not be opened yet after all (its
/// session is not ready).
pub fn keep(app: &AppHandle, label: &str, allowed: AllowedOrigin) {
    prepared(app).insert(label.to_owned(), allowed);
}

/// Closes the session's window if it is a prepared one, not opened; whether it was.
pub fn release(app: &AppHandle, session_id: &str) -> bool {
    let label = session_label(session_id);
    if take(app, &label).is_none() {
        return false;
    }
    if let Some(window) = app.get_webview_window(&label) {
        let _ = window.close();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn a_prepared_window_shows_only_a_blank_page_until_it_has_its_origin() {
        let allowed = AllowedOrigin::default();
        assert!(allowed.allows(&url("about:blank")));
        assert!(!allowed.allows(&url("http://127.0.0.2:4000/")));
        assert!(!allowed.allows(&url("about:srcdoc")));
        allowed.set(&url("http://127.0.0.2:4000/__porthole/enter?t=x"));
        assert!(allowed.allows(&url("http://127.0.0.2:4000/")));
        assert!(!allowed.allows(&url("http://127.0.0.2:4001/")));
        assert!(!allowed.allows(&url("about:blank")));
    }

    #[test]
    fn an_opened_window_keeps_to_its_proxy() {
        let allowed = AllowedOrigin::of(&url("http://127.0.0.3:5000/x"));
        assert!(allowed.allows(&url("http://127.0.0.3:5000/other")));
        assert!(!allowed.allows(&url("https://127.0.0.3:5000/")));
        assert!(!allowed.allows(&url("about:blank")));
    }
}
