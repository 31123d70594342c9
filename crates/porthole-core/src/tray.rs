//! What the tray shows, decided here and drawn by the shell: a row per running session with its
//! time left and actions, a tooltip naming the nearest deadline, and whether any session is in
//! its warning window (the icon changes then).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::descriptor::extension_fits;
use crate::model::{ClockKind, Session, SessionState};

/// One clickable entry of a session's menu (in the tray and in the session's window).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct TrayItem {
    /// The menu id: a [`TrayAction`]'s [`TrayAction::id`].
    pub id: String,
    pub label: String,
    pub enabled: bool,
    /// Set for actions that cannot be undone: the menu asks first (a submenu with this one
    /// confirming entry).
    pub confirm: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct TrayRow {
    pub account_id: String,
    pub session_id: String,
    /// "name · resource · 12 min left"
    pub label: String,
    /// Open, Extend +5/15/30/60 min, Stop.
    pub items: Vec<TrayItem>,
}

/// An entry of the tray's account switcher: which account's sessions the tray lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct TrayAccount {
    pub id: String,
    pub label: String,
    pub selected: bool,
}

/// What the tray shows; the shell draws exactly this (and the end-to-end tests read it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct TrayModel {
    pub rows: Vec<TrayRow>,
    pub tooltip: String,
    /// Some session is inside its warning window.
    pub warning: bool,
    /// "All accounts" first, then each account; empty when there is only one account.
    pub accounts: Vec<TrayAccount>,
    /// Said above the rows, whatever account is shown ("Studio GPUs is not answering").
    pub notices: Vec<String>,
}

/// The account switcher's id for "all accounts".
pub const ALL_ACCOUNTS: &str = "*";

/// Time left for a person: "45 s", "12 min", "2 h 05 min".
pub fn time_left(left: Duration) -> String {
    let secs = left.num_seconds().max(0);
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{} min", secs / 60)
    } else {
        format!("{} h {:02} min", secs / 3600, (secs % 3600) / 60)
    }
}

/// Where a session stands, in a few words: "starting…", "12 min left", "Waiting for your input,
/// Idle limit in 4 min", "ended"… Its soonest clock is the one shown.
pub fn status_phrase(s: &Session, now: DateTime<Utc>) -> String {
    match &s.state {
        state if state.is_opening() => return "starting…".to_owned(),
        SessionState::Stopping => return "stopping…".to_owned(),
        SessionState::Ended(_) => return "ended".to_owned(),
        _ => {}
    }
    let mut parts = Vec::new();
    match (&s.state, s.status_label.as_deref()) {
        // What it waits for, in the provider's words (a runbook's prompt).
        (SessionState::WaitingForInput, Some(asks)) if !asks.trim().is_empty() => {
            parts.push(format!("waits for you: {asks}"))
        }
        (state, _) if !state.is_up() => parts.push(state.label()),
        _ => {}
    }
    match s.clocks().first() {
        Some(c) if c.kind == ClockKind::Hard => {
            parts.push(format!("{} left", time_left(c.at - now)))
        }
        Some(c) => parts.push(format!("{} in {}", c.kind.label(), time_left(c.at - now))),
        None if parts.is_empty() => parts.push("no deadline".to_owned()),
        None => {}
    }
    parts.join(", ")
}

/// A session window's title: "name — 12 min left — Porthole".
pub fn window_title(s: &Session, now: DateTime<Utc>) -> String {
    format!("{} — {} — Porthole", s.name, status_phrase(s, now))
}

/// A session's actions: Open, Extend by each of its provider's steps (those past its
/// session-length ceiling disabled), Stop (confirmed).
pub fn session_items(s: &Session) -> Vec<TrayItem> {
    let (account_id, session_id) = (s.account_id.clone(), s.id.clone());
    let can_open = s.can_open() || s.opens_in_app();
    // As the provider calls it ("Stop", "Close").
    let stop_verb = s.provider.descriptor().actions.stop.unwrap_or("Stop");
    let can_extend =
        s.capabilities.can_extend && s.state.is_live() && s.state != SessionState::Stopping;
    let can_stop =
        s.capabilities.can_stop && s.state.is_live() && s.state != SessionState::Stopping;
    let item = |action: TrayAction, label: String, enabled: bool| TrayItem {
        id: action.id(),
        label,
        enabled,
        confirm: None,
    };
    let mut items = vec![item(
        TrayAction::Open {
            account_id: account_id.clone(),
            session_id: session_id.clone(),
        },
        "Open".to_owned(),
        can_open,
    )];
    let max = s.provider.max_session_minutes();
    for minutes in s.provider.descriptor().extend_steps {
        items.push(item(
            TrayAction::Extend {
                account_id: account_id.clone(),
                session_id: session_id.clone(),
                minutes,
            },
            format!("Extend +{minutes} min"),
            can_extend && extension_fits(s, minutes, max),
        ));
    }
    let mut stop = item(
        TrayAction::Stop {
            account_id,
            session_id,
        },
        stop_verb.to_owned(),
        can_stop,
    );
    stop.confirm = Some(format!("{stop_verb} “{}” now", s.name));
    items.push(stop);
    items
}

