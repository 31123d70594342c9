//! What deserves a notification, and when to extend a session by itself. The watcher decides
//! *when* something happened; this decides whether a person is told, exactly once per session
//! and threshold (also across an app restart), never for a session they stopped themselves.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{ClockKind, EndReason, Session, SessionState};
use crate::watcher::WatchEvent;

pub use crate::auto_extend::{
    auto_extend_decision, auto_extend_minutes, auto_extended_notice, AutoExtendDecision, Held,
};

/// The user's choices (stored with the accounts config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct AlertSettings {
    pub notifications: bool,
    /// Warn this many minutes before a deadline (default 10 and 2).
    pub warn_before_minutes: Vec<u32>,
    pub auto_extend: AutoExtend,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            notifications: true,
            warn_before_minutes: vec![10, 2],
            auto_extend: AutoExtend::default(),
        }
    }
}

/// Extend by `extend_by_minutes` when fewer than `when_below_minutes` remain and the session's
/// window saw activity in the last `active_within_minutes`, never past the spending cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct AutoExtend {
    pub enabled: bool,
    pub extend_by_minutes: u32,
    pub when_below_minutes: u32,
    pub active_within_minutes: u32,
    /// The most a session may cost in all (price × time), in USD.
    pub spend_cap_usd: f64,
}

impl Default for AutoExtend {
    fn default() -> Self {
        Self {
            enabled: false,
            extend_by_minutes: 15,
            when_below_minutes: 5,
            active_within_minutes: 10,
            spend_cap_usd: 10.0,
        }
    }
}

/// One notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub account_id: String,
    pub session_id: String,
    pub title: String,
    pub body: String,
}

/// The notifications already sent, kept in a file so a restart does not repeat them.
#[derive(Debug)]
pub struct Alerts {
    path: Option<PathBuf>,
    /// The keys, oldest first: the oldest are the ones forgotten past [`KEEP`].
    order: VecDeque<String>,
    sent: HashSet<String>,
    /// The state each live session was last seen in, with what it said (this run only), to
    /// tell when one starts its first work, goes idle or asks something new.
    states: HashMap<String, Seen>,
    /// What each live session's provider does before ending it (`Session::before_end`), said in
    /// its final warning.
    before_end: HashMap<String, String>,
    /// When this run of the app began: a session created before it was running already, and
    /// its being ready is no news.
    started: DateTime<Utc>,
    /// Sessions that became ready with a warning due (the watcher sends the warning right after
    /// the `Ready`): told as one notice, "is ready, ends in …", since two notices of the same
    /// moment may reach the desktop in either order.
    ready_warned: HashSet<String>,
}

/// A session's state as last seen, and its provider's words for it (a question it asks).
type Seen = (SessionState, Option<String>);

#[derive(Serialize, Deserialize, Default)]
struct SentFile {
    sent: Vec<String>,
}

/// A session created this long before the app started was running already (the provider's
/// clock may be a little behind ours).
const ALREADY_RUNNING: Duration = Duration::minutes(1);

/// At most this many keys are kept: past it the oldest are forgotten (long-ended sessions).
pub(crate) const KEEP: usize = 2000;

impl Alerts {
    /// In memory only (tests, or no data folder).
    pub fn in_memory() -> Self {
        Self::with(None, Vec::new()).since(DateTime::<Utc>::MIN_UTC)
    }

    /// The same, for a run of the app that began at `started`.
    pub fn since(mut self, started: DateTime<Utc>) -> Self {
        self.started = started;
        self
    }

    fn with(path: Option<PathBuf>, keys: Vec<String>) -> Self {
        let mut alerts = Self {
            path,
            order: VecDeque::new(),
            sent: HashSet::new(),
            states: HashMap::new(),
            before_end: HashMap::new(),
            started: Utc::now(),
            ready_warned: HashSet::new(),
        };
        for key in keys {
            alerts.remember(key);
        }
        alerts
    }

    /// Keeps, per live session, what its provider does before ending it.
    fn follow_before_end(&mut self, event: &WatchEvent) {
        match event {
            WatchEvent::Added { session }
            | WatchEvent::Updated { session }
            | WatchEvent::Ready { session } => {
                let key = format!("{}/{}", session.account_id, session.id);
                match &session.before_end {
                    Some(note) => self.before_end.insert(key, note.clone()),
                    None => self.before_end.remove(&key),
                };
            }
            WatchEvent::Ended {
                account_id,
                session_id,
                ..
            } => {
                self.before_end
                    .remove(&format!("{account_id}/{session_id}"));
            }
            _ => {}
        }
    }

