//! The watcher's rules on explicit times (a fake clock): nothing here sleeps or does I/O. The
//! task itself is tested in `runner_tests.rs`.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::error::{Error, ErrorCode};
use crate::model::*;

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
        .single()
        .unwrap()
}

pub(crate) fn session(id: &str, url: Option<&str>, deadline: DateTime<Utc>) -> Session {
    Session {
        id: id.to_owned(),
        account_id: "acct".to_owned(),
        provider: ProviderKind::Portholed,
        name: format!("session {id}"),
        machine_id: Some("terminal".to_owned()),
        machine_name: None,
        resource: Some("CPU".to_owned()),
        state: if url.is_some() {
            SessionState::Connecting
        } else {
            SessionState::Starting
        },
        status_label: None,
        created_at: t0(),
        deadline: Some(deadline),
        idle_deadline: None,
        unused_deadline: None,
        warning: None,
        url: url.map(str::to_owned),
        price_per_hour: None,
        before_end: None,
        capabilities: Capabilities {
            can_extend: true,
            can_stop: true,
            has_ui: true,
            can_cancel: false,
        },
        details: Vec::new(),
        raw: serde_json::Value::Null,
    }
}

fn tracker() -> Tracker {
    Tracker::new("acct", WatchConfig::default())
}

fn warnings(events: &[WatchEvent]) -> Vec<i32> {
    events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Warning {
                threshold_minutes, ..
            } => Some(*threshold_minutes),
            _ => None,
        })
        .collect()
}

/// Adds a session that is ready (listed with a URL that answered).
fn add_ready(t: &mut Tracker, now: DateTime<Utc>, id: &str, deadline: DateTime<Utc>) {
    t.apply_list(now, vec![session(id, Some("http://u"), deadline)]);
    t.apply_probe(now, id, "http://u", true);
}

/// Ticks every second from `from` to `to` (inclusive), collecting the warnings.
fn tick_through(t: &mut Tracker, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut now = from;
    while now <= to {
        for e in t.tick(now).events {
            if let WatchEvent::Warning {
                threshold_minutes,
                remaining_seconds,
                ..
            } = e
            {
                out.push((
                    (now - t0()).num_seconds(),
                    i64::from(threshold_minutes) * 100_000 + i64::from(remaining_seconds),
                ));
            }
        }
        now += Duration::seconds(1);
    }
    out
}

#[test]
fn a_new_session_is_added_and_not_ready_until_its_url_answers() {
    let mut t = tracker();
    let events = t.apply_list(t0(), vec![session("a", None, t0() + Duration::minutes(30))]);
    assert!(
        matches!(&events[..], [WatchEvent::Added { session }] if session.state == SessionState::Starting)
    );
    assert!(t.needs_probe().is_empty());

    let events = t.apply_list(
        t0(),
        vec![session(
            "a",
            Some("http://u/1"),
            t0() + Duration::minutes(30),
        )],
    );
    assert!(
        matches!(&events[..], [WatchEvent::Updated { session }] if session.state == SessionState::Connecting)
    );
    assert_eq!(
        t.needs_probe(),
        vec![("a".to_owned(), "http://u/1".to_owned())]
    );

    assert!(t.apply_probe(t0(), "a", "http://u/1", false).is_empty());
    let ready = t.apply_probe(t0(), "a", "http://u/1", true);
    assert!(
        matches!(&ready[..], [WatchEvent::Ready { session }] if session.state == SessionState::Ready)
    );
    // Once only, and the next list keeps it ready.
    assert!(t.apply_probe(t0(), "a", "http://u/1", true).is_empty());
    assert!(t
        .apply_list(
            t0(),
            vec![session(
                "a",
                Some("http://u/1"),
                t0() + Duration::minutes(30)
            )]
        )
        .is_empty());
    assert_eq!(t.sessions()[0].state, SessionState::Ready);
    // A new URL (a tunnel that moved) must answer again.
    t.apply_list(
        t0(),
        vec![session(
            "a",
            Some("http://u/2"),
            t0() + Duration::minutes(30),
        )],
    );
    assert_eq!(t.sessions()[0].state, SessionState::Connecting);
    assert_eq!(t.needs_probe().len(), 1);
}

