//! The watcher's rules, with no I/O: what a fetch, a probe or a tick means for the sessions of one
//! account, and which events follow. Time is always passed in.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use super::{WatchConfig, WatchEvent};
use crate::error::Error;
use crate::model::{Clock, ClockKind, ClockWarning, EndReason, Session, SessionState};

#[derive(Debug, Clone)]
struct Tracked {
    session: Session,
    /// The URL that answered a probe (a new URL must answer again).
    answered: Option<String>,
    /// Per clock, the indexes into `warn_before` that have fired for its current time.
    fired: BTreeSet<(ClockKind, usize)>,
    /// A stop was asked for by us.
    stopping: bool,
    /// Clocks (kind and time) that have run out and for which a refetch was already asked.
    overdue_asked: BTreeSet<Clock>,
}

impl Tracked {
    /// Sets the session's warning from the warnings fired (the soonest clock that has one, at
    /// its most urgent threshold), and "ending soon" for a ready session that has one.
    fn settle_warning(&mut self, warn_before: &[Duration]) {
        let clocks = self.session.clocks();
        self.session.warning = clocks.iter().find_map(|clock| {
            let most_urgent = self
                .fired
                .iter()
                .filter(|(kind, _)| *kind == clock.kind)
                .map(|(_, i)| *i)
                .max()?;
            Some(ClockWarning {
                clock: clock.kind,
                threshold_minutes: clamp_i32(warn_before.get(most_urgent)?.num_minutes()),
            })
        });
        self.session.state = match &self.session.state {
            SessionState::Ready if self.session.warning.is_some() => SessionState::Expiring,
            SessionState::Expiring if self.session.warning.is_none() => SessionState::Ready,
            other => other.clone(),
        };
    }

    /// Clocks that have run out by `now` and were not asked about yet (the provider is asked).
    fn newly_overdue(&mut self, now: DateTime<Utc>) -> bool {
        let mut any = false;
        for clock in self.session.clocks() {
            if clock.at <= now && self.overdue_asked.insert(clock) {
                any = true;
            }
        }
        any
    }

    /// The warnings due at `now`, once per clock and threshold (a late look that crossed several
    /// thresholds at once warns once, the most urgent). Nobody can act on a session that has
    /// not opened yet, and its user is stopping a stopping one: their warnings wait.
    fn warn(
        &mut self,
        account_id: &str,
        now: DateTime<Utc>,
        warn_before: &[Duration],
    ) -> Vec<WatchEvent> {
        let quiet = self.session.state.is_opening()
            || self.stopping
            || matches!(self.session.state, SessionState::Stopping);
        let mut events = Vec::new();
        for clock in self.session.clocks() {
            let remaining = clock.at - now;
            if quiet || remaining <= Duration::zero() {
                continue;
            }
            let crossed: Vec<usize> = warn_before
                .iter()
                .enumerate()
                .filter(|(_, before)| remaining <= **before)
                .map(|(i, _)| i)
                .collect();
            let Some(&most_urgent) = crossed.last() else {
                continue;
            };
            if self.fired.contains(&(clock.kind, most_urgent)) {
                continue;
            }
            self.fired.extend(crossed.iter().map(|i| (clock.kind, *i)));
            events.push(WatchEvent::Warning {
                account_id: account_id.to_owned(),
                session_id: self.session.id.clone(),
                name: self.session.name.clone(),
                clock: clock.kind,
                clock_at: clock.at,
                remaining_seconds: clamp_i32(remaining.num_seconds()),
                threshold_minutes: clamp_i32(warn_before[most_urgent].num_minutes()),
            });
        }
        events
    }
}

/// What a tick decided.
#[derive(Debug, Default, PartialEq)]
pub struct Tick {
    pub events: Vec<WatchEvent>,
    /// Fetch from the provider now (after a suspend gap, or a deadline that passed).
    pub refetch: bool,
}

/// One account's sessions as the watcher knows them.
#[derive(Debug)]
pub struct Tracker {
    account_id: String,
    config: WatchConfig,
    sessions: BTreeMap<String, Tracked>,
    /// Known ids the last list left out: the runner asks for each one (S3 can miss a session
    /// that S2 still knows), and only a "gone" answer ends it.
    missing: BTreeSet<String>,
    last_tick: Option<DateTime<Utc>>,
    /// When a gap was seen: no deadline is judged until a fetch has brought fresh deadlines, or
    /// for at most `config.gap` after it (offline on waking: the last known deadlines it is).
    refetch_pending: Option<DateTime<Utc>>,
    errors: u32,
    /// The last successful list: what the rows are "confirmed" as of.
    confirmed_at: Option<DateTime<Utc>>,
    /// The account was flagged because a read took too long (not because one failed): a
    /// failure that follows is still told, since it says more.
    unanswered: bool,
}

