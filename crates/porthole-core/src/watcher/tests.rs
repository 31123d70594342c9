//! The watcher's rules on explicit times (a fake clock), and the task against an in-memory
//! provider on tokio's paused clock: nothing here sleeps for real.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::clock::FakeClock;
use crate::error::{Error, ErrorCode, Result};
use crate::model::*;
use crate::provider::{LogStream, Provider};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
        .single()
        .unwrap()
}

fn session(id: &str, url: Option<&str>, deadline: DateTime<Utc>) -> Session {
    Session {
        id: id.to_owned(),
        account_id: "acct".to_owned(),
        provider: ProviderKind::Portholed,
        name: format!("session {id}"),
        machine_id: Some("terminal".to_owned()),
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
        url: url.map(str::to_owned),
        price_per_hour: None,
        capabilities: Capabilities {
            can_extend: true,
            can_stop: true,
            has_ui: true,
        },
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
    t.apply_probe(id, "http://u", true);
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

    assert!(t.apply_probe("a", "http://u/1", false).is_empty());
    let ready = t.apply_probe("a", "http://u/1", true);
    assert!(
        matches!(&ready[..], [WatchEvent::Ready { session }] if session.state == SessionState::Ready)
    );
    // Once only, and the next list keeps it ready.
    assert!(t.apply_probe("a", "http://u/1", true).is_empty());
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
    // Still nothing while the refetch has not come back.
    let waiting = t.tick(wake + Duration::seconds(1));
    assert!(waiting.refetch && waiting.events.is_empty());
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
fn a_session_that_has_not_opened_is_warned_once_it_is_ready() {
    let mut t = tracker();
    t.apply_list(
        t0(),
        vec![session("a", Some("http://u"), t0() + Duration::minutes(5))],
    );
    assert!(warnings(&t.tick(t0()).events).is_empty());
    t.apply_probe("a", "http://u", true);
    assert_eq!(
        warnings(&t.tick(t0() + Duration::seconds(1)).events),
        vec![10]
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
    t.apply_probe("a", "http://u", true);
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
                session_id, reason, ..
            } = e
            {
                reasons.push((session_id, reason));
            }
        }
    }
    assert_eq!(
        reasons,
        vec![
            ("timed".to_owned(), EndReason::Timeout),
            ("stopped".to_owned(), EndReason::Stopped),
            ("gone".to_owned(), EndReason::Vanished),
        ]
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
    t.apply_probe("a", "http://u", true);
    let steady = t.next_poll();
    assert_eq!(steady, WatchConfig::default().steady_poll);
    let err = Error::new(ErrorCode::UpstreamUnavailable, "down");
    assert!(
        matches!(&t.apply_error(&err)[..], [WatchEvent::Offline { error, .. }] if error.code == ErrorCode::UpstreamUnavailable)
    );
    let mut waits = vec![t.next_poll()];
    for _ in 0..8 {
        assert!(t.apply_error(&err).is_empty());
        waits.push(t.next_poll());
    }
    assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
    assert_eq!(*waits.last().unwrap(), WatchConfig::default().max_backoff);
    assert_eq!(t.sessions().len(), 1, "an error must not end sessions");
    let back = t.apply_list(
        t0(),
        vec![session("a", Some("http://u"), t0() + Duration::minutes(30))],
    );
    assert!(matches!(&back[..], [WatchEvent::Online { .. }]));
    assert_eq!(t.next_poll(), steady);
}

#[test]
fn polling_is_fast_while_a_session_starts() {
    let mut t = tracker();
    t.apply_list(t0(), vec![session("a", None, t0() + Duration::minutes(30))]);
    assert_eq!(t.next_poll(), WatchConfig::default().fast_poll);
}

// ---- the task ------------------------------------------------------------------------------

#[derive(Default)]
struct Memory {
    sessions: Mutex<Vec<Session>>,
    fail: Mutex<bool>,
}

#[async_trait::async_trait]
impl Provider for Memory {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Portholed
    }
    async fn list(&self) -> Result<Vec<Session>> {
        if *self.fail.lock().unwrap() {
            return Err(Error::new(ErrorCode::UpstreamUnavailable, "down"));
        }
        Ok(self.sessions.lock().unwrap().clone())
    }
    async fn get(&self, id: &str) -> Result<Option<Session>> {
        Ok(self
            .sessions
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.id == id)
            .cloned())
    }
    async fn launch(&self, _: &LaunchRequest) -> Result<Session> {
        Err(Error::invalid_input("not here"))
    }
    async fn extend(&self, _: &str, _: u32) -> Result<()> {
        Ok(())
    }
    async fn stop(&self, _: &str) -> Result<()> {
        Ok(())
    }
    async fn resources(&self) -> Result<Vec<Resource>> {
        Ok(Vec::new())
    }
    async fn machines(&self) -> Result<Vec<Machine>> {
        Ok(Vec::new())
    }
    async fn logs(&self, _: &str) -> Result<LogStream> {
        Err(Error::invalid_input("not here"))
    }
}

struct Answers(bool);

