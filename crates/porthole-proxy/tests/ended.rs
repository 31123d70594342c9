//! A session that ends while its window is open: the window's requests get the ended page (the
//! cookie still checked), its WebSocket ends, and a new window handshake lands on the page too.

#![allow(clippy::unwrap_used)]

mod common;

use common::upstream::Upstream;
use common::{get, handshake, open, send, text, within};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn an_ended_session_s_window_gets_the_ended_page_and_its_websocket_ends() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    assert_eq!(w.send(w.get("/")).await.status(), 200);
    let mut ws = w.websocket("/ws").await;
    ws.send(Message::text("before")).await.unwrap();
    assert_eq!(
        within(ws.next()).await.unwrap().unwrap(),
        Message::text("before")
    );

    w.proxy.end(
        "terminal on CPU 3f2a91c0 timed out",
        &["Relaunch it from this window's Session menu."],
    );
    // The WebSocket ends (an error or the end of the stream), not a hang.
    within(async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(Message::Close(_))) => {}
                Some(Ok(_)) => {}
            }
        }
    })
    .await;

    for path in ["/", "/some/page?x=1", "/__porthole/health"] {
        let response = w.send(w.get(path)).await;
        assert_eq!(response.status(), 410, "{path}");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(!csp.contains("script-src"), "{csp}");
        let page = text(response).await;
        assert!(
            page.contains("<h1>terminal on CPU 3f2a91c0 timed out</h1>")
                && page.contains("Relaunch it from this window"),
            "{page}"
        );
    }
    // Still only for the window it was opened for.
    assert_eq!(send(w.port(), get(w.port(), "/", None)).await.status(), 403);
    // A window opened again (a fresh entry URL) lands on the page too.
    let cookie = handshake(&w.proxy).await;
    assert_eq!(
        send(w.port(), get(w.port(), "/", Some(&cookie)))
            .await
            .status(),
        410
    );
    // And a new WebSocket is not spliced to the old upstream.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://127.0.0.1:{}/ws",
            w.port()
        ))
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", w.cookie.parse().unwrap());
    request
        .headers_mut()
        .insert("origin", w.proxy.local_origin().parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 410)
        }
        other => panic!("a WebSocket after the end: {other:?}"),
    }
}