#[test]
fn each_warning_fires_once_at_its_threshold() {
    let mut t = tracker();
    add_ready(&mut t, t0(), "a", t0() + Duration::minutes(15));
    let fired = tick_through(
        &mut t,
        t0(),
        t0() + Duration::minutes(15) - Duration::seconds(1),
    );
    // T-10 at 5:00 with 600 s left, T-2 at 13:00 with 120 s left, nothing else.
    assert_eq!(
        fired,
        vec![(300, 10 * 100_000 + 600), (780, 2 * 100_000 + 120)]
    );
}

#[test]
fn thresholds_are_configurable() {
    let config = WatchConfig {
        warn_before: vec![
            Duration::minutes(1),
            Duration::minutes(5),
            Duration::minutes(1),
        ],
        ..WatchConfig::default()
    };
    let mut t = Tracker::new("acct", config);
    add_ready(&mut t, t0(), "a", t0() + Duration::minutes(6));
    let fired = tick_through(&mut t, t0(), t0() + Duration::minutes(6));
    assert_eq!(fired, vec![(60, 5 * 100_000 + 300), (300, 100_000 + 60)]);
}

#[test]
fn a_suspend_gap_refetches_before_any_warning() {
    let mut t = tracker();
    let deadline = t0() + Duration::minutes(15);
    add_ready(&mut t, t0(), "a", deadline);
    assert_eq!(t.tick(t0()), Tick::default());
    // The laptop sleeps for 14 minutes: both thresholds were passed while asleep.
    let wake = t0() + Duration::minutes(14);
    let first = t.tick(wake);
    assert!(first.refetch, "a gap must ask for a refetch");
    assert!(
        first.events.is_empty(),
        "no warning before the refetch: {:?}",
        first.events
    );
    // Nothing while the refetch has not come back, and no second request (the runner fetches
    // at once; asking on every tick would defeat its back-off when offline).
    assert_eq!(t.tick(wake + Duration::seconds(1)), Tick::default());
    // The server says the session was extended meanwhile: no warning at all.
    t.apply_list(
        wake,
        vec![session("a", None, deadline + Duration::minutes(30))],
    );
    assert!(warnings(&t.tick(wake + Duration::seconds(2)).events).is_empty());
}

#[test]
fn after_a_gap_only_the_most_urgent_warning_fires() {
    let mut t = tracker();
    let deadline = t0() + Duration::minutes(15);
    add_ready(&mut t, t0(), "a", deadline);
    t.tick(t0());
    let wake = t0() + Duration::minutes(14);
    assert!(t.tick(wake).refetch);
    t.apply_list(wake, vec![session("a", Some("http://u"), deadline)]);
    let out = t.tick(wake + Duration::seconds(1));
    assert_eq!(warnings(&out.events), vec![2]);
    assert!(warnings(&t.tick(wake + Duration::seconds(2)).events).is_empty());
}

#[test]
fn a_session_that_has_not_opened_is_warned_as_it_becomes_ready_and_once() {
    let mut t = tracker();
    t.apply_list(
        t0(),
        vec![session("a", Some("http://u"), t0() + Duration::minutes(5))],
    );
    assert!(warnings(&t.tick(t0()).events).is_empty());
    // Ready first, carrying its warning, then the warning itself: one moment, in that order.
    let events = t.apply_probe(t0() + Duration::seconds(1), "a", "http://u", true);
    assert!(
        matches!(&events[..], [WatchEvent::Ready { session }, WatchEvent::Warning { threshold_minutes: 10, .. }]
            if session.state == SessionState::Expiring
                && session.warning.as_ref().map(|w| w.threshold_minutes) == Some(10)),
        "{events:?}"
    );
    assert!(warnings(&t.tick(t0() + Duration::seconds(2)).events).is_empty());
}

