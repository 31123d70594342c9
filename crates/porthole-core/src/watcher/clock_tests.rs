//! The watcher's clocks: a hard, an idle and an unused deadline, each warned at every threshold
//! once, the soonest one's warning on the session, and the clock that ran out naming the end.
//! Sessions without a URL keep the states their provider gives (queued, idle, waiting for input,
//! and states Porthole does not know).

use chrono::{DateTime, Duration, Utc};

use super::tests::{session, t0};
use super::*;
use crate::model::*;

/// A session with no web page (a QPU or runbook session), in `state`, with its hard deadline in
/// two hours and the given idle and unused deadlines (minutes from t0).
fn headless(state: SessionState, idle: Option<i64>, unused: Option<i64>) -> Session {
    let mut s = session("q", None, t0() + Duration::hours(2));
    s.state = state;
    s.capabilities.has_ui = false;
    s.capabilities.can_extend = false;
    s.idle_deadline = idle.map(|m| t0() + Duration::minutes(m));
    s.unused_deadline = unused.map(|m| t0() + Duration::minutes(m));
    s
}

fn warned(events: &[WatchEvent]) -> Vec<(ClockKind, i32)> {
    events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Warning {
                clock,
                threshold_minutes,
                ..
            } => Some((*clock, *threshold_minutes)),
            _ => None,
        })
        .collect()
}

