//! The watchers of every account, in one registry: what the app shows comes from here. Each
//! account's watcher is an owned handle; unwatching an account drops it, which stops its task.
//!
//! Every watcher's events are published on one broadcast channel ([`Hub::subscribe`]): each
//! consumer (the main window, notifications, the tray, the session proxies and windows)
//! subscribes on its own, in order, and none knows of the others.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{spawn, UrlProbe, WatchConfig, WatchEvent, WatcherHandle};
use crate::app_info::Problem;
use crate::clock::Clock;
use crate::ended::{EndedSession, EndedStore};
use crate::error::{Error, Result};
use crate::history::{History, HistoryEntry, HistoryKind};
use crate::inputs::{Parameter, Prompt};
use crate::machine_names::MachineNames;
use crate::model::{Detail, Job, LaunchRequest, Machine, Resource, Session};
use crate::provider::{LogStream, Provider};

struct Watched {
    provider: Arc<dyn Provider>,
    handle: WatcherHandle,
    /// Publishes this watcher's events; aborted with the entry.
    forward: tokio::task::AbortHandle,
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.forward.abort();
    }
}

/// Events a slow consumer may fall behind by before it misses some (it is told how many).
pub const EVENT_BACKLOG: usize = 1024;

pub struct Hub {
    watched: Mutex<BTreeMap<String, Watched>>,
    probe: Arc<dyn UrlProbe>,
    clock: Arc<dyn Clock>,
    config: Mutex<WatchConfig>,
    events: tokio::sync::broadcast::Sender<WatchEvent>,
    history: Arc<History>,
    /// Sessions that ended, kept across restarts (see [`Hub::with_ended`]).
    ended: Arc<EndedStore>,
    /// The accounts whose watcher says they are offline or not answering, with why.
    unanswered: Arc<Mutex<BTreeMap<String, Problem>>>,
}

impl Hub {
    pub fn new(probe: Arc<dyn UrlProbe>, clock: Arc<dyn Clock>, config: WatchConfig) -> Self {
        Self {
            watched: Mutex::new(BTreeMap::new()),
            probe,
            clock,
            config: Mutex::new(config),
            events: tokio::sync::broadcast::Sender::new(EVENT_BACKLOG),
            history: Arc::new(History::default()),
            ended: Arc::default(),
            unanswered: Arc::default(),
        }
    }

    /// Keeps ended sessions in `store` (a file: they survive a restart), and puts back the
    /// history kept with them.
    pub fn with_ended(mut self, store: EndedStore) -> Self {
        for ended in store.list() {
            let (account, id) = (&ended.session.account_id, &ended.session.id);
            let kept = store.history(account, id).unwrap_or_default();
            self.history.restore(account, id, kept);
        }
        self.ended = Arc::new(store);
        self
    }

    /// The sessions that have ended and are kept, oldest first.
    pub fn ended(&self) -> Vec<EndedSession> {
        self.ended.list()
    }

    /// Forgets an ended session.
    pub fn dismiss_ended(&self, account_id: &str, session_id: &str) -> Result<()> {
        self.ended.dismiss(account_id, session_id)
    }

    /// Forgets every ended session.
    pub fn clear_ended(&self) -> Result<()> {
        self.ended.clear()
    }

