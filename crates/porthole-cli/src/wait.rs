//! Waiting for a launched session to be usable: its URL must exist and answer, or, for a session
//! without a web page, the provider must have accepted it, as the watcher's tracker decides. Progress goes to
//! stderr: a redrawn line on a terminal, one line per change otherwise (logs, CI).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use chrono::Utc;
use porthole_core::model::{EndReason, Session, SessionState};
use porthole_core::provider::Provider;
use porthole_core::watcher::{Tracker, WatchConfig, WatchEvent};
use porthole_core::{Error, ErrorCode};
use porthole_providers::probe::PageProbe;

use crate::{output, table};

/// How long one probe of the session's URL may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Polls are quick at first (local sessions start in a second), then gentle on the provider.
const FAST_POLL: Duration = Duration::from_millis(250);
const SLOW_POLL: Duration = Duration::from_secs(2);
const FAST_PHASE: Duration = Duration::from_secs(10);
/// How often the terminal line is redrawn between polls.
const REDRAW: Duration = Duration::from_millis(100);
/// No limit, in practice (a year): a runbook's session is waited for until it ends.
pub const UNTIL_IT_ENDS: Duration = Duration::from_secs(365 * 24 * 3600);

/// Polls until `first`'s URL answers, `limit` passes, or the session ends. Returns the session
/// marked ready. Whether it is ready, and whether it is gone, are the watcher's rules
/// ([`Tracker`]), the same as in the app: ready once its current URL answers a probe, gone once
/// the provider no longer has it (with the reason the tracker gives: stopped, timed out, …).
pub async fn until_ready(
    provider: &dyn Provider,
    probe: &PageProbe,
    first: Session,
    limit: Duration,
) -> Result<Session, Error> {
    let started = Instant::now();
    let deadline = started + limit;
    let mut progress = Progress::new(&first.id);
    let id = first.id.clone();
    // A runbook's session is waited to its end: completed is success, any other end a failure.
    let to_completion = provider.kind().descriptor().runs_to_completion;
    let mut last_seen = first.clone();
    let mut tracker = Tracker::new(first.account_id.clone(), WatchConfig::default());
    let mut events = tracker.track(Utc::now(), first);
    let mut last_problem: Option<String> = None;
    loop {
        for event in events.drain(..) {
            match event {
                WatchEvent::Ready { session } if session.id == id && !to_completion => {
                    progress.finish(started.elapsed());
                    return Ok(session);
                }
                WatchEvent::Ended {
                    session_id,
                    reason,
                    outcome,
                    ..
                } if session_id == id && to_completion => {
                    progress.clear();
                    if reason == EndReason::Completed {
                        last_seen.state = SessionState::Ended(reason);
                        last_seen.status_label = outcome;
                        return Ok(last_seen);
                    }
                    // What it came to, where the provider says (a runbook's first outputs).
                    let outcome = outcome.map(|o| format!("\n{o}")).unwrap_or_default();
                    return Err(Error::new(
                        ErrorCode::SessionFailed,
                        format!(
                            "Session {id} {}; see `porthole sessions show {id}`.{outcome}",
                            reason.describe()
                        ),
                    ));
                }
                WatchEvent::Ended {
                    session_id, reason, ..
                } if session_id == id => {
                    progress.clear();
                    return Err(Error::new(
                        ErrorCode::SessionGone,
                        format!(
                            "Session {id} ended before it was ready (it {}); see `porthole \
                             sessions logs {id}`.",
                            reason.describe()
                        ),
                    ));
                }
                _ => {}
            }
        }
        for (session_id, url) in tracker.needs_probe() {
            let probe_limit = PROBE_TIMEOUT
                .min(deadline.saturating_duration_since(Instant::now()))
                .max(Duration::from_millis(100));
            let answered = probe.answers(&session_id, &url, probe_limit).await;
            events.extend(tracker.apply_probe(Utc::now(), &session_id, &url, answered));
        }
        if !events.is_empty() {
            continue;
        }
        let session = tracker.sessions().into_iter().find(|s| s.id == id);
        if let Some(s) = &session {
            // Each new question is said once: the wait goes on until someone answers.
            if s.state == SessionState::WaitingForInput
                && (last_seen.state != s.state || last_seen.status_label != s.status_label)
            {
                progress.clear();
                eprintln!(
                    "{id} waits for your answer{}: answer it with `porthole sessions answer {id} \
                     --param KEY=VALUE`, or from the app",
                    s.status_label
                        .as_deref()
                        .map(|q| format!(" ({q})"))
                        .unwrap_or_default()
                );
            }
            last_seen = s.clone();
        }
        // A session without a web page is ready once the provider has accepted it.
        if let Some(s) = session
            .as_ref()
            .filter(|s| !to_completion && s.is_ready_for_work())
        {
            progress.finish(started.elapsed());
            return Ok(s.clone());
        }
        let phase = match (session.as_ref().map(|s| &s.state), &last_problem) {
            (_, Some(problem)) => format!("retrying ({problem})"),
            (Some(SessionState::Starting), None) => "starting".to_owned(),
            (_, None) if session.as_ref().is_some_and(|s| s.url.is_some()) => {
                "waiting for its URL to answer".to_owned()
            }
            (Some(state), None) => output::state(state),
            (None, None) => "waiting".to_owned(),
        };
        let interval = if started.elapsed() < FAST_PHASE {
            FAST_POLL
        } else {
            SLOW_POLL
        };
        let next_poll = Instant::now() + interval;
        loop {
            progress.show(&phase, started.elapsed());
            let now = Instant::now();
            if now >= deadline {
                progress.clear();
                // Stop is offered only where the provider has one.
                let stop = match provider.kind().descriptor().actions.stop {
                    Some(_) => format!(", or stop it with `porthole sessions stop {id}`"),
                    None => String::new(),
                };
                return Err(Error::new(
                    ErrorCode::UpstreamUnavailable,
                    format!(
                        "Session {id} was not {what} after {secs}s ({phase}). It is still \
                         running: wait longer with `porthole sessions show {id}`{stop}.",
                        what = if to_completion { "finished" } else { "ready" },
                        secs = limit.as_secs(),
                    ),
                ));
            }
            if now >= next_poll {
                break;
            }
            let step = if progress.tty { REDRAW } else { interval };
            tokio::time::sleep(step.min(next_poll - now).min(deadline - now)).await;
        }
        // The provider's own retries must not carry the wait past its deadline.
        let polled = tokio::time::timeout_at(deadline.into(), provider.get(&id)).await;
        let Ok(polled) = polled else {
            continue; // the deadline check above ends the wait
        };
        match polled {
            Ok(found) => {
                last_problem = None;
                events = tracker.apply_get(Utc::now(), &id, found);
            }
            // The provider is having trouble: keep trying until the deadline.
            Err(e) if e.code.is_retryable() => {
                last_problem = Some(e.code.to_string());
                tracker.apply_error(&e);
            }
            Err(e) => {
                progress.clear();
                return Err(e);
            }
        }
    }
}

