//! The upstream drops and comes back (a tunnel reconnecting) during a WebSocket and during a
//! download: the window gets a clean error, then the same port works again.

#![allow(clippy::unwrap_used)]

mod common;

use common::upstream::Upstream;
use common::{eventually, open, status, within};
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_websocket_ends_cleanly_when_the_upstream_drops_and_reconnects_on_the_same_port() {
    let up = Upstream::start().await;
    let addr = up.addr;
    let w = open(up.url(), "s1").await;
    let port = w.port();
    let mut activity = w.proxy.activity();
    let mut ws = w.websocket("/ws").await;
    ws.send(Message::text("before")).await.unwrap();
    assert_eq!(
        within(ws.next()).await.unwrap().unwrap(),
        Message::text("before")
    );

    up.stop();
    // The window sees its WebSocket end (an error or the end of the stream), not a hang.
    let ended = within(async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(Message::Close(_))) => {}
                Some(Ok(other)) => panic!("unexpected {other:?}"),
            }
        }
    });
    ended.await;
    within(activity.wait_for(|a| a.websockets_open == 0))
        .await
        .unwrap();
    // While the upstream is away: the retry page, not an auth error.
    assert_eq!(status(&w, "/").await, Some(502));

    let _back = Upstream::start_on(addr.port(), None).await;
    eventually("the upstream to answer again", || async {
        (status(&w, "/").await == Some(200)).then_some(())
    })
    .await;
    let mut ws = w.websocket("/ws").await;
    ws.send(Message::text("after")).await.unwrap();
    assert_eq!(
        within(ws.next()).await.unwrap().unwrap(),
        Message::text("after")
    );
    assert_eq!(w.port(), port);
}

#[tokio::test]
async fn a_download_fails_visibly_when_the_upstream_drops_and_works_again_after() {
    let up = Upstream::start().await;
    let addr = up.addr;
    let w = open(up.url(), "s1").await;
    let port = w.port();
    let total = 1u64 << 40; // more than will ever be read
    let response = w.send(w.get(&format!("/download?bytes={total}"))).await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut received = 0u64;
    while received < 1 << 20 {
        let frame = within(body.frame()).await.unwrap().unwrap();
        received += frame.into_data().unwrap().len() as u64;
    }

    up.stop();
    // The body must end in an error: a truncated download must not look complete.
    let outcome = within(async {
        loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    received += frame.into_data().map(|d| d.len()).unwrap_or(0) as u64
                }
                Some(Err(_)) => return Err(()),
                None => return Ok(()),
            }
        }
    })
    .await;
    assert!(outcome.is_err(), "a cut download ended as if complete");
    assert!(received < total);
    assert_eq!(status(&w, "/download?bytes=10").await, Some(502));

    let _back = Upstream::start_on(addr.port(), None).await;
    eventually("downloads to work again", || async {
        (status(&w, "/download?bytes=10").await == Some(200)).then_some(())
    })
    .await;
    let response = w.send(w.get("/download?bytes=3000000")).await;
    let bytes = within(response.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(bytes.len(), 3_000_000);
    assert_eq!(w.port(), port);
}

#[tokio::test]
async fn a_retarget_ends_websockets_to_the_old_upstream_and_new_ones_reach_the_new_one() {
    let old = Upstream::start().await;
    let new = Upstream::start().await;
    let w = open(old.url(), "s1").await;
    let mut activity = w.proxy.activity();
    let mut ws = w.websocket("/ws").await;
    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(
        within(ws.next()).await.unwrap().unwrap(),
        Message::text("hello")
    );

    // The same URL again (the window reopened): nothing changes.
    w.proxy.retarget(old.url()).unwrap();
    ws.send(Message::text("still")).await.unwrap();
    assert_eq!(
        within(ws.next()).await.unwrap().unwrap(),
        Message::text("still")
    );

    w.proxy.retarget(new.url()).unwrap();
    within(async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(Message::Close(_))) => {}
                Some(Ok(other)) => panic!("the old upstream still answered: {other:?}"),
            }
        }
    })
    .await;
    within(activity.wait_for(|a| a.websockets_open == 0))
        .await
        .unwrap();

    let mut again = w.websocket("/ws").await;
    again.send(Message::text("moved")).await.unwrap();
    assert_eq!(
        within(again.next()).await.unwrap().unwrap(),
        Message::text("moved")
    );
    assert!(
        new.seen().iter().any(|s| s.target == "/ws"),
        "the new WebSocket reached the new upstream"
    );
}
