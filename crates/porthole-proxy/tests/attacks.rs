//! The attack set of docs/ARCHITECTURE.md (security model), each refused, each its own test. Every test also checks
//! that the refused request never reached the upstream.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::upstream::Upstream;
use common::{get, open, raw, send, text, within, Window};
use http::Request;
use http_body_util::Empty;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn reached(up: &Upstream, path: &str) -> bool {
    up.seen().iter().any(|s| s.target.starts_with(path))
}

fn request(w: &Window, host: &str, path: &str) -> http::request::Builder {
    let _ = w;
    Request::get(path).header("host", host)
}

#[tokio::test]
async fn a_foreign_host_is_refused_dns_rebinding() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    for host in [
        format!("evil.example:{}", w.port()),
        format!("127.0.0.1:{}", w.port() + 1),
        "127.0.0.1".to_owned(),
        format!("127.0.0.1.evil.example:{}", w.port()),
    ] {
        let r = request(&w, &host, "/echo")
            .header("cookie", &w.cookie)
            .body(Empty::<Bytes>::new())
            .unwrap();
        assert_eq!(w.send(r).await.status(), 403, "{host}");
    }
    // Absolute-form (forward-proxy style) targets are refused too.
    let absolute = format!(
        "GET http://evil.example/echo HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {}\r\n\r\n",
        w.port(),
        w.cookie
    );
    assert!(raw(w.port(), absolute.as_bytes())
        .await
        .starts_with("HTTP/1.1 400"));
    assert!(!reached(&up, "/echo"));
}

#[tokio::test]
async fn a_foreign_origin_is_refused() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let other_port = format!("http://127.0.0.1:{}", w.port() + 1);
    for origin in ["https://evil.example", "null", other_port.as_str()] {
        let mut r = w.get("/echo");
        r.headers_mut().insert("origin", origin.parse().unwrap());
        assert_eq!(w.send(r).await.status(), 403, "{origin}");
    }
    let mut cross_site = w.get("/echo");
    cross_site
        .headers_mut()
        .insert("sec-fetch-site", "same-site".parse().unwrap());
    assert_eq!(w.send(cross_site).await.status(), 403);
    assert!(!reached(&up, "/echo"));
}

#[tokio::test]
async fn a_request_without_the_cookie_is_refused() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let r = get(w.port(), "/echo", None);
    assert_eq!(w.send(r).await.status(), 403);
    let (name, _) = w.cookie.split_once('=').unwrap();
    let forged = get(w.port(), "/echo", Some(&format!("{name}=forged")));
    assert_eq!(w.send(forged).await.status(), 403);
    assert!(!reached(&up, "/echo"));
}

#[tokio::test]
async fn a_wrong_or_used_token_is_refused() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let port = w.port();
    let wrong = get(
        port,
        "/__porthole/auth?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        None,
    );
    let response = send(port, wrong).await;
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("set-cookie").is_none());
    let no_token = send(port, get(port, "/__porthole/auth", None)).await;
    assert_eq!(no_token.status(), 403);

    let entry = w.proxy.new_entry_url().unwrap();
    let tail = entry
        .expose()
        .split_once(&port.to_string())
        .unwrap()
        .1
        .to_owned();
    assert_eq!(send(port, get(port, &tail, None)).await.status(), 302);
    let replay = send(port, get(port, &tail, None)).await;
    assert_eq!(replay.status(), 403, "tokens are single-use");
}

#[tokio::test]
async fn a_token_or_cookie_from_another_session_is_refused() {
    let up = Upstream::start().await;
    let a = open(up.url(), "session-a").await;
    let b = open(up.url(), "session-b").await;
    // A's fresh token, replayed on B's port.
    let entry = a.proxy.new_entry_url().unwrap();
    let tail = entry
        .expose()
        .split_once(&a.port().to_string())
        .unwrap()
        .1
        .to_owned();
    let replay = send(b.port(), get(b.port(), &tail, None)).await;
    assert_eq!(replay.status(), 403);
    // A's cookie (the browser sends cookies for 127.0.0.1 to every port) on B.
    let r = get(b.port(), "/echo", Some(&a.cookie));
    assert_eq!(b.send(r).await.status(), 403);
    // With both cookies B answers, and A's secret does not reach B's upstream.
    let both = get(
        b.port(),
        "/echo",
        Some(&format!("{}; {}", a.cookie, b.cookie)),
    );
    let body = text(b.send(both).await).await;
    assert!(!body.contains("porthole_proxy_"), "{body}");
    // The token still works on its own port: the replay did not consume it.
    assert_eq!(
        send(a.port(), get(a.port(), &tail, None)).await.status(),
        302
    );
}

