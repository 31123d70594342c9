//! The session API as the benchmarks drive it: launch, wait for the URL, wait for it to answer.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::Value;

/// POST /session with `body`; the new session's id.
pub async fn launch(http: &reqwest::Client, base: &str, key: &str, body: &Value) -> String {
    let v: Value = http
        .post(format!("{base}/session"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["session_id"].as_str().unwrap().to_owned()
}

/// Polls GET /session/{id} every 5 ms until its `url` is set.
pub async fn wait_url(http: &reqwest::Client, base: &str, key: &str, id: &str) -> String {
    loop {
        let s: Value = http
            .get(format!("{base}/session/{id}"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(u) = s["url"].as_str() {
            return u.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// GETs `url` every 5 ms until it answers 2xx.
pub async fn answers(http: &reqwest::Client, url: &str) {
    loop {
        if let Ok(r) = http.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
