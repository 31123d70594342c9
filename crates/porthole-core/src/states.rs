//! Where a session is in its life, why it ended, and the clocks that can end it: one vocabulary
//! for GPU, QPU and runbook sessions. Each state has a machine-readable kind (its serde tag, what
//! the UI branches on) and a short label; the labels are defined here only, and the UI gets them
//! in a file generated from [`vocabulary`] (`make bindings`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a session is over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum EndReason {
    /// Its hard deadline passed.
    Timeout,
    /// Its idle or unused deadline passed: left without work too long.
    IdleTimeout,
    /// Someone stopped or closed it (this app or elsewhere).
    Stopped,
    /// Someone cancelled it: its running work was abandoned.
    Cancelled,
    /// It failed; the detail is the provider's or the logs' explanation.
    Failed(String),
    /// The account ran out of credit or quota.
    OutOfCredit,
    /// It finished its work (runbooks, drained QPU sessions).
    Completed,
    /// The provider no longer has it and gave no reason (nor did its clocks or a stop of ours).
    Vanished,
}

impl EndReason {
    /// Every reason, for the generated vocabulary (a failure with an empty detail).
    fn all() -> [EndReason; 8] {
        [
            EndReason::Timeout,
            EndReason::IdleTimeout,
            EndReason::Stopped,
            EndReason::Cancelled,
            EndReason::Failed(String::new()),
            EndReason::OutOfCredit,
            EndReason::Completed,
            EndReason::Vanished,
        ]
    }

    /// The reason's words without its detail, to follow "The session …".
    fn phrase(&self) -> &'static str {
        match self {
            EndReason::Timeout => "timed out: its deadline passed",
            EndReason::IdleTimeout => "ended: idle too long",
            EndReason::Stopped => "stopped",
            EndReason::Cancelled => "cancelled",
            EndReason::Failed(_) => "failed",
            EndReason::OutOfCredit => "ran out of credit or quota",
            EndReason::Completed => "completed its work",
            EndReason::Vanished => "ended by the provider, which gave no reason",
        }
    }

    /// One line for a person, to follow "The session …" ("timed out: its deadline passed",
    /// "failed: out of memory").
    pub fn describe(&self) -> String {
        match self {
            EndReason::Failed(why) if !why.is_empty() => format!("failed: {why}"),
            other => other.phrase().to_owned(),
        }
    }

    /// The serde tag (`"timeout"`, `"idle_timeout"`…).
    fn kind(&self) -> String {
        tag(self, "kind")
    }
}

/// Where a session is in its life, as Porthole derives it (providers' own status fields are often
/// useless: ComfyDeploy's is always "running").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum SessionState {
    /// Created, not running yet.
    Starting,
    /// Accepted and waiting for its first work (a QPU session before its first job, a runbook
    /// before it is picked up).
    Queued,
    /// A URL exists but does not answer yet.
    Connecting,
    /// Usable, or running its work.
    Ready,
    /// Usable, inside a warning window before one of its clocks ends it.
    Expiring,
    /// Alive with no work running (it may lose its priority, or end when an idle clock runs out).
    Idle,
    /// Takes no new work; finishing what it has.
    Draining,
    /// Waiting for a person: a prompt or an approval.
    WaitingForInput,
    /// A stop was asked for and the provider has not confirmed it.
    Stopping,
    Ended(EndReason),
    /// A state the provider reported that Porthole does not know, as the provider wrote it.
    Other(String),
}

impl SessionState {
    /// Every kind of state, for the generated vocabulary.
    pub(crate) fn all() -> [SessionState; 11] {
        [
            SessionState::Starting,
            SessionState::Queued,
            SessionState::Connecting,
            SessionState::Ready,
            SessionState::Expiring,
            SessionState::Idle,
            SessionState::Draining,
            SessionState::WaitingForInput,
            SessionState::Stopping,
            SessionState::Ended(EndReason::Vanished),
            SessionState::Other(String::new()),
        ]
    }

    pub fn is_live(&self) -> bool {
        !matches!(self, SessionState::Ended(_))
    }

