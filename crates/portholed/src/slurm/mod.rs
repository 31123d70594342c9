//! The Slurm backend: sessions are batch jobs on a Slurm cluster. Slurm is the engine: portholed
//! submits (`sbatch`), watches (`squeue`, one call for every session), extends
//! (`scontrol update … TimeLimit=+N`), runs `before_end` inside the job (`srun --overlap`) and
//! cancels (`scancel`) real jobs, and reads the cluster's partitions and GPUs (`sinfo`).
//!
//! The command-line tools rather than `slurmrestd`: they are on every login node a user can
//! reach, they act as the user who runs them (slurmrestd refuses to run as root and acts as its
//! own user unless JWT or a socket per user is set up), and their `-o`/`-O` formats have stayed
//! the same across Slurm versions while the REST API's versioned plugins (`v0.0.36`…`v0.0.40`)
//! come and go.
//!
//! On the compute node the job runs `portholed __portholed-slurm-job DIR` (see [`node`]): it
//! picks a free port on the node's address, writes it to DIR, and becomes the template's
//! program. portholed reaches it there from the login node: through its tunnel endpoint for a
//! client elsewhere.

pub mod inventory;
pub mod node;
mod parse;
mod sessions;
mod watch;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use porthole_core::error::Result;
use porthole_core::{Error, ErrorCode};

pub use parse::{duration_secs, Job};

use crate::config::SlurmSettings;

/// The hidden subcommand a session's job runs on its compute node.
pub const JOB_SUBCOMMAND: &str = "__portholed-slurm-job";

/// How long one Slurm command may take before it counts as not answering.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The variables of portholed's environment that Slurm's tools (and so the jobs) get.
const PASSED_ON: [&str; 9] = [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "TZ",
    "SHELL",
    "SLURM_CONF",
];

/// What a job is to run.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub name: String,
    pub comment: String,
    pub partition: String,
    /// `(type, count)`; the type `gpu` asks for any GPU.
    pub gpus: Option<(String, u32)>,
    pub minutes: i64,
    pub script: PathBuf,
    pub output: PathBuf,
    pub workdir: PathBuf,
}

/// portholed's link to the cluster: where the tools are, and the settings every job gets.
pub struct Slurm {
    settings: SlurmSettings,
    /// Jobs of this server carry `portholed:TAG:SESSION` as their comment.
    tag: String,
    pub(crate) shared_dir: PathBuf,
    pub(crate) helper: PathBuf,
    pub(crate) poll: Duration,
    /// Slurm commands run so far (the cost of watching, for the logs and the benchmark).
    queries: AtomicU64,
    pub(crate) seen: std::sync::Mutex<sessions::Seen>,
    /// Makes the watcher look at the queue now (after a launch or an extension).
    pub(crate) wake: tokio::sync::Notify,
}

impl Slurm {
    pub fn new(settings: SlurmSettings, tag: String, shared_dir: PathBuf, helper: PathBuf) -> Self {
        let poll = Duration::from_secs_f64(settings.poll_seconds.unwrap_or(2.0));
        Self {
            settings,
            tag,
            shared_dir,
            helper,
            poll,
            queries: AtomicU64::new(0),
            seen: Default::default(),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// The comment that marks the job of session `id` as this server's.
    pub fn comment(&self, id: &str) -> String {
        format!("portholed:{}:{id}", self.tag)
    }

    /// The session id in a job comment of this server, if it is one.
    pub fn session_of<'a>(&self, comment: &'a str) -> Option<&'a str> {
        comment
            .strip_prefix("portholed:")?
            .strip_prefix(self.tag.as_str())?
            .strip_prefix(':')
    }

    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    pub fn default_partition(&self) -> Option<&str> {
        self.settings.partition.as_deref()
    }

    /// One Slurm tool, counted, with a small known environment: what sbatch and srun pass on
    /// to the job, so never portholed's own; times in seconds since the epoch.
    fn command(&self, name: &str) -> tokio::process::Command {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let program = match &self.settings.bin_dir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        };
        let mut cmd = tokio::process::Command::new(program);
        cmd.env_clear()
            .env("SLURM_TIME_FORMAT", "%s")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        for key in PASSED_ON {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd
    }

