//! The sessions: launch, read, extend, stop. The SQLite store is the truth; `live` holds the
//! running parts (tasks, ports, process groups) of the sessions this server owns.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};

use crate::end_reason::{ended_kind, exited};
use crate::error::{ApiError, ApiResult};
use crate::gpu::CPU;
use crate::key::{random_token, USER_ID};
use crate::machines::Machine;
use crate::store::{SessionRow, Store};
use crate::wire::{self, CreateSessionBody, CreateSessionResponse, GpuItem, SessionResponse};
use crate::{logs, process};

/// Upstream's default when `timeout` is null or 0 (docs/providers/comfydeploy.md §5.1).
pub const DEFAULT_TIMEOUT_MIN: i64 = 15;
/// portholed's ceiling for a timeout and for what an extension may leave (upstream has none).
pub const MAX_MINUTES: i64 = 24 * 60;
/// Upstream gives a session 10 minutes to come up (docs/providers/comfydeploy.md §6 step 2).
pub const STARTUP_MINUTES: u32 = 10;
pub const CONCURRENCY_DETAIL: &str =
    "You have reached the maximum number of concurrent sessions. Please close some sessions and try again.";
pub const TIMEOUT_REASON: &str = "Session closed due to timeout";

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Starting,
    Ready(String),
    Ended,
}

pub(crate) struct Live {
    pub phase: watch::Sender<Phase>,
    pub port: u16,
    pub pgid: i32,
    pub tasks: Vec<AbortHandle>,
    /// The template's `before_end` step, in this session's environment (taken when it runs).
    pub before_end: Option<crate::before_end::Step>,
}

pub struct Sessions {
    pub(crate) store: Store,
    pub(crate) machines: Vec<Machine>,
    pub(crate) gpus: Vec<GpuItem>,
    pub(crate) prices: BTreeMap<String, f64>,
    /// How long one API minute lasts (the time scale).
    pub(crate) minute: Duration,
    pub(crate) grace: Duration,
    pub(crate) logs_dir: PathBuf,
    pub(crate) live: Mutex<HashMap<String, Live>>,
    /// Sessions run as Slurm jobs (`backend = "slurm"`); local processes when `None`.
    pub(crate) slurm: Option<Arc<crate::slurm::Slurm>>,
}

impl Sessions {
    /// The process answers: publish its URL (once) and tell whoever waits on it.
    pub(crate) fn mark_ready(&self, id: &str, url: String) {
        if matches!(self.store.set_url(id, &url), Ok(true)) {
            logs::append(&self.logs_dir, id, "info", "Session is ready");
            if let Some(l) = self.live().get(id) {
                l.phase.send_replace(Phase::Ready(url));
            }
        }
    }

    pub(crate) fn live(&self) -> MutexGuard<'_, HashMap<String, Live>> {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `n` API minutes as real time.
    pub fn minutes(&self, n: i64) -> chrono::Duration {
        let us = i64::try_from(self.minute.as_micros()).unwrap_or(i64::MAX);
        chrono::Duration::microseconds(us.saturating_mul(n))
    }

    /// The GPUs a session can get: this host's, or what the cluster's partitions offer now.
    pub async fn gpu_items(&self) -> Vec<GpuItem> {
        match &self.slurm {
            Some(slurm) => self.slurm_items(slurm).await,
            None => self.gpus.clone(),
        }
    }

    pub fn machine(&self, id_or_name: &str) -> Option<&Machine> {
        self.machines
            .iter()
            .find(|m| m.id == id_or_name || m.name == id_or_name)
    }

