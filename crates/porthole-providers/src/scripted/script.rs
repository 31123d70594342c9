//! What a scripted session goes through, and where one stands at a given moment: pure, with the
//! time passed in.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use porthole_core::inputs::{Parameter, Prompt};
use porthole_core::model::{EndReason, SessionState};
use serde::{Deserialize, Serialize};

/// `script.json`: what every session launched from the folder goes through.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Script {
    /// What sessions can run on.
    #[serde(default)]
    pub resources: Vec<ScriptResource>,
    /// What a launch takes.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    /// The hard clock, from creation, when a launch does not choose one.
    #[serde(default = "default_lifetime")]
    pub lifetime_minutes: u32,
    /// The unused clock: a session that has not started its first work by then ends.
    pub unused_seconds: Option<i64>,
    /// The idle clock: an idle session ends this long after it became idle.
    pub idle_seconds: Option<i64>,
    /// How long a closed session drains before it ends (completed).
    #[serde(default = "default_drain")]
    pub drain_ms: i64,
    /// The states it goes through, each `after_ms` after the previous one began. A
    /// `waiting_for_input` step holds until its prompt is answered; after the last step the
    /// session stays as it is.
    #[serde(default)]
    pub steps: Vec<Step>,
}

impl Default for Script {
    /// What an empty `script.json` (`{}`) says.
    fn default() -> Self {
        Self {
            resources: Vec::new(),
            parameters: Vec::new(),
            lifetime_minutes: default_lifetime(),
            unused_seconds: None,
            idle_seconds: None,
            drain_ms: default_drain(),
            steps: Vec::new(),
        }
    }
}

fn default_lifetime() -> u32 {
    60
}

fn default_drain() -> i64 {
    500
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScriptResource {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub after_ms: i64,
    pub state: SessionState,
    /// The prompt of a `waiting_for_input` step.
    pub prompt: Option<String>,
    /// What its answer holds.
    #[serde(default)]
    pub fields: Vec<Parameter>,
}

/// `sessions.json`: what was launched, and what people did to it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub name: String,
    pub resource: String,
    pub created_at: DateTime<Utc>,
    pub lifetime_minutes: u32,
    pub params: BTreeMap<String, String>,
    /// Prompt id → when it was answered and with what.
    #[serde(default)]
    pub answers: BTreeMap<String, Answer>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    pub at: DateTime<Utc>,
    pub values: BTreeMap<String, String>,
}

/// Where a session stands at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub state: SessionState,
    pub prompt: Option<Prompt>,
    pub deadline: DateTime<Utc>,
    pub idle_deadline: Option<DateTime<Utc>>,
    pub unused_deadline: Option<DateTime<Utc>>,
    /// One of its clocks ran out: the provider no longer knows it (the watcher says which).
    pub gone: bool,
}

