//! The tracker's decisions as a clock comes and passes, recorded by running the [`Tracker`]
//! itself: for each kind of clock and each state a provider can report, what it emits from well
//! before the clock runs out until the session has ended. The web build's mock backend replays
//! these (generated into `ui/src/lib/backend/replays.ts` by `make bindings`) instead of holding
//! a copy of the rules.
//!
//! Replaying is positional: at any moment, the steps due are those whose time (`at`, seconds
//! from the clock's time) has come; the session shows the last due `Updated` step's state and
//! warning, or its provider's state and no warning when none is due. A clock moved later (an
//! extension) makes steps due again, as the tracker re-arms them; the test below checks that
//! this reading matches the tracker at every position.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Serialize;

use super::{Tracker, WatchConfig, WatchEvent};
use crate::model::{
    Capabilities, ClockKind, ClockWarning, EndReason, ProviderKind, Session, SessionState,
};

/// One thing the tracker did, `at` seconds from the clock's time (negative: before it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayStep {
    pub at: i64,
    #[serde(flatten)]
    pub event: ReplayEvent,
}

/// What a step emits, without the session's identity (the replayer fills it in).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplayEvent {
    /// A warning for the clock.
    Warning {
        threshold_minutes: i32,
        remaining_seconds: i32,
    },
    /// The session now shows this state and warning.
    Updated {
        state: SessionState,
        warning: Option<ClockWarning>,
    },
    /// The clock ran out and the provider no longer lists the session.
    Ended { reason: EndReason },
}

/// Per clock kind, per provider state kind, the steps in order.
pub type Replays = BTreeMap<String, BTreeMap<String, Vec<ReplayStep>>>;

/// How long before a clock the recording starts: past the largest threshold.
const LEAD: Duration = Duration::minutes(1);

/// The tracker's steps for every clock and every state a provider reports, at `config`'s
/// thresholds.
pub fn record(config: &WatchConfig) -> Replays {
    ClockKind::ALL
        .iter()
        .map(|clock| {
            let by_state = SessionState::all()
                .into_iter()
                .filter(provider_reports)
                .map(|state| (state.kind(), record_one(config, *clock, state)))
                .collect();
            (clock.name(), by_state)
        })
        .collect()
}

/// States a provider reports (the watcher derives "ending soon" and an ended session is gone).
fn provider_reports(state: &SessionState) -> bool {
    !matches!(state, SessionState::Expiring | SessionState::Ended(_))
}

fn epoch() -> DateTime<Utc> {
    Utc.timestamp_opt(0, 0).single().unwrap_or_default()
}

/// A session whose only clock is `clock`, running out at the epoch.
fn with_clock(clock: ClockKind, state: SessionState) -> Session {
    let at = Some(epoch());
    Session {
        id: "replay".into(),
        account_id: "replay".into(),
        provider: ProviderKind::Portholed,
        name: "replay".into(),
        machine_id: None,
        machine_name: None,
        resource: None,
        state,
        status_label: None,
        created_at: epoch() - Duration::hours(1),
        deadline: at.filter(|_| clock == ClockKind::Hard),
        idle_deadline: at.filter(|_| clock == ClockKind::Idle),
        unused_deadline: at.filter(|_| clock == ClockKind::Unused),
        warning: None,
        url: None,
        price_per_hour: None,
        before_end: None,
        capabilities: Capabilities {
            can_extend: true,
            can_stop: true,
            has_ui: false,
            can_cancel: false,
        },
        details: Vec::new(),
        raw: serde_json::Value::Null,
    }
}

fn lead(config: &WatchConfig) -> Duration {
    config.warn_before.iter().max().copied().unwrap_or_default() + LEAD
}

/// Ticks every second from before the largest threshold until the session has ended; when a
/// tick asks for a refetch, the provider no longer has the session.
fn record_one(config: &WatchConfig, clock: ClockKind, state: SessionState) -> Vec<ReplayStep> {
    let mut tracker = Tracker::new("replay", config.clone());
    let session = with_clock(clock, state);
    let mut now = epoch() - lead(config);
    tracker.track(now, session.clone());
    let mut steps = Vec::new();
    while now <= epoch() + Duration::seconds(5) {
        let tick = tracker.tick(now);
        let mut events = tick.events;
        if tick.refetch {
            events.extend(tracker.apply_get(now, &session.id, None));
        }
        let at = (now - epoch()).num_seconds();
        steps.extend(events.into_iter().filter_map(|e| step(at, e)));
        now += Duration::seconds(1);
    }
    steps
}

