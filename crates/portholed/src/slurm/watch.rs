//! The Slurm watcher: one `squeue` a poll for every session. A queued job shows Slurm's reason
//! and its place in line; a running one gets its deadline from the job's end time and becomes
//! ready once its program answers on its node; a job that ends by itself ends its session with
//! what happened (time limit, node failure, exit code…); a job of this server that no session
//! owns is cancelled. Slurm not answering (a controller restart) changes nothing: the next
//! look reads the queue again.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::node;
use super::{Job, Slurm};
use crate::logs;
use crate::sessions::{Sessions, STARTUP_MINUTES};
use crate::store::SessionRow;

impl Sessions {
    /// The watcher: one look at the queue per poll (sooner after a launch or an extension).
    pub(crate) async fn watch_slurm(self: Arc<Self>, slurm: Arc<Slurm>) {
        loop {
            self.look(&slurm).await;
            let _ = tokio::time::timeout(slurm.poll, slurm.wake.notified()).await;
        }
    }

    async fn look(self: &Arc<Self>, slurm: &Arc<Slurm>) {
        let active = match self.store.list_active(None) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the sessions");
                return;
            }
        };
        // Which job each session has, read before the queue: a job submitted after this look
        // began is looked at next time, not taken for one that vanished.
        let known: Vec<Option<String>> = active
            .iter()
            .map(|row| self.store.job_of(&row.id).ok().flatten())
            .collect();
        let jobs = match slurm.jobs().await {
            Ok(jobs) => {
                if slurm.seen().failing.take().is_some() {
                    tracing::info!("Slurm answers again");
                }
                jobs
            }
            Err(e) => {
                let mut seen = slurm.seen();
                if seen.failing.as_deref() != Some(e.message.as_str()) {
                    tracing::warn!(error = %e.message, "Slurm does not answer; sessions are kept as they were");
                    seen.failing = Some(e.message.clone());
                }
                for row in &active {
                    if row.url.is_none() {
                        seen.notes.insert(
                            row.id.clone(),
                            "Slurm is not answering; retrying".to_owned(),
                        );
                    }
                }
                return;
            }
        };
        self.cancel_orphans(slurm, &active, &jobs).await;
        for (row, known) in active.iter().zip(known) {
            let job_id = match known {
                Some(job) => job,
                // Submitting now, or lost between sbatch and the store: the queue has it by its comment.
                _ => match jobs
                    .iter()
                    .find(|j| slurm.session_of(&j.comment) == Some(&row.id))
                {
                    Some(job) => {
                        let _ = self.store.set_job(&row.id, &job.id);
                        job.id.clone()
                    }
                    None => {
                        if Utc::now() - row.created_at > chrono::Duration::minutes(2) {
                            slurm.seen().over.insert(row.id.clone());
                            self.end(
                                &row.id,
                                "failed to start: the job never reached Slurm",
                                "error",
                            );
                        }
                        continue;
                    }
                },
            };
            match jobs.iter().find(|j| j.id == job_id) {
                Some(job) if job.pending() => self.queued(slurm, row, job, &jobs),
                Some(job) if job.finished() => self.ended_by_slurm(slurm, row, job).await,
                Some(job) => self.running(slurm, row, job),
                None => self.vanished(slurm, row, &job_id).await,
            }
        }
    }

    fn queued(&self, slurm: &Slurm, row: &SessionRow, job: &Job, jobs: &[Job]) {
        let mut ahead: Vec<&Job> = jobs
            .iter()
            .filter(|j| j.pending() && j.partition == job.partition)
            .collect();
        ahead.sort_by_key(|j| {
            (
                std::cmp::Reverse(j.priority),
                j.id.parse::<u64>().unwrap_or(0),
            )
        });
        let place = ahead
            .iter()
            .position(|j| j.id == job.id)
            .map_or(1, |i| i + 1);
        // Slurm says "None" until its scheduler has looked at the job.
        let why = match job.reason.as_str() {
            "None" | "" => "waiting for the scheduler",
            reason => {
                slurm.seen().waiting.insert(row.id.clone());
                reason
            }
        };
        let note = format!(
            "Queued in Slurm (job {}): {why}, {} in line",
            job.id,
            ordinal(place)
        );
        let limit = job.limit_secs.unwrap_or(row.timeout_min * 60);
        let _ = self
            .store
            .set_deadline(&row.id, Utc::now() + chrono::Duration::seconds(limit));
        slurm.seen().notes.insert(row.id.clone(), note);
    }

    fn running(self: &Arc<Self>, slurm: &Arc<Slurm>, row: &SessionRow, job: &Job) {
        slurm.seen().waiting.remove(&row.id);
        if let Some(end) = job.end.and_then(|e| DateTime::from_timestamp(e, 0)) {
            if (end - row.deadline).num_seconds().abs() >= 1 {
                let _ = self.store.set_deadline(&row.id, end);
            }
        }
        if row.url.is_some() {
            slurm.seen().notes.remove(&row.id);
            return;
        }
        // Its `come_up` task probes it as soon as the node writes where it listens (started
        // here for a session whose launch was cut short before it could start one).
        if self.live().get(&row.id).is_some_and(|l| l.tasks.is_empty()) {
            self.come_up(slurm, &row.id);
        }
        let note = match node::connection(&slurm.shared_dir.join(&row.id)) {
            None => format!("Starting on {} (Slurm job {})", job.nodes, job.id),
            Some(_) => format!(
                "Waiting for it to answer on {} (Slurm job {})",
                job.nodes, job.id
            ),
        };
        slurm.seen().notes.insert(row.id.clone(), note);
    }

    /// Follows a starting session from its submission to ready: waits for its node to write
    /// where the program listens (a stat of the shared folder, not a Slurm query), then probes
    /// it there. Runs among the session's tasks, so it ends with the session.
    pub(crate) fn come_up(self: &Arc<Self>, slurm: &Arc<Slurm>, id: &str) {
        let task = tokio::spawn(Arc::clone(self).wait_for_node(Arc::clone(slurm), id.to_owned()));
        if let Some(l) = self.live().get_mut(id) {
            l.tasks.push(task.abort_handle());
        } else {
            task.abort();
        }
    }

    async fn wait_for_node(self: Arc<Self>, slurm: Arc<Slurm>, id: String) {
        let dir = slurm.shared_dir.join(&id);
        let mut step = std::time::Duration::from_millis(5);
        let conn = loop {
            if let Some(conn) = node::connection(&dir) {
                break conn;
            }
            tokio::time::sleep(step).await;
            // Often while the job may start any moment; once per look while it waits in line.
            let most = match slurm.seen().waiting.contains(&id) {
                true => slurm.poll,
                false => std::time::Duration::from_millis(50),
            };
            step = (step * 2).min(most);
        };
        // The address is Slurm's for the node (its NodeAddr, often a name), whatever the folder
        // says; the node's own choice among those addresses, and its port.
        let bound = conn
            .host
            .parse::<IpAddr>()
            .ok()
            .filter(|ip| !ip.is_unspecified());
        let known: Vec<IpAddr> = match self.node_addr(&slurm, &conn.node).await {
            Some(name) => tokio::net::lookup_host((name.as_str(), conn.port))
                .await
                .map(|found| found.map(|a| a.ip()).collect())
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let ip = match bound {
            Some(ip) if known.is_empty() || known.contains(&ip) => Some(ip),
            _ => known.first().copied(),
        };
        let Some(ip) = ip else {
            self.end(
                &id,
                &format!("failed to start: no address to reach node {}", conn.node),
                "error",
            );
            return;
        };
        let target = SocketAddr::new(ip, conn.port);
        let addr = match ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        let Some(row) = self.store.get_active(&id).ok().flatten() else {
            return;
        };
        let Some(spec) = self
            .machine(&row.machine_id)
            .and_then(|m| m.available.clone().ok())
        else {
            return;
        };
        let rendered = spec.render_at(&addr, conn.port, &row.token);
        if let Some(l) = self.live().get_mut(&id) {
            l.port = conn.port;
        }
        self.probe_until_ready(
            id,
            target,
            rendered.probe_path,
            rendered.url,
            chrono::Duration::minutes(i64::from(STARTUP_MINUTES)),
        )
        .await;
    }

    async fn node_addr(&self, slurm: &Slurm, node: &str) -> Option<String> {
        if let Some(addr) = slurm.seen().addrs.get(node) {
            return Some(addr.clone());
        }
        let lines = slurm.nodes().await.ok()?;
        let mut seen = slurm.seen();
        for line in lines {
            seen.addrs.insert(line.node, line.addr);
        }
        seen.addrs.get(node).cloned()
    }

    async fn ended_by_slurm(self: &Arc<Self>, slurm: &Slurm, row: &SessionRow, job: &Job) {
        let record = slurm.job_record(&job.id).await.ok().flatten();
        let (state, exit) = record.unwrap_or_else(|| (job.state.clone(), String::new()));
        let (reason, level) = why_ended(&job.id, &state, &exit, &job.nodes);
        slurm.seen().over.insert(row.id.clone());
        self.end(&row.id, &reason, level);
    }

    async fn vanished(self: &Arc<Self>, slurm: &Slurm, row: &SessionRow, job_id: &str) {
        let (reason, level) = match slurm.job_record(job_id).await {
            Ok(Some((state, exit))) if super::parse::over(&state) => {
                why_ended(job_id, &state, &exit, "")
            }
            // Still queued or running (the queue was read a moment too early), or Slurm does
            // not answer: the next look decides.
            Ok(Some(_)) | Err(_) => return,
            Ok(None) => (
                format!("ended: Slurm no longer knows job {job_id}"),
                "error",
            ),
        };
        slurm.seen().over.insert(row.id.clone());
        self.end(&row.id, &reason, level);
    }

    /// Jobs of this server that no active session owns (ended while portholed was down, or a
    /// store that lost them) are cancelled: none is left running unowned.
    async fn cancel_orphans(&self, slurm: &Slurm, active: &[SessionRow], jobs: &[Job]) {
        for job in jobs.iter().filter(|j| !j.finished()) {
            let Some(id) = slurm.session_of(&job.comment) else {
                continue;
            };
            if active.iter().any(|r| r.id == id) || self.live().contains_key(id) {
                continue;
            }
            tracing::warn!(session = id, job = %job.id, "cancelling a job no session owns");
            logs::append(
                &self.logs_dir,
                id,
                "info",
                &format!(
                    "Slurm job {} belongs to no running session: cancelled",
                    job.id
                ),
            );
            let _ = slurm.cancel(&job.id).await;
        }
    }
}

