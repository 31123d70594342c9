//! Benchmark (not a test; it never fails on time) of portholed's Slurm backend, on the real
//! one-node cluster `make bench-slurm` starts (tests/slurm/cluster.sh):
//!
//! 1. Launch → a URL that answers, for the terminal template on `gpu/fake:1`: POST /session, poll
//!    GET /session/{id} until `url` is set, then GET the URL until it answers 200. Baselines in
//!    the same run: the same terminal started by hand on the same partition and GPU, until its
//!    URL answers, with `srun` (an interactive step: allocated at once) and with `sbatch` (a
//!    batch job, what portholed submits: it waits for the scheduler's next pass).
//! 2. The cost of watching: N sessions (default 100; all but two wait in the queue, the cluster
//!    has two CPUs) watched for a while: Slurm commands per minute, against what querying job by
//!    job would cost (N per look), and portholed's CPU time per minute.
//!
//! `PORTHOLED_BENCH_N` (default 10 launches), `PORTHOLED_BENCH_WATCHED` (default 100) and
//! `PORTHOLED_BENCH_WATCH_SECONDS` (default 30) change the sizes.
#![allow(clippy::unwrap_used)]

#[path = "support/api.rs"]
mod api;
#[path = "support/cpu.rs"]
mod cpu;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use porthole_secrets::Sensitive;
use portholed::{ConfigSource, KeyStorage, Server, ServerConfig};
use serde_json::json;

const KEY: &str = "bench-key";
const EXE: &str = env!("CARGO_BIN_EXE_portholed");
const POLL_SECONDS: f64 = 2.0;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    if std::env::var_os("SLURM_CONF").is_none() {
        eprintln!("bench-slurm: no cluster (SLURM_CONF is not set); run it with make bench-slurm");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(run());
}

async fn run() {
    let n = env_usize("PORTHOLED_BENCH_N", 10);
    let watched = env_usize("PORTHOLED_BENCH_WATCHED", 100);
    let watch_for = Duration::from_secs(env_usize("PORTHOLED_BENCH_WATCH_SECONDS", 30) as u64);
    let dir: PathBuf =
        std::env::temp_dir().join(format!("portholed-bench-slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = ServerConfig::new(&dir);
    config.config = ConfigSource::Inline(format!(
        "nvidia_smi = \"\"\nmax_sessions_per_machine = {}\nbackend = \"slurm\"\n\
         [slurm]\npoll_seconds = {POLL_SECONDS}\n[machines.terminal]\nshell = \"/bin/sh\"\n",
        watched + 10
    ));
    config.key = KeyStorage::Explicit(Sensitive::new(KEY.to_owned()));
    config.helper_exe = Some(PathBuf::from(EXE));
    let server = Server::start(config).await.unwrap();
    let base = server.base_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();

    // 1. Launch to a URL that answers, through portholed, and by hand with srun.
    let mut through = Vec::new();
    for _ in 0..n {
        let t0 = Instant::now();
        let body = json!({"machine_id": "terminal", "gpu": "gpu/fake:1", "timeout": 5});
        let id = api::launch(&http, &base, KEY, &body).await;
        let url = api::wait_url(&http, &base, KEY, &id).await;
        api::answers(&http, &url).await;
        through.push(t0.elapsed());
        http.delete(format!("{base}/session/{id}?wait_for_shutdown=true"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
    }
    let (mut by_srun, mut by_sbatch) = (Vec::new(), Vec::new());
    for i in 0..n {
        by_srun.push(by_hand(&http, "srun", 47000 + i as u16).await);
        by_sbatch.push(by_hand(&http, "sbatch", 47100 + i as u16).await);
    }
    let (through, by_srun, by_sbatch) = (median(through), median(by_srun), median(by_sbatch));
    let ratio = |d: Duration| through.as_secs_f64() / d.as_secs_f64().max(1e-9);
    println!("launch -> url answers (terminal on gpu/fake:1, {n} runs each, sequential):");
    println!(
        "  through portholed: median {}   srun by hand: median {} ({:.2}x)   sbatch by hand: median {} ({:.2}x)",
        ms(through),
        ms(by_srun),
        ratio(by_srun),
        ms(by_sbatch),
        ratio(by_sbatch)
    );

    // 2. The cost of watching N sessions.
    let mut ids = Vec::new();
    let body = json!({"machine_id": "terminal", "gpu": "cpu", "timeout": 30});
    for _ in 0..watched {
        ids.push(api::launch(&http, &base, KEY, &body).await);
    }
    // Settled: every job submitted and seen once.
    tokio::time::sleep(Duration::from_secs_f64(POLL_SECONDS * 2.0)).await;
    let me = std::process::id().to_string();
    let (q0, c0, t0) = (
        server.slurm_queries().unwrap(),
        cpu::cpu_seconds(&me),
        Instant::now(),
    );
    tokio::time::sleep(watch_for).await;
    let (q1, c1, elapsed) = (
        server.slurm_queries().unwrap(),
        cpu::cpu_seconds(&me),
        t0.elapsed(),
    );
    let per_minute = (q1 - q0) as f64 * 60.0 / elapsed.as_secs_f64();
    let looks_per_minute = 60.0 / POLL_SECONDS;
    let job_by_job = looks_per_minute * watched as f64;
    let cpu_per_minute = (c1 - c0) * 60.0 / elapsed.as_secs_f64();
    println!(
        "watching {watched} sessions for {:.0} s (poll every {POLL_SECONDS} s):",
        elapsed.as_secs_f64()
    );
    println!(
        "  Slurm commands: {per_minute:.1} per minute  (job by job would be {job_by_job:.0}: {:.0}x fewer)",
        job_by_job / per_minute.max(1e-9)
    );
    println!(
        "  portholed CPU: {:.0} ms per minute ({:.2} ms per session per minute)",
        cpu_per_minute * 1000.0,
        cpu_per_minute * 1000.0 / watched as f64
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The terminal started by hand on the same partition and GPU, until its URL answers: `srun`
/// (an interactive step, started at once) or `sbatch` (a batch job, as portholed submits).
async fn by_hand(http: &reqwest::Client, how: &str, port: u16) -> Duration {
    let token = "bench-token";
    let terminal =
        format!("{EXE} __portholed-terminal --host 127.0.0.1 --port {port} --shell /bin/sh");
    let t0 = Instant::now();
    let mut cmd = Command::new(how);
    cmd.args([
        "--partition=gpu",
        "--gres=gpu:fake:1",
        "--time=5",
        "--ntasks=1",
    ]);
    match how {
        "srun" => cmd.arg("--quiet").args(terminal.split(' ')),
        _ => cmd.args(["--parsable", "--output=/dev/null", "--wrap", &terminal]),
    };
    let mut child = cmd
        .env("PORTHOLE_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    api::answers(http, &format!("http://127.0.0.1:{port}/?token={token}")).await;
    let took = t0.elapsed();
    if how == "srun" {
        let _ = child.kill();
        let _ = child.wait();
    } else {
        // sbatch printed the job's id and left.
        let out = child.wait_with_output().unwrap();
        let job = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Command::new("scancel").arg(job).status().unwrap();
    }
    // Wait for the GPU to be free again.
    loop {
        let out = Command::new("squeue")
            .args(["--noheader", "-t", "R,CG", "-p", "gpu"])
            .output()
            .unwrap();
        if out.stdout.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    took
}