impl Script {
    /// Where `record` stands at `now`.
    pub fn standing(&self, record: &Record, now: DateTime<Utc>) -> Standing {
        let deadline = record.created_at + Duration::minutes(i64::from(record.lifetime_minutes));
        let mut state = SessionState::Starting;
        let mut since = record.created_at;
        let mut prompt = None;
        let mut worked = false;
        for (i, step) in self.steps.iter().enumerate() {
            let at = since + Duration::milliseconds(step.after_ms);
            if at > now {
                break;
            }
            since = at;
            state = step.state.clone();
            worked |= !matches!(state, SessionState::Starting | SessionState::Queued);
            if state == SessionState::WaitingForInput {
                let id = format!("p{i}");
                match record.answers.get(&id) {
                    // Answered: back to work from the moment of the answer.
                    Some(answer) if answer.at <= now => {
                        since = answer.at.max(since);
                        state = SessionState::Ready;
                    }
                    _ => {
                        prompt = Some(Prompt {
                            id,
                            message: step.prompt.clone().unwrap_or_default(),
                            parameters: step.fields.clone(),
                            submit_label: None,
                            reject_label: None,
                        });
                        break;
                    }
                }
            }
        }
        let unused_deadline = self
            .unused_seconds
            .filter(|_| !worked)
            .map(|s| record.created_at + Duration::seconds(s));
        let idle_deadline = self
            .idle_seconds
            .filter(|_| state == SessionState::Idle)
            .map(|s| since + Duration::seconds(s));
        let mut standing = Standing {
            state,
            prompt,
            deadline,
            idle_deadline,
            unused_deadline,
            gone: false,
        };
        // What people did comes before what the script says.
        if record.cancelled_at.is_some_and(|at| at <= now) {
            standing.state = SessionState::Ended(EndReason::Cancelled);
            standing.prompt = None;
        } else if let Some(at) = record.closed_at.filter(|at| *at <= now) {
            standing.prompt = None;
            standing.state = if now - at < Duration::milliseconds(self.drain_ms) {
                SessionState::Draining
            } else {
                SessionState::Ended(EndReason::Completed)
            };
        }
        if standing.state.is_live() {
            standing.gone = [Some(deadline), idle_deadline, unused_deadline]
                .into_iter()
                .flatten()
                .any(|at| at <= now);
        }
        standing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(after_ms: i64, state: SessionState) -> Step {
        Step {
            after_ms,
            state,
            prompt: None,
            fields: Vec::new(),
        }
    }

    fn script() -> Script {
        let mut ask = step(1_000, SessionState::WaitingForInput);
        ask.prompt = Some("Go on?".into());
        Script {
            unused_seconds: Some(60),
            idle_seconds: Some(30),
            steps: vec![
                step(0, SessionState::Queued),
                step(2_000, SessionState::Ready),
                ask,
                step(1_000, SessionState::Idle),
            ],
            ..Script::default()
        }
    }

    fn record(t0: DateTime<Utc>) -> Record {
        Record {
            id: "s1".into(),
            created_at: t0,
            lifetime_minutes: 60,
            ..Record::default()
        }
    }

    #[test]
    fn a_session_follows_its_steps_and_waits_for_its_answer() {
        let s = script();
        let t0 = Utc::now();
        let mut r = record(t0);
        let at = |ms: i64| t0 + Duration::milliseconds(ms);
        let queued = s.standing(&r, at(500));
        assert_eq!(queued.state, SessionState::Queued);
        assert_eq!(queued.unused_deadline, Some(t0 + Duration::seconds(60)));
        let ready = s.standing(&r, at(2_500));
        assert_eq!(ready.state, SessionState::Ready);
        assert_eq!(ready.unused_deadline, None, "it has worked");
        let waiting = s.standing(&r, at(10_000));
        assert_eq!(waiting.state, SessionState::WaitingForInput);
        assert_eq!(waiting.prompt.as_ref().map(|p| p.id.as_str()), Some("p2"));
        r.answers.insert(
            "p2".into(),
            Answer {
                at: at(10_000),
                values: BTreeMap::new(),
            },
        );
        assert_eq!(s.standing(&r, at(10_500)).state, SessionState::Ready);
        let idle = s.standing(&r, at(11_000));
        assert_eq!(idle.state, SessionState::Idle);
        assert_eq!(idle.idle_deadline, Some(at(11_000) + Duration::seconds(30)));
        assert!(!idle.gone);
        assert!(s.standing(&r, at(41_000)).gone, "idle too long");
    }

    #[test]
    fn close_drains_then_completes_and_cancel_ends_at_once() {
        let s = script();
        let t0 = Utc::now();
        let at = |ms: i64| t0 + Duration::milliseconds(ms);
        let mut r = record(t0);
        r.closed_at = Some(at(3_000));
        assert_eq!(s.standing(&r, at(3_100)).state, SessionState::Draining);
        assert_eq!(
            s.standing(&r, at(3_600)).state,
            SessionState::Ended(EndReason::Completed)
        );
        let mut r = record(t0);
        r.cancelled_at = Some(at(1_000));
        let cancelled = s.standing(&r, at(1_000));
        assert_eq!(cancelled.state, SessionState::Ended(EndReason::Cancelled));
        assert!(!cancelled.gone);
        let mut queued_only = script();
        queued_only.steps.truncate(1);
        assert!(!queued_only.standing(&record(t0), at(59_000)).gone);
        let never_used = queued_only.standing(&record(t0), at(60_000));
        assert!(never_used.gone, "queued past the unused clock");
    }
}