impl Tracker {
    pub fn new(account_id: impl Into<String>, mut config: WatchConfig) -> Self {
        // Largest first, so "the most urgent crossed threshold" is the last crossed one.
        config.warn_before.sort_by(|a, b| b.cmp(a));
        config.warn_before.dedup();
        Self {
            account_id: account_id.into(),
            config,
            sessions: BTreeMap::new(),
            missing: BTreeSet::new(),
            last_tick: None,
            refetch_pending: None,
            errors: 0,
            confirmed_at: None,
            unanswered: false,
        }
    }

    pub fn config(&self) -> &WatchConfig {
        &self.config
    }

    /// The live sessions, as last seen, with their derived state.
    pub fn sessions(&self) -> Vec<Session> {
        self.sessions.values().map(|t| t.session.clone()).collect()
    }

    /// Ids the last list did not include: ask the provider about each (`apply_get`).
    pub fn missing(&self) -> Vec<String> {
        self.missing.iter().cloned().collect()
    }

    /// Sessions whose URL has not answered yet: probe each (`apply_probe`).
    pub fn needs_probe(&self) -> Vec<(String, String)> {
        self.sessions
            .values()
            .filter_map(|t| {
                let url = t.session.url.as_ref()?;
                (t.answered.as_ref() != Some(url) && !t.stopping)
                    .then(|| (t.session.id.clone(), url.clone()))
            })
            .collect()
    }

    /// A session we just launched (lists can miss it for a moment). One that has ended already
    /// (it failed at once) ends here too, where a listed one would be history.
    pub fn track(&mut self, now: DateTime<Utc>, session: Session) -> Vec<WatchEvent> {
        if let SessionState::Ended(reason) = &session.state {
            return vec![WatchEvent::Ended {
                account_id: self.account_id.clone(),
                session_id: session.id.clone(),
                name: session.name.clone(),
                reason: reason.clone(),
                requested: false,
                outcome: session.status_label.clone(),
            }];
        }
        let mut events = Vec::new();
        self.observe(now, session, &mut events);
        events
    }

    /// We asked the provider to stop this session.
    pub fn mark_stopping(&mut self, id: &str) -> Vec<WatchEvent> {
        match self.sessions.get_mut(id) {
            Some(t) if !t.stopping => {
                t.stopping = true;
                t.session.state = SessionState::Stopping;
                vec![WatchEvent::Updated {
                    session: t.session.clone(),
                }]
            }
            _ => Vec::new(),
        }
    }

    /// The stop request failed: the next fetch shows the session's real state again.
    pub fn clear_stopping(&mut self, id: &str) {
        if let Some(t) = self.sessions.get_mut(id) {
            t.stopping = false;
        }
    }

    /// A successful list of the account's live sessions.
    pub fn apply_list(&mut self, now: DateTime<Utc>, listed: Vec<Session>) -> Vec<WatchEvent> {
        let mut events = self.back_online();
        self.confirmed_at = Some(now);
        let seen: BTreeSet<String> = listed.iter().map(|s| s.id.clone()).collect();
        for session in listed {
            self.observe(now, session, &mut events);
        }
        self.missing = self
            .sessions
            .keys()
            .filter(|id| !seen.contains(*id))
            .cloned()
            .collect();
        // Fresh deadlines are in: judging them is safe again.
        self.refetch_pending = None;
        events
    }

    /// The provider's answer about one session: `None` means it has ended.
    pub fn apply_get(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        found: Option<Session>,
    ) -> Vec<WatchEvent> {
        self.missing.remove(id);
        let mut events = self.back_online();
        match found {
            Some(session) => self.observe(now, session, &mut events),
            None => self.end(now, id, None, None, &mut events),
        }
        events
    }

