//! Desktop notifications for watcher events (porthole_core::alerts decides which, once each).
//!
//! A notification about a session carries it (`account_id`, `session_id` in its extras): a click
//! on it opens the session (or shows it in the main window once it is over). A warning also
//! offers actions where the notification server shows them ("Extend +15 min", "Open":
//! `tray::warning_actions`), which do what the tray's entries do. Servers without actions show
//! the text alone; the tray and the window carry the same choices.

use porthole_core::alerts::Notice;
use porthole_core::model::Session;
use porthole_core::tray::{warning_actions, TrayAction, TrayItem};
use porthole_core::watcher::WatchEvent;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::{Action, ActionPerformed, ActionType, NotificationExt};

use crate::state::AppState;

const ACCOUNT: &str = "account_id";
const SESSION: &str = "session_id";

/// Listens for clicks on notifications and their actions (once, at setup); `perform` does a
/// chosen action (`tray::perform`, passed in so that this module needs not the tray's).
pub fn init(app: &AppHandle, perform: fn(&AppHandle, TrayAction)) {
    let handle = app.clone();
    let listening = app
        .notification()
        .on_action(move |performed| on_action(&handle, performed, perform));
    if let Err(e) = listening {
        tracing::debug!("notification actions unavailable: {e}");
    }
}

/// Called for every watcher event (a consumer of the hub's channel, see `fanout`).
pub fn on_event(app: &AppHandle, event: &WatchEvent) {
    let state = app.state::<AppState>();
    if let Some(notice) = state.alert_for(event) {
        let actions = match event {
            WatchEvent::Warning { .. } => live_session(app, &notice.account_id, &notice.session_id)
                .map(|s| warning_actions(&s))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        show(app, &notice.title, &notice.body, Some(&notice), &actions);
    }
}

/// A notice about `session` that offers what a warning does (auto-extend held back: the user
/// may still extend by hand).
pub fn tell_about(app: &AppHandle, notice: &Notice, session: &Session) {
    show(
        app,
        &notice.title,
        &notice.body,
        Some(notice),
        &warning_actions(session),
    );
}

/// Something the user should hear about even without the window open (a failure, an automatic
/// extension).
pub fn tell(app: &AppHandle, title: &str, body: &str) {
    show(app, title, body, None, &[]);
}

fn show(app: &AppHandle, title: &str, body: &str, about: Option<&Notice>, actions: &[TrayItem]) {
    let mut builder = app.notification().builder().title(title).body(body);
    if let Some(notice) = about {
        builder = builder
            .extra(ACCOUNT, &notice.account_id)
            .extra(SESSION, &notice.session_id);
    }
    if !actions.is_empty() {
        // An action type per set of choices ("extend-15+open"): the session goes in the extras.
        let verbs: Vec<&str> = actions.iter().map(|a| TrayAction::verb_of(&a.id)).collect();
        let kind = format!("porthole-{}", verbs.join("+"));
        let registered = app
            .notification()
            .register_action_types(vec![ActionType::builder(&kind)
                .actions(
                    actions
                        .iter()
                        .zip(&verbs)
                        .map(|(a, verb)| Action::builder(*verb, &a.label).build())
                        .collect(),
                )
                .build()]);
        if registered.is_ok() {
            builder = builder.action_type_id(kind);
        }
    }
    // Best effort: with no notification daemon this still returns Ok, and the tray and the
    // window carry the same information.
    if let Err(e) = builder.show() {
        tracing::debug!("notification not shown: {e}");
    }
}

/// A click on a notification (`tap`) or on one of its actions.
fn on_action(app: &AppHandle, performed: &ActionPerformed, perform: fn(&AppHandle, TrayAction)) {
    let extra = |key: &str| {
        performed
            .notification()
            .and_then(|n| n.extra().get(key))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let (Some(account_id), Some(session_id)) = (extra(ACCOUNT), extra(SESSION)) else {
        // A notice about no one session: the main window.
        crate::windows::show_main(app);
        return;
    };
    let verb = match performed.action_id() {
        // The notification itself: the session while it runs, else its row.
        "tap" if live_session(app, &account_id, &session_id).is_some() => "open",
        "tap" => {
            if let Err(e) = crate::windows::show_in_main(app, &account_id, &session_id, false) {
                tracing::warn!("could not show the session: {}", e.message);
            }
            return;
        }
        verb => verb,
    };
    tracing::info!(session = %session_id, action = verb, "notification action");
    match TrayAction::for_session(verb, &account_id, &session_id) {
        Some(action) => perform(app, action),
        None => tracing::warn!(action = verb, "unknown notification action"),
    }
}

fn live_session(app: &AppHandle, account_id: &str, session_id: &str) -> Option<Session> {
    app.state::<AppState>()
        .hub
        .sessions(Some(account_id))
        .into_iter()
        .find(|s| s.id == session_id && s.state.is_live())
}
