//! Benchmark (not a test; it never fails on time): `make bench-proxy`, or
//! `cargo bench -p porthole-proxy --bench proxy`.
//!
//! One run puts the same load on one upstream four ways: directly, through a bare relay that copies
//! bytes without reading them (`relay.rs`: the floor under any proxy on this machine), through
//! nginx (the Debian package, configured here as a streaming reverse proxy with upstream
//! keep-alive) and through Porthole's proxy (after its handshake, with its cookie). The upstream,
//! each proxy and the load generator are separate processes. Reported: requests/s, p50 and p99 latency of small requests
//! over keep-alive connections, bulk download and upload MB/s, WebSocket echo round trips/s, and
//! the ratios. Goals: requests/s ≥ nginx's, p99 ≤ nginx's, bulk ≥ 95 % of direct, WebSocket ≥ 90 %
//! of direct; the relay's own ratios show how much of direct any proxy can reach here. If nginx is
//! missing its column is skipped.
//!
//! Sizes: `PORTHOLE_BENCH_CONNECTIONS` (16), `PORTHOLE_BENCH_REQUESTS` per connection (2000),
//! `PORTHOLE_BENCH_BULK_MB` (200), `PORTHOLE_BENCH_WS` round trips (2000), `PORTHOLE_BENCH_ROUNDS`
//! (5; the median round is reported). `PORTHOLE_BENCH_WORKERS`: threads of each proxy, nginx's
//! `worker_processes` and Porthole's `workers` alike (by default Porthole's own default, 2 where
//! there are 2 CPUs or more), so the two proxies always get the same share of the machine.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/common/upstream.rs"]
mod upstream;

mod load;
mod nginx;
mod relay;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use load::Target;
use porthole_proxy::{Proxy, ProxyConfig};

const UPSTREAM_ROLE: &str = "__porthole-bench-upstream";
const PROXY_ROLE: &str = "__porthole-bench-proxy";
const RELAY_ROLE: &str = "__porthole-bench-relay";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// Threads of each proxy under test (both get the same number).
fn proxy_workers() -> usize {
    let default = ProxyConfig::new(url::Url::parse("http://127.0.0.1/").unwrap(), "bench").workers;
    env_usize("PORTHOLE_BENCH_WORKERS", default).clamp(1, porthole_proxy::MAX_WORKERS)
}

fn runtime(threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap()
}