    /// Every watcher's events from now on, in order. A receiver that falls more than
    /// [`EVENT_BACKLOG`] events behind is told how many it missed (`RecvError::Lagged`).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<WatchEvent> {
        self.events.subscribe()
    }

    fn watched(&self) -> MutexGuard<'_, BTreeMap<String, Watched>> {
        self.watched.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts (or restarts, with a new client) the watcher of an account. Must be called inside
    /// a tokio runtime.
    pub fn watch(&self, account_id: &str, provider: Arc<dyn Provider>) {
        self.watch_probed(account_id, provider, None);
    }

    /// The same, asking `probe` (instead of the hub's) whether its sessions' pages answer: for
    /// sessions reached through a tunnel.
    pub fn watch_probed(
        &self,
        account_id: &str,
        provider: Arc<dyn Provider>,
        probe: Option<Arc<dyn UrlProbe>>,
    ) {
        let (handle, mut events) = spawn(
            account_id,
            Arc::clone(&provider),
            probe.unwrap_or_else(|| Arc::clone(&self.probe)),
            Arc::clone(&self.clock),
            self.config
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        );
        let publish = self.events.clone();
        let history = Arc::clone(&self.history);
        let clock = Arc::clone(&self.clock);
        let unanswered = Arc::clone(&self.unanswered);
        let ended = Arc::clone(&self.ended);
        let forward = tokio::spawn(async move {
            // Each session as last seen, to keep it when it ends.
            let mut seen: HashMap<String, Session> = HashMap::new();
            while let Some(event) = events.recv().await {
                let now = clock.now();
                remember(&history, now, &event);
                note_offline(&unanswered, &event);
                keep_ended(&mut seen, &ended, &history, now, &event);
                // No subscriber yet is not an error: the state is in `sessions()` all the same.
                let _ = publish.send(event);
            }
        })
        .abort_handle();
        // The old entry (if any) is dropped outside the lock's critical work: its Drop only aborts.
        let old = self.watched().insert(
            account_id.to_owned(),
            Watched {
                provider,
                handle,
                forward,
            },
        );
        drop(old);
    }

    /// New warning thresholds, for watchers started from now on: call [`Hub::watch`] again for the
    /// accounts already watched to apply them at once (alerts already sent are not repeated).
    pub fn set_warn_before(&self, warn_before: Vec<chrono::Duration>) {
        self.config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .warn_before = warn_before;
    }

    /// Stops watching an account (removed, or its key is gone).
    pub fn unwatch(&self, account_id: &str) {
        let old = self.watched().remove(account_id);
        drop(old);
        lock(&self.unanswered).remove(account_id);
    }

    /// The accounts that are offline or not answering now, with why.
    pub fn unanswered(&self) -> BTreeMap<String, Problem> {
        lock(&self.unanswered).clone()
    }

    pub fn is_watching(&self, account_id: &str) -> bool {
        self.watched().contains_key(account_id)
    }

    /// The sessions of one account, or of all, as the watchers last saw them.
    pub fn sessions(&self, account_id: Option<&str>) -> Vec<Session> {
        self.watched()
            .iter()
            .filter(|(id, _)| account_id.is_none_or(|a| a == id.as_str()))
            .flat_map(|(_, w)| w.handle.sessions())
            .collect()
    }

    fn provider(&self, account_id: &str) -> Result<Arc<dyn Provider>> {
        self.watched()
            .get(account_id)
            .map(|w| Arc::clone(&w.provider))
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "The account \"{account_id}\" is not connected (is its key set?)."
                ))
            })
    }

    fn with_handle(&self, account_id: &str, f: impl FnOnce(&WatcherHandle)) {
        if let Some(w) = self.watched().get(account_id) {
            f(&w.handle);
        }
    }

    pub async fn launch(&self, account_id: &str, request: &LaunchRequest) -> Result<Session> {
        let provider = self.provider(account_id)?;
        let request = crate::provider::checked_launch(provider.as_ref(), request).await?;
        // The machines are asked for beside the launch, so that the session comes back named as
        // the watcher will name it ("terminal on CPU 3f2a91c0") without waiting longer.
        let (launched, names) = tokio::join!(
            provider.launch(&request),
            MachineNames::fetch(provider.as_ref())
        );
        let mut session = launched?;
        names.apply(std::slice::from_mut(&mut session));
        self.record(account_id, &session.id, HistoryKind::Launched);
        if !session.state.is_live() {
            // It failed at once: the watcher never lists it, so it is kept here.
            let history = self.history(account_id, &session.id);
            self.ended.add(session.clone(), self.clock.now(), history);
        }
        self.with_handle(account_id, |h| h.track(session.clone()));
        Ok(session)
    }

    pub async fn extend(&self, account_id: &str, session_id: &str, minutes: u32) -> Result<()> {
        self.extend_as(account_id, session_id, minutes, false).await
    }

    /// An extension auto-extend decided on (see [`crate::alerts::auto_extend_minutes`]); it is
    /// marked as such in the session's history.
    pub async fn auto_extend(
        &self,
        account_id: &str,
        session_id: &str,
        minutes: u32,
    ) -> Result<()> {
        self.extend_as(account_id, session_id, minutes, true).await
    }

    async fn extend_as(
        &self,
        account_id: &str,
        session_id: &str,
        minutes: u32,
        automatic: bool,
    ) -> Result<()> {
        self.provider(account_id)?
            .extend(session_id, minutes)
            .await?;
        self.record(
            account_id,
            session_id,
            HistoryKind::Extended { minutes, automatic },
        );
        self.with_handle(account_id, WatcherHandle::refresh);
        Ok(())
    }

    fn record(&self, account_id: &str, session_id: &str, kind: HistoryKind) {
        self.history
            .record(account_id, session_id, self.clock.now(), kind);
    }

    /// What this app did to a session, oldest first.
    pub fn history(&self, account_id: &str, session_id: &str) -> Vec<HistoryEntry> {
        self.history.of(account_id, session_id)
    }

    /// Asks for the stop; the session shows "stopping" until the provider confirms it ended.
    /// Stops (closes) a session: it is shown stopping until the provider confirms.
    pub async fn stop(&self, account_id: &str, session_id: &str) -> Result<()> {
        self.end(account_id, session_id, false).await
    }

    /// Cancels a session (its work abandoned), for providers that can.
    pub async fn cancel(&self, account_id: &str, session_id: &str) -> Result<()> {
        self.end(account_id, session_id, true).await
    }

    async fn end(&self, account_id: &str, session_id: &str, cancel: bool) -> Result<()> {
        let provider = self.provider(account_id)?;
        let kind = provider.kind();
        if cancel && kind.descriptor().actions.cancel.is_none() {
            // Refused before anything is recorded or shown as stopping.
            return Err(Error::invalid_input(format!(
                "{} sessions cannot be cancelled; stop them instead.",
                kind.label()
            )));
        }
        let asked = if cancel {
            HistoryKind::CancelRequested
        } else {
            HistoryKind::StopRequested
        };
        self.record(account_id, session_id, asked);
        self.with_handle(account_id, |h| h.stopping(session_id));
        let result = if cancel {
            provider.cancel(session_id).await
        } else {
            provider.stop(session_id).await
        };
        self.with_handle(account_id, |h| {
            if result.is_err() {
                h.stop_failed(session_id);
            }
            h.refresh();
        });
        result
    }

    /// What a launch on `resource` takes.
    pub async fn parameters(&self, account_id: &str, resource: &str) -> Result<Vec<Parameter>> {
        self.provider(account_id)?.parameters(resource).await
    }

    /// What the provider tells about the account itself.
    pub async fn account_details(&self, account_id: &str) -> Result<Vec<Detail>> {
        self.provider(account_id)?.account_details().await
    }

    /// The session's jobs, newest first.
    pub async fn jobs(&self, account_id: &str, session_id: &str) -> Result<Vec<Job>> {
        self.provider(account_id)?.jobs(session_id).await
    }

    /// What the session waits on a person for.
    pub async fn prompts(&self, account_id: &str, session_id: &str) -> Result<Vec<Prompt>> {
        self.provider(account_id)?.prompts(session_id).await
    }

    /// Answers a prompt, then has the watcher look again (the session moves on).
    pub async fn respond(
        &self,
        account_id: &str,
        session_id: &str,
        prompt_id: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<()> {
        let provider = self.provider(account_id)?;
        provider.respond(session_id, prompt_id, values).await?;
        self.answered(account_id, session_id, prompt_id, false);
        Ok(())
    }

    /// Refuses a prompt, then has the watcher look again.
    pub async fn reject(&self, account_id: &str, session_id: &str, prompt_id: &str) -> Result<()> {
        self.provider(account_id)?
            .reject(session_id, prompt_id)
            .await?;
        self.answered(account_id, session_id, prompt_id, true);
        Ok(())
    }

    fn answered(&self, account_id: &str, session_id: &str, prompt_id: &str, rejected: bool) {
        self.record(
            account_id,
            session_id,
            HistoryKind::Answered {
                prompt: prompt_id.to_owned(),
                rejected,
            },
        );
        self.with_handle(account_id, WatcherHandle::refresh);
    }

    pub async fn machines(&self, account_id: &str) -> Result<Vec<Machine>> {
        self.provider(account_id)?.machines().await
    }

    pub async fn resources(&self, account_id: &str) -> Result<Vec<Resource>> {
        self.provider(account_id)?.resources().await
    }

    pub async fn logs(&self, account_id: &str, session_id: &str) -> Result<LogStream> {
        self.provider(account_id)?.logs(session_id).await
    }

    /// Fetch every account now (the user pressed Refresh, or the app woke up).
    pub fn refresh_all(&self) {
        for w in self.watched().values() {
            w.handle.refresh();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Follows each session as last seen and keeps it, ended, with its history, when it ends.
fn keep_ended(
    seen: &mut HashMap<String, Session>,
    ended: &EndedStore,
    history: &History,
    now: chrono::DateTime<chrono::Utc>,
    event: &WatchEvent,
) {
    match event {
        WatchEvent::Added { session }
        | WatchEvent::Updated { session }
        | WatchEvent::Ready { session } => {
            seen.insert(session.id.clone(), session.clone());
        }
        WatchEvent::Ended {
            account_id,
            session_id,
            reason,
            outcome,
            ..
        } => {
            let Some(mut session) = seen.remove(session_id) else {
                return;
            };
            session.state = crate::model::SessionState::Ended(reason.clone());
            session.warning = None;
            if outcome.is_some() {
                session.status_label.clone_from(outcome);
            }
            ended.add(session, now, history.of(account_id, session_id));
        }
        _ => {}
    }
}

/// Keeps [`Hub::unanswered`] as the watchers say.
fn note_offline(unanswered: &Mutex<BTreeMap<String, Problem>>, event: &WatchEvent) {
    match event {
        WatchEvent::Offline {
            account_id, error, ..
        } => {
            lock(unanswered).insert(account_id.clone(), error.clone());
        }
        WatchEvent::Online { account_id } => {
            lock(unanswered).remove(account_id);
        }
        _ => {}
    }
}

/// What an event adds to its session's history: a new state, an end, a warning.
fn remember(history: &History, at: chrono::DateTime<chrono::Utc>, event: &WatchEvent) {
    match event {
        WatchEvent::Added { session }
        | WatchEvent::Updated { session }
        | WatchEvent::Ready { session } => {
            history.record_state(&session.account_id, &session.id, at, &session.state)
        }
        WatchEvent::Ended {
            account_id,
            session_id,
            reason,
            ..
        } => history.record_state(
            account_id,
            session_id,
            at,
            &crate::model::SessionState::Ended(reason.clone()),
        ),
        WatchEvent::Warning {
            account_id,
            session_id,
            clock,
            threshold_minutes,
            ..
        } => history.record(
            account_id,
            session_id,
            at,
            HistoryKind::Warned {
                clock: *clock,
                threshold_minutes: *threshold_minutes,
            },
        ),
        WatchEvent::Offline { .. } | WatchEvent::Online { .. } => {}
    }
}