#[test]
fn a_session_that_opens_with_time_to_spare_is_ready_without_a_warning() {
    let mut t = tracker();
    t.apply_list(
        t0(),
        vec![session("a", Some("http://u"), t0() + Duration::minutes(30))],
    );
    let events = t.apply_probe(t0(), "a", "http://u", true);
    assert!(
        matches!(&events[..], [WatchEvent::Ready { session }] if session.warning.is_none()),
        "{events:?}"
    );
}

#[test]
fn a_clock_going_backwards_is_a_gap_too() {
    let mut t = tracker();
    t.apply_list(t0(), vec![session("a", None, t0() + Duration::minutes(30))]);
    t.tick(t0());
    assert!(t.tick(t0() - Duration::minutes(5)).refetch);
}

#[test]
fn an_extension_rearms_the_thresholds_it_moved_above() {
    let mut t = tracker();
    let deadline = t0() + Duration::minutes(11);
    t.apply_list(t0(), vec![session("a", Some("http://u"), deadline)]);
    t.apply_probe(t0(), "a", "http://u", true);
    let fired = tick_through(&mut t, t0(), t0() + Duration::minutes(2));
    assert_eq!(fired.len(), 1);
    assert_eq!(t.sessions()[0].state, SessionState::Expiring);
    // Extended by 20 minutes: the session is no longer expiring and T-10 can fire again.
    let now = t0() + Duration::minutes(2);
    let events = t.apply_list(
        now,
        vec![session(
            "a",
            Some("http://u"),
            deadline + Duration::minutes(20),
        )],
    );
    assert!(
        matches!(&events[..], [WatchEvent::Updated { session }] if session.state == SessionState::Ready)
    );
    let later = tick_through(&mut t, now, now + Duration::minutes(28));
    assert_eq!(
        later.iter().map(|(_, w)| w / 100_000).collect::<Vec<_>>(),
        vec![10, 2]
    );
}

#[test]
fn a_vanished_session_ends_with_the_right_reason() {
    let mut t = tracker();
    let deadline = t0() + Duration::minutes(10);
    t.apply_list(
        t0(),
        vec![
            session("timed", None, deadline),
            session("stopped", None, deadline + Duration::hours(1)),
            session("gone", None, deadline + Duration::hours(1)),
            session("late", None, deadline + Duration::hours(1)),
        ],
    );
    t.mark_stopping("stopped");
    let later = deadline + Duration::seconds(1);
    // The list left out all four (S3 can miss a session a moment): nothing ends until S2 says so.
    assert!(t.apply_list(later, Vec::new()).is_empty());
    assert_eq!(t.missing().len(), 4);
    let mut reasons = Vec::new();
    for id in ["timed", "stopped", "gone"] {
        for e in t.apply_get(later, id, None) {
            if let WatchEvent::Ended {
                session_id,
                reason,
                requested,
                ..
            } = e
            {
                reasons.push((session_id, reason, requested));
            }
        }
    }
    assert_eq!(
        reasons,
        vec![
            ("timed".to_owned(), EndReason::Timeout, false),
            ("stopped".to_owned(), EndReason::Stopped, true),
            ("gone".to_owned(), EndReason::Vanished, false),
        ],
        "only the one we stopped was asked for"
    );
    // S2 still knows "late": it stays.
    let kept = session("late", None, deadline + Duration::hours(1));
    assert!(t.apply_get(later, "late", Some(kept)).is_empty());
    assert_eq!(t.sessions().len(), 1);
}

#[test]
fn a_passed_deadline_asks_for_one_refetch() {
    let mut t = tracker();
    t.apply_list(t0(), vec![session("a", None, t0() + Duration::seconds(30))]);
    t.tick(t0() + Duration::seconds(29));
    assert!(t.tick(t0() + Duration::seconds(30)).refetch);
    assert!(!t.tick(t0() + Duration::seconds(31)).refetch);
}

