//! The session tunnel (`GET /api/session/{id}/tunnel`, `Upgrade: porthole-tunnel`) as a client on
//! another computer uses it: over TLS pinned to the server's certificate, with the key, to a
//! real terminal session, HTTP and WebSocket through it; and refused to web pages, foreign
//! names, missing or wrong keys, sessions the server does not run, and a request that is not an
//! upgrade.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{config, scratch, Harness, KEY};
use futures_util::StreamExt;
use porthole_local::pinned::Pin;
use porthole_local::tunnel::Tunnel;
use porthole_secrets::Sensitive;
use portholed::tls::Tls;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server serving TLS with a terminal machine, its API client pinned.
async fn remote(name: &str) -> Harness {
    let dir = scratch(name);
    let mut c = config(&dir, "[machines.terminal]\nshell = \"/bin/sh\"\n", 60.0);
    c.tls = Tls::Always;
    let mut h = Harness::start_with(c).await;
    let pin = Pin::new(h.server.as_ref().unwrap().fingerprint().unwrap());
    h.http = reqwest::Client::builder()
        .use_preconfigured_tls(pin.client_config().unwrap())
        .build()
        .unwrap();
    h
}

fn tunnel(h: &Harness, key: &str) -> Tunnel {
    let fingerprint = h.server.as_ref().unwrap().fingerprint().unwrap();
    Tunnel::new(&h.base, fingerprint, Sensitive::new(key.to_owned())).unwrap()
}

