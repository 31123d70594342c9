//! The sessions API over Slurm jobs: launch submits, one `squeue` a poll keeps every session's
//! state and deadline, extend raises the job's time limit, an end cancels the job (after the
//! template's `before_end`, run inside the job), a restart re-adopts from the store and the
//! queue, and a job of this server that no session owns is cancelled.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::inventory::{self, Partition};
use super::node::{self, JobSpec};
use super::{JobRequest, Slurm};
use crate::adopt::Adoption;
use crate::error::{ApiError, ApiResult};
use crate::key::random_token;
use crate::machines::{LaunchSpec, Machine, TemplateKind};
use crate::sessions::{new_row, Live, Phase, Sessions, CONCURRENCY_DETAIL};
use crate::store::SessionRow;
use crate::wire::GpuItem;
use crate::{logs, process};

/// What the watcher knows of the cluster between two looks, beyond the store.
#[derive(Default)]
pub(crate) struct Seen {
    /// The words a starting session shows ("Queued: Resources, 2nd in line").
    pub notes: HashMap<String, String>,
    /// Sessions whose job ended by itself: nothing to cancel.
    pub over: HashSet<String>,
    /// Sessions whose job the scheduler has looked at and keeps waiting (their `come_up`
    /// looks at the shared folder less often).
    pub waiting: HashSet<String>,
    /// Node name → address, from sinfo.
    pub addrs: HashMap<String, String>,
    /// The last Slurm failure said, so it is logged once.
    pub failing: Option<String>,
}

fn unavailable(e: &porthole_core::Error) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        format!("Slurm is not answering: {}", e.message),
    )
}

impl Slurm {
    /// The partitions as they are now.
    pub(crate) async fn partitions(&self) -> porthole_core::error::Result<Vec<Partition>> {
        let nodes = self.nodes().await?;
        let jobs = self.jobs().await?;
        Ok(inventory::partitions(&nodes, &jobs))
    }

