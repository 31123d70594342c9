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
    if !s.state.is_up() {
        parts.push(s.state.label());
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
    let can_open = s.can_open();
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
        "Stop".to_owned(),
        can_stop,
    );
    stop.confirm = Some(format!("Stop “{}” now", s.name));
    items.push(stop);
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
        let mut live: Vec<&Session> = sessions
            .iter()
            .filter(|s| s.state.is_live())
            .filter(|s| shown.is_none_or(|id| s.account_id == id))
            .collect();
        // Soonest clock first; sessions without one last, by name.
        let soonest = |s: &Session| s.clocks().first().map(|c| c.at);
        live.sort_by(|a, b| {
            let (ta, tb) = (soonest(a), soonest(b));
            (ta.is_none(), ta, &a.name).cmp(&(tb.is_none(), tb, &b.name))
        });
        let rows = live
            .iter()
            .map(|s| {
                let mut parts = vec![s.name.clone()];
                if let Some(resource) = &s.resource {
                    parts.push(resource.clone());
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
        let tooltip = match nearest {
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
        }
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
            TrayAction::ShowAccount { account_id } => format!(
                "account\u{1f}{}",
                account_id.as_deref().unwrap_or(ALL_ACCOUNTS)
            ),
        }
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
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::model::{Capabilities, ClockWarning, EndReason, ProviderKind};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .single()
            .unwrap()
    }

    /// A session as the watcher shows it: one ending soon carries its warning.
    fn s(id: &str, state: SessionState, minutes: Option<i64>) -> Session {
        let warning = matches!(state, SessionState::Expiring).then_some(ClockWarning {
            clock: ClockKind::Hard,
            threshold_minutes: 10,
        });
        Session {
            id: id.into(),
            account_id: "local".into(),
            provider: ProviderKind::Portholed,
            name: format!("term {id}"),
            machine_id: None,
            machine_name: None,
            resource: Some("CPU".into()),
            state,
            status_label: None,
            created_at: t0(),
            deadline: minutes.map(|m| t0() + Duration::minutes(m)),
            idle_deadline: None,
            unused_deadline: None,
            warning,
            url: None,
            price_per_hour: None,
            capabilities: Capabilities {
                can_extend: true,
                can_stop: true,
                has_ui: true,
                can_cancel: false,
            },
            raw: serde_json::Value::Null,
        }
    }

    #[test]
    fn rows_are_live_sessions_soonest_first_with_their_time_left() {
        let m = TrayModel::build(
            &[
                s("b", SessionState::Ready, Some(90)),
                s("a", SessionState::Ready, Some(12)),
                s("c", SessionState::Starting, Some(30)),
                s("d", SessionState::Ended(EndReason::Timeout), Some(1)),
            ],
            t0(),
            &[],
            None,
        );
        let labels: Vec<&str> = m.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            vec![
                "term a · CPU · 12 min left",
                "term c · CPU · starting…",
                "term b · CPU · 1 h 30 min left"
            ]
        );
        assert!(enabled(&m.rows[0], "open") && !enabled(&m.rows[1], "open"));
        assert_eq!(m.tooltip, "Porthole — term a ends in 12 min");
        assert!(!m.warning);
        let close = TrayModel::build(&[s("a", SessionState::Expiring, Some(9))], t0(), &[], None);
        assert!(close.warning);
        // Every clock counts: an idle session whose idle clock is sooner shows that one, and its
        // warning (decided by the watcher) turns the icon too.
        let mut idle = s("q", SessionState::Idle, Some(120));
        idle.idle_deadline = Some(t0() + Duration::minutes(4));
        idle.warning = Some(ClockWarning {
            clock: ClockKind::Idle,
            threshold_minutes: 10,
        });
        let m = TrayModel::build(&[idle.clone()], t0(), &[], None);
        assert_eq!(m.rows[0].label, "term q · CPU · Idle, Idle limit in 4 min");
        assert_eq!(
            m.tooltip,
            "Porthole — term q reaches its idle limit in 4 min"
        );
        assert!(m.warning);
        idle.state = SessionState::Ended(EndReason::IdleTimeout);
        assert!(
            !TrayModel::build(&[idle], t0(), &[], None).warning,
            "ended: no danger"
        );
        let none = TrayModel::build(&[], t0(), &[], None);
        assert_eq!(none.tooltip, "Porthole — no sessions running");
        assert!(none.rows.is_empty());
    }

    #[test]
    fn a_stopping_session_offers_nothing_but_its_state() {
        let m = TrayModel::build(&[s("a", SessionState::Stopping, Some(9))], t0(), &[], None);
        assert_eq!(m.rows[0].label, "term a · CPU · stopping…");
        for verb in ["open", "extend-15", "stop"] {
            assert!(!enabled(&m.rows[0], verb), "{verb}");
        }
    }

    fn enabled(row: &TrayRow, verb: &str) -> bool {
        row.items
            .iter()
            .find(|i| i.id.starts_with(&format!("{verb}\u{1f}")))
            .unwrap_or_else(|| panic!("no {verb} item"))
            .enabled
    }

    /// Extensions past the provider's session-length ceiling (24 h from creation) are offered
    /// disabled; the rest stay.
    #[test]
    fn extensions_past_the_ceiling_are_disabled() {
        let mut old = s("a", SessionState::Ready, Some(5));
        old.created_at = t0() - Duration::hours(24) + Duration::minutes(20);
        let items = session_items(&old);
        let extend: Vec<(String, bool)> = items
            .iter()
            .filter(|i| i.label.starts_with("Extend"))
            .map(|i| (i.label.clone(), i.enabled))
            .collect();
        assert_eq!(
            extend,
            [
                ("Extend +5 min".to_owned(), true),
                ("Extend +15 min".to_owned(), true),
                ("Extend +30 min".to_owned(), false),
                ("Extend +60 min".to_owned(), false)
            ]
        );
    }

    #[test]
    fn a_session_offers_open_four_extensions_and_a_confirmed_stop() {
        let items = session_items(&s("a", SessionState::Ready, Some(30)));
        let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Open",
                "Extend +5 min",
                "Extend +15 min",
                "Extend +30 min",
                "Extend +60 min",
                "Stop"
            ]
        );
        assert!(items.iter().all(|i| i.enabled));
        assert_eq!(items[5].confirm.as_deref(), Some("Stop “term a” now"));
        assert!(items[..5].iter().all(|i| i.confirm.is_none()));
        assert_eq!(
            TrayAction::parse(&items[2].id),
            Some(TrayAction::Extend {
                account_id: "local".into(),
                session_id: "a".into(),
                minutes: 15
            })
        );
        let ended = session_items(&s("b", SessionState::Ended(EndReason::Timeout), Some(1)));
        assert!(ended.iter().all(|i| !i.enabled));
    }

    #[test]
    fn window_titles_name_the_session_and_its_time_left() {
        assert_eq!(
            window_title(&s("a", SessionState::Ready, Some(12)), t0()),
            "term a — 12 min left — Porthole"
        );
        assert_eq!(
            window_title(
                &s("a", SessionState::Ended(EndReason::Timeout), Some(12)),
                t0()
            ),
            "term a — ended — Porthole"
        );
        assert_eq!(
            window_title(&s("a", SessionState::Starting, Some(12)), t0()),
            "term a — starting… — Porthole"
        );
    }

    #[test]
    fn the_account_switcher_filters_the_rows() {
        let mut other = s("o", SessionState::Ready, Some(20));
        other.account_id = "cloud".into();
        let sessions = [s("a", SessionState::Ready, Some(30)), other];
        let accounts = [
            ("local".to_owned(), "Local".to_owned()),
            ("cloud".to_owned(), "My cloud".to_owned()),
        ];
        let all = TrayModel::build(&sessions, t0(), &accounts, None);
        assert_eq!(all.rows.len(), 2);
        let labels: Vec<(&str, bool)> = all
            .accounts
            .iter()
            .map(|a| (a.label.as_str(), a.selected))
            .collect();
        assert_eq!(
            labels,
            [
                ("All accounts", true),
                ("Local", false),
                ("My cloud", false)
            ]
        );
        assert_eq!(
            TrayAction::parse(&all.accounts[2].id),
            Some(TrayAction::ShowAccount {
                account_id: Some("cloud".into())
            })
        );
        assert_eq!(
            TrayAction::parse(&all.accounts[0].id),
            Some(TrayAction::ShowAccount { account_id: None })
        );
        let cloud = TrayModel::build(&sessions, t0(), &accounts, Some("cloud"));
        assert_eq!(cloud.rows.len(), 1);
        assert_eq!(cloud.rows[0].account_id, "cloud");
        assert!(cloud.accounts[2].selected && !cloud.accounts[0].selected);
        assert_eq!(cloud.tooltip, "Porthole — term o ends in 20 min");
        // An account that was removed: every account's sessions again.
        let gone = TrayModel::build(&sessions, t0(), &accounts, Some("x"));
        assert_eq!(gone.rows.len(), 2);
        assert!(gone.accounts[0].selected);
        // One account: no switcher.
        let one = TrayModel::build(&sessions, t0(), &accounts[..1], None);
        assert!(one.accounts.is_empty());
        // A filter hides rows, never danger: a session of another account about to end still
        // turns the icon to its warning.
        let mut ending = s("e", SessionState::Expiring, Some(2));
        ending.account_id = "cloud".into();
        let filtered = TrayModel::build(
            &[s("a", SessionState::Ready, Some(30)), ending],
            t0(),
            &accounts,
            Some("local"),
        );
        assert_eq!(filtered.rows.len(), 1);
        assert!(filtered.warning);
    }

    #[test]
    fn action_ids_round_trip_and_odd_ids_are_refused() {
        for action in [
            TrayAction::Open {
                account_id: "local".into(),
                session_id: "a:b".into(),
            },
            TrayAction::Extend {
                account_id: "cloud-2".into(),
                session_id: "x".into(),
                minutes: 30,
            },
            TrayAction::Stop {
                account_id: "local".into(),
                session_id: "y".into(),
            },
            TrayAction::CloseWindow {
                account_id: "local".into(),
                session_id: "z".into(),
            },
        ] {
            assert_eq!(TrayAction::parse(&action.id()), Some(action));
        }
        assert_eq!(TrayAction::parse("extend-7\u{1f}local\u{1f}x"), None);
        assert_eq!(TrayAction::parse("quit"), None);
    }

    #[test]
    fn time_left_reads_naturally() {
        assert_eq!(time_left(Duration::seconds(45)), "45 s");
        assert_eq!(time_left(Duration::minutes(12)), "12 min");
        assert_eq!(time_left(Duration::minutes(125)), "2 h 05 min");
        assert_eq!(time_left(Duration::seconds(-5)), "0 s");
    }
}