#[async_trait::async_trait]
impl UrlProbe for Answers {
    async fn answers(&self, _: &str) -> bool {
        self.0
    }
}

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<WatchEvent>) -> WatchEvent {
    tokio::time::timeout(std::time::Duration::from_secs(120), rx.recv())
        .await
        .expect("an event in time")
        .expect("the watcher is running")
}

#[tokio::test(start_paused = true)]
async fn the_task_reports_added_ready_warning_and_ended() {
    let provider = Arc::new(Memory::default());
    let clock = FakeClock::new(t0());
    let deadline = t0() + Duration::minutes(11);
    provider
        .sessions
        .lock()
        .unwrap()
        .push(session("a", Some("http://u"), deadline));
    let (handle, mut rx) = spawn(
        "acct",
        provider.clone(),
        Arc::new(Answers(true)),
        Arc::new(clock.clone()),
        WatchConfig::default(),
    );
    assert!(matches!(next(&mut rx).await, WatchEvent::Added { .. }));
    assert!(matches!(next(&mut rx).await, WatchEvent::Ready { .. }));
    assert_eq!(handle.sessions()[0].state, SessionState::Ready);

    // Wall-clock time moves a little at a time, as it does while the machine is awake.
    let mut warned = None;
    for _ in 0..200 {
        clock.advance(Duration::seconds(1));
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if let Ok(WatchEvent::Warning {
            threshold_minutes, ..
        }) = rx.try_recv()
        {
            warned = Some(threshold_minutes);
            break;
        }
    }
    assert_eq!(warned, Some(10));

    // The session disappears on the provider after its deadline: ended, timed out.
    clock.set(deadline + Duration::seconds(1));
    provider.sessions.lock().unwrap().clear();
    handle.refresh();
    loop {
        match next(&mut rx).await {
            WatchEvent::Ended {
                reason, session_id, ..
            } => {
                assert_eq!(session_id, "a");
                assert_eq!(reason, EndReason::Timeout);
                break;
            }
            WatchEvent::Updated { .. } | WatchEvent::Warning { .. } => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(handle.sessions().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_task_survives_a_failing_provider_and_recovers() {
    let provider = Arc::new(Memory::default());
    *provider.fail.lock().unwrap() = true;
    let clock = FakeClock::new(t0());
    let (handle, mut rx) = spawn(
        "acct",
        provider.clone(),
        Arc::new(Answers(false)),
        Arc::new(clock),
        WatchConfig::default(),
    );
    assert!(matches!(next(&mut rx).await, WatchEvent::Offline { .. }));
    provider
        .sessions
        .lock()
        .unwrap()
        .push(session("b", None, t0() + Duration::hours(1)));
    *provider.fail.lock().unwrap() = false;
    // Backed off, but it comes back by itself.
    assert!(matches!(next(&mut rx).await, WatchEvent::Online { .. }));
    assert!(matches!(next(&mut rx).await, WatchEvent::Added { .. }));
    assert_eq!(handle.sessions().len(), 1);
    drop(handle);
    // Dropping the handle stops the task: the channel closes.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while rx.recv().await.is_some() {}
    })
    .await;
    assert!(closed.is_ok());
}

#[tokio::test(start_paused = true)]
async fn the_hub_forwards_each_accounts_events_and_unwatch_stops_them() {
    let seen: Arc<Mutex<Vec<WatchEvent>>> = Arc::default();
    let sink_seen = Arc::clone(&seen);
    let hub = Hub::new(
        Arc::new(Answers(false)),
        Arc::new(FakeClock::new(t0())),
        WatchConfig::default(),
        Arc::new(move |e| sink_seen.lock().unwrap().push(e)),
    );
    let one = Arc::new(Memory::default());
    one.sessions
        .lock()
        .unwrap()
        .push(session("a", None, t0() + Duration::hours(1)));
    let two = Arc::new(Memory::default());
    two.sessions
        .lock()
        .unwrap()
        .push(session("b", None, t0() + Duration::hours(1)));
    hub.watch("one", one.clone());
    hub.watch("two", two.clone());
    for _ in 0..100 {
        if hub.sessions(None).len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(hub.sessions(Some("two")).len(), 1);
    assert_eq!(hub.sessions(None).len(), 2);
    // Stopping marks the session at once; an unknown account is a clear error.
    hub.stop("one", "a").await.unwrap();
    assert_eq!(
        hub.stop("nobody", "a").await.unwrap_err().code,
        ErrorCode::InvalidInput
    );
    hub.unwatch("two");
    assert!(!hub.is_watching("two"));
    assert!(hub.sessions(Some("two")).is_empty());
    let added = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, WatchEvent::Added { .. }))
        .count();
    assert_eq!(added, 2);
    let stopping = |events: &Vec<WatchEvent>| {
        events.iter().any(
            |e| matches!(e, WatchEvent::Updated { session } if session.state == SessionState::Stopping),
        )
    };
    for _ in 0..100 {
        if stopping(&seen.lock().unwrap()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(stopping(&seen.lock().unwrap()));
}
