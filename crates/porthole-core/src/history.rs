//! What happened to each session while this app watched it: launched, extended (by hand or
//! automatically), stop asked. Kept in memory for the app's lifetime, a bounded list per session.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// At most this many entries per session (the oldest go first).
const PER_SESSION: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HistoryKind {
    Launched,
    Extended {
        minutes: u32,
        /// Auto-extend did it (the window was in use and little time was left).
        automatic: bool,
    },
    StopRequested,
}

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
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
}