    /// Usable now: a window can open (with a web UI) and work can be sent.
    pub fn is_up(&self) -> bool {
        matches!(self, SessionState::Ready | SessionState::Expiring)
    }

    /// On its way somewhere by itself (starting, connecting, stopping): worth watching closely.
    pub fn is_moving(&self) -> bool {
        matches!(
            self,
            SessionState::Starting | SessionState::Connecting | SessionState::Stopping
        )
    }

    /// Not open to anyone yet: no warning is worth giving before it is (its clocks still end it).
    pub fn is_opening(&self) -> bool {
        matches!(self, SessionState::Starting | SessionState::Connecting)
    }

    /// Accepted by the provider and not on its way out: waiting for first work, running, idle,
    /// draining or waiting for a person. A session without a web page is ready once it is.
    pub fn is_accepted(&self) -> bool {
        self.is_live() && !self.is_opening() && !matches!(self, SessionState::Stopping)
    }

    /// The machine-readable kind (the serde tag): `"ready"`, `"waiting_for_input"`…
    pub fn kind(&self) -> String {
        tag(self, "state")
    }

    /// A short label for a person: "Waiting for your input", "Ended: cancelled"; an unknown
    /// state as the provider wrote it.
    pub fn label(&self) -> String {
        match self {
            SessionState::Ended(reason) => format!("Ended: {}", reason.describe()),
            SessionState::Other(written) if !written.is_empty() => written.clone(),
            other => other.kind_label().to_owned(),
        }
    }

    /// The label of the kind alone (no reason, no provider words).
    fn kind_label(&self) -> &'static str {
        match self {
            SessionState::Starting => "Starting",
            SessionState::Queued => "Waiting for first work",
            SessionState::Connecting => "Connecting",
            SessionState::Ready => "Ready",
            SessionState::Expiring => "Ending soon",
            SessionState::Idle => "Idle",
            SessionState::Draining => "Draining",
            SessionState::WaitingForInput => "Waiting for your input",
            SessionState::Stopping => "Stopping",
            SessionState::Ended(_) => "Ended",
            SessionState::Other(_) => "Unknown state",
        }
    }
}

/// The clocks that can end a session.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, specta::Type,
)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// The hard deadline: the session ends then whatever it does (extendable where the provider
    /// allows).
    Hard,
    /// Ends it (or costs it its priority) after this long without work.
    Idle,
    /// Ends it if it never got any work.
    Unused,
}

impl ClockKind {
    pub const ALL: [ClockKind; 3] = [ClockKind::Hard, ClockKind::Idle, ClockKind::Unused];

    /// What the clock counts down to, for a person ("Ends", "Idle limit").
    pub fn label(self) -> &'static str {
        match self {
            ClockKind::Hard => "Ends",
            ClockKind::Idle => "Idle limit",
            ClockKind::Unused => "Unused limit",
        }
    }

    /// Why the session ends when this clock runs out.
    pub fn end_reason(self) -> EndReason {
        match self {
            ClockKind::Hard => EndReason::Timeout,
            ClockKind::Idle | ClockKind::Unused => EndReason::IdleTimeout,
        }
    }

    /// How a warning reads: "{name} {phrase} {in N minutes}".
    pub fn warning_phrase(self) -> &'static str {
        match self {
            ClockKind::Hard => "ends",
            ClockKind::Idle => "reaches its idle limit",
            ClockKind::Unused => "closes unused",
        }
    }

    /// The serde name (`"hard"`…).
    pub(crate) fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// One clock of a session: when it runs out.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, specta::Type,
)]
pub struct Clock {
    pub kind: ClockKind,
    pub at: DateTime<Utc>,
}

/// The most urgent warning the watcher has given for a session, as it decided it (the tray,
/// the window titles and the list show this; none recomputes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ClockWarning {
    pub clock: ClockKind,
    /// The threshold crossed, in minutes before the clock runs out.
    pub threshold_minutes: i32,
}

