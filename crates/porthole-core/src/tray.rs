//! What the tray shows, decided here and drawn by the shell: a row per running session with its
//! time left and actions, a tooltip naming the nearest deadline, and whether any session is in
//! its warning window (the icon changes then).

use chrono::{DateTime, Duration, Utc};

use crate::model::{Session, SessionState};

/// The extensions the tray and the window offer.
pub const EXTEND_CHOICES: [u32; 4] = [5, 15, 30, 60];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayRow {
    pub account_id: String,
    pub session_id: String,
    /// "name · resource · 12 min left"
    pub label: String,
    pub can_open: bool,
    pub can_extend: bool,
    pub can_stop: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayModel {
    pub rows: Vec<TrayRow>,
    pub tooltip: String,
    /// Some session is inside its warning window.
    pub warning: bool,
}

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

impl TrayModel {
    /// `warn_before`: the largest warning threshold (a session closer than this is "warning").
    pub fn build(sessions: &[Session], now: DateTime<Utc>, warn_before: Duration) -> Self {
        let mut live: Vec<&Session> = sessions.iter().filter(|s| s.state.is_live()).collect();
        // Soonest deadline first; sessions without a deadline last, by name.
        live.sort_by(|a, b| {
            (a.deadline.is_none(), a.deadline, &a.name).cmp(&(
                b.deadline.is_none(),
                b.deadline,
                &b.name,
            ))
        });
        let rows = live
            .iter()
            .map(|s| {
                let mut parts = vec![s.name.clone()];
                if let Some(resource) = &s.resource {
                    parts.push(resource.clone());
                }
                parts.push(match (&s.state, s.remaining(now)) {
                    (SessionState::Starting | SessionState::Connecting, _) => {
                        "starting…".to_owned()
                    }
                    (SessionState::Stopping, _) => "stopping…".to_owned(),
                    (_, Some(left)) => format!("{} left", time_left(left)),
                    (_, None) => "no deadline".to_owned(),
                });
                TrayRow {
                    account_id: s.account_id.clone(),
                    session_id: s.id.clone(),
                    label: parts.join(" · "),
                    can_open: s.capabilities.has_ui
                        && matches!(s.state, SessionState::Ready | SessionState::Expiring),
                    can_extend: s.capabilities.can_extend && s.state != SessionState::Stopping,
                    can_stop: s.capabilities.can_stop && s.state != SessionState::Stopping,
                }
            })
            .collect();
        let nearest = live.iter().find_map(|s| Some((s, s.remaining(now)?)));
        let tooltip = match nearest {
            Some((s, left)) => format!("Porthole — {} ends in {}", s.name, time_left(left)),
            None if live.is_empty() => "Porthole — no sessions running".to_owned(),
            None => format!("Porthole — {} sessions running", live.len()),
        };
        let warning = live
            .iter()
            .any(|s| s.remaining(now).is_some_and(|left| left <= warn_before));
        Self {
            rows,
            tooltip,
            warning,
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
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
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
            v => {
                let minutes = v.strip_prefix("extend-")?.parse().ok()?;
                EXTEND_CHOICES
                    .contains(&minutes)
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
    use crate::model::{Capabilities, EndReason, ProviderKind};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .single()
            .unwrap()
    }

    fn s(id: &str, state: SessionState, minutes: Option<i64>) -> Session {
        Session {
            id: id.into(),
            account_id: "local".into(),
            provider: ProviderKind::Portholed,
            name: format!("term {id}"),
            machine_id: None,
            resource: Some("CPU".into()),
            state,
            status_label: None,
            created_at: t0(),
            deadline: minutes.map(|m| t0() + Duration::minutes(m)),
            idle_deadline: None,
            url: None,
            price_per_hour: None,
            capabilities: Capabilities {
                can_extend: true,
                can_stop: true,
                has_ui: true,
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
            Duration::minutes(10),
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
        assert!(m.rows[0].can_open && !m.rows[1].can_open);
        assert_eq!(m.tooltip, "Porthole — term a ends in 12 min");
        assert!(!m.warning);
        let close = TrayModel::build(
            &[s("a", SessionState::Expiring, Some(9))],
            t0(),
            Duration::minutes(10),
        );
        assert!(close.warning);
        let none = TrayModel::build(&[], t0(), Duration::minutes(10));
        assert_eq!(none.tooltip, "Porthole — no sessions running");
        assert!(none.rows.is_empty());
    }

    #[test]
    fn a_stopping_session_offers_nothing_but_its_state() {
        let m = TrayModel::build(
            &[s("a", SessionState::Stopping, Some(9))],
            t0(),
            Duration::minutes(10),
        );
        assert_eq!(m.rows[0].label, "term a · CPU · stopping…");
        assert!(!m.rows[0].can_extend && !m.rows[0].can_stop && !m.rows[0].can_open);
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
