//! Benchmark (not a test; it never fails on time): `cargo bench -p portholed --bench launch`.
//!
//! 1. Launch → a URL that answers, for the terminal template: POST /session, poll GET
//!    /session/{id} every 5 ms until `url` is set, then GET the URL until it answers 200.
//!    Goal: median ≤ 0.5 s.
//!    Baseline, measured in the same run: the same terminal process started directly (no
//!    portholed, no API), until its URL answers. The ratio is portholed's overhead.
//! 2. 200 concurrent launches (wait_for_server=true), every URL fetched, all stopped: counts
//!    errors and processes left behind (goal: 0 and 0).
//!
//! `PORTHOLED_BENCH_N` (default 30) and `PORTHOLED_BENCH_CONCURRENT` (default 200) change the
//! sizes.
#![allow(clippy::unwrap_used)]

#[path = "support/api.rs"]
mod api;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use porthole_secrets::Sensitive;
use portholed::{ConfigSource, KeyStorage, Server, ServerConfig};
use serde_json::{json, Value};

const KEY: &str = "bench-key";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(run());
}

async fn run() {
    let n = env_usize("PORTHOLED_BENCH_N", 30);
    let concurrent = env_usize("PORTHOLED_BENCH_CONCURRENT", 200);
    let dir: PathBuf = std::env::temp_dir().join(format!("portholed-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = ServerConfig::new(&dir);
    config.config = ConfigSource::Inline(format!(
        "nvidia_smi = \"\"\nmax_sessions_per_machine = {}\n[machines.terminal]\nshell = \"/bin/sh\"\n",
        concurrent + 10
    ));
    config.key = KeyStorage::Explicit(Sensitive::new(KEY.to_owned()));
    config.helper_exe = Some(PathBuf::from(env!("CARGO_BIN_EXE_portholed")));
    let server = Server::start(config).await.unwrap();
    let base = server.base_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(512)
        .build()
        .unwrap();

    // 1. Launch to a URL that answers.
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let id = api::launch(&http, &base, KEY, &json!({"machine_id": "terminal"})).await;
        let url = api::wait_url(&http, &base, KEY, &id).await;
        api::answers(&http, &url).await;
        times.push(t0.elapsed());
        http.delete(format!("{base}/session/{id}?wait_for_shutdown=true"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
    }
    times.sort();
    let median = percentile(&times, 0.5);
    println!("launch -> url answers (terminal, {n} runs, sequential):");
    println!(
        "  median {}  p90 {}  min {}  max {}  goal <= 500 ms: {}",
        ms(median),
        ms(percentile(&times, 0.9)),
        ms(times[0]),
        ms(times[times.len() - 1]),
        if median <= Duration::from_millis(500) {
            "met"
        } else {
            "NOT met"
        }
    );

    // Baseline: the same process, started by hand.
    let mut direct = Vec::with_capacity(n);
    for _ in 0..n {
        direct.push(direct_launch(&http).await);
    }
    direct.sort();
    let baseline = percentile(&direct, 0.5);
    println!(
        "  baseline (the terminal process started directly): median {}  ratio {:.2}x",
        ms(baseline),
        median.as_secs_f64() / baseline.as_secs_f64().max(1e-9)
    );

    // 2. Concurrent launches.
    let t0 = Instant::now();
    let launches = (0..concurrent).map(|_| {
        let http = http.clone();
        let base = base.clone();
        tokio::spawn(async move {
            let r = http
                .post(format!("{base}/session"))
                .bearer_auth(KEY)
                .json(&json!({"machine_id": "terminal", "wait_for_server": true}))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status();
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!("{status}: {v}"));
            }
            let id = v["session_id"].as_str().unwrap_or_default().to_owned();
            let url = v["url"].as_str().unwrap_or_default().to_owned();
            let page = http.get(&url).send().await.map_err(|e| e.to_string())?;
            if !page.status().is_success() {
                return Err(format!("url answered {}", page.status()));
            }
            Ok::<_, String>(id)
        })
    });
    let results = futures_util::future::join_all(launches).await;
    let ready = t0.elapsed();
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(Ok(id)) => ids.push(id),
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let t1 = Instant::now();
    let stops = ids.iter().map(|id| {
        let http = http.clone();
        let url = format!("{base}/session/{id}?wait_for_shutdown=true");
        tokio::spawn(async move {
            http.delete(url)
                .bearer_auth(KEY)
                .send()
                .await
                .map(|r| r.status())
        })
    });
    for r in futures_util::future::join_all(stops).await {
        match r {
            Ok(Ok(s)) if s.is_success() => {}
            other => errors.push(format!("stop: {other:?}")),
        }
    }
    let stopped = t1.elapsed();
    server.shutdown().await;
    let leaked: usize = ids
        .iter()
        .map(|id| portholed::process::tagged_processes(id).len())
        .sum();
    println!("{concurrent} concurrent launches (wait_for_server=true, each url fetched):");
    println!(
        "  all answered in {}  stopped in {}  errors {}  leaked processes {}",
        ms(ready),
        ms(stopped),
        errors.len(),
        leaked
    );
    for e in errors.iter().take(5) {
        println!("  error: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts the terminal helper without portholed and waits until its page answers.
async fn direct_launch(http: &reqwest::Client) -> Duration {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = "direct-baseline-token";
    let t0 = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_portholed"))
        .args(["__portholed-terminal", "--port", &port.to_string()])
        .args(["--shell", "/bin/sh"])
        .env("PORTHOLE_TOKEN", token)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/?token={token}");
    loop {
        if let Ok(r) = http.get(&url).send().await {
            if r.status().is_success() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = t0.elapsed();
    let _ = child.kill().await;
    took
}
