//! The watcher's task against an in-memory provider and probe, on tokio's paused clock: nothing
//! here sleeps for real. [`Wall`] is a wall clock that follows tokio's time and can jump (a
//! suspend: wall-clock time moves while monotonic time stood still).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::mpsc::UnboundedReceiver;

use super::tests::{session, t0};
use super::*;
use crate::clock::{Clock, FakeClock};
use crate::error::{Error, ErrorCode, Result};
use crate::model::*;
use crate::provider::{LogStream, Provider};

#[derive(Default)]
pub(super) struct Memory {
    pub(super) sessions: Mutex<Vec<Session>>,
    pub(super) fail: Mutex<bool>,
    /// How long each list takes (a slow provider).
    pub(super) list_delay: Mutex<StdDuration>,
    lists: AtomicUsize,
    machines: Mutex<Vec<Machine>>,
    /// Whether asking for the machines fails (the sessions list still works).
    machines_fail: Mutex<bool>,
    /// How long asking for the machines takes.
    machines_delay: Mutex<StdDuration>,
    machine_asks: AtomicUsize,
}

impl Memory {
    pub(super) fn with(sessions: Vec<Session>) -> Arc<Self> {
        let m = Self::default();
        *m.sessions.lock().unwrap() = sessions;
        Arc::new(m)
    }

    pub(super) fn lists(&self) -> usize {
        self.lists.load(Ordering::SeqCst)
    }

    fn machine_asks(&self) -> usize {
        self.machine_asks.load(Ordering::SeqCst)
    }
}

/// Takes as long as `delay` says (a slow provider).
async fn take(delay: &Mutex<StdDuration>) {
    let delay = *delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

#[async_trait::async_trait]
impl Provider for Memory {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Portholed
    }
    async fn list(&self) -> Result<Vec<Session>> {
        self.lists.fetch_add(1, Ordering::SeqCst);
        take(&self.list_delay).await;
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
        self.machine_asks.fetch_add(1, Ordering::SeqCst);
        take(&self.machines_delay).await;
        if *self.machines_fail.lock().unwrap() {
            return Err(Error::new(ErrorCode::UpstreamUnavailable, "down"));
        }
        Ok(self.machines.lock().unwrap().clone())
    }
    async fn logs(&self, _: &str) -> Result<LogStream> {
        Err(Error::invalid_input("not here"))
    }
}

/// Every URL answers (or none does), except `http://slow`, which hangs for 30 s and fails.
pub(super) struct Answers(pub(super) bool);

#[async_trait::async_trait]
impl UrlProbe for Answers {
    async fn answers(&self, _session_id: &str, url: &str) -> bool {
        if url == "http://slow" {
            tokio::time::sleep(StdDuration::from_secs(30)).await;
            return false;
        }
        self.0
    }
}

/// Wall-clock time that follows tokio's (paused) time, plus any suspend jumps.
struct Wall {
    start: tokio::time::Instant,
    jumped: Mutex<Duration>,
}

impl Wall {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            start: tokio::time::Instant::now(),
            jumped: Mutex::new(Duration::zero()),
        })
    }

    /// The laptop slept this long: wall-clock time moved, tokio's did not.
    fn suspend(&self, by: Duration) {
        *self.jumped.lock().unwrap() += by;
    }
}

impl Clock for Wall {
    fn now(&self) -> DateTime<Utc> {
        t0() + Duration::from_std(self.start.elapsed()).unwrap() + *self.jumped.lock().unwrap()
    }
}

pub(super) async fn next(rx: &mut UnboundedReceiver<WatchEvent>) -> WatchEvent {
    tokio::time::timeout(StdDuration::from_secs(120), rx.recv())
        .await
        .expect("an event in time")
        .expect("the watcher is running")
}

/// The first event matching `pred` within `within` of tokio time, with what came before it.
async fn wait_for(
    rx: &mut UnboundedReceiver<WatchEvent>,
    within: StdDuration,
    pred: impl Fn(&WatchEvent) -> bool,
) -> (Option<WatchEvent>, Vec<WatchEvent>) {
    let mut before = Vec::new();
    let found = tokio::time::timeout(within, async {
        while let Some(e) = rx.recv().await {
            if pred(&e) {
                return Some(e);
            }
            before.push(e);
        }
        None
    })
    .await
    .ok()
    .flatten();
    (found, before)
}

fn is_warning(e: &WatchEvent) -> bool {
    matches!(e, WatchEvent::Warning { .. })
}