    /// Forgets a session and says why it ended: the provider's reason when it gave one, else
    /// ours (we stopped it, its deadline passed, or it just disappeared).
    fn end(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        reported: Option<EndReason>,
        outcome: Option<String>,
        events: &mut Vec<WatchEvent>,
    ) {
        self.missing.remove(id);
        let Some(t) = self.sessions.remove(id) else {
            return;
        };
        // The first clock that ran out says why, when the provider did not.
        let ran_out = t.session.clocks().into_iter().find(|c| c.at <= now);
        let reason = match (reported, ran_out) {
            (Some(reason), _) if reason != EndReason::Vanished => reason,
            _ if t.stopping => EndReason::Stopped,
            (_, Some(clock)) => clock.kind.end_reason(),
            _ => EndReason::Vanished,
        };
        events.push(WatchEvent::Ended {
            account_id: self.account_id.clone(),
            session_id: t.session.id.clone(),
            name: t.session.name.clone(),
            reason,
            requested: t.stopping,
            outcome,
        });
    }

    /// A fetch failed. Sessions are kept as they were; the first failure is reported (and one
    /// that ends a read already flagged as not answering, which says more).
    pub fn apply_error(&mut self, error: &Error) -> Vec<WatchEvent> {
        self.errors = self.errors.saturating_add(1);
        if self.errors == 1 || std::mem::take(&mut self.unanswered) {
            vec![self.offline(error.clone())]
        } else {
            Vec::new()
        }
    }

    /// A read has had no answer for `waited` and goes on: the account is flagged at once (the
    /// rows are as last confirmed), rather than after the HTTP layer's timeouts and retries.
    pub fn apply_unanswered(&mut self, waited: StdDuration) -> Vec<WatchEvent> {
        if self.errors > 0 {
            return Vec::new();
        }
        self.errors = 1;
        self.unanswered = true;
        let error = Error::new(
            crate::error::ErrorCode::UpstreamUnavailable,
            format!(
                "The provider has not answered for {} s (still waiting).",
                waited.as_secs()
            ),
        );
        vec![self.offline(error)]
    }

    fn offline(&self, error: Error) -> WatchEvent {
        WatchEvent::Offline {
            account_id: self.account_id.clone(),
            error: error.into(),
            confirmed_at: self.confirmed_at,
        }
    }

    fn back_online(&mut self) -> Vec<WatchEvent> {
        let was_offline = self.errors > 0;
        self.errors = 0;
        self.unanswered = false;
        if was_offline {
            vec![WatchEvent::Online {
                account_id: self.account_id.clone(),
            }]
        } else {
            Vec::new()
        }
    }

    /// A probe of the session's current URL, answered at `now`. A session that opens with less
    /// time left than a warning threshold is warned at once, right after its `Ready` (which
    /// carries the warning): both are news of the same moment, told together.
    pub fn apply_probe(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        url: &str,
        answered: bool,
    ) -> Vec<WatchEvent> {
        let Some(t) = self.sessions.get_mut(id) else {
            return Vec::new();
        };
        if !answered || t.session.url.as_deref() != Some(url) || t.answered.as_deref() == Some(url)
        {
            return Vec::new();
        }
        t.answered = Some(url.to_owned());
        let mut warnings = Vec::new();
        if t.session.state.is_opening() {
            t.session.state = SessionState::Ready;
            // Not while deadlines wait for a refetch (after a suspend): the tick warns then.
            if self.refetch_pending.is_none() {
                warnings = t.warn(&self.account_id, now, &self.config.warn_before);
            }
            t.settle_warning(&self.config.warn_before);
        }
        let mut events = vec![WatchEvent::Ready {
            session: t.session.clone(),
        }];
        events.extend(warnings);
        events
    }