    pub(crate) fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Sessions {
    /// What a session may ask the cluster for, with what is free now (empty when Slurm does not
    /// answer: the error is logged).
    pub(crate) async fn slurm_items(&self, slurm: &Slurm) -> Vec<GpuItem> {
        match slurm.partitions().await {
            Ok(parts) => parts.iter().flat_map(Partition::items).collect(),
            Err(e) => {
                tracing::warn!(error = %e.message, "cannot list the cluster's partitions");
                Vec::new()
            }
        }
    }

    /// S1 on Slurm: checks the ask against the partitions, records the session, submits.
    pub(crate) async fn launch_on_slurm(
        self: &Arc<Self>,
        slurm: &Arc<Slurm>,
        machine: &Machine,
        spec: &LaunchSpec,
        wanted: &str,
        timeout_min: i64,
    ) -> ApiResult<(String, watch::Sender<Phase>)> {
        if machine.kind == TemplateKind::ComfyUi {
            // Its token front listens on the node's loopback, out of portholed's reach.
            return Err(ApiError::bad_request(
                "The comfyui template cannot run through Slurm yet: its token front listens \
                 on the node's loopback, out of portholed's reach.",
            ));
        }
        let parts = slurm.partitions().await.map_err(|e| unavailable(&e))?;
        let ask = inventory::ask(wanted, &parts, slurm.default_partition())
            .map_err(ApiError::bad_request)?;
        if let Some(max) = ask.max_secs {
            if timeout_min * 60 > max {
                return Err(ApiError::bad_request(format!(
                    "Partition {} allows sessions of at most {} minutes; {timeout_min} asked.",
                    ask.partition,
                    max / 60
                )));
            }
        }
        let resource = match &ask.gpus {
            Some((kind, n)) => format!("{}/{kind}:{n}", ask.partition),
            None => ask.partition.clone(),
        };
        let id = uuid::Uuid::new_v4().to_string();
        let token = random_token()?;
        let (phase, _) = watch::channel(Phase::Starting);
        let lasts = chrono::Duration::minutes(timeout_min);
        let row = SessionRow {
            gpu: resource.clone(),
            ..new_row(&id, machine, timeout_min, lasts, &token)
        };
        if !self.store.insert_within_limit(&row, machine.max_sessions)? {
            return Err(ApiError::bad_request(CONCURRENCY_DETAIL));
        }
        self.live().insert(id.clone(), Live::waiting(phase.clone()));
        let submitted = self
            .submit(slurm, &id, machine, spec, &ask, &token, timeout_min)
            .await;
        match submitted {
            Ok(job) => {
                logs::append(
                    &self.logs_dir,
                    &id,
                    "info",
                    &format!("Submitted as Slurm job {job} ({resource}, {timeout_min} min)"),
                );
                slurm
                    .seen()
                    .notes
                    .insert(id.clone(), format!("Submitted as Slurm job {job}"));
                self.come_up(slurm, &id);
                slurm.wake.notify_one();
                Ok((id, phase))
            }
            Err(message) => {
                logs::append(&self.logs_dir, &id, "error", &message);
                slurm.seen().over.insert(id.clone());
                self.end(&id, &format!("failed to start: {message}"), "error");
                Err(ApiError::bad_request(format!(
                    "Session creation failed: {message}"
                )))
            }
        }
    }

    /// Writes the job folder and submits the job; its id.
    #[allow(clippy::too_many_arguments)]
    async fn submit(
        &self,
        slurm: &Slurm,
        id: &str,
        machine: &Machine,
        spec: &LaunchSpec,
        ask: &inventory::Ask,
        token: &str,
        minutes: i64,
    ) -> Result<String, String> {
        let dir = slurm.shared_dir.join(id);
        let write = || -> porthole_core::error::Result<()> {
            porthole_core::paths::create_private_dir(&dir)?;
            let spec = serde_json::to_vec_pretty(&JobSpec::new(id, spec))
                .map_err(|e| porthole_core::Error::invalid_input(e.to_string()))?;
            porthole_core::paths::write_private(&dir.join(node::SPEC_FILE), &spec)?;
            porthole_core::paths::write_private(&dir.join(node::TOKEN_FILE), token.as_bytes())?;
            let script = node::script(&slurm.helper, &dir);
            porthole_core::paths::write_private(&dir.join(node::SCRIPT_FILE), script.as_bytes())
        };
        write().map_err(|e| format!("cannot write the job folder: {}", e.message))?;
        logs::append(
            &self.logs_dir,
            id,
            "info",
            &format!("Creating session on {} through Slurm...", machine.name),
        );
        let job = JobRequest {
            name: format!("porthole-{}", machine.name),
            comment: slurm.comment(id),
            partition: ask.partition.clone(),
            gpus: ask.gpus.clone(),
            minutes,
            script: dir.join(node::SCRIPT_FILE),
            output: logs::path(&self.logs_dir, id),
            workdir: spec.cwd.clone().unwrap_or_else(|| dir.clone()),
        };
        let job_id = slurm.submit(&job).await.map_err(|e| e.message)?;
        self.store
            .set_job(id, &job_id)
            .map_err(|e| format!("Slurm job {job_id} submitted but not recorded: {e}"))?;
        Ok(job_id)
    }

    /// S5 on Slurm: the job's time limit moves, within what its partition allows.
    pub(crate) async fn extend_on_slurm(
        &self,
        slurm: &Slurm,
        id: &str,
        minutes: i64,
    ) -> ApiResult<()> {
        self.store
            .get_active(id)?
            .ok_or_else(|| ApiError::not_found("GPU event not found"))?;
        let job_id = self.store.job_of(id)?.ok_or_else(|| {
            ApiError::bad_request("The session's job is not submitted yet; try again in a moment")
        })?;
        let nodes = slurm.nodes().await.map_err(|e| unavailable(&e))?;
        let jobs = slurm.jobs().await.map_err(|e| unavailable(&e))?;
        let job = jobs
            .iter()
            .find(|j| j.id == job_id && !j.finished())
            .ok_or_else(|| ApiError::not_found("GPU event not found"))?;
        let partition = inventory::partitions(&nodes, &jobs)
            .into_iter()
            .find(|p| p.name == job.partition);
        if let (Some(max), Some(limit)) = (partition.and_then(|p| p.max_secs), job.limit_secs) {
            if limit + minutes * 60 > max {
                return Err(ApiError::bad_request(format!(
                    "Partition {} allows sessions of at most {} minutes; this one has {} and \
                     {minutes} more would go past it.",
                    job.partition,
                    max / 60,
                    limit / 60
                )));
            }
        }
        slurm.raise_limit(&job_id, minutes).await.map_err(|e| {
            ApiError::bad_request(format!(
                "Slurm refused to extend the session: {}",
                e.message
            ))
        })?;
        self.store.extend(id, chrono::Duration::minutes(minutes))?;
        logs::append(
            &self.logs_dir,
            id,
            "info",
            &format!("Timeout increased by {minutes} minutes (Slurm job {job_id})"),
        );
        slurm.wake.notify_one();
        Ok(())
    }

    /// Ends session `id`'s job: its `before_end` first, inside the job, when the reason calls
    /// for it; then `scancel`, until Slurm lists the job as over.
    pub(crate) async fn finish_job(self: Arc<Self>, slurm: Arc<Slurm>, id: String, reason: String) {
        let over = slurm.seen().over.remove(&id);
        slurm.seen().notes.remove(&id);
        slurm.seen().waiting.remove(&id);
        if let (false, Ok(Some(job))) = (over, self.store.job_of(&id)) {
            if crate::before_end::runs_for(&reason) {
                self.before_end_in_job(&slurm, &id, &job).await;
            }
            if let Err(e) = slurm.cancel(&job).await {
                tracing::warn!(session = %id, job, error = %e.message, "scancel failed");
            }
            let until = tokio::time::Instant::now() + Duration::from_secs(30);
            while tokio::time::Instant::now() < until {
                match slurm.jobs().await {
                    Ok(jobs) if jobs.iter().all(|j| j.id != job || j.finished()) => break,
                    _ => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        }
        if let Err(e) = self.store.mark_reaped(&id) {
            tracing::error!(session = %id, error = %e, "cannot record a finished job");
        }
        if let Some(l) = self.live().remove(&id) {
            for t in l.tasks {
                t.abort();
            }
        }
    }

    async fn before_end_in_job(&self, slurm: &Slurm, id: &str, job: &str) {
        let Some(row) = self.store.get(id).ok().flatten() else {
            return;
        };
        let Some(machine) = self.machine(&row.machine_id) else {
            return;
        };
        let (Some(step), Ok(spec)) = (&machine.before_end, &machine.available) else {
            return;
        };
        let grace = step.grace.as_secs_f64();
        logs::append(
            &self.logs_dir,
            id,
            "info",
            &format!("Running before_end (up to {grace:.0} s) inside Slurm job {job}..."),
        );
        // The session's own environment and folder, as its program got them on the node.
        let dir = slurm.shared_dir.join(id);
        let (host, port) = node::connection(&dir).map_or((String::new(), 0), |c| (c.host, c.port));
        let session = spec.render_at(&host, port, &row.token);
        let mut env: Vec<(String, String)> = session.env.into_iter().collect();
        env.extend([
            (process::SESSION_ENV.to_owned(), id.to_owned()),
            ("PORTHOLE_HOST".to_owned(), host),
            ("PORTHOLE_PORT".to_owned(), port.to_string()),
            (process::TOKEN_ENV.to_owned(), row.token.clone()),
        ]);
        let mut argv = vec![step.program.clone()];
        argv.extend(step.args.iter().cloned());
        let cwd = session.cwd.unwrap_or(dir);
        let log = logs::path(&self.logs_dir, id);
        let ran = slurm.run_in_job(job, &argv, &env, &cwd, &log, step.grace);
        let (level, said) = match ran.await {
            Ok(how) => ("info", format!("before_end finished: {how}")),
            Err(how) => ("error", format!("before_end {how}")),
        };
        logs::append(&self.logs_dir, id, level, &said);
    }

    /// Restart: every session the store has not seen end is watched again (the queue decides
    /// what became of it); one that was ending has its job cancelled for sure.
    pub(crate) fn readopt_slurm(
        self: &Arc<Self>,
        slurm: &Arc<Slurm>,
    ) -> porthole_core::error::Result<Adoption> {
        let mut report = Adoption::default();
        for row in self.store.unreaped()? {
            if row.end_time.is_none() {
                let phase = match &row.url {
                    Some(u) => Phase::Ready(u.clone()),
                    None => Phase::Starting,
                };
                self.live()
                    .insert(row.id.clone(), Live::waiting(watch::channel(phase).0));
                if row.url.is_none() {
                    self.come_up(slurm, &row.id);
                }
                logs::append(
                    &self.logs_dir,
                    &row.id,
                    "info",
                    "portholed restarted; session re-adopted from Slurm",
                );
                report.adopted += 1;
            } else {
                report.cleaned += 1;
                // Live until finish_job is done with it: the orphan sweep leaves its job alone.
                self.live().insert(
                    row.id.clone(),
                    Live::waiting(watch::channel(Phase::Ended).0),
                );
                let reason = row.end_reason.clone().unwrap_or_default();
                tokio::spawn(Arc::clone(self).finish_job(Arc::clone(slurm), row.id, reason));
            }
        }
        Ok(report)
    }
}

impl Live {
    /// A session whose job portholed watches through Slurm (no local process).
    pub(crate) fn waiting(phase: watch::Sender<Phase>) -> Self {
        Live {
            phase,
            port: 0,
            pgid: 0,
            tasks: Vec::new(),
            before_end: None,
        }
    }
}
