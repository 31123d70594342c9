//! Benchmark (not a test; it never fails on time): `make bench-tunnel`, or
//! `cargo bench -p portholed --bench tunnel` as root (it makes a network namespace).
//!
//! portholed serves in a network namespace (a second machine joined by a veth pair), with a
//! session whose process is a small byte server on the namespace's loopback. The same server
//! also listens on the namespace's veth address. Measured from this side, in the same run:
//!
//! 1. Bulk: `PORTHOLED_BENCH_MB` (default 256) MiB read, through the TLS tunnel and directly
//!    (plain TCP to the veth address): MB/s, median of 3, and the ratio.
//! 2. Round trips: 2000 × 64 bytes out and back (what a keystroke and its echo cost a
//!    WebSocket), through the tunnel and directly: median and p99, and the ratio.
//! 3. CPU per MB moved through the tunnel: portholed's (TLS and the splice) and this client's
//!    (TLS), against this client's on the direct path.
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/netns.rs"]
mod netns;

#[path = "support/cpu.rs"]
mod cpu;
use cpu::cpu_seconds;

use std::path::Path;
use std::time::{Duration, Instant};

use netns::Namespace;
use porthole_local::tunnel::Tunnel;
use porthole_secrets::Sensitive;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const EXE: &str = env!("CARGO_BIN_EXE_portholed");
const DIRECT_PORT: u16 = 9100;

/// `SEND n` answers n bytes; `ECHO` echoes until the client closes; a `GET` (portholed's
/// readiness probe) gets an empty 200.
const SERVER: &str = r#"
import socket, sys, threading
def handle(c):
    f = c.makefile("rb")
    line = f.readline()
    if line.startswith(b"SEND "):
        n, buf = int(line[5:]), b"\0" * 65536
        while n > 0:
            k = min(n, len(buf)); c.sendall(buf[:k]); n -= k
    elif line.startswith(b"ECHO"):
        while True:
            d = f.read1(65536)
            if not d: break
            c.sendall(d)
    elif line.startswith(b"GET"):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[2], int(sys.argv[1]))); s.listen(64)
while True:
    c, _ = s.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=handle, args=(c,), daemon=True).start()
"#;

async fn bulk<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, bytes: u64) -> Duration {
    let started = Instant::now();
    s.write_all(format!("SEND {bytes}\n").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    while got < bytes {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "cut off at {got} of {bytes}");
        got += n as u64;
    }
    started.elapsed()
}

async fn round_trips<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, n: usize) -> Vec<Duration> {
    s.write_all(b"ECHO\n").await.unwrap();
    let (msg, mut back) = ([7u8; 64], [0u8; 64]);
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        s.write_all(&msg).await.unwrap();
        s.read_exact(&mut back).await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    times
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    if !Namespace::available() {
        return;
    }
    let mb: u64 = std::env::var("PORTHOLED_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let bytes = mb * 1024 * 1024;
    let mut ns = Namespace::create("bench", 9);
    let dir = std::env::temp_dir().join(format!("portholed-bench-tunnel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("server.py");
    std::fs::write(&script, SERVER).unwrap();
    let script = script.to_str().unwrap().to_owned();
    let toml = format!(
        "nvidia_smi = \"\"\n[machines.bytes]\ncommand = [\"python3\", \"{script}\", \"{{port}}\", \
         \"127.0.0.1\"]\n"
    );
    let served = ns.portholed(EXE, &dir.join("server"), &toml);
    let there = ns.there.clone();
    ns.spawn(
        Path::new("python3"),
        &[&script, &DIRECT_PORT.to_string(), &there],
    );

    // The session, launched as a client from here does.
    let launched = served.launch("bytes").await;
    let session = launched["session_id"]
        .as_str()
        .expect("a session")
        .to_owned();
    let tunnel = Tunnel::new(
        &served.base,
        served.fingerprint,
        Sensitive::new(served.key.clone()),
    )
    .unwrap();
    let direct = || async {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::net::TcpStream::connect((there.as_str(), DIRECT_PORT)).await {
                Ok(s) => {
                    s.set_nodelay(true).unwrap();
                    return s;
                }
                Err(e) if Instant::now() > deadline => panic!("the direct server: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    let through = || async { tunnel.open(&session, Duration::from_secs(5)).await.unwrap() };
    let pid = served.pid.to_string();

    // Warm both paths once.
    bulk(direct().await, 8 << 20).await;
    bulk(through().await, 8 << 20).await;

    let (mut direct_rates, mut tunnel_rates) = (Vec::new(), Vec::new());
    let (mut direct_client_cpu, mut tunnel_client_cpu, mut server_cpu) = (0.0, 0.0, 0.0);
    for _ in 0..3 {
        let cpu = cpu_seconds("self");
        let took = bulk(direct().await, bytes).await;
        direct_client_cpu += cpu_seconds("self") - cpu;
        direct_rates.push(mb as f64 / took.as_secs_f64());
        let (cpu, server) = (cpu_seconds("self"), cpu_seconds(&pid));
        let took = bulk(through().await, bytes).await;
        tunnel_client_cpu += cpu_seconds("self") - cpu;
        server_cpu += cpu_seconds(&pid) - server;
        tunnel_rates.push(mb as f64 / took.as_secs_f64());
    }
    let moved = 3.0 * mb as f64;
    let (d, t) = (median(direct_rates), median(tunnel_rates));
    println!("bulk, {mb} MiB, median of 3:");
    println!("  direct (plain TCP over the veth)  {d:8.1} MB/s");
    println!(
        "  through the TLS tunnel            {t:8.1} MB/s   ({:.2}x direct)",
        t / d
    );

    let n = 2000;
    let direct_rtt = round_trips(direct().await, n).await;
    let tunnel_rtt = round_trips(through().await, n).await;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("round trips, {n} x 64 bytes:");
    println!(
        "  direct                median {:7.1} us   p99 {:7.1} us",
        us(pct(&direct_rtt, 0.5)),
        us(pct(&direct_rtt, 0.99))
    );
    println!(
        "  through the tunnel    median {:7.1} us   p99 {:7.1} us   ({:.2}x direct, median)",
        us(pct(&tunnel_rtt, 0.5)),
        us(pct(&tunnel_rtt, 0.99)),
        pct(&tunnel_rtt, 0.5).as_secs_f64() / pct(&direct_rtt, 0.5).as_secs_f64()
    );
    println!("CPU per MB moved ({moved:.0} MiB each way):");
    println!(
        "  portholed (TLS + splice)          {:7.2} ms/MB",
        server_cpu * 1000.0 / moved
    );
    println!(
        "  client through the tunnel (TLS)   {:7.2} ms/MB",
        tunnel_client_cpu * 1000.0 / moved
    );
    println!(
        "  client direct (baseline)          {:7.2} ms/MB",
        direct_client_cpu * 1000.0 / moved
    );
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}
