//! Restart: sessions whose process still lives (same pid, same start time) are re-adopted and
//! keep their deadline; the others are ended with a reason. Nothing is left running unowned.
//! Shutdown: every session stopped, or left running for the next start to re-adopt.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::sessions::{Live, Phase, Sessions};
use crate::store::SessionRow;
use crate::{logs, process};

/// What a restart did, for the start-up log and the tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Adoption {
    pub adopted: usize,
    pub ended: usize,
    pub cleaned: usize,
}

impl Sessions {
    pub(crate) fn readopt(self: &Arc<Self>) -> porthole_core::error::Result<Adoption> {
        let mut report = Adoption::default();
        for row in self.store.unreaped()? {
            let pid = row.pid.unwrap_or(0);
            let same = row.pid.is_some() && process::is_same_process(pid, row.pid_start);
            if same && row.end_time.is_none() {
                self.adopt(row);
                report.adopted += 1;
                continue;
            }
            // Whatever is left of the session's process group is still ours: a live group whose
            // leader pid no longer exists (a pgid cannot be reused while any member lives).
            // A pid that now belongs to another process is never signalled.
            let orphaned_group = row.pid.is_some()
                && process::start_time(pid).is_none()
                && process::group_alive(pid);
            let pgid = if same || orphaned_group { pid } else { 0 };
            if row.end_time.is_some() {
                // Ended while a previous portholed was stopping it: finish the job.
                report.cleaned += 1;
            } else {
                let reason = "portholed restarted and the session's process was gone";
                if self.store.end(&row.id, reason, chrono::Utc::now())? {
                    logs::append(
                        &self.logs_dir,
                        &row.id,
                        "error",
                        &format!("Session ended: {reason}"),
                    );
                }
                report.ended += 1;
            }
            let me = Arc::clone(self);
            let id = row.id.clone();
            tokio::spawn(async move { me.reap(&id, pgid).await });
        }
        Ok(report)
    }

    fn adopt(self: &Arc<Self>, row: SessionRow) {
        let pid = row.pid.unwrap_or(0);
        let phase = match &row.url {
            Some(u) => Phase::Ready(u.clone()),
            None => Phase::Starting,
        };
        let (tx, _) = watch::channel(phase);
        // Its template's before_end step, in the environment it was started with.
        let before_end = self.machine(&row.machine_id).and_then(|m| {
            let spec = m.available.as_ref().ok()?.render(row.port, &row.token);
            let env = crate::sessions::session_env(row.gpu_index, &row.id, row.port, &row.token);
            let step = m.before_end.as_ref()?;
            Some(crate::before_end::Step::new(step, &spec, env))
        });
        self.live().insert(
            row.id.clone(),
            Live {
                phase: tx,
                port: row.port,
                pgid: pid,
                tasks: Vec::new(),
                before_end,
            },
        );
        logs::append(
            &self.logs_dir,
            &row.id,
            "info",
            "portholed restarted; session re-adopted",
        );
        tracing::info!(session = %row.id, pid, "re-adopted a running session");
        let mut tasks =
            vec![
                tokio::spawn(Arc::clone(self).watch_adopted(row.id.clone(), pid, row.pid_start))
                    .abort_handle(),
            ];
        if row.url.is_none() {
            if let Some(m) = self.machine(&row.machine_id) {
                if let Ok(spec) = &m.available {
                    let r = spec.render(row.port, &row.token);
                    tasks.push(
                        tokio::spawn(Arc::clone(self).probe_adopted(
                            row.id.clone(),
                            row.port,
                            r.probe_path,
                            r.url,
                        ))
                        .abort_handle(),
                    );
                }
            }
        }
        if let Some(l) = self.live().get_mut(&row.id) {
            l.tasks = tasks;
        }
    }

    /// A re-adopted process is not our child: watch it by pid and start time.
    async fn watch_adopted(self: Arc<Self>, id: String, pid: i32, started: Option<u64>) {
        while process::is_same_process(pid, started) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.end(&id, "process exited", "error");
    }

    async fn probe_adopted(self: Arc<Self>, id: String, port: u16, path: String, url: String) {
        loop {
            if process::probe(port, &path).await {
                self.mark_ready(&id, url);
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Sessions {
    /// Ends every session this server runs and waits until their processes are gone.
    pub(crate) async fn stop_all(self: &Arc<Self>, reason: &str) {
        let ids: Vec<String> = self.live().keys().cloned().collect();
        let mut waits = Vec::new();
        for id in ids {
            if let Some(t) = self.end(&id, reason, "info") {
                waits.push(t);
            }
        }
        for t in waits {
            let _ = t.await;
        }
    }

    /// Leaves the processes running (for re-adoption) and drops their tasks.
    pub(crate) fn detach_all(&self) {
        for (_, l) in self.live().drain() {
            for t in l.tasks {
                t.abort();
            }
        }
    }

    /// Last resort (Drop without shutdown): SIGKILL every group now and record the ends.
    pub(crate) fn kill_all_now(&self, reason: &str) {
        let now = chrono::Utc::now();
        if let Some(slurm) = &self.slurm {
            for (id, _) in self.live().drain() {
                if let Ok(Some(job)) = self.store.job_of(&id) {
                    slurm.cancel_now(&job);
                }
                let _ = self.store.end(&id, reason, now);
            }
            return;
        }
        for (id, l) in self.live().drain() {
            for t in l.tasks {
                t.abort();
            }
            process::signal_group(l.pgid, nix::sys::signal::Signal::SIGKILL);
            for pid in process::tagged_processes(&id) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = self.store.end(&id, reason, now);
        }
    }
}