    /// Re-reads wall-clock time: warnings once per threshold, a refetch after a gap or once a
    /// deadline has passed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Tick {
        let gap = self
            .last_tick
            .is_some_and(|last| now - last > self.config.gap || now < last);
        self.last_tick = Some(now);
        if gap {
            // After a suspend, the server may have extended, ended or kept the session: ask it
            // (once: the runner fetches at once) before warning about anything.
            self.refetch_pending = Some(now);
            return Tick {
                events: Vec::new(),
                refetch: true,
            };
        }
        if let Some(since) = self.refetch_pending {
            if now - since <= self.config.gap {
                return Tick::default();
            }
            // The refetch has not succeeded (often the network is not back yet on waking):
            // warn from the last known deadlines rather than not at all.
            self.refetch_pending = None;
        }
        let mut out = Tick::default();
        for t in self.sessions.values_mut() {
            out.refetch |= t.newly_overdue(now);
            let warnings = t.warn(&self.account_id, now, &self.config.warn_before);
            if !warnings.is_empty() {
                let before = t.session.clone();
                t.settle_warning(&self.config.warn_before);
                out.events.extend(warnings);
                if t.session != before {
                    out.events.push(WatchEvent::Updated {
                        session: t.session.clone(),
                    });
                }
            }
        }
        out
    }

    /// The runner spent `busy` (wall-clock time, matched by monotonic time: awake) on a slow
    /// fetch or probe between two ticks. That time is not a suspend gap; anything beyond it
    /// still is.
    pub fn excuse_busy(&mut self, busy: Duration) {
        if busy > Duration::zero() {
            self.last_tick = self.last_tick.map(|last| last + busy);
        }
    }

    /// How long until the next poll at `now`: fast while anything is in motion, slower when
    /// steady, backing off while the provider fails. A session that has just been created is
    /// looked at most often, as its first seconds are when a quick one becomes ready: every
    /// quarter of its age, from `first_poll` up to `fast_poll`.
    pub fn next_poll(&self, now: DateTime<Utc>) -> StdDuration {
        if self.errors > 0 {
            let exp = self.errors.saturating_sub(1).min(16);
            return self
                .config
                .fast_poll
                .saturating_mul(1u32 << exp)
                .min(self.config.max_backoff);
        }
        let opening = self
            .sessions
            .values()
            .filter(|t| t.session.state.is_opening());
        // A creation time ahead of ours (the provider's clock) counts as just created.
        let youngest = opening
            .map(|t| (now - t.session.created_at).to_std().unwrap_or_default())
            .min();
        let moving = !self.missing.is_empty() || self.sessions.values().any(|t| t.stopping);
        if let Some(age) = youngest {
            // Never slower than fast_poll, even configured below first_poll.
            (age / 4)
                .max(self.config.first_poll)
                .min(self.config.fast_poll)
        } else if moving {
            self.config.fast_poll
        } else {
            self.config.steady_poll
        }
    }

    /// Merges what the provider says about one session into what we know.
    fn observe(&mut self, now: DateTime<Utc>, mut session: Session, events: &mut Vec<WatchEvent>) {
        if let SessionState::Ended(reason) = &session.state {
            // A provider that lists ended sessions: the end of one we knew, else history.
            let reason = reason.clone();
            self.end(now, &session.id, Some(reason), session.status_label, events);
            return;
        }
        let previous = self.sessions.get(&session.id).cloned();
        let mut t = previous.clone().unwrap_or_else(|| Tracked {
            session: session.clone(),
            answered: None,
            fired: BTreeSet::new(),
            stopping: false,
            overdue_asked: BTreeSet::new(),
        });
        if t.answered.is_some() && t.answered != session.url {
            t.answered = None;
        }
        // A graceful stop the provider took: it drains (no new work, queued work finishing),
        // which can take long. Its own state is shown, its clocks warned and it is polled as a
        // steady session until it ends.
        if t.stopping && session.state == SessionState::Draining {
            t.stopping = false;
        }
        // The provider does not know "ready": it comes from our probe and our warnings.
        session.state = match &session.state {
            _ if t.stopping => SessionState::Stopping,
            SessionState::Connecting if t.answered.is_some() => SessionState::Ready,
            SessionState::Ready | SessionState::Expiring
                if session.url.is_some() && t.answered.is_none() =>
            {
                SessionState::Connecting
            }
            other => other.clone(),
        };
        // A clock that moved (an extension) may run out again.
        let clocks = session.clocks();
        t.overdue_asked.retain(|c| clocks.contains(c));
        t.session = session;
        let id = t.session.id.clone();
        self.sessions.insert(id.clone(), t);
        self.rearm(&id, now);
        let Some(t) = self.sessions.get(&id) else {
            return;
        };
        match previous {
            None => events.push(WatchEvent::Added {
                session: t.session.clone(),
            }),
            Some(p) if p.session != t.session => events.push(WatchEvent::Updated {
                session: t.session.clone(),
            }),
            Some(_) => {}
        }
    }

    /// A clock moved later (an extension) or went: thresholds it is now above can fire again.
    fn rearm(&mut self, id: &str, now: DateTime<Utc>) {
        let Some(t) = self.sessions.get_mut(id) else {
            return;
        };
        let clocks = t.session.clocks();
        let before = &self.config.warn_before;
        t.fired.retain(|(kind, i)| {
            clocks
                .iter()
                .any(|c| c.kind == *kind && before.get(*i).is_some_and(|b| c.at - now <= *b))
        });
        t.settle_warning(before);
    }
}

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}
