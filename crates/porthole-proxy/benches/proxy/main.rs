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
//! A second, identical nginx runs as a control: its ratio to the first shows how far noise alone
//! moves a ratio between two proxies that are the same.
//!
//! Each figure is its median over the rounds. Each ratio is measured once per round (the two
//! targets of a round ran seconds apart, so a noisy moment on the machine moves both) and printed
//! as the median of those, with the lowest and highest; a goal is judged on that median.
//!
//! Sizes: `PORTHOLE_BENCH_CONNECTIONS` (16), `PORTHOLE_BENCH_REQUESTS` per connection (2000),
//! `PORTHOLE_BENCH_BULK_MB` (200), `PORTHOLE_BENCH_WS` round trips (2000), `PORTHOLE_BENCH_ROUNDS`
//! (11). `PORTHOLE_BENCH_WORKERS`: threads of each proxy, nginx's
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

/// One target's figures: of one round, or the median of every round's (each figure on its own).
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

/// The middle value (of an even count, the upper of the two middle ones).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

impl Figures {
    /// Each figure's median over `rounds` (errors: their sum).
    fn median_of(rounds: &[Figures]) -> Figures {
        let of = |pick: fn(&Figures) -> f64| median(rounds.iter().map(pick).collect());
        let secs = |pick: fn(&Figures) -> f64| Duration::from_secs_f64(of(pick));
        Figures {
            rps: of(|f| f.rps),
            p50: secs(|f| f.p50.as_secs_f64()),
            p99: secs(|f| f.p99.as_secs_f64()),
            errors: rounds.iter().map(|f| f.errors).sum(),
            cpu: secs(|f| f.cpu.as_secs_f64()),
            download: of(|f| f.download),
            upload: of(|f| f.upload),
            ws: of(|f| f.ws),
        }
    }
}

/// The spread of a ratio measured once per round: the two targets of a round ran seconds apart,
/// so a noisy moment on the machine moves both.
#[derive(Clone, Copy)]
struct Spread {
    min: f64,
    median: f64,
    max: f64,
}

impl Spread {
    fn of(a: &[Figures], b: &[Figures], pick: fn(&Figures) -> f64) -> Spread {
        let mut ratios: Vec<f64> = a.iter().zip(b).map(|(a, b)| pick(a) / pick(b)).collect();
        ratios.sort_by(f64::total_cmp);
        Spread {
            min: ratios[0],
            median: ratios[ratios.len() / 2],
            max: ratios[ratios.len() - 1],
        }
    }

    fn show(&self) -> String {
        if self.min == self.max {
            return format!("{:.2}x", self.median);
        }
        format!("{:.2}x ({:.2}–{:.2})", self.median, self.min, self.max)
    }
}

