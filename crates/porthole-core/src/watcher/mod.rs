//! The watcher: per account, it keeps the list of sessions current, decides when a session is
//! ready (its URL answers), and owns deadlines. It emits typed events; the shell decides how
//! they look (UI rows, tray, notifications).
//!
//! [`Tracker`] is the pure part (no I/O, time passed in), so every rule is tested on a fake
//! clock; [`spawn`] runs it against a [`Provider`](crate::provider::Provider) on a short
//! wall-clock tick, never sleeping until a deadline (timers stop while a laptop sleeps).

#[cfg(test)]
mod clock_tests;
mod hub;
#[cfg(test)]
mod hub_tests;
pub mod replay;
mod runner;
#[cfg(test)]
mod runner_tests;
#[cfg(test)]
pub(crate) mod tests;
mod tracker;
#[cfg(test)]
mod unanswered_tests;

use std::time::Duration as StdDuration;

use chrono::Duration;
use serde::Serialize;

use crate::app_info::Problem;
use crate::model::{ClockKind, EndReason, Session};

pub use hub::{Hub, EVENT_BACKLOG};
pub use runner::{spawn, UrlProbe, WatcherHandle};
pub use tracker::{Tick, Tracker};

/// How the watcher paces itself.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Warn this long before each of a session's clocks runs out, once each (default T-10 and
    /// T-2 minutes).
    pub warn_before: Vec<Duration>,
    /// How often wall-clock time is re-read.
    pub tick: StdDuration,
    /// Polling while a session starts, connects or stops.
    pub fast_poll: StdDuration,
    /// Polling just after a session was created (a quarter of its age, up to `fast_poll`).
    pub first_poll: StdDuration,
    /// Polling when everything is steady.
    pub steady_poll: StdDuration,
    /// The longest wait between polls while the provider keeps failing.
    pub max_backoff: StdDuration,
    /// A read of the provider that has had no answer for this long flags the account as not
    /// answering (and the read goes on: recovery shows as soon as it answers).
    pub answer_within: StdDuration,
    /// A wall-clock jump larger than this between two ticks is a suspend (or a clock change):
    /// refetch before judging any deadline.
    pub gap: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            warn_before: vec![Duration::minutes(10), Duration::minutes(2)],
            tick: StdDuration::from_secs(1),
            fast_poll: StdDuration::from_secs(2),
            first_poll: StdDuration::from_millis(250),
            steady_poll: StdDuration::from_secs(15),
            max_backoff: StdDuration::from_secs(60),
            answer_within: StdDuration::from_secs(15),
            gap: Duration::seconds(10),
        }
    }
}

/// What the watcher tells the shell.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WatchEvent {
    /// A session the watcher had not seen.
    Added { session: Session },
    /// Something about a known session changed (state, deadline, URL…).
    Updated { session: Session },
    /// The session's URL answers: it can be opened.
    Ready { session: Session },
    /// One of the session's clocks is near its end; emitted once per clock and threshold.
    Warning {
        account_id: String,
        session_id: String,
        name: String,
        /// Which clock, and when it runs out (an idle clock that starts again is a new one).
        clock: ClockKind,
        clock_at: chrono::DateTime<chrono::Utc>,
        /// Seconds left when the warning was decided.
        remaining_seconds: i32,
        /// The threshold that was crossed, in minutes.
        threshold_minutes: i32,
    },
    /// The session is over.
    Ended {
        account_id: String,
        session_id: String,
        name: String,
        reason: EndReason,
        /// This app asked for the end (a stop, close or cancel): nobody needs telling.
        requested: bool,
        /// What it came to, in the provider's words, where it says (a runbook's first output
        /// lines).
        #[serde(default)]
        outcome: Option<String>,
    },
    /// The provider cannot be reached, refused us, or has not answered for
    /// [`WatchConfig::answer_within`]; sessions are kept as last seen and the watcher keeps
    /// trying.
    Offline {
        account_id: String,
        error: Problem,
        /// When its sessions were last read successfully (`None`: not yet).
        confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The provider answers again.
    Online { account_id: String },
}