    pub fn response(&self, row: &SessionRow) -> SessionResponse {
        SessionResponse {
            id: row.id.clone(),
            session_id: row.id.clone(),
            gpu_event_id: row.gpu_event_id.clone(),
            url: row.url.clone(),
            gpu: row.gpu.clone(),
            created_at: wire::zulu(row.created_at),
            timeout: Some(row.timeout_min),
            timeout_end: Some(wire::naive_utc(row.deadline)),
            machine_id: Some(row.machine_id.clone()),
            machine_version_id: None,
            status: "running".to_owned(),
            status_label: self
                .slurm
                .as_ref()
                .and_then(|s| s.seen().notes.get(&row.id).cloned()),
            user_id: Some(USER_ID.to_owned()),
            org_id: None,
            before_end_seconds: self
                .machine(&row.machine_id)
                .and_then(|m| m.before_end.as_ref())
                .map(|step| step.grace.as_secs()),
        }
    }

    /// S2. An ended session answers 404 as upstream does, with why it ended beside `detail`
    /// for a day (`ended: {kind, reason}`), so a client can say more than "gone".
    pub fn get(&self, id: &str) -> ApiResult<SessionResponse> {
        let row = self.store.get(id)?;
        match row {
            Some(row) if row.end_time.is_none() => Ok(self.response(&row)),
            Some(row) => {
                let not_found = ApiError::not_found("GPUEvent not found");
                let recent = row
                    .end_time
                    .is_some_and(|at| Utc::now() - at < chrono::Duration::days(1));
                Err(match row.end_reason.filter(|_| recent) {
                    Some(reason) => not_found.ended(ended_kind(&reason), &reason),
                    None => not_found,
                })
            }
            None => Err(ApiError::not_found("GPUEvent not found")),
        }
    }

    pub fn list(&self, machine_id: Option<&str>) -> ApiResult<Vec<SessionResponse>> {
        // Accept a machine's name as well as its id.
        let machine_id = machine_id.map(|m| self.machine(m).map_or(m, |m| m.id.as_str()));
        Ok(self
            .store
            .list_active(machine_id)?
            .iter()
            .map(|r| self.response(r))
            .collect())
    }

    /// Picks the GPU for a launch: `(name, index)`; CPU has no index.
    fn pick_gpu(&self, wanted: &str) -> ApiResult<(String, Option<u32>)> {
        if wanted.eq_ignore_ascii_case(CPU) {
            return Ok((CPU.to_owned(), None));
        }
        let candidates: Vec<&GpuItem> = self
            .gpus
            .iter()
            .filter(|g| g.name.eq_ignore_ascii_case(wanted))
            .collect();
        if candidates.is_empty() {
            let mut offered: Vec<&str> = vec![CPU];
            for g in &self.gpus {
                if !offered.contains(&g.name.as_str()) {
                    offered.push(&g.name);
                }
            }
            return Err(ApiError::bad_request(format!(
                "GPU {wanted} is not available on this machine. Available: {}",
                offered.join(", ")
            )));
        }
        // The least used card of that kind.
        let active = self.store.list_active(None)?;
        let load = |idx: u32| active.iter().filter(|s| s.gpu_index == Some(idx)).count();
        let best = candidates
            .iter()
            .min_by_key(|g| (load(g.index), g.index))
            .map(|g| (g.name.clone(), Some(g.index)));
        best.ok_or_else(|| ApiError::internal("no GPU candidate"))
    }

