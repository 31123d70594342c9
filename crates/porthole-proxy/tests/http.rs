//! Plain HTTP through the proxy against a real upstream: header rules, streaming, the handshake,
//! activity, retargeting, shutdown, and the "tunnel unreachable" page.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::upstream::Upstream;
use common::{eventually, get, open, open_with, send, text, within};
use http::{HeaderMap, HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use porthole_proxy::{HeaderHook, Proxy, StaticHeaders};
use url::Url;

#[tokio::test]
async fn requests_are_rewritten_for_the_upstream() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let request = Request::get("/echo/a%2Fb/../c?x=%2F&y=%20")
        .header("host", format!("localhost:{}", w.port()))
        .header("origin", format!("http://localhost:{}", w.port()))
        .header("referer", format!("http://localhost:{}/", w.port()))
        .header("cookie", format!("{}; comfy=1", w.cookie))
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "1")
        .header("x-kept", "2")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = w.send(request).await;
    assert_eq!(response.status(), 200, "the ComfyUI origin check must pass");
    let body = text(response).await;
    assert!(
        body.contains("target /echo/a%2Fb/../c?x=%2F&y=%20\n"),
        "{body}"
    );
    assert!(
        body.contains(&format!("header host: {}\n", up.addr)),
        "{body}"
    );
    assert!(body.contains("header cookie: comfy=1\n"), "{body}");
    assert!(body.contains("header x-kept: 2\n"), "{body}");
    for gone in [
        "origin",
        "referer",
        "x-hop",
        "porthole_proxy_",
        "connection: keep",
    ] {
        assert!(!body.contains(gone), "{gone} leaked upstream: {body}");
    }
}

#[tokio::test]
async fn the_comfyui_origin_check_is_real_and_passes_through_the_proxy() {
    let up = Upstream::start().await;
    // Directly, a browser's Origin for the proxy disagrees with the upstream's Host: 403.
    let direct = Request::get("/echo")
        .header("host", up.addr.to_string())
        .header("origin", "http://127.0.0.1:1")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(send(up.port(), direct).await.status(), 403);
    // Through the proxy the same browser request is allowed.
    let w = open(up.url(), "s1").await;
    let mut request = w.get("/echo");
    request.headers_mut().insert(
        "origin",
        HeaderValue::from_str(&w.proxy.local_origin()).unwrap(),
    );
    assert_eq!(w.send(request).await.status(), 200);
}

#[tokio::test]
async fn framing_and_cors_headers_are_fixed_on_the_way_back() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let response = w.send(w.get("/plain")).await;
    assert_eq!(response.status(), 200);
    let h = response.headers();
    assert!(h.get("x-frame-options").is_none());
    assert!(h.get("access-control-allow-origin").is_none());
    assert_eq!(h["content-security-policy"], "default-src 'self'");
    assert_eq!(text(response).await, "hello from upstream\n");
    let redirect = w.send(w.get("/redirect")).await;
    assert_eq!(redirect.status(), 302);
    assert_eq!(redirect.headers()["location"], "/plain");
}

#[tokio::test]
async fn chunked_bodies_stream_through() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let response = w.send(w.get("/chunked")).await;
    assert!(response.headers().get("content-length").is_none());
    let body = text(response).await;
    assert_eq!(body, "chunk-0\nchunk-1\nchunk-2\nchunk-3\nchunk-4\n");
}

#[tokio::test]
async fn server_sent_events_arrive_before_the_upstream_finishes() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let response = w.send(w.get("/sse")).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body();
    let first = within(body.frame())
        .await
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert_eq!(
        first, "data: first\n\n",
        "the first event must not wait for the second"
    );
    up.release_sse();
    let last = within(body.frame())
        .await
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert_eq!(last, "data: last\n\n");
}

#[tokio::test]
async fn the_handshake_redirects_to_next_or_the_landing_page_and_sets_a_separate_secret() {
    let up = Upstream::start().await;
    let landing = Url::parse(&format!("http://{}/lab?token=upstream-token", up.addr)).unwrap();
    let proxy = Proxy::start(common::config(landing, "s1")).await.unwrap();
    let port = proxy.port();
    let entry = proxy.new_entry_url().unwrap();
    assert!(
        !format!("{entry:?}").contains("token="),
        "entry URLs are redacted in Debug"
    );
    let url = Url::parse(entry.expose()).unwrap();
    assert_eq!(url.origin().ascii_serialization(), proxy.local_origin());
    let token = url
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned();
    assert!(token.len() >= 43, "32 random bytes, base64url");

    let first = send(
        port,
        get(port, &format!("/__porthole/auth?token={token}"), None),
    )
    .await;
    assert_eq!(first.status(), 302);
    assert_eq!(first.headers()["location"], "/lab?token=upstream-token");
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(!cookie.contains(&token), "the cookie is not the token");
    assert!(cookie.contains("Path=/"));

    let token2 = proxy.new_entry_url().unwrap();
    let path = format!(
        "{}&next=%2Fview%3Ffilename%3Da%252Fb.png",
        Url::parse(token2.expose())
            .unwrap()
            .as_str()
            .split_once(&format!("{port}"))
            .unwrap()
            .1
    );
    let second = send(port, get(port, &path, None)).await;
    assert_eq!(second.headers()["location"], "/view?filename=a%2Fb.png");

    let token3 = proxy.new_entry_url().unwrap();
    let tail = token3
        .expose()
        .split_once(&format!("{port}"))
        .unwrap()
        .1
        .to_owned();
    let evil = send(
        port,
        get(port, &format!("{tail}&next=//evil.example/"), None),
    )
    .await;
    assert_eq!(evil.headers()["location"], "/lab?token=upstream-token");
}

