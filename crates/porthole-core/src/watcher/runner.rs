//! The watcher's task: a [`Tracker`] driven by a provider, a URL probe and a clock. Owned by a
//! [`WatcherHandle`]; dropping the handle stops the task (and its probes).
//!
//! Probes run beside the loop (a URL that does not answer can take the probe's whole timeout),
//! so ticks and commands never wait for them. Fetches run inline; the time a slow one takes is
//! excused from suspend detection, unless wall-clock time moved further than monotonic time
//! meanwhile (the machine slept during the fetch).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Duration;
use tokio::sync::mpsc;
use tokio::task::{Id, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};

use super::{Tracker, WatchConfig, WatchEvent};
use crate::clock::Clock;
use crate::machine_names::MachineNames;
use crate::model::Session;
use crate::provider::Provider;

/// Does a session's URL answer yet? (porthole-providers implements it over HTTP.)
#[async_trait::async_trait]
pub trait UrlProbe: Send + Sync {
    /// Whether session `session_id`'s page at `url` answers (the session lets a probe that
    /// must go through a tunnel name the session).
    async fn answers(&self, session_id: &str, url: &str) -> bool;
}

enum Command {
    Refresh,
    Track(Box<Session>),
    Stopping(String),
    StopFailed(String),
}

/// The running watcher of one account.
pub struct WatcherHandle {
    commands: mpsc::UnboundedSender<Command>,
    sessions: Arc<Mutex<Vec<Session>>>,
    task: tokio::task::AbortHandle,
}

impl WatcherHandle {
    /// Fetch now (after a launch, an extension or a stop; or when the user asks).
    pub fn refresh(&self) {
        let _ = self.commands.send(Command::Refresh);
    }

    /// A session we just launched.
    pub fn track(&self, session: Session) {
        let _ = self.commands.send(Command::Track(Box::new(session)));
    }

    /// We asked the provider to stop this session.
    pub fn stopping(&self, id: &str) {
        let _ = self.commands.send(Command::Stopping(id.to_owned()));
    }

    /// The stop request failed: the session is not stopping after all.
    pub fn stop_failed(&self, id: &str) {
        let _ = self.commands.send(Command::StopFailed(id.to_owned()));
    }

    /// The sessions as the watcher last saw them.
    pub fn sessions(&self) -> Vec<Session> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for WatcherHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching one account. Events arrive on the returned receiver, in order.
pub fn spawn(
    account_id: &str,
    provider: Arc<dyn Provider>,
    probe: Arc<dyn UrlProbe>,
    clock: Arc<dyn Clock>,
    config: WatchConfig,
) -> (WatcherHandle, mpsc::UnboundedReceiver<WatchEvent>) {
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let task = tokio::spawn(run(
        Tracker::new(account_id, config),
        Parts {
            provider,
            probe,
            clock,
            events: events_tx,
            sessions: Arc::clone(&sessions),
            names: MachineNames::default(),
        },
        commands_rx,
    ));
    (
        WatcherHandle {
            commands: commands_tx,
            sessions,
            task: task.abort_handle(),
        },
        events_rx,
    )
}

struct Parts {
    provider: Arc<dyn Provider>,
    probe: Arc<dyn UrlProbe>,
    clock: Arc<dyn Clock>,
    events: mpsc::UnboundedSender<WatchEvent>,
    sessions: Arc<Mutex<Vec<Session>>>,
    names: MachineNames,
}

impl Parts {
    /// The snapshot first, then the events: whoever reacts to an event and asks for the
    /// sessions must see the state the event describes.
    fn emit(&self, tracker: &Tracker, events: Vec<WatchEvent>) {
        *self.sessions.lock().unwrap_or_else(|p| p.into_inner()) = tracker.sessions();
        for event in events {
            let _ = self.events.send(event);
        }
    }

    /// One round: list (and name the sessions' machines), confirm the missing.
    async fn poll(&mut self, tracker: &mut Tracker) {
        let provider = Arc::clone(&self.provider);
        match self.answered(tracker, provider.list()).await {
            Ok(mut listed) => {
                self.names
                    .name(&*self.provider, self.clock.now(), &mut listed)
                    .await;
                let events = tracker.apply_list(self.clock.now(), listed);
                self.emit(tracker, events);
            }
            Err(err) => {
                let events = tracker.apply_error(&err);
                self.emit(tracker, events);
                return;
            }
        }
        for id in tracker.missing() {
            match self.answered(tracker, provider.get(&id)).await {
                Ok(mut found) => {
                    if let Some(session) = found.as_mut() {
                        let now = self.clock.now();
                        self.names
                            .name(&*self.provider, now, std::slice::from_mut(session))
                            .await;
                    }
                    let events = tracker.apply_get(self.clock.now(), &id, found);
                    self.emit(tracker, events);
                }
                Err(err) => {
                    let events = tracker.apply_error(&err);
                    self.emit(tracker, events);
                }
            }
        }
    }