    /// S1. Validates everything before anything changes, then starts the process.
    pub async fn launch(
        self: &Arc<Self>,
        body: CreateSessionBody,
    ) -> ApiResult<CreateSessionResponse> {
        let timeout_min = match body.timeout {
            None | Some(0) => DEFAULT_TIMEOUT_MIN,
            Some(t) if t < 0 => {
                return Err(ApiError::invalid(
                    &["body", "timeout"],
                    "Input should be greater than or equal to 0",
                    "greater_than_equal",
                ))
            }
            Some(t) if t > MAX_MINUTES => {
                return Err(ApiError::invalid(
                    &["body", "timeout"],
                    format!("Input should be less than or equal to {MAX_MINUTES} (24 hours)"),
                    "less_than_equal",
                ))
            }
            Some(t) => t,
        };
        let machine = self
            .machine(&body.machine_id)
            .ok_or_else(|| ApiError::not_found("Machine not found"))?
            .clone();
        let spec = machine.available.clone().map_err(|reason| {
            ApiError::bad_request(format!(
                "Machine {} cannot run on this host: {reason}",
                machine.name
            ))
        })?;
        let wanted = body
            .gpu
            .clone()
            .unwrap_or_else(|| machine.default_gpu.clone());
        let wait = body.wait_for_server == Some(true);
        if let Some(slurm) = &self.slurm {
            let (id, phase) = self
                .launch_on_slurm(slurm, &machine, &spec, &wanted, timeout_min)
                .await?;
            return self.answer(id, &phase, wait).await;
        }
        let (gpu, gpu_index) = self.pick_gpu(&wanted)?;

        let id = uuid::Uuid::new_v4().to_string();
        let token = random_token()?;
        let (phase, _) = watch::channel(Phase::Starting);
        let port = {
            let mut live = self.live();
            let taken: HashSet<u16> = live.values().map(|l| l.port).collect();
            let port = process::free_port(&taken)?;
            // Reserve the port (and the entry) before the row exists, so a concurrent launch
            // cannot pick it; removed again below if the limit refuses.
            live.insert(
                id.clone(),
                Live {
                    phase: phase.clone(),
                    port,
                    pgid: 0,
                    tasks: Vec::new(),
                    before_end: None,
                },
            );
            port
        };
        let row = SessionRow {
            gpu: gpu.clone(),
            gpu_index,
            port,
            ..new_row(
                &id,
                &machine,
                timeout_min,
                self.minutes(timeout_min),
                &token,
            )
        };
        let inserted = self.store.insert_within_limit(&row, machine.max_sessions);
        if !matches!(inserted, Ok(true)) {
            self.live().remove(&id);
            inserted?;
            return Err(ApiError::bad_request(CONCURRENCY_DETAIL));
        }

        logs::append(
            &self.logs_dir,
            &id,
            "info",
            &format!("Creating session on {} ({gpu})...", machine.name),
        );
        let rendered = spec.render(port, &token);
        let env = session_env(gpu_index, &id, port, &token);
        let before_end = machine
            .before_end
            .as_ref()
            .map(|step| crate::before_end::Step::new(step, &rendered, env.clone()));
        let child = match process::spawn(&rendered, &env, &logs::path(&self.logs_dir, &id)) {
            Ok(child) => child,
            Err(err) => {
                logs::append(&self.logs_dir, &id, "error", &err.message);
                self.end(&id, &format!("failed to start: {}", err.message), "error");
                return Err(ApiError::internal(format!(
                    "Session creation failed: {}",
                    err.message
                )));
            }
        };
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        self.store.set_process(&id, pid, process::start_time(pid))?;
        let waiter = tokio::spawn(Arc::clone(self).wait_child(id.clone(), child));
        let prober = tokio::spawn(Arc::clone(self).probe_until_ready(
            id.clone(),
            (std::net::Ipv4Addr::LOCALHOST, port).into(),
            rendered.probe_path,
            rendered.url,
            self.minutes(i64::from(STARTUP_MINUTES)),
        ));
        if let Some(l) = self.live().get_mut(&id) {
            l.pgid = pid;
            l.tasks
                .extend([waiter.abort_handle(), prober.abort_handle()]);
            l.before_end = before_end;
        }
        logs::append(
            &self.logs_dir,
            &id,
            "info",
            "Waiting for the session to answer on its port...",
        );

        self.answer(id, &phase, wait).await
    }

