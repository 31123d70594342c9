//! The load: many keep-alive connections of small requests, one bulk download and upload, and
//! WebSocket echo round trips. The same code drives every target; only the address, `Host` and
//! cookie differ.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::upstream::Generated;

/// One place to send the load to.
#[derive(Clone)]
pub struct Target {
    pub name: &'static str,
    pub port: u16,
    pub cookie: Option<String>,
    /// The processes doing the proxying (with their children), for CPU time per request.
    pub pids: Vec<u32>,
}

/// Nanoseconds on CPU so far of `pids`, their threads and their child processes (Linux).
pub fn cpu_ns(pids: &[u32]) -> u64 {
    let mut all: Vec<u32> = pids.to_vec();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let (Some(ppid), Ok(pid)) = (ppid, entry.file_name().to_string_lossy().parse()) {
                if pids.contains(&ppid) {
                    all.push(pid);
                }
            }
        }
    }
    let mut total = 0;
    for pid in all {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let schedstat =
                std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            total += schedstat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

impl Target {
    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn request<B>(&self, method: &str, path: &str, body: B) -> Request<B> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.host());
        if let Some(cookie) = &self.cookie {
            builder = builder.header("cookie", cookie);
        }
        builder.body(body).expect("request")
    }

    async fn connect<B>(&self) -> hyper::client::conn::http1::SendRequest<B>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let tcp = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect");
        let _ = tcp.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        sender
    }
}

pub struct Requests {
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub errors: usize,
    /// CPU time the proxy spent per request (0 for the direct connection).
    pub cpu_per_request: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// `connections` keep-alive connections, each sending `per_connection` `GET /small` in turn.
pub async fn requests(target: &Target, connections: usize, per_connection: usize) -> Requests {
    let started = Instant::now();
    let cpu_before = cpu_ns(&target.pids);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = target.connect::<Empty<Bytes>>().await;
            let mut latencies = Vec::with_capacity(per_connection);
            let mut errors = 0;
            for _ in 0..per_connection {
                let t = Instant::now();
                if sender.ready().await.is_err() {
                    errors += 1;
                    sender = target.connect().await;
                    continue;
                }
                let ok = match sender
                    .send_request(target.request("GET", "/small", Empty::new()))
                    .await
                {
                    Ok(response) => {
                        let ok = response.status() == 200;
                        ok && response.into_body().collect().await.is_ok()
                    }
                    Err(_) => false,
                };
                if ok {
                    latencies.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::with_capacity(connections * per_connection);
    let mut errors = 0;
    for task in tasks {
        let (latencies, e) = task.await.expect("load task");
        all.extend(latencies);
        errors += e;
    }
    let elapsed = started.elapsed();
    let cpu = cpu_ns(&target.pids) - cpu_before;
    all.sort();
    Requests {
        cpu_per_request: Duration::from_nanos(cpu / all.len().max(1) as u64),
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&all, 0.50),
        p99: percentile(&all, 0.99),
        errors,
    }
}

/// MB/s (10^6 bytes) of one `bytes`-long download, read as it arrives.
pub async fn download(target: &Target, bytes: u64) -> f64 {
    let mut sender = target.connect::<Empty<Bytes>>().await;
    let started = Instant::now();
    let path = format!("/download?bytes={bytes}");
    let response = sender
        .send_request(target.request("GET", &path, Empty::new()))
        .await
        .expect("download");
    let mut body = response.into_body();
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("download body").into_data() {
            received += data.len() as u64;
        }
    }
    assert_eq!(received, bytes, "{}: short download", target.name);
    bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
}

/// MB/s of one `bytes`-long upload, generated as it is sent.
pub async fn upload(target: &Target, bytes: u64) -> f64 {
    let mut sender = target.connect::<Generated>().await;
    let started = Instant::now();
    let mut request = target.request("POST", "/upload", Generated::new(bytes));
    request
        .headers_mut()
        .insert("content-length", HeaderValue::from(bytes));
    let response = sender.send_request(request).await.expect("upload");
    let answer = response.into_body().collect().await.expect("upload answer");
    let answer = String::from_utf8_lossy(&answer.to_bytes()).into_owned();
    assert!(
        answer.starts_with(&format!("received {bytes} ")),
        "{}: {answer}",
        target.name
    );
    bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
}

/// Round trips per second of `count` sequential 32-byte echoes on one WebSocket.
pub async fn websocket(target: &Target, count: usize) -> f64 {
    let mut request = format!("ws://127.0.0.1:{}/ws", target.port)
        .into_client_request()
        .expect("ws request");
    if let Some(cookie) = &target.cookie {
        request
            .headers_mut()
            .insert("cookie", HeaderValue::from_str(cookie).expect("cookie"));
    }
    let tcp = TcpStream::connect(("127.0.0.1", target.port))
        .await
        .expect("connect");
    let _ = tcp.set_nodelay(true);
    let (mut ws, _) = tokio_tungstenite::client_async(request, tcp)
        .await
        .expect("ws handshake");
    let message = Message::text("0123456789abcdef0123456789abcdef");
    for _ in 0..50 {
        ws.send(message.clone()).await.expect("ws send");
        ws.next().await.expect("ws open").expect("ws echo");
    }
    let started = Instant::now();
    for _ in 0..count {
        ws.send(message.clone()).await.expect("ws send");
        let echo = ws.next().await.expect("ws open").expect("ws echo");
        assert_eq!(echo, message);
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    let _ = ws.close(None).await;
    rate
}
