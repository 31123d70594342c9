//! The attack set every listener we own is tested against, in one place (feature `attack-set`,
//! for tests only): the session proxies, portholed's terminal and token front, and portholed's
//! API. Each check sends what an attacker would on raw sockets, and first sends the same request
//! as the legitimate client would, so a check fails when the listener refuses everyone as well as
//! when it lets the attacker in.
//!
//! - wrong `Host`: another name (DNS rebinding), another port, none, two;
//! - foreign, `null` or same-site `Origin` with a valid credential, on a request and on a
//!   WebSocket upgrade;
//! - a missing or forged credential (cookie or token);
//! - request smuggling (`Content-Length` with `Transfer-Encoding`);
//! - a client that never finishes its headers (closed within the header timeout);
//! - a flood of connections that never authenticate (past the cap the oldest is closed, and an
//!   authenticated client is still served).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A listener under attack, and how its legitimate client talks to it.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// What the legitimate client sends as `Host`.
    pub host: String,
    /// A path that answers 2xx to the legitimate client.
    pub path: String,
    /// Header lines (`name: value`) that authenticate the legitimate client.
    pub credential: Vec<String>,
    /// The same headers with a forged secret.
    pub forged: Vec<String>,
    /// A WebSocket path, when the listener has one.
    pub websocket: Option<String>,
    /// Whether the listener serves pages (Host and Origin rules apply); portholed's API does not.
    pub pages: bool,
    pub header_timeout: Duration,
    pub max_unverified: usize,
    /// TLS as the legitimate client speaks it (a pinned configuration), for a listener that
    /// serves TLS: every check then runs inside TLS, and the flood is of bare TCP connections
    /// that never start the handshake.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A fresh connection to the target as its client makes one (TLS when it serves TLS).
async fn connect(target: &Target) -> Box<dyn Stream> {
    let tcp = TcpStream::connect(target.addr).await.expect("connect");
    match &target.tls {
        None => Box::new(tcp),
        Some(config) => {
            let name = rustls::pki_types::ServerName::from(target.addr.ip());
            let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                .connect(name, tcp)
                .await
                .expect("TLS handshake");
            Box::new(tls)
        }
    }
}

/// Every check, in turn.
pub async fn run_all(target: &Target) {
    if target.pages {
        wrong_hosts_are_refused(target).await;
        foreign_origins_are_refused(target).await;
    }
    missing_or_forged_credentials_are_refused(target).await;
    smuggling_is_refused(target).await;
    slow_headers_are_cut_off(target).await;
    a_flood_of_unauthenticated_connections_is_shed(target).await;
}

/// The status code of the answer to `request` on a fresh plain connection (0 when the connection
/// closed without one).
pub async fn status_of(addr: SocketAddr, request: &str) -> u16 {
    let stream = TcpStream::connect(addr).await.expect("connect");
    parse_status(&exchange(Box::new(stream), request.as_bytes()).await)
}

/// The same on a connection the target's client would make.
async fn status_on(target: &Target, request: &str) -> u16 {
    parse_status(&exchange(connect(target).await, request.as_bytes()).await)
}