fn run() {
    let connections = env_usize("PORTHOLE_BENCH_CONNECTIONS", 16);
    let per_connection = env_usize("PORTHOLE_BENCH_REQUESTS", 2000);
    let bulk = env_usize("PORTHOLE_BENCH_BULK_MB", 200) as u64 * 1_000_000;
    let round_trips = env_usize("PORTHOLE_BENCH_WS", 2000);
    let rounds = env_usize("PORTHOLE_BENCH_ROUNDS", 11).max(1);

    let upstream = Role::start(&[UPSTREAM_ROLE]);
    let up_port = upstream.port().to_string();
    let relay = Role::start(&[RELAY_ROLE, &up_port]);
    let proxy = Role::start(&[PROXY_ROLE, &up_port]);
    let nginx = match nginx::Nginx::start(upstream.port(), proxy_workers(), "main") {
        Ok(nginx) => Some(nginx),
        Err(why) => {
            println!("nginx column skipped: {why}");
            None
        }
    };
    // The control: a second, identical nginx. Its ratio to the first is what noise alone does to
    // a ratio between two proxies that are the same.
    let control = nginx.as_ref().and_then(|_| {
        nginx::Nginx::start(upstream.port(), proxy_workers(), "control")
            .map_err(|why| println!("control skipped: {why}"))
            .ok()
    });

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
        for (name, nginx) in [("nginx", &nginx), ("control", &control)] {
            if let Some(nginx) = nginx {
                targets.push(Target {
                    name,
                    port: nginx.port,
                    cookie: None,
                    pids: vec![nginx.child.id()],
                });
            }
        }
        targets.push(Target {
            name: "porthole",
            port: proxy.port(),
            cookie: Some(cookie),
            pids: vec![proxy.child.id()],
        });

        for t in &targets {
            load::requests(t, connections, per_connection / 10 + 1).await; // warm-up
        }
        // Rounds interleave the targets, so a noisy moment on the VM hits all of them, and each
        // round starts with the next target, so none always runs first or last.
        let mut runs: Vec<Vec<Figures>> = targets.iter().map(|_| Vec::new()).collect();
        for round in 0..rounds {
            for k in 0..targets.len() {
                let i = (round + k) % targets.len();
                let t = &targets[i];
                let requests = load::requests(t, connections, per_connection).await;
                runs[i].push(Figures {
                    rps: requests.per_second,
                    p50: requests.p50,
                    p99: requests.p99,
                    errors: requests.errors,
                    cpu: requests.cpu_per_request,
                    download: load::download(t, bulk).await,
                    upload: load::upload(t, bulk).await,
                    ws: load::websocket(t, round_trips).await,
                });
            }
        }
        targets
            .iter()
            .map(|t| t.name)
            .zip(runs)
            .collect::<Vec<(&'static str, Vec<Figures>)>>()
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

/// A goal, judged on the median of the per-round ratios.
#[derive(Clone, Copy)]
enum Goal {
    None,
    AtLeastNginx,
    AtMostNginx,
    /// At least this share of direct.
    OfDirect(f64),
}

impl Goal {
    fn show(self) -> String {
        match self {
            Goal::None => "-".into(),
            Goal::AtLeastNginx => "≥ nginx".into(),
            Goal::AtMostNginx => "≤ nginx".into(),
            Goal::OfDirect(share) => format!("≥ {:.0} % of direct", share * 100.0),
        }
    }

    /// Given porthole / direct and porthole / nginx; `None` where there is no goal or no nginx.
    fn met(self, of_direct: Spread, of_nginx: Option<Spread>) -> Option<bool> {
        match self {
            Goal::None => None,
            Goal::AtLeastNginx => of_nginx.map(|r| r.median >= 1.0),
            Goal::AtMostNginx => of_nginx.map(|r| r.median <= 1.0),
            Goal::OfDirect(share) => Some(of_direct.median >= share),
        }
    }
}

/// One row of the table: how to read the figure, how to print it, and its goal.
struct Row {
    label: &'static str,
    pick: fn(&Figures) -> f64,
    show: fn(f64) -> String,
    goal: Goal,
}

fn rows() -> Vec<Row> {
    let count = |v: f64| format!("{v:.0}");
    let row = |label, pick, show, goal| Row {
        label,
        pick,
        show,
        goal,
    };
    vec![
        row("requests/s", |f| f.rps, count, Goal::AtLeastNginx),
        row("p50 latency", |f| f.p50.as_secs_f64(), ms, Goal::None),
        row(
            "p99 latency",
            |f| f.p99.as_secs_f64(),
            ms,
            Goal::AtMostNginx,
        ),
        row(
            "bulk download MB/s",
            |f| f.download,
            count,
            Goal::OfDirect(0.95),
        ),
        row(
            "bulk upload MB/s",
            |f| f.upload,
            count,
            Goal::OfDirect(0.95),
        ),
        row(
            "WebSocket round trips/s",
            |f| f.ws,
            count,
            Goal::OfDirect(0.90),
        ),
    ]
}

fn print_table(
    runs: &[(&'static str, Vec<Figures>)],
    nginx_version: Option<&str>,
    connections: usize,
    per_connection: usize,
    bulk: u64,
    round_trips: usize,
    rounds: usize,
) {
    let get = |name: &str| {
        runs.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, rounds)| rounds.as_slice())
    };
    let direct = get("direct").unwrap();
    let relay = get("relay").unwrap();
    let porthole = get("porthole").unwrap();
    let nginx = get("nginx");
    let (direct_m, relay_m, porthole_m) = (
        Figures::median_of(direct),
        Figures::median_of(relay),
        Figures::median_of(porthole),
    );
    let nginx_m = nginx.map(Figures::median_of);
    println!();
    println!(
        "Tunnel proxy benchmark: {} CPUs, {} threads per proxy; {connections} connections x {per_connection} GET /small; \
         bulk {} MB each way; {round_trips} WebSocket round trips; {rounds} rounds; {}",
        threads(),
        proxy_workers(),
        bulk / 1_000_000,
        nginx_version.unwrap_or("no nginx"),
    );
    println!(
        "Figures: the median of the rounds. Ratios: the median of the per-round ratios (lowest–highest). \
         A goal is met when that median meets it."
    );
    println!();
    println!(
        "| metric | direct | relay | nginx | porthole | relay / direct | porthole / direct \
         | porthole / relay | porthole / nginx | goal | met |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows() {
        let spread = |a, b| Spread::of(a, b, row.pick);
        let of_direct = spread(porthole, direct);
        let of_nginx = nginx.map(|n| spread(porthole, n));
        let met = match row.goal.met(of_direct, of_nginx) {
            Some(true) => "yes",
            Some(false) => "no",
            None if matches!(row.goal, Goal::None) => "-",
            None => "n/a",
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {met} |",
            row.label,
            (row.show)((row.pick)(&direct_m)),
            (row.show)((row.pick)(&relay_m)),
            nginx_m
                .as_ref()
                .map(|f| (row.show)((row.pick)(f)))
                .unwrap_or("-".into()),
            (row.show)((row.pick)(&porthole_m)),
            spread(relay, direct).show(),
            of_direct.show(),
            spread(porthole, relay).show(),
            of_nginx.map(|r| r.show()).unwrap_or("-".into()),
            row.goal.show(),
        );
    }
    let cpu = |f: &Figures| f.cpu.as_secs_f64();
    let us = |f: &Figures| format!("{:.1} µs", cpu(f) * 1e6);
    println!(
        "| proxy CPU per request | - | {} | {} | {} | - | - | {} | {} | - | - |",
        us(&relay_m),
        nginx_m.as_ref().map(us).unwrap_or("-".into()),
        us(&porthole_m),
        Spread::of(porthole, relay, cpu).show(),
        nginx
            .map(|n| Spread::of(porthole, n, cpu).show())
            .unwrap_or("-".into()),
    );
    if let (Some(control), Some(nginx)) = (get("control"), nginx) {
        let spread = |pick| Spread::of(control, nginx, pick).show();
        println!();
        println!(
            "Control (a second, identical nginx / nginx, per round: how far noise alone moves a ratio): \
             requests/s {}, p99 {}, CPU per request {}",
            spread(|f| f.rps),
            spread(|f| f.p99.as_secs_f64()),
            spread(cpu),
        );
    }
    let errors: Vec<String> = runs
        .iter()
        .map(|(name, rounds)| format!("{name} {}", Figures::median_of(rounds).errors))
        .collect();
    println!();
    println!("request errors: {}", errors.join(", "));
}