    /// Waits for a read; one that has no answer within `answer_within` flags the account as not
    /// answering at once, and is waited for still (the HTTP layer bounds it).
    async fn answered<T>(
        &self,
        tracker: &mut Tracker,
        read: impl std::future::Future<Output = T>,
    ) -> T {
        let within = tracker.config().answer_within;
        tokio::pin!(read);
        tokio::select! {
            answer = &mut read => answer,
            () = tokio::time::sleep(within) => {
                let events = tracker.apply_unanswered(within);
                self.emit(tracker, events);
                read.await
            }
        }
    }
}

/// The probes in flight, each (session id, URL) at most once.
#[derive(Default)]
struct Probes {
    running: JoinSet<bool>,
    targets: HashMap<Id, (String, String)>,
}

impl Probes {
    fn start(&mut self, probe: &Arc<dyn UrlProbe>, tracker: &Tracker) {
        for target in tracker.needs_probe() {
            if self.targets.values().any(|t| *t == target) {
                continue;
            }
            let probe = Arc::clone(probe);
            let (id, url) = target.clone();
            let handle = self
                .running
                .spawn(async move { probe.answers(&id, &url).await });
            self.targets.insert(handle.id(), target);
        }
    }

    /// One finished probe: its session id, URL and answer (a probe that panicked did not answer).
    fn finished(
        &mut self,
        done: Result<(Id, bool), tokio::task::JoinError>,
    ) -> Option<(String, String, bool)> {
        let (id, answered) = match done {
            Ok((id, answered)) => (id, answered),
            Err(err) => (err.id(), false),
        };
        let (session, url) = self.targets.remove(&id)?;
        Some((session, url, answered))
    }
}

async fn run(
    mut tracker: Tracker,
    mut parts: Parts,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut tick = tokio::time::interval(tracker.config().tick);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut next_poll = Instant::now();
    let mut probes = Probes::default();
    loop {
        let poll_now = tokio::select! {
            _ = tick.tick() => {
                let out = tracker.tick(parts.clock.now());
                parts.emit(&tracker, out.events);
                out.refetch
            }
            command = commands.recv() => match command {
                None => return,
                Some(Command::Refresh) => true,
                Some(Command::Track(session)) => {
                    let events = tracker.track(parts.clock.now(), *session);
                    parts.emit(&tracker, events);
                    true
                }
                Some(Command::Stopping(id)) => {
                    let events = tracker.mark_stopping(&id);
                    parts.emit(&tracker, events);
                    true
                }
                Some(Command::StopFailed(id)) => {
                    tracker.clear_stopping(&id);
                    true
                }
            },
            Some(done) = probes.running.join_next_with_id(), if !probes.running.is_empty() => {
                if let Some((id, url, answered)) = probes.finished(done) {
                    let events = tracker.apply_probe(parts.clock.now(), &id, &url, answered);
                    parts.emit(&tracker, events);
                }
                false
            }
            _ = tokio::time::sleep_until(next_poll) => true,
        };
        if poll_now {
            let (wall, mono) = (parts.clock.now(), Instant::now());
            parts.poll(&mut tracker).await;
            let gap = tracker.config().gap;
            if let Some(busy) = awake_for(parts.clock.now() - wall, mono.elapsed(), gap) {
                tracker.excuse_busy(busy);
            }
            probes.start(&parts.probe, &tracker);
            next_poll = Instant::now() + tracker.next_poll(parts.clock.now());
        }
    }
}

/// How long a fetch kept the loop busy, if the machine stayed awake throughout: wall-clock time
/// that moved no further than monotonic time did (give or take the suspend gap).
pub(super) fn awake_for(
    wall: Duration,
    mono: std::time::Duration,
    gap: Duration,
) -> Option<Duration> {
    let mono = Duration::from_std(mono).ok()?;
    (wall >= Duration::zero() && wall - mono <= gap).then_some(wall)
}