    /// A warning's body: what to do about it, and for the final warning of the hard clock, what
    /// the provider will do before it ends the session (its `before_end`).
    fn warning_body(
        &self,
        key: &str,
        clock: ClockKind,
        threshold_minutes: i32,
        settings: &AlertSettings,
    ) -> String {
        let advice = match clock {
            ClockKind::Hard => "Extend it from Porthole to keep working.",
            ClockKind::Idle => "Give it work to keep it.",
            ClockKind::Unused => "Give it its first work, or it closes unused.",
        };
        let last = settings.warn_before_minutes.iter().min().copied();
        let is_last = u32::try_from(threshold_minutes).ok() == last;
        match self.before_end.get(key) {
            Some(note) if clock == ClockKind::Hard && is_last => format!("{advice} {note}"),
            _ => advice.to_owned(),
        }
    }

    /// Whether this warning also tells, first, that the session is ready (it became ready with
    /// the warning due); its being ready is then remembered as told.
    fn ready_told_with(&mut self, account_id: &str, session_id: &str) -> bool {
        self.ready_warned
            .remove(&format!("{account_id}/{session_id}"))
            && self.remember(format!("{account_id}/{session_id}/ready"))
    }

    /// Remembers `key` (the newest); false when it was known. Forgets the oldest past [`KEEP`].
    pub(crate) fn remember(&mut self, key: String) -> bool {
        if !self.sent.insert(key.clone()) {
            return false;
        }
        self.order.push_back(key);
        while self.order.len() > KEEP {
            if let Some(oldest) = self.order.pop_front() {
                self.sent.remove(&oldest);
            }
        }
        true
    }

