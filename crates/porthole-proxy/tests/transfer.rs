//! 100 MB each way, generated and checked on the fly: the proxy must stream, not buffer.

#![allow(clippy::unwrap_used)]

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use common::upstream::{is_pattern, pattern_sum, Generated, Upstream};
use common::{open, text, within};
use http::Request;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};

const HUNDRED_MB: u64 = 100 * 1024 * 1024;

#[tokio::test]
async fn a_100_mb_download_streams_through_intact() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let response = w
        .send(w.get(&format!("/download?bytes={HUNDRED_MB}")))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-length"],
        HUNDRED_MB.to_string().as_str()
    );
    let mut body = response.into_body();
    let mut offset = 0u64;
    while let Some(frame) = within(body.frame()).await {
        let data = frame.unwrap().into_data().unwrap();
        assert!(is_pattern(offset, &data), "corrupt data at {offset}");
        offset += data.len() as u64;
    }
    assert_eq!(offset, HUNDRED_MB);
    let mut activity = w.proxy.activity();
    within(activity.wait_for(|a| a.bytes_down >= HUNDRED_MB))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_100_mb_upload_streams_through_intact() {
    let up = Upstream::start().await;
    let w = open(up.url(), "s1").await;
    let mut activity = w.proxy.activity();

    // The window sends 1 MB, then waits until the proxy has passed it on and the upstream is
    // already reading the request, before it produces the other 99 MB.
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let request = Request::post("/upload")
        .header("host", format!("127.0.0.1:{}", w.port()))
        .header("cookie", &w.cookie)
        .header("content-length", HUNDRED_MB.to_string())
        .body(StreamBody::new(stream))
        .unwrap();
    let port = w.port();
    let response = tokio::spawn(async move { common::send(port, request).await });

    let mut generated = Generated::new(HUNDRED_MB);
    let mut sent = 0u64;
    while sent < 1024 * 1024 {
        let chunk = generated
            .frame()
            .await
            .unwrap()
            .unwrap()
            .into_data()
            .unwrap();
        sent += chunk.len() as u64;
        tx.send(chunk).await.unwrap();
    }
    within(activity.wait_for(|a| a.bytes_up >= 1024 * 1024))
        .await
        .unwrap();
    common::eventually("the upstream to see the upload start", || async {
        up.seen()
            .iter()
            .any(|s| s.target == "/upload")
            .then_some(())
    })
    .await;
    while let Some(frame) = generated.frame().await {
        tx.send(frame.unwrap().into_data().unwrap()).await.unwrap();
    }
    drop(tx);

    let response = within(response).await.unwrap();
    assert_eq!(response.status(), 200);
    let answer = text(response).await;
    assert_eq!(
        answer,
        format!("received {HUNDRED_MB} {}\n", pattern_sum(HUNDRED_MB))
    );
}
