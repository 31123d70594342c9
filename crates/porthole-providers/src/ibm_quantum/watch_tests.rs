//! IBM Quantum sessions through the watcher's tracker on a fake clock: each of the three clocks
//! (unused before the first job, the idle limit after each job, the hard `max_ttl`) warns once
//! per threshold; a job that restarts an idle session brings a new idle clock, warned again; a
//! suspend gap asks for a fetch before warning anything.

use chrono::{DateTime, Duration, TimeZone, Utc};
use porthole_core::model::{ClockKind, SessionState};
use porthole_core::watcher::{Tracker, WatchConfig, WatchEvent};
use serde_json::json;

use super::map;
use super::wire::WireSession;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

/// The session as IBM would answer S2: opened at t0, one job from `first` to `first + 1`, a
/// later one from `again`, idle after 15 minutes without work, an 8-hour limit.
fn answer(
    state: &str,
    first: Option<i64>,
    last_done: Option<i64>,
    last_started: Option<i64>,
) -> porthole_core::model::Session {
    let raw = json!({
        "id": "crw9s7cdbt40008jxesg", "backend_name": "ibm_fez", "mode": "dedicated",
        "state": state, "accepting_jobs": true, "interactive_ttl": 900, "max_ttl": 28800,
        "started_at": first.map(at), "last_job_completed": last_done.map(at),
        "last_job_started": last_started.map(at),
        "timestamps": [{"status": "open", "timestamp": t0()}],
    });
    let wire: WireSession = serde_json::from_value(raw.clone()).unwrap_or_else(|e| panic!("{e}"));
    map::session("ibm", &wire, raw, t0())
}

/// Ticks every 10 seconds over [from, to) minutes, the provider answering `session` throughout.
fn run(
    t: &mut Tracker,
    from: i64,
    to: i64,
    session: &porthole_core::model::Session,
) -> Vec<(ClockKind, i32, i64)> {
    let mut warned = Vec::new();
    t.apply_list(at(from), vec![session.clone()]);
    let mut now = at(from);
    while now < at(to) {
        for e in t.tick(now).events {
            if let WatchEvent::Warning {
                clock,
                threshold_minutes,
                ..
            } = e
            {
                warned.push((clock, threshold_minutes, (now - t0()).num_minutes()));
            }
        }
        now += Duration::seconds(10);
    }
    warned
}

#[test]
fn every_clock_of_a_qpu_session_warns_once_per_threshold_and_idle_again_after_new_work() {
    let mut t = Tracker::new("ibm", WatchConfig::default());
    // Open, never used: the unused clock (30 minutes) warns at 20 (its next threshold, 28,
    // never comes: a job arrives at 25).
    let open = answer("open", None, None, None);
    assert_eq!(open.state, SessionState::Queued);
    assert_eq!(open.unused_deadline, Some(at(30)));
    assert_eq!(run(&mut t, 0, 25, &open), vec![(ClockKind::Unused, 10, 20)]);
    // A job at 25, done at 26: running, the hard clock from 25 and an idle clock to 41.
    let worked = answer("active", Some(25), Some(26), Some(25));
    assert_eq!(worked.state, SessionState::Ready);
    assert_eq!(worked.deadline, Some(at(25) + Duration::hours(8)));
    assert_eq!(worked.idle_deadline, Some(at(41)));
    assert_eq!(worked.unused_deadline, None);
    assert_eq!(
        run(&mut t, 26, 41, &worked),
        vec![(ClockKind::Idle, 10, 31), (ClockKind::Idle, 2, 39)]
    );
    // Deactivated at 41: no idle clock runs. A job at 50, done at 51: a new idle clock to 66,
    // warned again from its first threshold.
    let idle = answer("inactive", Some(25), Some(26), Some(25));
    assert_eq!(
        (idle.state.clone(), idle.idle_deadline),
        (SessionState::Idle, None)
    );
    assert!(run(&mut t, 41, 50, &idle).is_empty());
    let again = answer("active", Some(25), Some(51), Some(50));
    assert_eq!(
        run(&mut t, 51, 66, &again),
        vec![(ClockKind::Idle, 10, 56), (ClockKind::Idle, 2, 64)]
    );
}

#[test]
fn a_suspend_gap_refetches_before_warning() {
    let mut t = Tracker::new("ibm", WatchConfig::default());
    let worked = answer("active", Some(0), Some(1), Some(0));
    t.apply_list(at(1), vec![worked]);
    t.tick(at(1));
    // Asleep from 1 to 15: inside both idle thresholds when it wakes.
    let woke = t.tick(at(15));
    assert!(woke.refetch, "a gap asks for fresh clocks first");
    assert!(woke.events.is_empty(), "and warns about nothing yet");
}