fn warning_of(e: Option<WatchEvent>) -> Option<(i32, i32)> {
    match e {
        Some(WatchEvent::Warning {
            threshold_minutes,
            remaining_seconds,
            ..
        }) => Some((threshold_minutes, remaining_seconds)),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn the_task_reports_added_ready_warning_and_ended() {
    let clock = FakeClock::new(t0());
    let deadline = t0() + Duration::minutes(11);
    let provider = Memory::with(vec![session("a", Some("http://u"), deadline)]);
    let (handle, mut rx) = watch(&provider, &clock);
    assert!(matches!(next(&mut rx).await, WatchEvent::Added { .. }));
    assert!(matches!(next(&mut rx).await, WatchEvent::Ready { .. }));
    assert_eq!(handle.sessions()[0].state, SessionState::Ready);

    // Wall-clock time moves a little at a time, as it does while the machine is awake.
    let mut warned = None;
    for _ in 0..200 {
        clock.advance(Duration::seconds(1));
        tokio::time::sleep(StdDuration::from_secs(1)).await;
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
    let provider = Memory::with(Vec::new());
    *provider.fail.lock().unwrap() = true;
    let (handle, mut rx) = spawn(
        "acct",
        provider.clone(),
        Arc::new(Answers(false)),
        Arc::new(FakeClock::new(t0())),
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
    let closed = tokio::time::timeout(StdDuration::from_secs(60), async {
        while rx.recv().await.is_some() {}
    })
    .await;
    assert!(closed.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_suspend_refetches_at_once_and_warns_only_the_most_urgent() {
    let deadline = t0() + Duration::minutes(15);
    let provider = Memory::with(vec![session("a", Some("http://u"), deadline)]);
    let clock = Wall::new();
    let (_handle, mut rx) = spawn(
        "acct",
        provider.clone(),
        Arc::new(Answers(true)),
        clock.clone(),
        WatchConfig::default(),
    );
    let (ready, _) = wait_for(&mut rx, StdDuration::from_secs(5), |e| {
        matches!(e, WatchEvent::Ready { .. })
    })
    .await;
    assert!(ready.is_some());
    // Steady now: the next regular poll is 15 s away.
    tokio::time::sleep(StdDuration::from_secs(5)).await;
    let lists = provider.lists();
    clock.suspend(Duration::minutes(14));
    let (warning, before) = wait_for(&mut rx, StdDuration::from_secs(3), is_warning).await;
    // Remaining: 15 min - 14 min - ~5 s awake.
    let (threshold, remaining) = warning_of(warning).expect("a warning after waking");
    assert_eq!(threshold, 2, "only the most urgent threshold");
    assert!((50..=55).contains(&remaining), "{remaining}");
    assert!(before.iter().all(|e| !is_warning(e)), "{before:?}");
    assert!(provider.lists() > lists, "waking up must refetch at once");
    // And no second warning follows.
    let (again, _) = wait_for(&mut rx, StdDuration::from_secs(20), is_warning).await;
    assert_eq!(again, None);
}

#[test]
fn only_a_fetch_the_machine_stayed_awake_through_is_excused() {
    let gap = WatchConfig::default().gap;
    let secs = StdDuration::from_secs;
    // Slow but awake: wall-clock and monotonic time agree.
    assert_eq!(
        runner::awake_for(Duration::seconds(12), secs(12), gap),
        Some(Duration::seconds(12))
    );
    assert_eq!(
        runner::awake_for(Duration::seconds(20), secs(12), gap),
        Some(Duration::seconds(20))
    );
    // Slept during the fetch (monotonic time stood still), or the clock went back: not excused.
    assert_eq!(
        runner::awake_for(Duration::minutes(14), secs(12), gap),
        None
    );
    assert_eq!(runner::awake_for(Duration::seconds(-5), secs(1), gap), None);
}

#[tokio::test(start_paused = true)]
async fn a_slow_provider_is_not_mistaken_for_a_suspend() {
    let deadline = t0() + Duration::minutes(11);
    let provider = Memory::with(vec![session("a", Some("http://u"), deadline)]);
    // Every list takes longer than the suspend gap (10 s).
    *provider.list_delay.lock().unwrap() = StdDuration::from_secs(12);
    let (_handle, mut rx) = spawn(
        "acct",
        provider.clone(),
        Arc::new(Answers(true)),
        Wall::new(),
        WatchConfig::default(),
    );
    let (warning, before) = wait_for(&mut rx, StdDuration::from_secs(200), is_warning).await;
    assert!(
        before.iter().any(|e| matches!(e, WatchEvent::Ready { .. })),
        "{before:?}"
    );
    let (threshold, remaining) = warning_of(warning).expect("T-10 despite the slow provider");
    assert_eq!(threshold, 10);
    // Ticks wait while a list is in flight: at most that long late.
    assert!((587..=600).contains(&remaining), "{remaining}");
}

#[tokio::test(start_paused = true)]
async fn a_hanging_probe_holds_up_neither_warnings_nor_refreshes() {
    let deadline = t0() + Duration::minutes(11);
    let provider = Memory::with(vec![
        session("a", Some("http://u"), deadline),
        session("slow", Some("http://slow"), deadline + Duration::hours(1)),
    ]);
    let (handle, mut rx) = spawn(
        "acct",
        provider.clone(),
        Arc::new(Answers(true)),
        Wall::new(),
        WatchConfig::default(),
    );
    let (ready, _) = wait_for(
        &mut rx,
        StdDuration::from_secs(2),
        |e| matches!(e, WatchEvent::Ready { session } if session.id == "a"),
    )
    .await;
    assert!(ready.is_some(), "the answering session is ready at once");
    let (warning, _) = wait_for(&mut rx, StdDuration::from_secs(120), is_warning).await;
    let (threshold, remaining) = warning_of(warning).expect("T-10 on time");
    assert_eq!(threshold, 10);
    assert!((599..=600).contains(&remaining), "{remaining}");
    // Extended elsewhere; a refresh sees it within a second or two, not after the probe.
    provider.sessions.lock().unwrap()[0].deadline = Some(deadline + Duration::minutes(30));
    handle.refresh();
    let extended = Some(deadline + Duration::minutes(30));
    let (updated, _) = wait_for(
        &mut rx,
        StdDuration::from_secs(2),
        |e| matches!(e, WatchEvent::Updated { session } if session.deadline == extended),
    )
    .await;
    match updated {
        // Far from the new deadline: no longer expiring.
        Some(WatchEvent::Updated { session }) => assert_eq!(session.state, SessionState::Ready),
        other => panic!("expected the extension, got {other:?}"),
    }
    assert!(handle
        .sessions()
        .iter()
        .any(|s| s.id == "slow" && s.state == SessionState::Connecting));
}

#[tokio::test(start_paused = true)]
async fn the_hub_forwards_each_accounts_events_and_unwatch_stops_them() {
    let seen: Arc<Mutex<Vec<WatchEvent>>> = Arc::default();
    let hub = Hub::new(
        Arc::new(Answers(false)),
        Arc::new(FakeClock::new(t0())),
        WatchConfig::default(),
    );
    // A consumer of the hub's channel, as the shell's are.
    let mut events = hub.subscribe();
    let consumer_seen = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok(e) = events.recv().await {
            consumer_seen.lock().unwrap().push(e);
        }
    });
    let one = Memory::with(vec![session("a", None, t0() + Duration::hours(1))]);
    let two = Memory::with(vec![session("b", None, t0() + Duration::hours(1))]);
    hub.watch("one", one.clone());
    hub.watch("two", two.clone());
    for _ in 0..100 {
        if hub.sessions(None).len() == 2 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
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
    let added = |events: &Vec<WatchEvent>| {
        events
            .iter()
            .filter(|e| matches!(e, WatchEvent::Added { .. }))
            .count()
    };
    for _ in 0..100 {
        if added(&seen.lock().unwrap()) == 2 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    assert_eq!(added(&seen.lock().unwrap()), 2);
    let stopping = |events: &Vec<WatchEvent>| {
        events.iter().any(
            |e| matches!(e, WatchEvent::Updated { session } if session.state == SessionState::Stopping),
        )
    };
    for _ in 0..100 {
        if stopping(&seen.lock().unwrap()) {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    assert!(stopping(&seen.lock().unwrap()));
}

fn machine(id: &str, name: &str) -> Machine {
    Machine {
        id: id.to_owned(),
        name: name.to_owned(),
        can_launch: true,
        unavailable_reason: None,
        default_resource: None,
    }
}

/// The names the watcher's sessions carry, by session id.
fn machine_names(handle: &WatcherHandle) -> Vec<(String, Option<String>)> {
    let mut names: Vec<_> = handle
        .sessions()
        .into_iter()
        .map(|s| (s.id, s.machine_name))
        .collect();
    names.sort();
    names
}

/// Lets the watcher poll once more, `seconds` of tokio (and wall-clock) time later.
async fn poll_after(handle: &WatcherHandle, clock: &FakeClock, seconds: i64) {
    clock.advance(Duration::seconds(seconds));
    handle.refresh();
    tokio::time::sleep(StdDuration::from_secs(seconds as u64)).await;
}

/// Watches `provider` with the default settings; every URL answers.
fn watch(
    provider: &Arc<Memory>,
    clock: &FakeClock,
) -> (WatcherHandle, UnboundedReceiver<WatchEvent>) {
    spawn(
        "acct",
        provider.clone(),
        Arc::new(Answers(true)),
        Arc::new(clock.clone()),
        WatchConfig::default(),
    )
}

/// Watches `provider`, whose one machine is "terminal", named "Terminal"; also returns the
/// first session the watcher added.
async fn watch_named(
    provider: &Arc<Memory>,
    clock: &FakeClock,
) -> (WatcherHandle, UnboundedReceiver<WatchEvent>, Session) {
    *provider.machines.lock().unwrap() = vec![machine("terminal", "Terminal")];
    let (handle, mut rx) = watch(provider, clock);
    match next(&mut rx).await {
        WatchEvent::Added { session } => (handle, rx, session),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn sessions_carry_their_machines_name_and_an_unknown_machine_is_asked_for_at_most_once_a_minute(
) {
    let deadline = t0() + Duration::hours(1);
    let (provider, clock) = (
        Memory::with(vec![session("a", None, deadline)]),
        FakeClock::new(t0()),
    );
    let (handle, _rx, first) = watch_named(&provider, &clock).await;
    assert_eq!(first.machine_name.as_deref(), Some("Terminal"));
    // Known names cost no lookup.
    for _ in 0..3 {
        poll_after(&handle, &clock, 1).await;
    }
    assert_eq!(provider.machine_asks(), 1);

    // A session on a machine the list lacks: asked for again once the last lookup is a minute
    // old. Not found (a deleted machine), it is not asked about again.
    let mut elsewhere = session("b", None, deadline);
    elsewhere.machine_id = Some("retired".to_owned());
    provider.sessions.lock().unwrap().push(elsewhere);
    for _ in 0..3 {
        poll_after(&handle, &clock, 10).await;
    }
    assert_eq!(provider.machine_asks(), 1);
    poll_after(&handle, &clock, 30).await;
    assert_eq!(provider.machine_asks(), 2);
    for _ in 0..10 {
        poll_after(&handle, &clock, 10).await;
    }
    assert_eq!(provider.machine_asks(), 2);

    // A session on a machine made since: asked for, and named.
    provider
        .machines
        .lock()
        .unwrap()
        .push(machine("fresh", "Fresh"));
    let mut newer = session("c", None, deadline);
    newer.machine_id = Some("fresh".to_owned());
    provider.sessions.lock().unwrap().push(newer);
    poll_after(&handle, &clock, 10).await;
    assert_eq!(provider.machine_asks(), 3);
    assert_eq!(
        machine_names(&handle),
        [
            ("a".into(), Some("Terminal".into())),
            ("b".into(), None),
            ("c".into(), Some("Fresh".into()))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_machine_lookup_leaves_the_ids_and_is_tried_again_later() {
    let clock = FakeClock::new(t0());
    let provider = Memory::with(vec![session("a", None, t0() + Duration::hours(1))]);
    *provider.machines_fail.lock().unwrap() = true;
    let (handle, mut rx, first) = watch_named(&provider, &clock).await;
    assert_eq!(first.machine_name, None);
    assert_eq!(first.machine_id.as_deref(), Some("terminal"));
    *provider.machines_fail.lock().unwrap() = false;
    poll_after(&handle, &clock, 61).await;
    let (named, before) = wait_for(
        &mut rx,
        StdDuration::from_secs(5),
        |e| matches!(e, WatchEvent::Updated { session } if session.machine_name.is_some()),
    )
    .await;
    assert!(named.is_some(), "never named; saw {before:?}");
    // The lookup's failure was never the account's: it did not go offline.
    assert!(!before
        .iter()
        .any(|e| matches!(e, WatchEvent::Offline { .. })));
    assert_eq!(provider.machine_asks(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_slow_machine_lookup_holds_the_watcher_up_for_a_few_seconds_at_most() {
    let clock = FakeClock::new(t0());
    let provider = Memory::with(vec![session("a", None, t0() + Duration::hours(1))]);
    *provider.machines_delay.lock().unwrap() = StdDuration::from_secs(3600);
    let started = tokio::time::Instant::now();
    let (_handle, _rx, first) = watch_named(&provider, &clock).await;
    assert_eq!(first.machine_name, None);
    let waited = started.elapsed();
    assert!(
        waited >= crate::machine_names::LOOKUP_TIMEOUT && waited < StdDuration::from_secs(30),
        "the first session came after {waited:?}"
    );
}