fn parse_status(answer: &str) -> u16 {
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// Sends `bytes` on `stream` and reads until the head of an answer (or the close).
async fn exchange(mut stream: Box<dyn Stream>, bytes: &[u8]) -> String {
    stream.write_all(bytes).await.expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn request(method: &str, path: &str, headers: &[String]) -> String {
    let mut out = format!("{method} {path} HTTP/1.1\r\n");
    for line in headers {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

fn with(target: &Target, extra: &[&str], credential: &[String]) -> Vec<String> {
    let mut headers = vec![format!("Host: {}", target.host)];
    headers.extend(credential.iter().cloned());
    headers.extend(extra.iter().map(|s| (*s).to_owned()));
    headers
}

fn upgrade_lines() -> [&'static str; 4] {
    [
        "Upgrade: websocket",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        "Connection: Upgrade",
    ]
}

async fn expect(target: &Target, what: &str, headers: Vec<String>, path: &str, ok: bool) {
    let status = status_on(target, &request("GET", path, &headers)).await;
    if ok {
        assert!(
            (200..400).contains(&status),
            "{what}: the legitimate request got {status} from {}",
            target.addr
        );
    } else {
        assert!(
            status == 403 || status == 401 || status == 400,
            "{what}: got {status} from {}, not a refusal",
            target.addr
        );
    }
}

pub async fn wrong_hosts_are_refused(target: &Target) {
    let port = target.addr.port();
    expect(
        target,
        "the right Host",
        with(target, &[], &target.credential),
        &target.path,
        true,
    )
    .await;
    let mut wrong = vec![
        format!("Host: evil.example:{port}"),
        format!("Host: {}:{}", target.addr.ip(), port.wrapping_add(1)),
        format!("Host: {}.evil.example:{port}", target.addr.ip()),
    ];
    wrong.push(String::new()); // no Host at all
    for host in wrong {
        let mut headers: Vec<String> = target.credential.clone();
        if !host.is_empty() {
            headers.insert(0, host.clone());
        }
        expect(
            target,
            &format!("Host {host:?}"),
            headers,
            &target.path,
            false,
        )
        .await;
    }
    let mut two = with(target, &[], &target.credential);
    two.push(format!("Host: evil.example:{port}"));
    expect(target, "two Hosts", two, &target.path, false).await;
}

pub async fn foreign_origins_are_refused(target: &Target) {
    let port = target.addr.port();
    let same_site = format!("Origin: http://127.0.0.1:{}", port.wrapping_add(1));
    let own = format!("Origin: http://{}", target.host);
    let mut paths = vec![(target.path.clone(), false)];
    if let Some(ws) = &target.websocket {
        paths.push((ws.clone(), true));
    }
    for (path, websocket) in paths {
        let base: Vec<&str> = if websocket {
            upgrade_lines().to_vec()
        } else {
            Vec::new()
        };
        let mut legit = base.clone();
        legit.push(&own);
        let status = status_on(
            target,
            &request("GET", &path, &with(target, &legit, &target.credential)),
        )
        .await;
        let wanted = if websocket { 101 } else { 200 };
        assert!(
            status == wanted || (!websocket && (200..400).contains(&status)),
            "{path}: its own Origin got {status}"
        );
        for origin in [
            "Origin: null",
            "Origin: https://evil.example",
            same_site.as_str(),
        ] {
            let mut lines = base.clone();
            lines.push(origin);
            let headers = with(target, &lines, &target.credential);
            expect(
                target,
                &format!("{path} with {origin}"),
                headers,
                &path,
                false,
            )
            .await;
        }
        let mut lines = base.clone();
        lines.push("Sec-Fetch-Site: same-site");
        let headers = with(target, &lines, &target.credential);
        expect(target, &format!("{path} same-site"), headers, &path, false).await;
    }
}

pub async fn missing_or_forged_credentials_are_refused(target: &Target) {
    expect(
        target,
        "no credential",
        with(target, &[], &[]),
        &target.path,
        false,
    )
    .await;
    expect(
        target,
        "a forged credential",
        with(target, &[], &target.forged),
        &target.path,
        false,
    )
    .await;
    if let Some(ws) = &target.websocket {
        let headers = with(target, &upgrade_lines(), &target.forged);
        expect(
            target,
            "a WebSocket with a forged credential",
            headers,
            ws,
            false,
        )
        .await;
    }
}

pub async fn smuggling_is_refused(target: &Target) {
    let mut head = format!("POST {} HTTP/1.1\r\n", target.path);
    for line in with(
        target,
        &["Content-Length: 4", "Transfer-Encoding: chunked"],
        &target.credential,
    ) {
        head.push_str(&line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n0\r\n\r\n");
    let answer = exchange(connect(target).await, head.as_bytes()).await;
    assert_eq!(
        parse_status(&answer),
        400,
        "Content-Length with Transfer-Encoding was not refused by {}: {answer:?}",
        target.addr
    );
}

pub async fn slow_headers_are_cut_off(target: &Target) {
    let mut stream = connect(target).await;
    stream
        .write_all(format!("GET {} HTTP/1.1\r\nHost: {}\r\n", target.path, target.host).as_bytes())
        .await
        .expect("write");
    let started = Instant::now();
    let limit = target.header_timeout + Duration::from_secs(10);
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "{} kept a connection with unfinished headers for {limit:?}",
        target.addr
    );
    assert!(
        started.elapsed() + Duration::from_millis(200) >= target.header_timeout,
        "closed before its header timeout"
    );
}

pub async fn a_flood_of_unauthenticated_connections_is_shed(target: &Target) {
    // Only then can the check tell eviction from the header timeout.
    assert!(
        target.header_timeout >= Duration::from_secs(3),
        "the flood check needs a header timeout of 3 s or more"
    );
    // Half a request; over TLS, nothing at all (a handshake never started: garbage would only
    // get the connection closed for a bad handshake, which proves nothing about the cap).
    let opening: &[u8] = if target.tls.is_some() {
        b""
    } else {
        b"GET / HTTP/1.1\r\n"
    };
    let mut held = Vec::new();
    for _ in 0..target.max_unverified {
        let mut stream = TcpStream::connect(target.addr).await.expect("connect");
        stream.write_all(opening).await.expect("write");
        held.push(stream);
    }
    // One more: the oldest of the flood is closed to make room, long before its header timeout.
    let mut newest = TcpStream::connect(target.addr).await.expect("connect");
    newest.write_all(opening).await.expect("write");
    let mut buf = [0u8; 256];
    let oldest = tokio::time::timeout(Duration::from_secs(2), held[0].read(&mut buf)).await;
    assert!(
        matches!(oldest, Ok(Ok(0) | Err(_))),
        "{} held more than {} unauthenticated connections",
        target.addr,
        target.max_unverified
    );
    // The legitimate client gets in while the flood is held.
    let status = status_on(
        target,
        &request("GET", &target.path, &with(target, &[], &target.credential)),
    )
    .await;
    assert!(
        (200..400).contains(&status),
        "{}: the legitimate client was shut out by the flood ({status})",
        target.addr
    );
    drop((held, newest));
}