    /// Loads what was sent before; an unreadable file starts afresh (at worst a repeat).
    pub fn load(path: &Path) -> Self {
        let sent = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<SentFile>(&b).ok())
            .map(|f| f.sent)
            .unwrap_or_default();
        Self::with(Some(path.to_owned()), sent)
    }

    /// The notification this event deserves, if any and if not sent already.
    pub fn on_event(&mut self, event: &WatchEvent, settings: &AlertSettings) -> Option<Notice> {
        self.follow_before_end(event);
        if let WatchEvent::Ended {
            account_id,
            session_id,
            ..
        } = event
        {
            let id = format!("{account_id}/{session_id}");
            self.states.remove(&id);
            self.ready_warned.remove(&id);
        }
        if !settings.notifications {
            // States are still followed, so turning notifications on tells no stale change.
            if let WatchEvent::Added { session } | WatchEvent::Updated { session } = event {
                self.states.insert(
                    format!("{}/{}", session.account_id, session.id),
                    (session.state.clone(), session.status_label.clone()),
                );
            }
            return None;
        }
        // Set when this notice also tells, for the first time, that its session is ready.
        let mut tells_ready = false;
        let (key, notice) = match event {
            WatchEvent::Added { session } | WatchEvent::Updated { session } => {
                self.state_change(session)?
            }
            // Running before this run of the app began: not news (remembered, so never told).
            WatchEvent::Ready { session }
                if session.created_at + ALREADY_RUNNING < self.started =>
            {
                let key = format!("{}/{}/ready", session.account_id, session.id);
                if self.remember(key) {
                    self.save();
                }
                return None;
            }
            WatchEvent::Ready { session }
                if session.warning.is_some()
                    && !self
                        .sent
                        .contains(&format!("{}/{}/ready", session.account_id, session.id)) =>
            {
                self.ready_warned
                    .insert(format!("{}/{}", session.account_id, session.id));
                return None;
            }
            WatchEvent::Ready { session } => (
                format!("{}/{}/ready", session.account_id, session.id),
                Notice {
                    account_id: session.account_id.clone(),
                    session_id: session.id.clone(),
                    title: format!("{} is ready", session.name),
                    body: "Open it from Porthole's tray or window.".to_owned(),
                },
            ),
            WatchEvent::Warning {
                account_id,
                session_id,
                name,
                clock,
                clock_at,
                remaining_seconds,
                threshold_minutes,
            } => (
                // The hard clock keeps the key it had before sessions had several clocks, so an
                // upgrade repeats no warning. An idle or unused clock that starts again (the
                // session went idle once more) is a new clock, warned again.
                match clock {
                    ClockKind::Hard => {
                        format!("{account_id}/{session_id}/warn-{threshold_minutes}")
                    }
                    other => format!(
                        "{account_id}/{session_id}/warn-{}-{}-{threshold_minutes}",
                        serde_json::to_value(other)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        clock_at.timestamp()
                    ),
                },
                Notice {
                    account_id: account_id.clone(),
                    session_id: session_id.clone(),
                    title: {
                        tells_ready = self.ready_told_with(account_id, session_id);
                        format!(
                            "{name}{} {} in {}",
                            if tells_ready { " is ready," } else { "" },
                            clock.warning_phrase(),
                            minutes_left(*remaining_seconds)
                        )
                    },
                    body: self.warning_body(
                        &format!("{account_id}/{session_id}"),
                        *clock,
                        *threshold_minutes,
                        settings,
                    ),
                },
            ),
            // The user stopped, closed or cancelled it (here, or stopped it elsewhere): they know.
            WatchEvent::Ended {
                reason: EndReason::Stopped,
                ..
            }
            | WatchEvent::Ended {
                requested: true, ..
            } => return None,
            WatchEvent::Ended {
                account_id,
                session_id,
                name,
                reason,
                outcome,
                ..
            } => (
                format!("{account_id}/{session_id}/ended"),
                Notice {
                    account_id: account_id.clone(),
                    session_id: session_id.clone(),
                    title: match reason {
                        EndReason::Timeout => format!("{name} timed out"),
                        EndReason::Cancelled => format!("{name} was cancelled"),
                        _ => format!("{name} has ended"),
                    },
                    body: match outcome {
                        Some(outcome) => format!("The session {}.\n{outcome}", reason.describe()),
                        None => format!("The session {}.", reason.describe()),
                    },
                },
            ),
            _ => return None,
        };
        if !self.remember(key) && !tells_ready {
            return None;
        }
        self.save();
        Some(notice)
    }

    /// A session without a web page that started its first work, or went idle: told once per
    /// change (a session first seen in a state is not a change).
    fn state_change(&mut self, session: &Session) -> Option<(String, Notice)> {
        let id = format!("{}/{}", session.account_id, session.id);
        let now = (session.state.clone(), session.status_label.clone());
        let before = self.states.insert(id.clone(), now.clone());
        // Waiting again, or asking something else while it waits: news each time.
        if session.state == SessionState::WaitingForInput && before.as_ref() != Some(&now) {
            return Some(self.waiting(&id, session, before.is_none()));
        }
        let (before, _) = before?;
        if session.capabilities.has_ui || before.kind() == session.state.kind() {
            return None;
        }
        let working = |s: &SessionState| matches!(s, SessionState::Ready | SessionState::Expiring);
        let notice = |title: String, body: &str| Notice {
            account_id: session.account_id.clone(),
            session_id: session.id.clone(),
            title,
            body: body.to_owned(),
        };
        let name = &session.name;
        // Its time limit starts now: only news where it has one (a runbook has none).
        if matches!(before, SessionState::Queued | SessionState::Starting)
            && working(&session.state)
            && !session.clocks().is_empty()
        {
            return Some((
                format!("{id}/first-work"),
                notice(
                    format!("{name} started its first work"),
                    "Its time limit counts from now.",
                ),
            ));
        }
        if working(&before) && session.state == SessionState::Idle {
            // Each time it goes idle is news: the key carries when.
            return Some((
                format!("{id}/idle-{}", chrono::Utc::now().timestamp_micros()),
                notice(
                    format!("{name} is idle"),
                    "It has no work now. New work makes it run again.",
                ),
            ));
        }
        None
    }

    /// A session that waits for a person (a runbook's prompt), with what it asks. Each wait is
    /// news; one first seen waiting (at start-up) is told once per question, also across
    /// restarts.
    fn waiting(&self, id: &str, session: &Session, first_seen: bool) -> (String, Notice) {
        let asks = session
            .status_label
            .clone()
            .filter(|l| !l.trim().is_empty());
        let key = if first_seen {
            format!("{id}/waiting-{}", asks.as_deref().unwrap_or_default())
        } else {
            format!("{id}/waiting-{}", chrono::Utc::now().timestamp_micros())
        };
        let body = match asks {
            Some(asks) => format!("{asks}\nAnswer it from Porthole's tray or window."),
            None => "Answer it from Porthole's tray or window.".to_owned(),
        };
        (
            key,
            Notice {
                account_id: session.account_id.clone(),
                session_id: session.id.clone(),
                title: format!("{} is waiting for you", session.name),
                body,
            },
        )
    }

    pub(crate) fn save(&self) {
        let Some(path) = &self.path else {
            return;
        };
        let file = SentFile {
            sent: self.order.iter().cloned().collect(),
        };
        if let Ok(bytes) = serde_json::to_vec(&file) {
            if let Err(e) = crate::paths::write_private(path, &bytes) {
                tracing::warn!("cannot remember sent notifications: {}", e.message);
            }
        }
    }
}