/// A child role: exits when its stdin closes, so it never outlives the benchmark.
fn serve_until_stdin_closes<F: std::future::Future<Output = String>>(threads: usize, start: F) {
    let rt = runtime(threads);
    rt.block_on(async {
        let line = start.await;
        println!("READY {line}");
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await;
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some(UPSTREAM_ROLE) => serve_until_stdin_closes(threads(), async {
            let up = upstream::Upstream::start().await;
            let port = up.port();
            std::mem::forget(up); // serves until the process exits
            port.to_string()
        }),
        Some(RELAY_ROLE) => serve_until_stdin_closes(proxy_workers(), async {
            relay::start(args[2].parse().unwrap()).await.to_string()
        }),
        Some(PROXY_ROLE) => serve_until_stdin_closes(threads(), async {
            let url = url::Url::parse(&format!("http://127.0.0.1:{}/", args[2])).unwrap();
            let mut config = ProxyConfig::new(url, "bench");
            config.workers = proxy_workers();
            let proxy = Proxy::start(config).await.unwrap();
            let line = format!(
                "{} {}",
                proxy.port(),
                proxy.new_entry_url().unwrap().expose()
            );
            std::mem::forget(proxy);
            line
        }),
        _ => run(),
    }
}

/// A role running in a child process of this executable.
struct Role {
    child: Child,
    words: Vec<String>,
}

impl Role {
    fn start(args: &[&str]) -> Role {
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let words: Vec<String> = line
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("{args:?} did not start: {line:?}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        Role { child, words }
    }

    fn port(&self) -> u16 {
        self.words[0].parse().unwrap()
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Follows the proxy's entry URL and returns its cookie.
async fn handshake(port: u16, entry: &str) -> String {
    let path = entry.split_once(&format!(":{port}")).unwrap().1;
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let request = http::Request::get(path)
        .header("host", format!("127.0.0.1:{port}"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

#[derive(Default, Clone)]
struct Figures {
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
    cpu: Duration,
    download: f64,
    upload: f64,
    ws: f64,
}

fn median_by<T: Clone>(mut runs: Vec<T>, key: impl Fn(&T) -> f64) -> T {
    runs.sort_by(|a, b| key(a).total_cmp(&key(b)));
    runs[runs.len() / 2].clone()
}

fn run() {
    let connections = env_usize("PORTHOLE_BENCH_CONNECTIONS", 16);
    let per_connection = env_usize("PORTHOLE_BENCH_REQUESTS", 2000);
    let bulk = env_usize("PORTHOLE_BENCH_BULK_MB", 200) as u64 * 1_000_000;
    let round_trips = env_usize("PORTHOLE_BENCH_WS", 2000);
    let rounds = env_usize("PORTHOLE_BENCH_ROUNDS", 5).max(1);

    let upstream = Role::start(&[UPSTREAM_ROLE]);
    let up_port = upstream.port().to_string();
    let relay = Role::start(&[RELAY_ROLE, &up_port]);
    let proxy = Role::start(&[PROXY_ROLE, &up_port]);
    let nginx = match nginx::Nginx::start(upstream.port(), proxy_workers()) {
        Ok(nginx) => Some(nginx),
        Err(why) => {
            println!("nginx column skipped: {why}");
            None
        }
    };

    let rt = runtime(threads());
    let figures = rt.block_on(async {
        let cookie = handshake(proxy.port(), &proxy.words[1]).await;
        let mut targets = vec![Target {
            name: "direct",
            port: upstream.port(),
            cookie: None,
            pids: Vec::new(),
        }];
        targets.push(Target {
            name: "relay",
            port: relay.port(),
            cookie: None,
            pids: vec![relay.child.id()],
        });
        if let Some(nginx) = &nginx {
            targets.push(Target {
                name: "nginx",
                port: nginx.port,
                cookie: None,
                pids: vec![nginx.child.id()],
            });
        }
        targets.push(Target {
            name: "porthole",
            port: proxy.port(),
            cookie: Some(cookie),
            pids: vec![proxy.child.id()],
        });

        let mut results: Vec<(&'static str, Figures)> = Vec::new();
        let mut request_runs: Vec<Vec<load::Requests>> =
            targets.iter().map(|_| Vec::new()).collect();
        let mut down_runs: Vec<Vec<f64>> = targets.iter().map(|_| Vec::new()).collect();
        let mut up_runs: Vec<Vec<f64>> = targets.iter().map(|_| Vec::new()).collect();
        let mut ws_runs: Vec<Vec<f64>> = targets.iter().map(|_| Vec::new()).collect();
        for t in &targets {
            load::requests(t, connections, per_connection / 10 + 1).await; // warm-up
        }
        // Rounds interleave the targets, so a noisy moment on the VM hits all of them.
        for _ in 0..rounds {
            for (i, t) in targets.iter().enumerate() {
                request_runs[i].push(load::requests(t, connections, per_connection).await);
                down_runs[i].push(load::download(t, bulk).await);
                up_runs[i].push(load::upload(t, bulk).await);
                ws_runs[i].push(load::websocket(t, round_trips).await);
            }
        }
        for (i, t) in targets.iter().enumerate() {
            let runs: Vec<(f64, Duration, Duration, usize, Duration)> = request_runs[i]
                .iter()
                .map(|r| (r.per_second, r.p50, r.p99, r.errors, r.cpu_per_request))
                .collect();
            let (rps, p50, p99, errors, cpu) = median_by(runs, |r| r.0);
            results.push((
                t.name,
                Figures {
                    rps,
                    p50,
                    p99,
                    errors,
                    cpu,
                    download: median_by(down_runs[i].clone(), |x| *x),
                    upload: median_by(up_runs[i].clone(), |x| *x),
                    ws: median_by(ws_runs[i].clone(), |x| *x),
                },
            ));
        }
        results
    });

    print_table(
        &figures,
        nginx.as_ref().map(|n| n.version.as_str()),
        connections,
        per_connection,
        bulk,
        round_trips,
        rounds,
    );
}

fn ms(seconds: f64) -> String {
    format!("{:.3} ms", seconds * 1000.0)
}

/// One row of the table: how to read the figure, how to print it, the goal and whether it is met.
struct Row {
    label: &'static str,
    pick: fn(&Figures) -> f64,
    show: fn(f64) -> String,
    goal: &'static str,
    /// Given (porthole, direct, nginx): met or not; `None` where there is no goal or no nginx.
    met: fn(f64, f64, Option<f64>) -> Option<bool>,
}

fn rows() -> Vec<Row> {
    let count = |v: f64| format!("{v:.0}");
    let bulk_goal = |p: f64, d: f64, _| Some(p >= 0.95 * d);
    vec![
        Row {
            label: "requests/s",
            pick: |f| f.rps,
            show: count,
            goal: "≥ nginx",
            met: |p, _, n| n.map(|n| p >= n),
        },
        Row {
            label: "p50 latency",
            pick: |f| f.p50.as_secs_f64(),
            show: ms,
            goal: "-",
            met: |_, _, _| None,
        },
        Row {
            label: "p99 latency",
            pick: |f| f.p99.as_secs_f64(),
            show: ms,
            goal: "≤ nginx",
            met: |p, _, n| n.map(|n| p <= n),
        },
        Row {
            label: "bulk download MB/s",
            pick: |f| f.download,
            show: count,
            goal: "≥ 95 % of direct",
            met: bulk_goal,
        },
        Row {
            label: "bulk upload MB/s",
            pick: |f| f.upload,
            show: count,
            goal: "≥ 95 % of direct",
            met: bulk_goal,
        },
        Row {
            label: "WebSocket round trips/s",
            pick: |f| f.ws,
            show: count,
            goal: "≥ 90 % of direct",
            met: |p, d, _| Some(p >= 0.90 * d),
        },
    ]
}

fn print_table(
    figures: &[(&'static str, Figures)],
    nginx_version: Option<&str>,
    connections: usize,
    per_connection: usize,
    bulk: u64,
    round_trips: usize,
    rounds: usize,
) {
    let get = |name: &str| {
        figures
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f.clone())
    };
    let direct = get("direct").unwrap();
    let relay = get("relay").unwrap();
    let porthole = get("porthole").unwrap();
    let nginx = get("nginx");
    println!();
    println!(
        "Tunnel proxy benchmark: {} CPUs, {} threads per proxy; {connections} connections x {per_connection} GET /small; \
         bulk {} MB each way; {round_trips} WebSocket round trips; median of {rounds} rounds; {}",
        threads(),
        proxy_workers(),
        bulk / 1_000_000,
        nginx_version.unwrap_or("no nginx"),
    );
    println!();
    println!(
        "| metric | direct | relay | nginx | porthole | relay / direct | porthole / direct \
         | porthole / relay | porthole / nginx | goal | met |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let ratio = |a: f64, b: f64| format!("{:.2}x", a / b);
    for row in rows() {
        let (d, r, p) = (
            (row.pick)(&direct),
            (row.pick)(&relay),
            (row.pick)(&porthole),
        );
        let n = nginx.as_ref().map(|f| (row.pick)(f));
        let met = match (row.met)(p, d, n) {
            Some(true) => "yes",
            Some(false) => "no",
            None if row.goal == "-" => "-",
            None => "n/a",
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {met} |",
            row.label,
            (row.show)(d),
            (row.show)(r),
            n.map(row.show).unwrap_or("-".into()),
            (row.show)(p),
            ratio(r, d),
            ratio(p, d),
            ratio(p, r),
            n.map(|n| ratio(p, n)).unwrap_or("-".into()),
            row.goal,
        );
    }
    let cpu = |f: &Figures| f.cpu.as_secs_f64();
    let us = |f: &Figures| format!("{:.1} µs", cpu(f) * 1e6);
    println!(
        "| proxy CPU per request | - | {} | {} | {} | - | - | {} | {} | - | - |",
        us(&relay),
        nginx.as_ref().map(us).unwrap_or("-".into()),
        us(&porthole),
        ratio(cpu(&porthole), cpu(&relay)),
        nginx
            .as_ref()
            .map(|f| ratio(cpu(&porthole), cpu(f)))
            .unwrap_or("-".into()),
    );
    let errors: Vec<String> = figures
        .iter()
        .map(|(name, f)| format!("{name} {}", f.errors))
        .collect();
    println!();
    println!("request errors: {}", errors.join(", "));
}
