//! The `comfyui` template with a stand-in ComfyUI (a `main.py` that serves HTTP the way ComfyUI
//! does, including its Origin check): the session's URL carries a per-session token, nothing
//! answers without it, the URL appears only once the program itself answers, and stopping the
//! session leaves no process behind.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{poll, session_processes, wait_no_processes, Harness};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn comfyui_sessions_need_their_token_and_leave_nothing_behind() {
    let dir = common::scratch("comfyui");
    let h = Harness::start_with(common::config(&dir, &common::comfy_config(&dir), 60.0)).await;
    let (s, machines) = h.get("/machines").await;
    assert_eq!(s, StatusCode::OK);
    let comfy = machines
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "comfyui")
        .unwrap();
    let id = h
        .launch(comfy["id"].as_str().unwrap(), json!({"timeout": 10}))
        .await;
    let url = h.wait_url(&id, Duration::from_secs(30)).await;
    let parsed = url::Url::parse(&url).unwrap();
    let token = parsed
        .query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .expect("the URL carries a token");
    assert!(token.len() >= 32, "a real secret: {url}");
    let origin = format!("http://127.0.0.1:{}", parsed.port().unwrap());

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // No token, a wrong token: refused, and ComfyUI never sees them.
    let bare = http.get(format!("{origin}/")).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    let wrong = http
        .get(format!("{origin}/?token=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    // Another site's page, even with the token: refused (Origin), DNS rebinding: refused (Host).
    let foreign = http
        .get(&url)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let rebinding = http
        .get(&url)
        .header("host", format!("evil.example:{}", parsed.port().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(rebinding.status(), StatusCode::FORBIDDEN);

    // The token: a cookie, then ComfyUI itself, which never sees the token or the cookie.
    let entry = http.get(&url).send().await.unwrap();
    assert_eq!(entry.status(), StatusCode::FOUND);
    assert_eq!(entry.headers()["location"], "/");
    let cookie = entry.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap().to_owned();
    let page = http
        .get(format!("{origin}/queue?x=1"))
        .header("cookie", &pair)
        .header("origin", &origin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "ComfyUI's Origin check passes"
    );
    let body = page.text().await.unwrap();
    assert!(body.starts_with("fake comfyui pid="), "{body}");
    assert!(body.contains("path=/queue?x=1 cookie=None"), "{body}");
    assert!(!body.contains(&token));

    // The program runs in the session's process group, on a port of its own.
    let comfy_pid: i32 = body["fake comfyui pid=".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(session_processes(&id).contains(&comfy_pid));
    // ...on a loopback address of its own, not 127.0.0.1 where a port scan would find it.
    let argv = std::fs::read(format!("/proc/{comfy_pid}/cmdline")).unwrap();
    let argv: Vec<String> = argv
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let listen = &argv[argv.iter().position(|a| a == "--listen").unwrap() + 1];
    let ip: std::net::Ipv4Addr = listen.parse().unwrap();
    assert!(
        ip.is_loopback() && ip != std::net::Ipv4Addr::LOCALHOST,
        "{listen}"
    );

    let (s, _) = h.delete(&format!("/session/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    h.wait_gone(&id, Duration::from_secs(20)).await;
    wait_no_processes(&id, Duration::from_secs(20)).await;
    let closed = poll(Duration::from_secs(10), || async {
        http.get(format!("{origin}/"))
            .send()
            .await
            .is_err()
            .then_some(())
    })
    .await;
    assert!(closed.is_some(), "the port closed with the session");
    h.shutdown().await;
}
