//! The fake IBM Quantum instance's state and its lifecycle, on the wall clock with configurable
//! (short) limits: a session waits `open` for its first job, runs jobs one at a time (each
//! `job_seconds` long), goes `inactive` after `interactive_ttl` without work, closes when
//! `max_ttl` has passed since its first job, when it got no job within `unused_seconds`, when
//! it drained after a close, or at once when cancelled.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

/// What the fake instance is like.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct Config {
    pub crn: String,
    pub api_key: String,
    /// How long an access token lasts (IBM: 3600).
    pub token_seconds: i64,
    /// An Open Plan instance: dedicated sessions are refused.
    pub open_plan: bool,
    /// The plan's ceiling for `max_ttl`: longer asks are clamped to it.
    pub max_ttl_limit: i64,
    pub interactive_ttl: i64,
    pub unused_seconds: i64,
    pub job_seconds: f64,
    /// Next-page links on another origin (a server that must not be followed).
    pub foreign_next: bool,
    /// Backends: (name, qubits, status, reason, queue).
    pub backends: Vec<(String, u32, String, Option<String>, u32)>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            crn: "crn:v1:bluemix:public:quantum-computing:us-east:a/fakeacct:fake-instance::"
                .into(),
            api_key: "fake-ibm-cloud-api-key".into(),
            token_seconds: 3600,
            open_plan: false,
            max_ttl_limit: 28_800,
            interactive_ttl: 60,
            unused_seconds: 1800,
            job_seconds: 1.0,
            foreign_next: false,
            backends: vec![
                ("ibm_torino".into(), 133, "online".into(), None, 4),
                ("ibm_fez".into(), 156, "online".into(), None, 0),
                (
                    "ibm_kyiv".into(),
                    127,
                    "paused".into(),
                    Some("calibrating".into()),
                    0,
                ),
                (
                    "ibm_osaka".into(),
                    127,
                    "offline".into(),
                    Some("maintenance".into()),
                    0,
                ),
            ],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub session_id: String,
    pub backend: String,
    pub created: DateTime<Utc>,
    pub started: Option<DateTime<Utc>>,
    /// A terminal status, once it has one.
    pub ended: Option<(DateTime<Utc>, &'static str)>,
}

impl Job {
    pub fn status(&self) -> &'static str {
        match (&self.ended, self.started) {
            (Some((_, status)), _) => status,
            (None, Some(_)) => "Running",
            (None, None) => "Queued",
        }
    }

    pub fn json(&self) -> Value {
        let status = self.status();
        json!({
            "id": self.id, "backend": self.backend, "session_id": self.session_id,
            "status": status, "state": { "status": status, "reason": null },
            "program": { "id": "sampler" }, "created": self.created, "cost": 0,
            "usage": { "seconds": 1 }
        })
    }
}

#[derive(Debug, Clone)]
pub struct FakeSession {
    pub id: String,
    pub backend: String,
    pub mode: String,
    pub max_ttl: i64,
    pub created: DateTime<Utc>,
    pub state: &'static str,
    pub state_reason: Option<String>,
    pub accepting_jobs: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub last_job_started: Option<DateTime<Utc>>,
    pub last_job_completed: Option<DateTime<Utc>>,
    pub timestamps: Vec<(&'static str, DateTime<Utc>)>,
}

impl FakeSession {
    fn go(&mut self, state: &'static str, at: DateTime<Utc>) {
        if self.state != state {
            self.state = state;
            self.timestamps.push((state, at));
            if state == "active" {
                self.activated_at = Some(at);
            }
            if state == "closed" {
                self.closed_at = Some(at);
                self.accepting_jobs = false;
            }
        }
    }

    pub fn json(&self, interactive_ttl: i64, now: DateTime<Utc>) -> Value {
        let active_ttl = self.started_at.map(|s| {
            (s + Duration::seconds(self.max_ttl) - now)
                .num_seconds()
                .max(0)
        });
        json!({
            "id": self.id,
            // IBM leaves it null while the session is open.
            "backend_name": if self.state == "open" { Value::Null } else { json!(self.backend) },
            "started_at": self.started_at, "activated_at": self.activated_at,
            "closed_at": self.closed_at, "last_job_started": self.last_job_started,
            "last_job_completed": self.last_job_completed,
            "interactive_ttl": interactive_ttl, "max_ttl": self.max_ttl, "active_ttl": active_ttl,
            "state": self.state, "state_reason": self.state_reason,
            "accepting_jobs": self.accepting_jobs, "mode": self.mode,
            "timestamps": self.timestamps.iter()
                .map(|(s, t)| json!({"status": s, "timestamp": t})).collect::<Vec<_>>(),
            "user_id": "fake-user",
            // Null while it runs.
            "elapsed_time": if self.state == "closed" { json!(12.5) } else { Value::Null },
        })
    }
}

#[derive(Debug, Default)]
pub struct Instance {
    pub sessions: BTreeMap<String, FakeSession>,
    pub jobs: Vec<Job>,
    counter: u64,
}

impl Instance {
    /// A 20-character lowercase alphanumeric id, as IBM's.
    pub fn next_id(&mut self, prefix: char) -> String {
        self.counter += 1;
        format!("{prefix}{:0>19}", format!("{:x}fake", self.counter))
    }

