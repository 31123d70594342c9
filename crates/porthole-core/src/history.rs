//! What happened to each session while this app watched it: launched, each state it went
//! through, each warning, extended (by hand or automatically), stop or cancel asked, prompts
//! answered. Kept in memory for the app's lifetime, a bounded list per session (an ended session's
//! is kept with it on disk too, see [`crate::ended`]).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{ClockKind, SessionState};

/// At most this many entries per session (the oldest go first).
const PER_SESSION: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HistoryKind {
    Launched,
    Extended {
        minutes: u32,
        /// Auto-extend did it (the window was in use and little time was left).
        automatic: bool,
    },
    StopRequested,
    CancelRequested,
    /// A prompt was answered from this app.
    Answered {
        prompt: String,
        /// It was refused rather than answered.
        #[serde(default)]
        rejected: bool,
    },
    /// The session's state changed (recorded once per change).
    State {
        state: SessionState,
    },
    /// The watcher warned about one of its clocks.
    Warned {
        clock: ClockKind,
        threshold_minutes: i32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: HistoryKind,
}

/// Entries by (account id, session id).
#[derive(Debug, Default)]
pub struct History {
    entries: Mutex<HashMap<(String, String), Vec<HistoryEntry>>>,
}

impl History {
    pub fn record(&self, account_id: &str, session_id: &str, at: DateTime<Utc>, kind: HistoryKind) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let list = entries
            .entry((account_id.to_owned(), session_id.to_owned()))
            .or_default();
        if list.len() >= PER_SESSION {
            list.remove(0);
        }
        list.push(HistoryEntry { at, kind });
    }

    /// Records the session's state if it differs from the last state recorded for it.
    pub fn record_state(
        &self,
        account_id: &str,
        session_id: &str,
        at: DateTime<Utc>,
        state: &SessionState,
    ) {
        let last = self
            .of(account_id, session_id)
            .into_iter()
            .rev()
            .find_map(|e| match e.kind {
                HistoryKind::State { state } => Some(state),
                _ => None,
            });
        if last.as_ref() != Some(state) {
            let state = state.clone();
            self.record(account_id, session_id, at, HistoryKind::State { state });
        }
    }

    /// Puts back what was kept of a session's history (an ended session, after a restart), unless
    /// something is recorded for it already.
    pub fn restore(&self, account_id: &str, session_id: &str, kept: Vec<HistoryEntry>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .entry((account_id.to_owned(), session_id.to_owned()))
            .or_insert(kept);
    }

    /// Oldest first.
    pub fn of(&self, account_id: &str, session_id: &str) -> Vec<HistoryEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(account_id.to_owned(), session_id.to_owned()))
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn entries_are_kept_per_session_in_order_and_bounded() {
        let t0 = Utc
            .with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .single()
            .unwrap();
        let h = History::default();
        h.record("local", "a", t0, HistoryKind::Launched);
        h.record("cloud", "a", t0, HistoryKind::StopRequested);
        for i in 0..PER_SESSION as i64 {
            h.record(
                "local",
                "a",
                t0 + Duration::minutes(i + 1),
                HistoryKind::Extended {
                    minutes: 15,
                    automatic: i % 2 == 0,
                },
            );
        }
        let a = h.of("local", "a");
        assert_eq!(a.len(), PER_SESSION);
        assert_eq!(a[0].at, t0 + Duration::minutes(1), "the oldest went first");
        assert_eq!(
            a[0].kind,
            HistoryKind::Extended {
                minutes: 15,
                automatic: true
            }
        );
        assert_eq!(h.of("cloud", "a").len(), 1);
        assert!(h.of("local", "b").is_empty());
        let json = serde_json::to_value(&h.of("cloud", "a")[0]).unwrap();
        assert_eq!(json["kind"], "stop_requested");
    }

    #[test]
    fn a_state_is_recorded_once_per_change() {
        let t0 = Utc::now();
        let h = History::default();
        for state in [
            SessionState::Queued,
            SessionState::Queued,
            SessionState::WaitingForInput,
            SessionState::WaitingForInput,
            SessionState::Queued,
        ] {
            h.record_state("local", "a", t0, &state);
            h.record("local", "a", t0, HistoryKind::CancelRequested);
        }
        let states: Vec<SessionState> = h
            .of("local", "a")
            .into_iter()
            .filter_map(|e| match e.kind {
                HistoryKind::State { state } => Some(state),
                _ => None,
            })
            .collect();
        assert_eq!(
            states,
            [
                SessionState::Queued,
                SessionState::WaitingForInput,
                SessionState::Queued
            ]
        );
        let json = serde_json::to_value(&h.of("local", "a")[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"at": json["at"], "kind": "state", "state": {"state": "queued"}})
        );
    }
}