fn step(at: i64, event: WatchEvent) -> Option<ReplayStep> {
    let event = match event {
        WatchEvent::Warning {
            threshold_minutes,
            remaining_seconds,
            ..
        } => ReplayEvent::Warning {
            threshold_minutes,
            remaining_seconds,
        },
        WatchEvent::Updated { session } => ReplayEvent::Updated {
            state: session.state,
            warning: session.warning,
        },
        WatchEvent::Ended { reason, .. } => ReplayEvent::Ended { reason },
        _ => return None,
    };
    Some(ReplayStep { at, event })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown_by_replay(steps: &[ReplayStep], base: &SessionState, position: i64) -> Shown {
        steps
            .iter()
            .filter(|s| s.at <= position)
            .filter_map(|s| match &s.event {
                ReplayEvent::Updated { state, warning } => Some((state.clone(), *warning)),
                _ => None,
            })
            .next_back()
            .unwrap_or((base.clone(), None))
    }

    type Shown = (SessionState, Option<ClockWarning>);

    #[test]
    fn a_ready_sessions_hard_clock_warns_at_each_threshold_then_times_out() {
        let replays = record(&WatchConfig::default());
        let steps = &replays["hard"]["ready"];
        let warning = |m| {
            Some(ClockWarning {
                clock: ClockKind::Hard,
                threshold_minutes: m,
            })
        };
        assert_eq!(
            steps,
            &vec![
                ReplayStep {
                    at: -600,
                    event: ReplayEvent::Warning {
                        threshold_minutes: 10,
                        remaining_seconds: 600
                    }
                },
                ReplayStep {
                    at: -600,
                    event: ReplayEvent::Updated {
                        state: SessionState::Expiring,
                        warning: warning(10)
                    }
                },
                ReplayStep {
                    at: -120,
                    event: ReplayEvent::Warning {
                        threshold_minutes: 2,
                        remaining_seconds: 120
                    }
                },
                ReplayStep {
                    at: -120,
                    event: ReplayEvent::Updated {
                        state: SessionState::Expiring,
                        warning: warning(2)
                    }
                },
                ReplayStep {
                    at: 0,
                    event: ReplayEvent::Ended {
                        reason: EndReason::Timeout
                    }
                },
            ]
        );
        let idle = &replays["idle"]["waiting_for_input"];
        assert_eq!(
            idle.last().map(|s| &s.event),
            Some(&ReplayEvent::Ended {
                reason: EndReason::IdleTimeout
            }),
            "the clock that ran out names the end"
        );
        assert!(
            replays["hard"]["connecting"]
                .iter()
                .all(|s| !matches!(s.event, ReplayEvent::Warning { .. })),
            "a session that has not opened is not warned"
        );
    }

    /// The replayer's reading (the last due Updated, else the provider's state) is what the
    /// tracker shows when the clock is moved so that the session is at that position: an
    /// extension re-arms exactly the steps that are no longer due.
    #[test]
    fn replaying_by_position_matches_the_tracker_after_the_clock_moves() {
        let config = WatchConfig::default();
        let replays = record(&config);
        for clock in ClockKind::ALL {
            for base in SessionState::all().into_iter().filter(provider_reports) {
                let steps = &replays[&clock.name()][&base.kind()];
                let last_warning = steps
                    .iter()
                    .filter(|s| matches!(s.event, ReplayEvent::Warning { .. }))
                    .map(|s| s.at)
                    .max();
                let Some(last_warning) = last_warning else {
                    continue;
                };
                // Played up to the last warning, then moved so the session is at `position`.
                for position in (-lead(&config).num_seconds()..=last_warning).step_by(7) {
                    let mut tracker = Tracker::new("replay", config.clone());
                    let now = epoch() + Duration::seconds(last_warning);
                    let session = with_clock(clock, base.clone());
                    tracker.track(now, session.clone());
                    tracker.tick(now);
                    let shift = Duration::seconds(last_warning - position);
                    let mut moved = session.clone();
                    for at in [
                        &mut moved.deadline,
                        &mut moved.idle_deadline,
                        &mut moved.unused_deadline,
                    ] {
                        *at = at.map(|t| t + shift);
                    }
                    tracker.apply_list(now, vec![moved]);
                    let tracked = tracker.sessions().pop().expect("still tracked");
                    assert_eq!(
                        (tracked.state, tracked.warning),
                        shown_by_replay(steps, &base, position),
                        "{} clock, {} session, at {position} s",
                        clock.name(),
                        base.kind()
                    );
                }
            }
        }
    }
}
