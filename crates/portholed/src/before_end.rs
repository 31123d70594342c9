//! A template's `before_end` step ("save before it ends"): when a session's deadline comes or a
//! stop is asked, the step runs in the session's environment and folder, its output in the
//! session's log, for at most its grace period; then the session is stopped. The log says that
//! it ran and how it ended, which the session's history (S10) shows.
//!
//! It runs in a process group of its own, tagged with the session's id like the session's
//! processes, so whatever it leaves behind is stopped with the session.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::machines::{BeforeEnd, LaunchSpec};
use crate::{logs, process};

/// What a session's step needs to run: the template's step, and the session's environment.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub spec: LaunchSpec,
    pub extra_env: Vec<(&'static str, String)>,
    pub grace: Duration,
}

impl Step {
    /// The template's step in the environment a session was started with.
    pub(crate) fn new(
        step: &BeforeEnd,
        session: &LaunchSpec,
        extra_env: Vec<(&'static str, String)>,
    ) -> Self {
        Self {
            spec: LaunchSpec {
                program: step.program.clone(),
                args: step.args.clone(),
                env: session.env.clone(),
                cwd: session.cwd.clone(),
                url: String::new(),
                probe_path: String::new(),
            },
            extra_env,
            grace: step.grace,
        }
    }
}

/// Whether an end for this reason runs the step: the deadline, or a stop (not a session whose
/// process already exited or never started).
pub(crate) fn runs_for(reason: &str) -> bool {
    matches!(crate::end_reason::ended_kind(reason), "timeout" | "stopped")
        && !reason.starts_with("Reached timeout period")
}

/// Runs the step for session `id`, waiting for it at most its grace period; says how it went
/// in the session's log.
pub(crate) async fn run(logs_dir: &Path, id: &str, step: &Step) {
    let log: PathBuf = logs::path(logs_dir, id);
    let grace = step.grace.as_secs_f64();
    logs::append(
        logs_dir,
        id,
        "info",
        &format!("Running before_end (up to {grace:.0} s) before the session stops..."),
    );
    let extra: Vec<(&str, String)> = step
        .extra_env
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    let mut child = match process::spawn(&step.spec, &extra, &log) {
        Ok(child) => child,
        Err(e) => {
            logs::append(
                logs_dir,
                id,
                "error",
                &format!("before_end could not start: {}", e.message),
            );
            return;
        }
    };
    let started = Instant::now();
    let pgid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    let outcome = match tokio::time::timeout(step.grace, child.wait()).await {
        Ok(Ok(status)) => (
            if status.success() { "info" } else { "error" },
            format!(
                "before_end finished in {:.1} s: {}",
                started.elapsed().as_secs_f64(),
                crate::end_reason::exited(status)
            ),
        ),
        Ok(Err(e)) => ("error", format!("before_end was lost: {e}")),
        Err(_) => {
            process::terminate_group(pgid, Duration::from_secs(2)).await;
            let _ = child.wait().await;
            (
                "error",
                format!("before_end did not finish within {grace:.0} s and was stopped"),
            )
        }
    };
    logs::append(logs_dir, id, outcome.0, &outcome.1);
}
