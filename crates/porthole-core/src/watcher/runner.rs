//! The watcher's task: a [`Tracker`] driven by a provider, a URL probe and a clock. Owned by a
//! [`WatcherHandle`]; dropping the handle stops the task.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::{Tracker, WatchConfig, WatchEvent};
use crate::clock::Clock;
use crate::model::Session;
use crate::provider::Provider;

/// Does a session's URL answer yet? (porthole-providers implements it over HTTP.)
#[async_trait::async_trait]
pub trait UrlProbe: Send + Sync {
    async fn answers(&self, url: &str) -> bool;
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
}

impl Parts {
    fn emit(&self, tracker: &Tracker, events: Vec<WatchEvent>) {
        for event in events {
            let _ = self.events.send(event);
        }
        *self.sessions.lock().unwrap_or_else(|p| p.into_inner()) = tracker.sessions();
    }

    /// One round: list, confirm the missing, probe the new URLs.
    async fn poll(&self, tracker: &mut Tracker) {
        match self.provider.list().await {
            Ok(listed) => {
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
            match self.provider.get(&id).await {
                Ok(found) => {
                    let events = tracker.apply_get(self.clock.now(), &id, found);
                    self.emit(tracker, events);
                }
                Err(err) => {
                    let events = tracker.apply_error(&err);
                    self.emit(tracker, events);
                }
            }
        }
        for (id, url) in tracker.needs_probe() {
            let answered = self.probe.answers(&url).await;
            let events = tracker.apply_probe(&id, &url, answered);
            self.emit(tracker, events);
        }
    }
}

async fn run(mut tracker: Tracker, parts: Parts, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut tick = tokio::time::interval(tracker.config().tick);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut next_poll = Instant::now();
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
            _ = tokio::time::sleep_until(next_poll) => true,
        };
        if poll_now {
            parts.poll(&mut tracker).await;
            next_poll = Instant::now() + tracker.next_poll();
        }
    }
}