/// The progress line on stderr.
struct Progress {
    id: String,
    tty: bool,
    frame: usize,
    /// Non-terminal output: the last phase printed, so each change is printed once.
    last_phase: Option<String>,
    drawn: bool,
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

impl Progress {
    fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            tty: std::io::stderr().is_terminal(),
            frame: 0,
            last_phase: None,
            drawn: false,
        }
    }

    fn show(&mut self, phase: &str, elapsed: Duration) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let spin = SPINNER[self.frame % SPINNER.len()];
            self.frame += 1;
            let _ = write!(
                err,
                "\r\x1b[2K{spin} waiting for {}: {phase}… {}",
                self.id,
                table::elapsed(elapsed)
            );
            let _ = err.flush();
            self.drawn = true;
        } else if self.last_phase.as_deref() != Some(phase) {
            let _ = writeln!(
                err,
                "waiting for {}: {phase}… {}",
                self.id,
                table::elapsed(elapsed)
            );
            self.last_phase = Some(phase.to_owned());
        }
    }

    fn clear(&mut self) {
        if self.tty && self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            self.drawn = false;
        }
    }

    fn finish(&mut self, elapsed: Duration) {
        self.clear();
        let _ = writeln!(
            std::io::stderr(),
            "{} is ready after {}",
            self.id,
            table::elapsed(elapsed)
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use porthole_core::model::{Capabilities, LaunchRequest, Machine, ProviderKind, Resource};
    use porthole_core::provider::LogStream;

    use super::*;

    /// A runbook provider whose `get` answers each of `states` in turn (the last one repeats).
    struct Runbook {
        states: Mutex<Vec<SessionState>>,
    }

    fn session(state: SessionState) -> Session {
        Session {
            id: "run-1".into(),
            account_id: "runbooks".into(),
            provider: ProviderKind::Airplane,
            name: "deploy".into(),
            machine_id: None,
            machine_name: None,
            resource: Some("deploy".into()),
            state,
            status_label: None,
            created_at: Utc::now(),
            deadline: None,
            idle_deadline: None,
            unused_deadline: None,
            warning: None,
            url: None,
            price_per_hour: None,
            before_end: None,
            capabilities: Capabilities {
                can_extend: false,
                can_stop: true,
                has_ui: false,
                can_cancel: true,
            },
            details: Vec::new(),
            raw: serde_json::Value::Null,
        }
    }

    #[async_trait::async_trait]
    impl Provider for Runbook {
        fn kind(&self) -> ProviderKind {
            ProviderKind::Airplane
        }
        async fn list(&self) -> Result<Vec<Session>, Error> {
            Ok(Vec::new())
        }
        async fn get(&self, _id: &str) -> Result<Option<Session>, Error> {
            let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
            let state = if states.len() > 1 {
                states.remove(0)
            } else {
                states[0].clone()
            };
            Ok(Some(session(state)))
        }
        async fn launch(&self, _: &LaunchRequest) -> Result<Session, Error> {
            unreachable!("not launched here")
        }
        async fn extend(&self, _: &str, _: u32) -> Result<(), Error> {
            Ok(())
        }
        async fn stop(&self, _: &str) -> Result<(), Error> {
            Ok(())
        }
        async fn resources(&self) -> Result<Vec<Resource>, Error> {
            Ok(Vec::new())
        }
        async fn machines(&self) -> Result<Vec<Machine>, Error> {
            Ok(Vec::new())
        }
        async fn logs(&self, _: &str) -> Result<LogStream, Error> {
            Err(Error::invalid_input("no log"))
        }
    }

    async fn wait_through(states: Vec<SessionState>) -> Result<Session, Error> {
        let provider = Runbook {
            states: Mutex::new(states),
        };
        until_ready(
            &provider,
            &PageProbe::new(None),
            session(SessionState::Queued),
            Duration::from_secs(20),
        )
        .await
    }

    #[tokio::test]
    async fn a_runbook_is_waited_to_its_end_and_only_completion_succeeds() {
        assert!(ProviderKind::Airplane.descriptor().runs_to_completion);
        let done = wait_through(vec![
            SessionState::Ready,
            SessionState::WaitingForInput,
            SessionState::Ended(EndReason::Completed),
        ])
        .await
        .expect("completed");
        assert_eq!(done.state, SessionState::Ended(EndReason::Completed));

        let failed = wait_through(vec![
            SessionState::Ready,
            SessionState::Ended(EndReason::Failed("step 3 exited 1".into())),
        ])
        .await
        .expect_err("failed");
        assert_eq!(failed.code, ErrorCode::SessionFailed);
        assert!(
            failed.message.contains("failed: step 3 exited 1"),
            "{}",
            failed.message
        );

        let cancelled = wait_through(vec![SessionState::Ended(EndReason::Cancelled)])
            .await
            .expect_err("cancelled");
        assert_eq!(cancelled.code, ErrorCode::SessionFailed);
        assert!(
            cancelled.message.contains("cancelled"),
            "{}",
            cancelled.message
        );
    }

    #[tokio::test]
    async fn a_launch_that_answers_an_ended_session_is_told_at_once() {
        let provider = Runbook {
            states: Mutex::new(vec![SessionState::Ended(EndReason::Completed)]),
        };
        let done = until_ready(
            &provider,
            &PageProbe::new(None),
            session(SessionState::Ended(EndReason::Completed)),
            Duration::from_secs(20),
        )
        .await
        .expect("completed as it launched");
        // (Before, the tracker ignored it and the wait ran to its limit, then failed.)
        assert_eq!(done.state, SessionState::Ended(EndReason::Completed));
    }
}