#[tokio::test]
async fn a_header_hook_authenticates_to_the_tunnel() {
    struct Bearer;
    impl HeaderHook for Bearer {
        fn apply(&self, upstream: &Url, headers: &mut HeaderMap) {
            let mut value = HeaderValue::from_static("Bearer tunnel-secret");
            value.set_sensitive(true);
            headers.insert("authorization", value);
            headers.insert(
                "x-upstream-port",
                HeaderValue::from(upstream.port().unwrap_or(0)),
            );
        }
    }
    let up = Upstream::start().await;
    let mut config = common::config(up.url(), "s1");
    config.headers = Some(Arc::new(Bearer));
    let w = open_with(config).await;
    let body = text(w.send(w.get("/echo")).await).await;
    assert!(
        body.contains("header authorization: Bearer tunnel-secret\n"),
        "{body}"
    );
    assert!(
        body.contains(&format!("header x-upstream-port: {}\n", up.port())),
        "{body}"
    );

    let mut config = common::config(up.url(), "s2");
    config.headers = Some(Arc::new(StaticHeaders(vec![(
        http::HeaderName::from_static("x-tunnel-key"),
        HeaderValue::from_static("k"),
    )])));
    let w = open_with(config).await;
    let body = text(w.send(w.get("/echo")).await).await;
    assert!(body.contains("header x-tunnel-key: k\n"), "{body}");
}

#[tokio::test]
async fn activity_counts_requests_and_bytes() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let mut activity = w.proxy.activity();
    let upload = Request::post("/upload")
        .header("host", format!("127.0.0.1:{}", w.port()))
        .header("cookie", &w.cookie)
        .body(Full::new(Bytes::from(vec![7u8; 1000])))
        .unwrap();
    assert_eq!(text(w.send(upload).await).await, "received 1000 7000\n");
    let download = w.send(w.get("/download?bytes=5000")).await.into_body();
    assert_eq!(
        within(download.collect()).await.unwrap().to_bytes().len(),
        5000
    );
    let seen = within(activity.wait_for(|a| a.bytes_up >= 1000 && a.bytes_down >= 5000))
        .await
        .unwrap()
        .clone();
    assert!(seen.requests >= 3, "handshake, upload, download: {seen:?}");
    assert!(seen.last_activity.is_some());
    assert_eq!(seen.websockets_open, 0);
}

#[tokio::test]
async fn retargeting_keeps_the_port_and_the_cookie() {
    let first = Upstream::start().await;
    let second = Upstream::start().await;
    let w = open(first.url(), "s1").await;
    let port = w.port();
    let before = text(w.send(w.get("/echo")).await).await;
    assert!(before.contains(&format!("header host: {}\n", first.addr)));
    w.proxy.retarget(second.url()).unwrap();
    assert_eq!(w.port(), port);
    let after = text(w.send(w.get("/echo")).await).await;
    assert!(
        after.contains(&format!("header host: {}\n", second.addr)),
        "{after}"
    );
    assert!(w.proxy.retarget(Url::parse("ftp://x/").unwrap()).is_err());
}

#[tokio::test]
async fn dropping_the_handle_closes_the_port() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let port = w.port();
    assert_eq!(w.send(w.get("/small")).await.status(), 200);
    drop(w);
    eventually("the port to close", || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .err()
            .map(|_| ())
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_upstream_gets_a_self_reloading_page_and_health_follows_it() {
    let up = Upstream::start().await;
    let addr = up.addr;
    up.stop();
    let w = open(Url::parse(&format!("http://{addr}/")).unwrap(), "s1").await;
    let response = w.send(w.get("/")).await;
    assert_eq!(response.status(), 502);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    let page = text(response).await;
    assert!(page.contains("Tunnel unreachable, retrying"));
    assert!(page.contains("/__porthole/health"));
    assert!(
        !page.contains("://") && !page.contains("src="),
        "no external resources: {page}"
    );
    assert_eq!(w.send(w.get("/__porthole/health")).await.status(), 503);
    // The page's poll is a same-origin request like any other: without the cookie it is refused.
    let anonymous = get(w.port(), "/__porthole/health", None);
    assert_eq!(send(w.port(), anonymous).await.status(), 403);

    let _back = Upstream::start_on(addr.port(), None).await;
    assert_eq!(w.send(w.get("/__porthole/health")).await.status(), 200);
    assert_eq!(w.send(w.get("/")).await.status(), 200);
}

#[tokio::test]
async fn connects_time_out_quickly() {
    // A loopback listener whose accept queue is full drops new SYNs, so connecting to it hangs
    // (nothing leaves the machine).
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut queued = Vec::new();
    for _ in 0..8 {
        let attempt = tokio::net::TcpStream::connect(addr);
        if let Ok(Ok(stream)) =
            tokio::time::timeout(std::time::Duration::from_millis(200), attempt).await
        {
            queued.push(stream);
        }
    }
    let mut config = common::config(Url::parse(&format!("http://{addr}/")).unwrap(), "s1");
    config.connect_timeout = std::time::Duration::from_millis(300);
    let w = open_with(config).await;
    let started = std::time::Instant::now();
    let response = w.send(w.get("/")).await;
    assert_eq!(response.status(), 502);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(queued);
}