/// The status of a raw request (`head` lines) on a pinned TLS connection to the API.
async fn raw_status(h: &Harness, head: &str) -> u16 {
    let server = h.server.as_ref().unwrap();
    let pin = Pin::new(server.fingerprint().unwrap());
    let connector = tokio_rustls::TlsConnector::from(Arc::new(pin.client_config().unwrap()));
    let tcp = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::from(server.local_addr().ip());
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), tls.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&answer[..n])
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r[..3].parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_terminal_session_answers_http_and_websocket_through_its_tunnel() {
    let h = remote("tunnel").await;
    let id = h.launch("terminal", json!({})).await;
    let url = h.wait_url(&id, Duration::from_secs(10)).await;
    let (host, token) = url
        .trim_start_matches("http://")
        .split_once("/?token=")
        .unwrap();
    let t = tunnel(&h, KEY);

    // HTTP: the session's own page, its token still required inside the tunnel.
    let mut http = t.open(&id, Duration::from_secs(5)).await.unwrap();
    http.write_all(
        format!("GET /?token={token} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut page = Vec::new();
    http.read_to_end(&mut page).await.ok();
    let page = String::from_utf8_lossy(&page);
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.to_ascii_lowercase()
            .contains("set-cookie: porthole_terminal_"),
        "{page}"
    );
    let mut no_token = t.open(&id, Duration::from_secs(5)).await.unwrap();
    no_token
        .write_all(
            format!("GET /ws HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut refused = Vec::new();
    no_token.read_to_end(&mut refused).await.ok();
    assert!(String::from_utf8_lossy(&refused).starts_with("HTTP/1.1 403"));

    // WebSocket: the shell answers through the tunnel.
    let stream = t.open(&id, Duration::from_secs(5)).await.unwrap();
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("ws://{host}/ws?token={token}"), stream)
            .await
            .unwrap();
    common::shell_answers(&mut ws, "echo $((40+2))", "42\r\n").await;

    // The session ends: its tunnel ends with it, and no new one opens.
    let (status, _) = h.delete(&format!("/session/{id}")).await;
    assert!(status.is_success());
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    assert!(closed.is_ok(), "the tunnel outlived its session");
    let gone = t.open(&id, Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(
        gone.code,
        porthole_core::ErrorCode::SessionGone,
        "{}",
        gone.message
    );
    h.shutdown().await;
}

#[tokio::test]
async fn tunnels_are_refused_to_pages_foreign_names_wrong_keys_and_other_sessions() {
    let (a, b) = (remote("tunnel-a").await, remote("tunnel-b").await);
    let id = a.launch("terminal", json!({})).await;
    a.wait_url(&id, Duration::from_secs(10)).await;
    let addr = a.server.as_ref().unwrap().local_addr();
    let request = |extra: &str, auth: &str| {
        format!(
            "GET /api/session/{id}/tunnel HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: \
             porthole-tunnel\r\n{auth}{extra}\r\n"
        )
    };
    let bearer = format!("Authorization: Bearer {KEY}\r\n");
    let host = format!("Host: {addr}\r\n");
    // The legitimate request, first: the checks below must fail for their own reason.
    assert_eq!(raw_status(&a, &request(&host, &bearer)).await, 101);
    assert_eq!(raw_status(&a, &request(&host, "")).await, 401, "no key");
    assert_eq!(
        raw_status(&a, &request(&host, "Authorization: Bearer forged\r\n")).await,
        401,
        "a wrong key"
    );
    for origin in ["Origin: https://evil.example\r\n", "Origin: null\r\n"] {
        let with = format!("{host}{origin}");
        assert_eq!(
            raw_status(&a, &request(&with, &bearer)).await,
            403,
            "{origin}"
        );
    }
    for foreign in [
        "Host: evil.example\r\n".to_owned(),
        format!("Host: evil.example:{}\r\n", addr.port()),
        format!("Host: {}:1\r\n", addr.ip()),
    ] {
        assert_eq!(
            raw_status(&a, &request(&foreign, &bearer)).await,
            403,
            "{foreign}"
        );
    }
    let not_upgrade = format!("GET /api/session/{id}/tunnel HTTP/1.1\r\n{host}{bearer}\r\n");
    assert_eq!(raw_status(&a, &not_upgrade).await, 400);

    // Another server's key does not open this server's tunnels, and a key reaches only the
    // sessions of the server it belongs to.
    let b_key_on_a = tunnel(&a, "another-servers-key");
    assert_eq!(
        b_key_on_a
            .open(&id, Duration::from_secs(5))
            .await
            .unwrap_err()
            .code,
        porthole_core::ErrorCode::Unauthorized
    );
    let on_b = tunnel(&b, KEY)
        .open(&id, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(
        on_b.code,
        porthole_core::ErrorCode::SessionGone,
        "{}",
        on_b.message
    );
    // Pinned to A, a tunnel to B is refused before anything is sent.
    let crossed = Tunnel::new(
        &b.base,
        a.server.as_ref().unwrap().fingerprint().unwrap(),
        Sensitive::new(KEY.to_owned()),
    )
    .unwrap();
    assert_eq!(
        crossed
            .open(&id, Duration::from_secs(5))
            .await
            .unwrap_err()
            .code,
        porthole_core::ErrorCode::CertificateMismatch
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// The `name=value` of a response's `Set-Cookie` headers.
fn cookies_of(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_session_windows_proxy_reaches_the_session_through_the_tunnel() {
    let h = remote("tunnel-proxy").await;
    let id = h.launch("terminal", json!({})).await;
    let url = h.wait_url(&id, Duration::from_secs(10)).await;
    let mut config = porthole_proxy::ProxyConfig::new(url::Url::parse(&url).unwrap(), &id);
    config.tunnel = Some(tunnel(&h, KEY));
    let proxy = porthole_proxy::Proxy::start(config).await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The window's handshake, then the session's own page (its token lands it), as a window
    // would go: every request crosses the tunnel.
    let entry = http
        .get(proxy.new_entry_url().unwrap().expose())
        .send()
        .await
        .unwrap();
    assert_eq!(entry.status(), 302);
    let mut cookies = cookies_of(&entry);
    let landing = entry.headers()["location"].to_str().unwrap().to_owned();
    let origin = proxy.local_origin();
    let page = http
        .get(format!("{origin}{landing}"))
        .header("cookie", cookies.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "{:?}", page.text().await);
    cookies.extend(cookies_of(&page));

    // The terminal's WebSocket, through the proxy and the tunnel.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "{}/ws",
            origin.replace("http://", "ws://")
        ))
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", cookies.join("; ").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    common::shell_answers(&mut ws, "echo $((6*7))", "42\r\n").await;
    drop(proxy);
    h.shutdown().await;
}
