//! WebSockets through the proxy against a real echo upstream: text, binary, large frames,
//! ping/pong and the closing handshake, with `websockets_open` following along.

#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::upstream::Upstream;
use common::{open, within};
use futures_util::{SinkExt, StreamExt};
use http::HeaderValue;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

async fn next(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>) -> Message {
    within(ws.next()).await.unwrap().unwrap()
}

#[tokio::test]
async fn text_and_binary_messages_echo() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let mut ws = w.websocket("/ws?clientId=abc").await;
    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(next(&mut ws).await, Message::text("hello"));
    let binary = Bytes::from((0..=255u8).cycle().take(1000).collect::<Vec<u8>>());
    ws.send(Message::binary(binary.clone())).await.unwrap();
    assert_eq!(next(&mut ws).await, Message::binary(binary));
    // The upstream saw the WebSocket handshake with its own Host and no Origin.
    let seen = up.seen();
    let handshake = seen
        .iter()
        .find(|s| s.target == "/ws?clientId=abc")
        .unwrap();
    assert_eq!(handshake.headers["host"], up.addr.to_string().as_str());
    assert!(handshake.headers.get("origin").is_none());
    assert!(handshake.headers.get("cookie").is_none());
}

#[tokio::test]
async fn large_frames_pass_whole() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let mut ws = w.websocket("/ws").await;
    for size in [70_000usize, 8 * 1024 * 1024] {
        let payload = Bytes::from((0..size).map(|i| (i % 253) as u8).collect::<Vec<u8>>());
        ws.send(Message::binary(payload.clone())).await.unwrap();
        assert_eq!(next(&mut ws).await, Message::binary(payload), "size {size}");
    }
    let big_text = "ü".repeat(1024 * 1024);
    ws.send(Message::text(big_text.clone())).await.unwrap();
    assert_eq!(next(&mut ws).await, Message::text(big_text));
}

#[tokio::test]
async fn ping_gets_pong_and_close_is_answered() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let mut activity = w.proxy.activity();
    let mut ws = w.websocket("/ws").await;
    within(activity.wait_for(|a| a.websockets_open == 1))
        .await
        .unwrap();
    ws.send(Message::Ping(Bytes::from_static(b"are you there")))
        .await
        .unwrap();
    assert_eq!(
        next(&mut ws).await,
        Message::Pong(Bytes::from_static(b"are you there"))
    );
    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }))
    .await
    .unwrap();
    match next(&mut ws).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected the upstream's close frame, got {other:?}"),
    }
    match within(ws.next()).await {
        None | Some(Err(WsError::ConnectionClosed)) => {}
        other => panic!("expected the end of the stream, got {other:?}"),
    }
    let after = within(activity.wait_for(|a| a.websockets_open == 0))
        .await
        .unwrap()
        .clone();
    assert!(after.bytes_up > 0 && after.bytes_down > 0, "{after:?}");
}

#[tokio::test]
async fn websocket_handshakes_pass_the_same_gate() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let attempt = |cookie: Option<String>, origin: Option<&'static str>| {
        let port = w.port();
        async move {
            let mut request = format!("ws://127.0.0.1:{port}/ws")
                .into_client_request()
                .unwrap();
            if let Some(cookie) = cookie {
                request
                    .headers_mut()
                    .insert("cookie", HeaderValue::from_str(&cookie).unwrap());
            }
            if let Some(origin) = origin {
                request
                    .headers_mut()
                    .insert("origin", HeaderValue::from_static(origin));
            }
            let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            match tokio_tungstenite::client_async(request, tcp).await {
                Err(WsError::Http(response)) => response.status().as_u16(),
                Ok(_) => 101,
                Err(other) => panic!("{other}"),
            }
        }
    };
    assert_eq!(attempt(None, None).await, 403);
    assert_eq!(
        attempt(Some(w.cookie.clone()), Some("https://evil.example")).await,
        403
    );
    assert_eq!(attempt(Some(w.cookie.clone()), None).await, 101);
    assert_eq!(up.seen().iter().filter(|s| s.target == "/ws").count(), 1);
}

#[tokio::test]
async fn dropping_the_proxy_closes_open_websockets() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let mut ws = w.websocket("/ws").await;
    ws.send(Message::text("hi")).await.unwrap();
    assert_eq!(next(&mut ws).await, Message::text("hi"));
    drop(w);
    let ended = within(async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    });
    ended.await;
}