#[test]
fn errors_keep_the_sessions_report_once_and_back_off() {
    let mut t = tracker();
    t.apply_list(
        t0(),
        vec![session("a", Some("http://u"), t0() + Duration::minutes(30))],
    );
    t.apply_probe(t0(), "a", "http://u", true);
    let steady = t.next_poll(t0());
    assert_eq!(steady, WatchConfig::default().steady_poll);
    let err = Error::new(ErrorCode::UpstreamUnavailable, "down");
    assert!(
        matches!(&t.apply_error(&err)[..], [WatchEvent::Offline { error, .. }] if error.code == ErrorCode::UpstreamUnavailable)
    );
    let mut waits = vec![t.next_poll(t0())];
    for _ in 0..8 {
        assert!(t.apply_error(&err).is_empty());
        waits.push(t.next_poll(t0()));
    }
    assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
    assert_eq!(*waits.last().unwrap(), WatchConfig::default().max_backoff);
    assert_eq!(t.sessions().len(), 1, "an error must not end sessions");
    let back = t.apply_list(
        t0(),
        vec![session("a", Some("http://u"), t0() + Duration::minutes(30))],
    );
    assert!(matches!(&back[..], [WatchEvent::Online { .. }]));
    assert_eq!(t.next_poll(t0()), steady);
}

#[test]
fn polling_is_fast_while_a_session_starts_and_fastest_just_after_it_was_created() {
    let config = WatchConfig::default();
    let mut t = tracker();
    t.apply_list(t0(), vec![session("a", None, t0() + Duration::minutes(30))]);
    let at = |seconds: i64| t.next_poll(t0() + Duration::seconds(seconds));
    assert_eq!(at(0), config.first_poll, "just created");
    assert_eq!(at(-5), config.first_poll, "created ahead of our clock");
    assert_eq!(at(4), StdDuration::from_secs(1), "a quarter of its age");
    assert_eq!(at(20), config.fast_poll, "at most fast_poll");
    assert!(config.first_poll < config.fast_poll);
}

#[test]
fn time_spent_busy_is_not_a_gap_but_a_suspend_beyond_it_is() {
    let mut busy = tracker();
    busy.tick(t0());
    // A 12 s fetch while awake: the runner excuses it.
    busy.excuse_busy(Duration::seconds(12));
    assert!(!busy.tick(t0() + Duration::seconds(13)).refetch);

    let mut unexcused = tracker();
    unexcused.tick(t0());
    assert!(unexcused.tick(t0() + Duration::seconds(13)).refetch);

    let mut slept = tracker();
    slept.tick(t0());
    slept.excuse_busy(Duration::seconds(5));
    assert!(slept.tick(t0() + Duration::minutes(5)).refetch);
}

#[test]
fn offline_on_waking_warns_from_the_last_known_deadline_after_a_grace() {
    let mut t = tracker();
    let deadline = t0() + Duration::minutes(15);
    add_ready(&mut t, t0(), "a", deadline);
    t.tick(t0());
    let wake = t0() + Duration::minutes(14);
    assert!(t.tick(wake).refetch);
    // The network is not back: the refetch fails and is not asked for again on every tick.
    let err = Error::new(ErrorCode::UpstreamUnavailable, "no network yet");
    assert_eq!(t.apply_error(&err).len(), 1);
    for s in 1..=10 {
        assert_eq!(t.tick(wake + Duration::seconds(s)), Tick::default(), "{s}");
    }
    // Past the grace (the gap, 10 s): the most urgent warning, once, and the session is kept.
    assert_eq!(
        warnings(&t.tick(wake + Duration::seconds(11)).events),
        vec![2]
    );
    assert!(warnings(&t.tick(wake + Duration::seconds(12)).events).is_empty());
    assert_eq!(t.sessions().len(), 1);
}

#[test]
fn a_session_being_stopped_gets_no_warning() {
    let mut t = tracker();
    let deadline = t0() + Duration::minutes(11);
    add_ready(&mut t, t0(), "a", deadline);
    assert_eq!(t.mark_stopping("a").len(), 1);
    // The provider still reports it running: it stays "stopping".
    t.apply_list(t0(), vec![session("a", Some("http://u"), deadline)]);
    assert_eq!(t.sessions()[0].state, SessionState::Stopping);
    assert!(t.needs_probe().is_empty());
    assert!(tick_through(&mut t, t0(), t0() + Duration::minutes(2)).is_empty());
    // The stop failed: the next list shows it ready again, and the warning comes.
    t.clear_stopping("a");
    let now = t0() + Duration::minutes(2);
    t.apply_list(now, vec![session("a", Some("http://u"), deadline)]);
    assert_eq!(t.sessions()[0].state, SessionState::Ready);
    assert_eq!(warnings(&t.tick(now).events), vec![10]);
}

