//! portholed on a second machine (a network namespace with its own loopback, joined by a veth
//! pair), a terminal's WebSocket through its TLS tunnel, and the link going down under it: the
//! client notices within its keepalive (nothing hangs), and once the link is back a new tunnel
//! reaches the same shell. Needs root and `ip` (make test runs as root); skipped, saying so,
//! elsewhere.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::netns::Namespace;
use common::{scratch, EXE};
use futures_util::StreamExt;
use porthole_local::tunnel::Tunnel;
use porthole_secrets::Sensitive;

#[tokio::test]
async fn a_websocket_through_the_tunnel_ends_when_the_link_dies_and_comes_back_after() {
    if !Namespace::available() {
        return;
    }
    let mut ns = Namespace::create("net", 8);
    let dir = scratch("network");
    let served = ns.portholed(
        EXE,
        &dir,
        "nvidia_smi = \"\"\n[machines.terminal]\nshell = \"/bin/sh\"\n",
    );

    // A terminal session there, launched from here over the pinned API.
    let launched = served.launch("terminal").await;
    let session = launched["session_id"].as_str().unwrap().to_owned();
    let url = launched["url"].as_str().unwrap().to_owned();
    let (host, token) = url
        .trim_start_matches("http://")
        .split_once("/?token=")
        .unwrap();
    let tunnel = Tunnel::new(
        &served.base,
        served.fingerprint,
        Sensitive::new(served.key.clone()),
    )
    .unwrap()
    .with_keepalive(Duration::from_secs(2));
    let ws_url = format!("ws://{host}/ws?token={token}");
    let stream = tunnel.open(&session, Duration::from_secs(5)).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(ws_url.as_str(), stream)
        .await
        .unwrap();
    common::shell_answers(&mut ws, "echo $((40+2))", "42\r\n").await;

    // The link dies: the WebSocket ends within the keepalive's time, it does not hang.
    ns.link(false);
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "a WebSocket over a dead link was still open after 30 s"
    );
    assert!(
        tunnel.open(&session, Duration::from_secs(3)).await.is_err(),
        "a tunnel opened over a link that is down"
    );

    // Back: a new tunnel reaches the same shell (what a window's reconnect does).
    ns.link(true);
    let stream = common::poll(Duration::from_secs(20), || async {
        tunnel.open(&session, Duration::from_secs(3)).await.ok()
    })
    .await
    .expect("no tunnel once the link was back");
    let (mut ws, _) = tokio_tungstenite::client_async(ws_url.as_str(), stream)
        .await
        .unwrap();
    common::shell_answers(&mut ws, "echo $((20+3))", "23\r\n").await;
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}