    /// Runs one Slurm command: its stdout, or an error with what it printed.
    pub(crate) async fn run(&self, name: &str, args: &[String]) -> Result<String> {
        let mut cmd = self.command(name);
        cmd.args(args);
        let out = match tokio::time::timeout(COMMAND_TIMEOUT, cmd.output()).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => {
                return Err(Error::new(
                    ErrorCode::UpstreamUnavailable,
                    format!("cannot run {name}: {e} (is Slurm installed? see [slurm] bin_dir)"),
                ))
            }
            Err(_) => {
                return Err(Error::new(
                    ErrorCode::UpstreamUnavailable,
                    format!("{name} did not answer within {COMMAND_TIMEOUT:?}"),
                ))
            }
        };
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said.trim();
        let said = said.strip_prefix(&format!("{name}: ")).unwrap_or(said);
        let said = said.strip_prefix("error: ").unwrap_or(said);
        Err(Error::new(
            ErrorCode::UpstreamUnavailable,
            format!("Slurm ({name}): {}", first_line(said)),
        ))
    }

    /// Submits a job; its id.
    pub async fn submit(&self, job: &JobRequest) -> Result<String> {
        let mut args = vec![
            "--parsable".to_owned(),
            format!("--job-name={}", job.name),
            format!("--comment={}", job.comment),
            format!("--partition={}", job.partition),
            format!("--time={}", job.minutes),
            format!("--output={}", job.output.display()),
            "--open-mode=append".to_owned(),
            format!("--chdir={}", job.workdir.display()),
            "--nodes=1".to_owned(),
            "--ntasks=1".to_owned(),
            // A session's state dies with its node: it ends ("node failure"), never restarts
            // from the queue behind a window that thinks it is still there.
            "--no-requeue".to_owned(),
        ];
        if let Some((kind, count)) = &job.gpus {
            args.push(match kind.as_str() {
                "gpu" => format!("--gres=gpu:{count}"),
                kind => format!("--gres=gpu:{kind}:{count}"),
            });
        }
        if let Some(account) = &self.settings.account {
            args.push(format!("--account={account}"));
        }
        if let Some(qos) = &self.settings.qos {
            args.push(format!("--qos={qos}"));
        }
        args.extend(self.settings.sbatch_args.iter().cloned());
        args.push(job.script.display().to_string());
        let out = self.run("sbatch", &args).await?;
        // `--parsable`: "ID" or "ID;CLUSTER".
        let id = out.trim().split(';').next().unwrap_or_default().to_owned();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::new(
                ErrorCode::Internal,
                format!("sbatch answered {:?} instead of a job id", out.trim()),
            ));
        }
        Ok(id)
    }

    /// Every job Slurm lists, finished ones included while it keeps them (`MinJobAge`): one
    /// call, whatever the number of sessions.
    pub async fn jobs(&self) -> Result<Vec<Job>> {
        let out = self
            .run(
                "squeue",
                &[
                    "--noheader".to_owned(),
                    "--states=all".to_owned(),
                    format!("--format={}", parse::SQUEUE_FORMAT),
                ],
            )
            .await?;
        Ok(parse::jobs(&out))
    }

    /// One job's final record: `(state, exit code "N:S")`, when Slurm still has it.
    pub async fn job_record(&self, job: &str) -> Result<Option<(String, String)>> {
        match self
            .run(
                "scontrol",
                &["--oneliner".into(), "show".into(), "job".into(), job.into()],
            )
            .await
        {
            Ok(out) => Ok(parse::state_and_exit(&out)),
            Err(e) if e.message.contains("Invalid job id") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Moves a job's time limit by `minutes`.
    pub async fn raise_limit(&self, job: &str, minutes: i64) -> Result<()> {
        self.run(
            "scontrol",
            &[
                "update".into(),
                format!("JobId={job}"),
                format!("TimeLimit=+{minutes}"),
            ],
        )
        .await
        .map(drop)
    }

    pub async fn cancel(&self, job: &str) -> Result<()> {
        self.run("scancel", &[job.to_owned()]).await.map(drop)
    }

    /// [`Slurm::cancel`] without a runtime (a server dropped without shutdown).
    pub fn cancel_now(&self, job: &str) {
        let program = match &self.settings.bin_dir {
            Some(dir) => dir.join("scancel"),
            None => PathBuf::from("scancel"),
        };
        let _ = std::process::Command::new(program)
            .arg(job)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }

    /// This server's mark on its jobs, kept in its data folder (two servers on one cluster
    /// never touch each other's jobs).
    pub fn tag_for(data_dir: &std::path::Path) -> Result<String> {
        let file = data_dir.join("slurm-tag");
        if let Ok(tag) = std::fs::read_to_string(&file) {
            let tag = tag.trim();
            if !tag.is_empty() {
                return Ok(tag.to_owned());
            }
        }
        let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        porthole_core::paths::write_private(&file, tag.as_bytes())?;
        Ok(tag)
    }

    /// The nodes and partitions, with their GPUs (one line per node and partition).
    pub async fn nodes(&self) -> Result<Vec<inventory::NodeLine>> {
        let out = self
            .run(
                "sinfo",
                &[
                    "--noheader".to_owned(),
                    "--Node".to_owned(),
                    format!("--Format={}", inventory::SINFO_FORMAT),
                ],
            )
            .await?;
        Ok(inventory::node_lines(&out))
    }

    /// Runs `argv` inside job `job` on its node (`srun --overlap`), with `env` added, in `cwd`,
    /// its output appended to `log`, for at most `limit`. How it ended, in words.
    pub async fn run_in_job(
        &self,
        job: &str,
        argv: &[String],
        env: &[(String, String)],
        cwd: &std::path::Path,
        log: &std::path::Path,
        limit: Duration,
    ) -> std::result::Result<String, String> {
        let out = crate::logs::open(log).map_err(|e| format!("cannot open the log: {e}"))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot open the log: {e}"))?;
        let mut cmd = self.command("srun");
        cmd.args([
            format!("--jobid={job}"),
            format!("--chdir={}", cwd.display()),
            "--overlap".to_owned(),
            "--ntasks=1".to_owned(),
            "--quiet".to_owned(),
        ])
        .args(argv)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(out)
        .stderr(err);
        let mut child = cmd.spawn().map_err(|e| format!("cannot run srun: {e}"))?;
        match tokio::time::timeout(limit, child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(crate::end_reason::exited(status)),
            Ok(Ok(status)) => Err(crate::end_reason::exited(status)),
            Ok(Err(e)) => Err(format!("lost: {e}")),
            Err(_) => {
                let _ = child.kill().await;
                Err(format!(
                    "did not finish within {:.0} s",
                    limit.as_secs_f64()
                ))
            }
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