/// The words of this module, for the UI (generated into `ui/src/lib/backend/vocabulary.ts`).
#[derive(Debug, Serialize)]
pub struct Vocabulary {
    /// State kind → label.
    pub states: serde_json::Map<String, serde_json::Value>,
    /// End reason kind → words to follow "The session …" (a failure's detail follows ": ").
    pub end_reasons: serde_json::Map<String, serde_json::Value>,
    /// Clock kind → label.
    pub clocks: serde_json::Map<String, serde_json::Value>,
    /// Clock kind → how its warning reads.
    pub clock_warnings: serde_json::Map<String, serde_json::Value>,
    /// State kinds that are usable now, moving by themselves, and accepted.
    pub up: Vec<String>,
    pub moving: Vec<String>,
    pub accepted: Vec<String>,
}

/// Every label this module defines, by kind.
pub fn vocabulary() -> Vocabulary {
    let states = SessionState::all();
    let kinds = |keep: fn(&SessionState) -> bool| {
        states
            .iter()
            .filter(|s| keep(s))
            .map(|s| s.kind())
            .collect()
    };
    Vocabulary {
        states: states
            .iter()
            .map(|s| (s.kind(), s.kind_label().into()))
            .collect(),
        end_reasons: EndReason::all()
            .iter()
            .map(|r| (r.kind(), r.phrase().into()))
            .collect(),
        clocks: ClockKind::ALL
            .iter()
            .map(|c| (c.name(), c.label().into()))
            .collect(),
        clock_warnings: ClockKind::ALL
            .iter()
            .map(|c| (c.name(), c.warning_phrase().into()))
            .collect(),
        up: kinds(SessionState::is_up),
        moving: kinds(SessionState::is_moving),
        accepted: kinds(SessionState::is_accepted),
    }
}

/// The serde tag of an internally tagged enum value.
fn tag<T: Serialize>(value: &T, field: &str) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.get(field).and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_serialise_with_their_reason_and_unknown_ones_keep_the_providers_words() {
        let ended = SessionState::Ended(EndReason::Failed("oom".into()));
        let json = serde_json::to_value(&ended).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"state": "ended", "reason": {"kind": "failed", "detail": "oom"}})
        );
        assert!(!ended.is_live());
        assert!(SessionState::Stopping.is_live());
        assert_eq!(
            serde_json::to_value(SessionState::Ready).expect("json"),
            serde_json::json!({"state": "ready"})
        );
        let other = SessionState::Other("RUNNING_SOMEWHERE".into());
        assert_eq!(
            serde_json::to_value(&other).expect("json"),
            serde_json::json!({"state": "other", "reason": "RUNNING_SOMEWHERE"})
        );
        assert_eq!(other.label(), "RUNNING_SOMEWHERE");
        assert_eq!(
            SessionState::WaitingForInput.kind(),
            "waiting_for_input",
            "the kind is the tag the UI branches on"
        );
        assert_eq!(
            SessionState::Ended(EndReason::Cancelled).label(),
            "Ended: cancelled"
        );
    }

    #[test]
    fn the_vocabulary_names_every_kind_once() {
        let v = vocabulary();
        assert_eq!(v.states.len(), SessionState::all().len());
        assert_eq!(v.end_reasons.len(), EndReason::all().len());
        assert_eq!(v.clocks.len(), ClockKind::ALL.len());
        assert_eq!(v.states["queued"], "Waiting for first work");
        assert_eq!(v.end_reasons["idle_timeout"], "ended: idle too long");
        assert_eq!(v.clocks["unused"], "Unused limit");
        assert!(v.up.contains(&"expiring".to_owned()));
        assert!(!v.up.contains(&"idle".to_owned()));
        assert_eq!(v.moving, vec!["starting", "connecting", "stopping"]);
        assert!(v.accepted.contains(&"waiting_for_input".to_owned()));
        assert!(!v.accepted.contains(&"connecting".to_owned()));
    }

    #[test]
    fn a_failure_without_detail_reads_as_failed() {
        assert_eq!(EndReason::Failed(String::new()).describe(), "failed");
        assert_eq!(EndReason::Failed("oom".into()).describe(), "failed: oom");
        assert_eq!(ClockKind::Idle.end_reason(), EndReason::IdleTimeout);
    }
}