#[tokio::test]
async fn request_smuggling_with_content_length_and_transfer_encoding_is_refused() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let port = w.port();
    for (first, second) in [
        ("Content-Length: 44", "Transfer-Encoding: chunked"),
        ("Transfer-Encoding: chunked", "Content-Length: 44"),
    ] {
        let attack = format!(
            "POST /upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {}\r\n{first}\r\n{second}\r\n\r\n\
             0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n",
            w.cookie
        );
        let answer = raw(port, attack.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{answer}");
    }
    // The same attack after an ordinary keep-alive request on the same connection.
    let ordinary = format!(
        "GET /small HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {}\r\n\r\n\
         POST /upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {}\r\n\
         Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        w.cookie, w.cookie
    );
    let answer = raw(port, ordinary.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("HTTP/1.1 400"), "{answer}");
    assert!(
        !reached(&up, "/upload"),
        "the ambiguous request was forwarded"
    );
    assert!(
        !reached(&up, "/smuggled"),
        "the smuggled request was forwarded"
    );
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let up = Upstream::start().await;
    let mut config = common::config(up.url(), "s1");
    config.header_timeout = Duration::from_millis(500);
    let w = common::open_with(config).await;
    let mut tcp = TcpStream::connect(("127.0.0.1", w.port())).await.unwrap();
    let head = format!(
        "GET /echo HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {}\r\n",
        w.port(),
        w.cookie
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // Drip one header byte every 100 ms, forever: the proxy must hang up.
    let closed = within(async {
        let mut buf = [0u8; 256];
        loop {
            if tcp.write_all(b"X").await.is_err() {
                return;
            }
            match tokio::time::timeout(Duration::from_millis(100), tcp.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => return,
                Ok(Ok(_)) => return, // an error response, then the close
                Err(_) => {}
            }
        }
    });
    closed.await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400),
        "closed too early: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "closed too late: {took:?}");
    assert!(!reached(&up, "/echo"));
}

/// The attack set every listener we own faces (porthole_proxy::attack_set), against a proxy.
#[tokio::test]
async fn the_attack_set() {
    let up = Upstream::start().await;
    let mut config = common::config(up.url(), "s1");
    config.header_timeout = Duration::from_secs(3);
    config.max_unverified = 8;
    let w = common::open_with(config).await;
    let (name, _) = w.cookie.split_once('=').unwrap();
    porthole_proxy::attack_set::run_all(&porthole_proxy::attack_set::Target {
        addr: w.proxy.local_addr(),
        host: format!("127.0.0.1:{}", w.port()),
        path: "/small".to_owned(),
        credential: vec![format!("Cookie: {}", w.cookie)],
        forged: vec![format!("Cookie: {name}=forged")],
        websocket: Some("/ws".to_owned()),
        pages: true,
        header_timeout: Duration::from_secs(3),
        max_unverified: 8,
        tls: None,
    })
    .await;
    assert!(!reached(&up, "/smuggled"));
}

/// Session B's cookies (its proxy's, a terminal's, a token front's) sent to session A's proxy
/// never reach A's upstream; A's upstream's own cookies do, and so does a `porthole_*` cookie
/// A's upstream set through A.
#[tokio::test]
async fn another_sessions_cookies_never_reach_the_upstream() {
    let up = Upstream::start().await;
    let a = open(up.url(), "session-a").await;
    let b = open(up.url(), "session-b").await;
    let seen_cookie = |path: &'static str| {
        let up = &up;
        move || {
            up.seen().iter().rev().find(|s| s.target == path).map(|s| {
                s.headers
                    .get("cookie")
                    .map(|c| c.to_str().unwrap().to_owned())
            })
        }
    };
    let foreign = format!(
        "{}; {}; porthole_terminal_9=b-terminal; porthole_gate_b=b-front; app=1",
        a.cookie, b.cookie
    );
    let r = get(a.port(), "/small", Some(&foreign));
    assert_eq!(a.send(r).await.status(), 200);
    assert_eq!(seen_cookie("/small")(), Some(Some("app=1".to_owned())));

    // The upstream sets a porthole_* cookie of its own through A: it goes back to it, through A
    // only.
    let set = a.send(a.get("/porthole-cookie")).await;
    assert_eq!(set.status(), 200);
    assert!(set.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("porthole_terminal_up=t"));
    let with_own = format!(
        "{}; porthole_terminal_up=t; porthole_terminal_9=b",
        a.cookie
    );
    assert_eq!(
        a.send(get(a.port(), "/plain", Some(&with_own)))
            .await
            .status(),
        200
    );
    assert_eq!(
        seen_cookie("/plain")(),
        Some(Some("porthole_terminal_up=t".to_owned()))
    );
    let to_b = format!("{}; porthole_terminal_up=t", b.cookie);
    assert_eq!(b.send(get(b.port(), "/", Some(&to_b))).await.status(), 200);
    assert_eq!(
        seen_cookie("/")(),
        Some(None),
        "A's upstream cookie went through B"
    );
}

/// A proxy on a loopback address of its own answers there, under that name only.
#[tokio::test]
async fn a_proxy_on_its_own_loopback_address() {
    let up = Upstream::start().await;
    let mut config = common::config(up.url(), "s1");
    config.listen_ip = porthole_proxy::own_loopback_address();
    let proxy = porthole_proxy::Proxy::start(config.clone()).await.unwrap();
    let addr = proxy.local_addr();
    assert_eq!(addr.ip(), std::net::IpAddr::V4(config.listen_ip));
    assert_eq!(proxy.local_origin(), format!("http://{addr}"));
    let entry = url::Url::parse(proxy.new_entry_url().unwrap().expose()).unwrap();
    assert_eq!(
        entry.host_str(),
        Some(config.listen_ip.to_string().as_str())
    );
    let path = format!("{}?{}", entry.path(), entry.query().unwrap());
    let host = format!("Host: {addr}");
    let answer = porthole_proxy::attack_set::status_of(
        addr,
        &format!("GET {path} HTTP/1.1\r\n{host}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(answer, 302);
    let as_localhost = porthole_proxy::attack_set::status_of(
        addr,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
            addr.port()
        ),
    )
    .await;
    assert_eq!(as_localhost, 403);
}