/// What one click extends by where nothing else says: the UI's default too
/// (`ui/src/lib/stores/extendAmount.svelte.ts`, which also remembers the user's last amount).
pub const USUAL_EXTEND_MINUTES: u32 = 15;

/// What a warning notification offers where the desktop shows actions (`src-tauri/notify.rs`):
/// Extend by the usual amount ([`USUAL_EXTEND_MINUTES`], where the provider has that step and it
/// fits), then Open where the session opens.
/// Each is one of [`session_items`], so it does what the tray's entry does.
pub fn warning_actions(s: &Session) -> Vec<TrayItem> {
    let mut items: Vec<TrayItem> = session_items(s)
        .into_iter()
        .filter(|i| {
            i.enabled
                && match TrayAction::parse(&i.id) {
                    Some(TrayAction::Open { .. }) => true,
                    Some(TrayAction::Extend { minutes, .. }) => minutes == USUAL_EXTEND_MINUTES,
                    _ => false,
                }
        })
        .collect();
    items.sort_by_key(|i| i.id.starts_with("open\u{1f}"));
    items
}

impl TrayModel {
    /// "Warning" is the watcher's decision (a live session with a [`Session::warning`]), for every
    /// account whatever `shown` is: a filter may hide rows, never danger.
    /// `accounts`: (id, name) of every account; `shown`: the account whose sessions are listed
    /// (`None`, or an id no longer in `accounts`: all of them).
    pub fn build(
        sessions: &[Session],
        now: DateTime<Utc>,
        accounts: &[(String, String)],
        shown: Option<&str>,
    ) -> Self {
        let shown = shown.filter(|id| accounts.iter().any(|(a, _)| a == id));
        // A filter hides rows, never danger: another account's session that is warned or waits
        // for a person stays, its account named.
        let urgent = |s: &Session| s.warning.is_some() || s.state == SessionState::WaitingForInput;
        let elsewhere = |s: &Session| shown.is_some_and(|id| s.account_id != id);
        let mut live: Vec<&Session> = sessions
            .iter()
            .filter(|s| s.state.is_live())
            .filter(|s| !elsewhere(s) || urgent(s))
            .collect();
        // Those waiting for a person first; then the soonest clock; sessions without one last,
        // by name.
        let soonest = |s: &Session| s.clocks().first().map(|c| c.at);
        let idle = |s: &Session| s.state != SessionState::WaitingForInput;
        live.sort_by(|a, b| {
            let (ta, tb) = (soonest(a), soonest(b));
            (idle(a), ta.is_none(), ta, &a.name).cmp(&(idle(b), tb.is_none(), tb, &b.name))
        });
        let rows = live
            .iter()
            .map(|s| {
                let mut parts = vec![s.name.clone()];
                if elsewhere(s) {
                    let account = accounts.iter().find(|(id, _)| *id == s.account_id);
                    parts.push(account.map_or(s.account_id.clone(), |(_, name)| name.clone()));
                }
                // Unless the name says it already ("terminal on CPU 3f2a91c0").
                if let Some(resource) = &s.resource {
                    if !s.name.contains(&format!(" on {resource} ")) {
                        parts.push(resource.clone());
                    }
                }
                parts.push(status_phrase(s, now));
                TrayRow {
                    account_id: s.account_id.clone(),
                    session_id: s.id.clone(),
                    label: parts.join(" · "),
                    items: session_items(s),
                }
            })
            .collect();
        let nearest = live.iter().find_map(|s| Some((s, *s.clocks().first()?)));
        let waiting = live.iter().find(|s| !idle(s));
        let tooltip = match nearest {
            _ if waiting.is_some() => format!(
                "Porthole — {} waits for you",
                waiting.map(|s| s.name.as_str()).unwrap_or_default()
            ),
            Some((s, c)) => format!(
                "Porthole — {} {} in {}",
                s.name,
                c.kind.warning_phrase(),
                time_left(c.at - now)
            ),
            None if live.is_empty() => "Porthole — no sessions running".to_owned(),
            None => format!("Porthole — {} sessions running", live.len()),
        };
        let warning = sessions
            .iter()
            .any(|s| s.state.is_live() && s.warning.is_some());
        let accounts = if accounts.len() < 2 {
            Vec::new()
        } else {
            std::iter::once(TrayAccount {
                id: TrayAction::ShowAccount { account_id: None }.id(),
                label: "All accounts".to_owned(),
                selected: shown.is_none(),
            })
            .chain(accounts.iter().map(|(id, name)| {
                TrayAccount {
                    id: TrayAction::ShowAccount {
                        account_id: Some(id.clone()),
                    }
                    .id(),
                    label: name.clone(),
                    selected: shown == Some(id.as_str()),
                }
            }))
            .collect()
        };
        Self {
            rows,
            tooltip,
            warning,
            accounts,
            notices: Vec::new(),
        }
    }