#[test]
fn a_provider_that_reports_the_end_gives_its_reason() {
    let mut t = tracker();
    let deadline = t0() + Duration::hours(1);
    t.apply_list(
        t0(),
        vec![
            session("oom", None, deadline),
            session("done", None, deadline),
            session("mine", None, deadline),
        ],
    );
    t.mark_stopping("mine");
    let ended = |id: &str, reason: EndReason| {
        let mut s = session(id, None, deadline);
        s.state = SessionState::Ended(reason);
        s
    };
    let reasons = |events: Vec<WatchEvent>| -> Vec<(String, EndReason)> {
        events
            .into_iter()
            .filter_map(|e| match e {
                WatchEvent::Ended {
                    session_id, reason, ..
                } => Some((session_id, reason)),
                _ => None,
            })
            .collect()
    };
    // Listed as ended: ended with the provider's reason. One never seen alive is history.
    let events = t.apply_list(
        t0(),
        vec![
            ended("oom", EndReason::Failed("out of memory".to_owned())),
            ended("old", EndReason::Completed),
            session("done", None, deadline),
            ended("mine", EndReason::Vanished),
        ],
    );
    assert_eq!(
        reasons(events),
        vec![
            (
                "oom".to_owned(),
                EndReason::Failed("out of memory".to_owned())
            ),
            // "Vanished" is no reason: we know we stopped it.
            ("mine".to_owned(), EndReason::Stopped),
        ]
    );
    assert_eq!(t.sessions().len(), 1);
    assert!(t.missing().is_empty());
    // Asked about directly.
    let events = t.apply_get(t0(), "done", Some(ended("done", EndReason::Completed)));
    assert_eq!(
        reasons(events),
        vec![("done".to_owned(), EndReason::Completed)]
    );
    assert!(t.sessions().is_empty());
}

#[test]
fn a_provider_cannot_declare_a_url_ready_before_it_answers() {
    let mut t = tracker();
    let mut claimed = session("a", Some("http://u"), t0() + Duration::hours(1));
    claimed.state = SessionState::Ready;
    // A session without a URL (a QPU job, a runbook) is as ready as its provider says.
    let mut headless = session("q", None, t0() + Duration::hours(1));
    headless.state = SessionState::Ready;
    let events = t.apply_list(t0(), vec![claimed, headless]);
    let states: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Added { session } => Some((session.id.as_str(), session.state.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![("a", SessionState::Connecting), ("q", SessionState::Ready)]
    );
    assert_eq!(
        t.needs_probe(),
        vec![("a".to_owned(), "http://u".to_owned())]
    );
    // Connecting, seconds after it was created: watched closely.
    assert_eq!(
        t.next_poll(t0() + Duration::seconds(30)),
        WatchConfig::default().fast_poll
    );
    assert!(matches!(
        &t.apply_probe(t0(), "a", "http://u", true)[..],
        [WatchEvent::Ready { session }] if session.state == SessionState::Ready
    ));
}

#[test]
fn a_session_that_ended_as_it_launched_ends_at_once() {
    let mut t = tracker();
    let mut failed = session("f", None, t0() + Duration::minutes(10));
    failed.state = SessionState::Ended(EndReason::Failed("no capacity".into()));
    let events = t.track(t0(), failed);
    assert!(
        matches!(
            events.as_slice(),
            [WatchEvent::Ended { session_id, reason: EndReason::Failed(_), requested: false, .. }]
                if session_id == "f"
        ),
        "{events:?}"
    );
    assert!(t.sessions().is_empty());
    // Listed ended sessions are history, not news.
    let mut old = session("old", None, t0());
    old.state = SessionState::Ended(EndReason::Completed);
    assert!(t.apply_list(t0(), vec![old]).is_empty());
}