/// Why a job ended, in the words the session's history keeps: `(reason, log level)`.
pub(crate) fn why_ended(job: &str, state: &str, exit: &str, node: &str) -> (String, &'static str) {
    let on = if node.is_empty() {
        String::new()
    } else {
        format!(" on {node}")
    };
    let (code, signal) = exit
        .split_once(':')
        .map(|(c, s)| (c.parse::<i32>().unwrap_or(0), s.parse::<i32>().unwrap_or(0)))
        .unwrap_or((0, 0));
    let how = if signal != 0 {
        format!("killed by signal {signal}")
    } else {
        format!("exited with code {code}")
    };
    match state.split_whitespace().next().unwrap_or(state) {
        "TIMEOUT" => (format!("time limit reached (Slurm job {job})"), "info"),
        "NODE_FAIL" => (format!("node failure{on} (Slurm job {job})"), "error"),
        "CANCELLED" => (format!("cancelled in Slurm (job {job})"), "error"),
        "OUT_OF_MEMORY" => (format!("out of memory{on} (Slurm job {job})"), "error"),
        "PREEMPTED" => (format!("preempted by Slurm (job {job})"), "error"),
        "BOOT_FAIL" => (
            format!("the node failed to boot (Slurm job {job})"),
            "error",
        ),
        "DEADLINE" => (format!("reached its Slurm deadline (job {job})"), "error"),
        "COMPLETED" | "FAILED" => (format!("{how} (Slurm job {job}{on})"), "error"),
        other => (format!("ended in Slurm as {other} (job {job})"), "error"),
    }
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_s_end_reads_as_what_happened() {
        assert_eq!(
            why_ended("7", "TIMEOUT", "0:15", "n1").0,
            "time limit reached (Slurm job 7)"
        );
        assert_eq!(
            why_ended("7", "FAILED", "3:0", "n1").0,
            "exited with code 3 (Slurm job 7 on n1)"
        );
        assert_eq!(
            why_ended("7", "FAILED", "0:9", "").0,
            "killed by signal 9 (Slurm job 7)"
        );
        assert_eq!(
            why_ended("7", "NODE_FAIL", "0:0", "n1").0,
            "node failure on n1 (Slurm job 7)"
        );
        assert_eq!(
            why_ended("7", "CANCELLED by 0", "0:15", "").0,
            "cancelled in Slurm (job 7)"
        );
        assert_eq!(
            crate::end_reason::ended_kind("time limit reached (Slurm job 7)"),
            "timeout"
        );
    }

    #[test]
    fn places_in_line_are_ordinals() {
        let said: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101].map(ordinal).to_vec();
        assert_eq!(
            said,
            ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]
        );
    }
}