/// The alert settings file (`settings.json` beside the accounts).
#[derive(Debug, Clone)]
pub struct SettingsStore {
    path: PathBuf,
}

impl SettingsStore {
    pub fn new(config_dir: &Path) -> Self {
        Self {
            path: config_dir.join("settings.json"),
        }
    }

    /// The saved settings, or the defaults. A file that exists but cannot be read (or parsed) is
    /// logged and reported with the defaults; it is not touched until the user saves, and then
    /// kept as a backup beside it ([`SettingsStore::save`]).
    pub fn load(&self) -> (AlertSettings, Option<crate::Error>) {
        match self.read() {
            Ok(Some(settings)) => (settings, None),
            Ok(None) => (AlertSettings::default(), None),
            Err(e) => {
                tracing::warn!("{}", e.message);
                (AlertSettings::default(), Some(e))
            }
        }
    }

    /// The file's settings; `None` when there is no file.
    fn read(&self) -> crate::error::Result<Option<AlertSettings>> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(crate::Error::io(
                    &format!(
                        "{} cannot be read, so the default settings are in use",
                        self.path.display()
                    ),
                    &e,
                ))
            }
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            crate::Error::new(
                crate::ErrorCode::InvalidInput,
                format!(
                    "{} is not valid ({e}), so the default settings are in use; it is kept as a \
                     backup when you next save",
                    self.path.display()
                ),
            )
        })
    }

    /// Saves `settings`. A settings file that cannot be read is first kept as
    /// `settings.unreadable-<time>.json` beside it, so a hand edit gone wrong is never lost.
    pub fn save(&self, settings: &AlertSettings) -> crate::error::Result<()> {
        if settings
            .warn_before_minutes
            .iter()
            .any(|m| *m == 0 || *m > 24 * 60)
        {
            return Err(crate::Error::invalid_input(
                "Warning thresholds are between 1 minute and 24 hours.",
            ));
        }
        let a = &settings.auto_extend;
        if a.extend_by_minutes == 0 || !(a.spend_cap_usd.is_finite() && a.spend_cap_usd >= 0.0) {
            return Err(crate::Error::invalid_input(
                "Auto-extend needs a positive number of minutes and a spending cap of 0 or more.",
            ));
        }
        let bytes = serde_json::to_vec_pretty(settings)
            .map_err(|e| crate::Error::new(crate::ErrorCode::Internal, format!("settings: {e}")))?;
        if self.read().is_err() {
            let backup = self.path.with_file_name(format!(
                "settings.unreadable-{}.json",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
            ));
            std::fs::rename(&self.path, &backup).map_err(|e| {
                crate::Error::io(
                    &format!("cannot keep the unreadable {} aside", self.path.display()),
                    &e,
                )
            })?;
            tracing::warn!("kept the unreadable settings as {}", backup.display());
        }
        crate::paths::write_private(&self.path, &bytes)
    }

    /// The watcher's thresholds from these settings.
    pub fn warn_before(settings: &AlertSettings) -> Vec<Duration> {
        settings
            .warn_before_minutes
            .iter()
            .map(|m| Duration::minutes(i64::from(*m)))
            .collect()
    }
}

pub(crate) fn minutes_left(seconds: i32) -> String {
    let minutes = (seconds.max(0) + 59) / 60;
    match minutes {
        0 | 1 => "1 minute".to_owned(),
        m => format!("{m} minutes"),
    }
}

#[cfg(test)]
#[path = "alerts_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "alerts_before_end_tests.rs"]
mod before_end_tests;

#[cfg(test)]
#[path = "alerts_ready_tests.rs"]
mod ready_tests;