    /// S1's answer: at once, or once the session is ready when the client waits for it.
    async fn answer(
        &self,
        id: String,
        phase: &watch::Sender<Phase>,
        wait: bool,
    ) -> ApiResult<CreateSessionResponse> {
        let mut url = None;
        if wait {
            let mut rx = phase.subscribe();
            let limit = self
                .minutes(i64::from(STARTUP_MINUTES))
                .to_std()
                .unwrap_or_default()
                + Duration::from_secs(1);
            let waited =
                tokio::time::timeout(limit, rx.wait_for(|p| !matches!(p, Phase::Starting))).await;
            match waited.ok().and_then(Result::ok).map(|p| p.clone()) {
                Some(Phase::Ready(u)) => url = Some(u),
                _ => return Err(ApiError::internal("Session creation failed")),
            }
        }
        Ok(CreateSessionResponse {
            session_id: id,
            url,
        })
    }

    /// S5: the new deadline is the old one plus `minutes`.
    pub async fn extend(&self, id: &str, minutes: i64) -> ApiResult<()> {
        if minutes < 1 {
            return Err(ApiError::invalid(
                &["body", "minutes"],
                "Input should be greater than or equal to 1",
                "greater_than_equal",
            ));
        }
        if minutes > MAX_MINUTES {
            return Err(ApiError::invalid(
                &["body", "minutes"],
                format!("Input should be less than or equal to {MAX_MINUTES} (24 hours)"),
                "less_than_equal",
            ));
        }
        if let Some(slurm) = &self.slurm {
            return self.extend_on_slurm(slurm, id, minutes).await;
        }
        let row = self
            .store
            .get_active(id)?
            .ok_or_else(|| ApiError::not_found("GPU event not found"))?;
        let new_deadline = row.deadline + self.minutes(minutes);
        if new_deadline - Utc::now() > self.minutes(MAX_MINUTES) {
            return Err(ApiError::bad_request(format!(
                "A session can be extended to at most {MAX_MINUTES} minutes (24 hours) from now"
            )));
        }
        self.store
            .extend(id, self.minutes(minutes))?
            .ok_or_else(|| ApiError::not_found("GPU event not found"))?;
        logs::append(
            &self.logs_dir,
            id,
            "info",
            &format!("Timeout increased by {minutes} minutes"),
        );
        Ok(())
    }