    /// Says which accounts are offline or not answering (their rows are as last confirmed),
    /// whatever account is shown: `unanswered` are their names.
    pub fn with_unanswered(mut self, unanswered: &[String]) -> Self {
        self.notices = unanswered
            .iter()
            .map(|name| format!("{name} is not answering; its sessions are as last seen"))
            .collect();
        if let Some(first) = unanswered.first() {
            let more = match unanswered.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            self.tooltip = format!("{}\n{first}{more} is not answering", self.tooltip);
        }
        self
    }
}

/// A tray menu item's id: what to do, to which session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayAction {
    Open {
        account_id: String,
        session_id: String,
    },
    Extend {
        account_id: String,
        session_id: String,
        minutes: u32,
    },
    Stop {
        account_id: String,
        session_id: String,
    },
    /// A session window's own entry: close that window; the session goes on.
    CloseWindow {
        account_id: String,
        session_id: String,
    },
    /// An ended session's window: launch it again (the main window does, as its own
    /// Relaunch does) and close that window.
    Relaunch {
        account_id: String,
        session_id: String,
    },
    /// The account switcher: list this account's sessions (`None`: every account's).
    ShowAccount { account_id: Option<String> },
}

impl TrayAction {
    pub fn id(&self) -> String {
        match self {
            TrayAction::Open {
                account_id,
                session_id,
            } => format!("open\u{1f}{account_id}\u{1f}{session_id}"),
            TrayAction::Extend {
                account_id,
                session_id,
                minutes,
            } => {
                format!("extend-{minutes}\u{1f}{account_id}\u{1f}{session_id}")
            }
            TrayAction::Stop {
                account_id,
                session_id,
            } => format!("stop\u{1f}{account_id}\u{1f}{session_id}"),
            TrayAction::CloseWindow {
                account_id,
                session_id,
            } => format!("close-window\u{1f}{account_id}\u{1f}{session_id}"),
            TrayAction::Relaunch {
                account_id,
                session_id,
            } => format!("relaunch\u{1f}{account_id}\u{1f}{session_id}"),
            TrayAction::ShowAccount { account_id } => format!(
                "account\u{1f}{}",
                account_id.as_deref().unwrap_or(ALL_ACCOUNTS)
            ),
        }
    }

    /// A session's action from its verb (an id's first part: "open", "extend-15") and the
    /// session: what a notification's action carries, its session beside it.
    pub fn for_session(verb: &str, account_id: &str, session_id: &str) -> Option<Self> {
        match Self::parse(&format!("{verb}\u{1f}{account_id}\u{1f}{session_id}"))? {
            TrayAction::ShowAccount { .. } => None,
            action => Some(action),
        }
    }

    /// An action id's verb ("open", "extend-15"): see [`TrayAction::for_session`].
    pub fn verb_of(id: &str) -> &str {
        id.split('\u{1f}').next().unwrap_or_default()
    }

    pub fn parse(id: &str) -> Option<Self> {
        if let Some(account) = id.strip_prefix("account\u{1f}") {
            return Some(TrayAction::ShowAccount {
                account_id: (account != ALL_ACCOUNTS).then(|| account.to_owned()),
            });
        }
        let mut parts = id.splitn(3, '\u{1f}');
        let (verb, account_id, session_id) = (parts.next()?, parts.next()?, parts.next()?);
        let (account_id, session_id) = (account_id.to_owned(), session_id.to_owned());
        match verb {
            "open" => Some(TrayAction::Open {
                account_id,
                session_id,
            }),
            "stop" => Some(TrayAction::Stop {
                account_id,
                session_id,
            }),
            "close-window" => Some(TrayAction::CloseWindow {
                account_id,
                session_id,
            }),
            "relaunch" => Some(TrayAction::Relaunch {
                account_id,
                session_id,
            }),
            v => {
                let minutes = v.strip_prefix("extend-")?.parse().ok()?;
                crate::descriptor::all()
                    .iter()
                    .any(|d| d.extend_steps.contains(&minutes))
                    .then_some(TrayAction::Extend {
                        account_id,
                        session_id,
                        minutes,
                    })
            }
        }
    }
}

#[cfg(test)]
#[path = "tray_tests.rs"]
mod tests;