/// Ticks every 10 seconds from `from` to `to`, collecting the warnings and the session's warning
/// as each Updated carried it.
fn run(
    t: &mut Tracker,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (Vec<(ClockKind, i32)>, Vec<Option<ClockWarning>>) {
    let (mut warnings, mut shown) = (Vec::new(), Vec::new());
    let mut now = from;
    while now <= to {
        let tick = t.tick(now);
        warnings.extend(warned(&tick.events));
        for e in tick.events {
            if let WatchEvent::Updated { session } = e {
                shown.push(session.warning);
            }
        }
        now += Duration::seconds(10);
    }
    (warnings, shown)
}

#[test]
fn every_clock_is_warned_at_every_threshold_once() {
    let mut t = Tracker::new("acct", WatchConfig::default());
    // Unused in 15 minutes, idle in 25, hard in 120.
    t.apply_list(
        t0(),
        vec![headless(SessionState::Queued, Some(25), Some(15))],
    );
    let (warnings, shown) = run(&mut t, t0(), t0() + Duration::minutes(24));
    assert_eq!(
        warnings,
        vec![
            (ClockKind::Unused, 10),
            (ClockKind::Unused, 2),
            (ClockKind::Idle, 10),
            (ClockKind::Idle, 2),
        ],
        "each clock and threshold once, in the order they come"
    );
    // The session carries the soonest warned clock's most urgent threshold; a queued session is
    // not "ending soon" (that is for usable ones) but carries the warning all the same.
    assert_eq!(
        shown.first().copied().flatten(),
        Some(ClockWarning {
            clock: ClockKind::Unused,
            threshold_minutes: 10
        })
    );
    let now = t.sessions();
    assert_eq!(now[0].state, SessionState::Queued);
    assert_eq!(
        now[0].warning,
        Some(ClockWarning {
            clock: ClockKind::Unused,
            threshold_minutes: 2
        }),
        "the unused clock is still the soonest: {now:?}"
    );
}

#[test]
fn the_clock_that_ran_out_names_the_end() {
    let mut t = Tracker::new("acct", WatchConfig::default());
    t.apply_list(t0(), vec![headless(SessionState::Idle, Some(5), None)]);
    let tick = t.tick(t0() + Duration::minutes(5));
    assert!(tick.refetch, "a clock that ran out asks for a refetch");
    assert!(
        !t.tick(t0() + Duration::minutes(5) + Duration::seconds(1))
            .refetch,
        "once"
    );
    let events = t.apply_list(t0() + Duration::minutes(5), Vec::new());
    assert!(events.is_empty(), "a missing session is asked about first");
    let events = t.apply_get(t0() + Duration::minutes(5), "q", None);
    assert!(
        matches!(
            &events[..],
            [WatchEvent::Ended {
                reason: EndReason::IdleTimeout,
                ..
            }]
        ),
        "{events:?}"
    );

    // The hard clock: timed out.
    let mut t = Tracker::new("acct", WatchConfig::default());
    t.apply_list(t0(), vec![headless(SessionState::Ready, Some(500), None)]);
    let late = t0() + Duration::hours(3);
    let events = t.apply_get(late, "q", None);
    assert!(
        matches!(
            &events[..],
            [WatchEvent::Ended {
                reason: EndReason::Timeout,
                ..
            }]
        ),
        "{events:?}"
    );
}

#[test]
fn a_clock_that_moves_or_goes_rearms_its_own_warnings_only() {
    let mut t = Tracker::new("acct", WatchConfig::default());
    t.apply_list(t0(), vec![headless(SessionState::Ready, Some(8), Some(9))]);
    let (warnings, _) = run(&mut t, t0(), t0() + Duration::seconds(1));
    assert_eq!(
        warnings,
        vec![(ClockKind::Idle, 10), (ClockKind::Unused, 10)]
    );
    assert_eq!(t.sessions()[0].state, SessionState::Expiring);
    // Work arrived: the unused clock is gone, the idle clock moved to 30 minutes on.
    let now = t0() + Duration::minutes(1);
    let events = t.apply_list(now, vec![headless(SessionState::Ready, Some(31), None)]);
    let s = match &events[..] {
        [WatchEvent::Updated { session }] => session.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(s.warning, None, "no clock is inside a warning now");
    assert_eq!(s.state, SessionState::Ready, "not ending soon any more");
    // The idle clock is warned again when it comes near again.
    let (warnings, _) = run(&mut t, now, t0() + Duration::minutes(22));
    assert_eq!(warnings, vec![(ClockKind::Idle, 10)]);
}

#[test]
fn provider_states_are_kept_and_unknown_ones_as_written() {
    let mut t = Tracker::new("acct", WatchConfig::default());
    let mut waiting = headless(SessionState::WaitingForInput, None, None);
    waiting.id = "w".into();
    let mut odd = headless(SessionState::Other("Paused-ish".into()), None, None);
    odd.id = "o".into();
    let draining = headless(SessionState::Draining, None, None);
    t.apply_list(t0(), vec![waiting, odd, draining]);
    let states: Vec<(String, String)> = t
        .sessions()
        .into_iter()
        .map(|s| (s.id.clone(), s.state.label()))
        .collect();
    assert_eq!(
        states,
        vec![
            ("o".to_owned(), "Paused-ish".to_owned()),
            ("q".to_owned(), "Draining".to_owned()),
            ("w".to_owned(), "Waiting for your input".to_owned()),
        ]
    );
    assert!(
        t.needs_probe().is_empty(),
        "sessions without a URL are never probed"
    );
    // A cancelled end reported by the provider is kept.
    let mut cancelled = headless(SessionState::Ended(EndReason::Cancelled), None, None);
    cancelled.id = "w".into();
    let events = t.apply_get(t0(), "w", Some(cancelled));
    assert!(
        matches!(
            &events[..],
            [WatchEvent::Ended {
                reason: EndReason::Cancelled,
                ..
            }]
        ),
        "{events:?}"
    );
}

#[test]
fn a_stop_the_provider_drains_shows_draining_is_polled_steadily_and_still_warned() {
    let mut t = Tracker::new("acct", WatchConfig::default());
    let config = WatchConfig::default();
    // Running, its hard clock in 30 minutes.
    let mut s = headless(SessionState::Ready, None, None);
    s.deadline = Some(t0() + Duration::minutes(30));
    t.apply_list(t0(), vec![s.clone()]);
    t.mark_stopping("q");
    assert_eq!(
        t.next_poll(t0()),
        config.fast_poll,
        "stopping: watched closely"
    );
    // The provider took the close: it drains.
    s.state = SessionState::Draining;
    t.apply_list(t0(), vec![s.clone()]);
    assert_eq!(t.sessions()[0].state, SessionState::Draining);
    assert_eq!(
        t.next_poll(t0()),
        config.steady_poll,
        "draining can take hours: polled steadily"
    );
    let (warnings, _) = run(&mut t, t0(), t0() + Duration::minutes(21));
    assert_eq!(
        warnings,
        vec![(ClockKind::Hard, 10)],
        "its clock is still warned"
    );
}