    /// S4. With `wait`, returns once the process group is gone. `reason`: see [`crate::end_reason::stop_reason`].
    pub async fn stop(self: &Arc<Self>, id: &str, wait: bool, reason: &str) -> ApiResult<()> {
        if self.store.get_active(id)?.is_none() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("GPUEvent not found session_id: {id}, the event might be already closed"),
            ));
        }
        let terminator = self.end(id, reason, "info");
        if wait {
            if let Some(t) = terminator {
                let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
            }
        }
        Ok(())
    }

    /// Ends a session (first reason wins) and stops its process group in the background.
    /// Returns the task that stops it, when this call ended it.
    pub fn end(self: &Arc<Self>, id: &str, reason: &str, level: &str) -> Option<JoinHandle<()>> {
        match self.store.end(id, reason, Utc::now()) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                tracing::error!(session = id, error = %e, "cannot record the end of a session");
                return None;
            }
        }
        logs::append(
            &self.logs_dir,
            id,
            level,
            &format!("Session ended: {reason}"),
        );
        tracing::info!(session = id, reason, "session ended");
        let (pgid, before_end) = {
            let mut live = self.live();
            live.get_mut(id)
                .map(|l| {
                    l.phase.send_replace(Phase::Ended);
                    let step = l.before_end.take();
                    (l.pgid, step.filter(|_| crate::before_end::runs_for(reason)))
                })
                .unzip()
        };
        if let Some(slurm) = &self.slurm {
            let job =
                Arc::clone(self).finish_job(Arc::clone(slurm), id.to_owned(), reason.to_owned());
            return Some(tokio::spawn(job));
        }
        let before_end = before_end.flatten();
        let pgid = match pgid {
            Some(p) => p,
            None => self
                .store
                .get(id)
                .ok()
                .flatten()
                .and_then(|r| r.pid)
                .unwrap_or(0),
        };
        let me = Arc::clone(self);
        let id = id.to_owned();
        Some(tokio::spawn(async move {
            if let Some(step) = before_end {
                crate::before_end::run(&me.logs_dir, &id, &step).await;
            }
            me.reap(&id, pgid).await
        }))
    }

    /// Stops what is left of the group, then forgets the session's running parts.
    pub(crate) async fn reap(&self, id: &str, pgid: i32) {
        let gone = process::terminate_group(pgid, self.grace).await;
        // What left the group (a shell's background jobs) still carries the session's tag.
        process::terminate_tagged(id, self.grace).await;
        if gone {
            if let Err(e) = self.store.mark_reaped(id) {
                tracing::error!(session = id, error = %e, "cannot record a reaped session");
            }
        } else {
            tracing::error!(session = id, pgid, "a session's processes would not die");
        }
        if let Some(l) = self.live().remove(id) {
            for t in l.tasks {
                t.abort();
            }
        }
    }

    /// When the process exits on its own, the session ends.
    async fn wait_child(self: Arc<Self>, id: String, mut child: tokio::process::Child) {
        let status = child.wait().await;
        let reason = match status {
            Ok(s) => exited(s),
            Err(e) => format!("process lost ({e})"),
        };
        self.end(&id, &reason, "error");
    }

    /// Sets `url` once `target` answers; ends the session if it never does within `limit`.
    pub(crate) async fn probe_until_ready(
        self: Arc<Self>,
        id: String,
        target: std::net::SocketAddr,
        path: String,
        url: String,
        limit: chrono::Duration,
    ) {
        let deadline = Utc::now() + limit;
        let mut step = Duration::from_millis(2);
        loop {
            if process::probe_at(target, &path).await {
                self.mark_ready(&id, url);
                return;
            }
            if Utc::now() > deadline {
                self.end(
                    &id,
                    &format!("Reached timeout period {STARTUP_MINUTES} minutes, deleting session"),
                    "error",
                );
                return;
            }
            tokio::time::sleep(step).await;
            step = (step * 2).min(Duration::from_millis(100));
        }
    }

    /// Ends every session whose deadline has passed, on a short tick of wall-clock time.
    pub(crate) async fn enforce_deadlines(self: Arc<Self>) {
        let tick = (self.minute / 120).clamp(Duration::from_millis(20), Duration::from_millis(500));
        loop {
            match self.store.expired(Utc::now()) {
                Ok(ids) => {
                    for id in ids {
                        self.end(&id, TIMEOUT_REASON, "info");
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot check deadlines"),
            }
            tokio::time::sleep(tick).await;
        }
    }
}

/// A new session's row, before anything runs: starting now, ending `lasts` later, on no GPU
/// and no port yet.
pub(crate) fn new_row(
    id: &str,
    machine: &Machine,
    timeout_min: i64,
    lasts: chrono::Duration,
    token: &str,
) -> SessionRow {
    let now = Utc::now();
    SessionRow {
        id: id.to_owned(),
        gpu_event_id: uuid::Uuid::new_v4().to_string(),
        machine_id: machine.id.clone(),
        machine_name: machine.name.clone(),
        gpu: String::new(),
        gpu_index: None,
        created_at: now,
        timeout_min,
        deadline: now + lasts,
        port: 0,
        token: token.to_owned(),
        url: None,
        pid: None,
        pid_start: None,
        end_time: None,
        end_reason: None,
        reaped: false,
    }
}

/// What a session's processes get in their environment besides the template's.
pub(crate) fn session_env(
    gpu_index: Option<u32>,
    id: &str,
    port: u16,
    token: &str,
) -> Vec<(&'static str, String)> {
    vec![
        (
            "CUDA_VISIBLE_DEVICES",
            gpu_index.map(|i| i.to_string()).unwrap_or_default(),
        ),
        (process::SESSION_ENV, id.to_owned()),
        ("PORTHOLE_PORT", port.to_string()),
        (process::TOKEN_ENV, token.to_owned()),
    ]
}