    pub fn open(&mut self, backend: &str, mode: &str, max_ttl: i64, now: DateTime<Utc>) -> String {
        let id = self.next_id('c');
        self.sessions.insert(
            id.clone(),
            FakeSession {
                id: id.clone(),
                backend: backend.to_owned(),
                mode: mode.to_owned(),
                max_ttl,
                created: now,
                state: "open",
                state_reason: None,
                accepting_jobs: true,
                started_at: None,
                activated_at: None,
                closed_at: None,
                last_job_started: None,
                last_job_completed: None,
                timestamps: vec![("open", now)],
            },
        );
        id
    }

    /// Brings every session and job to `now`.
    pub fn advance(&mut self, config: &Config, now: DateTime<Utc>) {
        let job_time = Duration::milliseconds((config.job_seconds * 1000.0) as i64);
        let ids: Vec<String> = self.sessions.keys().cloned().collect();
        for id in ids {
            let Some(mut s) = self.sessions.remove(&id) else {
                continue;
            };
            // Jobs run one at a time, in order.
            let mut at = None::<DateTime<Utc>>;
            for job in self.jobs.iter_mut().filter(|j| j.session_id == id) {
                if job.ended.is_some() {
                    at = job.ended.map(|(t, _)| t).or(at);
                    continue;
                }
                if s.state == "closed" {
                    continue;
                }
                let start = job
                    .started
                    .unwrap_or_else(|| at.unwrap_or(job.created).max(job.created));
                let deadline = s.started_at.map(|st| st + Duration::seconds(s.max_ttl));
                if start > now || deadline.is_some_and(|d| start >= d) {
                    break;
                }
                if job.started.is_none() {
                    job.started = Some(start);
                    s.started_at.get_or_insert(start);
                    s.last_job_started = Some(start);
                    s.go("active", start);
                }
                let end = start + job_time;
                let deadline = s.started_at.map(|st| st + Duration::seconds(s.max_ttl));
                match deadline {
                    Some(d) if d < end && d <= now => {
                        job.ended = Some((d, "Cancelled - Ran too long"));
                        at = Some(d);
                    }
                    _ if end <= now => {
                        job.ended = Some((end, "Completed"));
                        s.last_job_completed = Some(end);
                        at = Some(end);
                    }
                    _ => break,
                }
            }
            let pending = self
                .jobs
                .iter()
                .any(|j| j.session_id == id && j.ended.is_none());
            if s.state != "closed" {
                let ttl_end = s.started_at.map(|st| st + Duration::seconds(s.max_ttl));
                if let Some(end) = ttl_end.filter(|e| *e <= now) {
                    s.state_reason = Some("max_ttl expired".into());
                    s.go("closed", end);
                    fail_queued(&mut self.jobs, &id, end, "Failed");
                } else if !s.accepting_jobs && !pending {
                    // Closed: the queue has drained.
                    let at = s.last_job_completed.unwrap_or(now);
                    s.go("closed", at.min(now));
                } else if s.state == "open" && s.started_at.is_none() {
                    let unused = s.created + Duration::seconds(config.unused_seconds);
                    if unused <= now {
                        s.state_reason = Some("closed unused: no job was submitted".into());
                        s.go("closed", unused);
                    }
                } else if s.state == "active" && !pending {
                    let idle = s.last_job_completed.unwrap_or(now)
                        + Duration::seconds(config.interactive_ttl);
                    if idle <= now {
                        s.go("inactive", idle);
                    }
                }
            }
            self.sessions.insert(id, s);
        }
    }

    /// Cancel: queued jobs fail, and the session closes now.
    pub fn cancel(&mut self, id: &str, now: DateTime<Utc>) {
        fail_queued(&mut self.jobs, id, now, "Cancelled");
        if let Some(s) = self.sessions.get_mut(id) {
            s.state_reason = Some("cancelled by the user".into());
            s.go("closed", now);
        }
    }

    /// A job into a session that takes them; a job restarts an inactive session.
    pub fn submit(&mut self, session_id: &str, now: DateTime<Utc>) -> Result<Job, &'static str> {
        let s = self.sessions.get(session_id).ok_or("session not found")?;
        if s.state == "closed" || !s.accepting_jobs {
            return Err("the session does not accept jobs");
        }
        let backend = s.backend.clone();
        let job = Job {
            id: self.next_id('d'),
            session_id: session_id.to_owned(),
            backend,
            created: now,
            started: None,
            ended: None,
        };
        self.jobs.push(job.clone());
        Ok(job)
    }
}

fn fail_queued(jobs: &mut [Job], id: &str, at: DateTime<Utc>, status: &'static str) {
    for job in jobs
        .iter_mut()
        .filter(|j| j.session_id == id && j.started.is_none() && j.ended.is_none())
    {
        job.ended = Some((at, status));
    }
}
