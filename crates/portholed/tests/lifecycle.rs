//! Real processes: launch → url answers → extend → deadline → process gone → 404; exits, start-up
//! timeouts, GPU pinning, the log stream, the terminal's WebSocket, and cleanup on drop.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use common::{messages, read_stream, session_processes, wait_no_processes, Harness, EXE};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn deadline_of(v: &Value) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(v["timeout_end"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap()
}

#[tokio::test]
async fn launch_answer_extend_deadline_gone() {
    // One API minute lasts one second.
    let h = Harness::start("lifecycle", "", 1.0).await;
    let started = Instant::now();
    let id = h.launch("terminal", json!({"timeout": 1})).await;
    let (_, first) = h.get(&format!("/session/{id}")).await;
    let url = h.wait_url(&id, Duration::from_secs(10)).await;
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/?token="),
        "{url}"
    );
    assert_eq!(
        h.http.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    let options = h
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), StatusCode::OK, "OPTIONS readiness probe");
    assert!(options.headers().get("x-frame-options").is_none());
    let bare = url.split('?').next().unwrap();
    assert_eq!(
        h.http.get(bare).send().await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "token required"
    );
    assert!(!session_processes(&id).is_empty());

    let (s, _) = h
        .post(
            &format!("/session/{id}/increase-timeout"),
            json!({"minutes": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, extended) = h.get(&format!("/session/{id}")).await;
    assert_eq!(
        deadline_of(&extended) - deadline_of(&first),
        chrono::Duration::seconds(1)
    );

    // Past the original deadline it still runs; at the new one it is stopped.
    let original = Duration::from_secs(1) + Duration::from_millis(300);
    tokio::time::sleep(original.saturating_sub(started.elapsed())).await;
    assert_eq!(
        h.get(&format!("/session/{id}")).await.0,
        StatusCode::OK,
        "extended past the first deadline"
    );
    h.wait_gone(&id, Duration::from_secs(10)).await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "not before the deadline"
    );
    let (_, gone) = h.get(&format!("/session/{id}")).await;
    assert_eq!(gone["ended"]["kind"], "timeout", "{gone}");
    wait_no_processes(&id, Duration::from_secs(10)).await;
    assert!(h.http.get(&url).send().await.is_err(), "the port is closed");
    let events = read_stream(&h, &id, "").await;
    assert!(
        messages(&events)
            .iter()
            .any(|m| m.contains("Session closed due to timeout")),
        "{events:?}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn url_stays_null_until_the_port_answers_and_startup_times_out() {
    // 10 API minutes of start-up allowance last three seconds here.
    let toml = "[machines.silent]\ncommand = [\"sh\", \"-c\", \"exec sleep 30 # {port}\"]\n";
    let h = Harness::start("silent", toml, 0.3).await;
    let id = h.launch("silent", json!({"timeout": 60})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, v) = h.get(&format!("/session/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["url"].is_null(), "{v}");
    h.wait_gone(&id, Duration::from_secs(10)).await;
    wait_no_processes(&id, Duration::from_secs(10)).await;
    let events = read_stream(&h, &id, "&log_level=error").await;
    assert!(
        messages(&events)
            .iter()
            .any(|m| m.contains("Reached timeout period 10 minutes")),
        "{events:?}"
    );
    assert!(events
        .iter()
        .all(|e| e["level"] == "error" || e["type"] == "stream_complete"));
    assert_eq!(
        events.last().unwrap(),
        &json!({"type": "stream_complete", "source": "archive"})
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_process_that_exits_ends_its_session() {
    let toml = "[machines.brief]\ncommand = [\"sh\", \"-c\", \"echo hello from brief; sleep 0.2; exit 3 # {port}\"]\n";
    let h = Harness::start("brief", toml, 60.0).await;
    let id = h.launch("brief", json!({})).await;
    h.wait_gone(&id, Duration::from_secs(10)).await;
    let events = read_stream(&h, &id, "").await;
    let msgs = messages(&events);
    assert!(msgs.iter().any(|m| m == "hello from brief"), "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m == "Session ended: exited with code 3"),
        "{msgs:?}"
    );
    // S2 answers 404 as upstream does, and says why it ended beside `detail`.
    let (status, body) = h.get(&format!("/session/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["detail"], "GPUEvent not found", "{body}");
    assert_eq!(
        body["ended"],
        json!({"kind": "failed", "reason": "exited with code 3"})
    );
    assert!(msgs[0].starts_with("Creating session on brief"), "{msgs:?}");
    for e in &events[..events.len() - 1] {
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    h.shutdown().await;
}

#[tokio::test]
async fn the_log_stream_follows_a_live_session_to_its_end() {
    let h = Harness::start("stream", "", 60.0).await;
    let id = h.launch("terminal", json!({})).await;
    h.wait_url(&id, Duration::from_secs(10)).await;
    let (s, v) = h.get("/v2/stream-logs").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = h.get("/v2/stream-logs?session_id=nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let reader = {
        let req = h.req(
            reqwest::Method::GET,
            &format!("/v2/stream-logs?session_id={id}"),
        );
        tokio::spawn(async move { req.send().await.unwrap().text().await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!reader.is_finished(), "a live session's stream stays open");
    h.delete(&format!("/session/{id}")).await;
    let body = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .unwrap()
        .unwrap();
    assert!(body.contains("Session is ready"), "{body}");
    assert!(body.contains("Session ended: stopped"), "{body}");
    let last = body.lines().rfind(|l| l.starts_with("data: ")).unwrap();
    assert_eq!(
        last,
        r#"data: {"source":"sentinel","type":"stream_complete"}"#
    );
    h.shutdown().await;
}

#[tokio::test]
async fn gpus_are_pinned_and_checked() {
    let dir = common::scratch("gpus");
    let smi = dir.join("nvidia-smi");
    std::fs::write(
        &smi,
        "#!/bin/sh\necho '0, NVIDIA H100 80GB HBM3, 81559'\necho '1, NVIDIA L4, 23034'\necho '2, NVIDIA H100 80GB HBM3, 81559'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&smi, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = common::config(&dir.join("data"), "", 60.0);
    c.config = portholed::ConfigSource::Inline(format!(
        "nvidia_smi = \"{}\"\n[machines.show]\ncommand = [\"sh\", \"-c\", \"echo CUDA=[$CUDA_VISIBLE_DEVICES]; exec {EXE} __portholed-terminal --port {{port}} --shell /bin/sh\"]\n",
        smi.display()
    ));
    let h = Harness::start_with(c).await;
    let mut seen = Vec::new();
    for gpu in ["L4", "H100", "h100", "CPU"] {
        let id = h.launch("show", json!({"gpu": gpu})).await;
        let (_, v) = h.get(&format!("/session/{id}")).await;
        seen.push(v["gpu"].as_str().unwrap().to_owned());
        h.wait_url(&id, Duration::from_secs(10)).await;
        let log = std::fs::read_to_string(h.dir.join(format!("logs/{id}.log"))).unwrap();
        let line = log
            .lines()
            .find(|l| l.starts_with("CUDA="))
            .unwrap()
            .to_owned();
        seen.push(line);
    }
    assert_eq!(
        seen,
        ["L4", "CUDA=[1]", "H100", "CUDA=[0]", "H100", "CUDA=[2]", "CPU", "CUDA=[]"]
    );
    let (s, v) = h
        .post("/session", json!({"machine_id": "show", "gpu": "B200"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["detail"],
        "GPU B200 is not available on this machine. Available: CPU, H100, L4"
    );
    h.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_terminal_bridges_a_pty_over_a_websocket() {
    let toml = "[machines.terminal]\nshell = \"/bin/sh\"\n";
    let h = Harness::start("terminal", toml, 60.0).await;
    let id = h.launch("terminal", json!({})).await;
    let url = h.wait_url(&id, Duration::from_secs(10)).await;
    let page = h.http.get(&url).send().await.unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let html = page.text().await.unwrap();

    let (host, token) = url
        .trim_start_matches("http://")
        .split_once("/?token=")
        .unwrap();
    if portholed::terminal::assets_embedded() {
        assert!(html.contains(r#"<script src="/xterm.js"#), "{html}");
        let js = h.http.get(format!("http://{host}/xterm.js?token={token}"));
        let js = js.send().await.unwrap();
        assert_eq!(js.status(), 200);
        assert!(js.text().await.unwrap().contains("Terminal"));
        let no_token = h.http.get(format!("http://{host}/xterm.js")).send().await;
        assert_eq!(no_token.unwrap().status(), 403);
    } else {
        // Built without `npm ci`: the page says so instead of failing silently.
        assert!(html.contains("Terminal assets are missing"), "{html}");
    }
    let bad = tokio_tungstenite::connect_async(format!("ws://{host}/ws")).await;
    assert!(bad.is_err(), "a socket without the token is refused");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{host}/ws?token={token}"))
        .await
        .unwrap();
    ws.send(Message::Text(
        r#"{"type":"resize","cols":100,"rows":30}"#.into(),
    ))
    .await
    .unwrap();
    ws.send(Message::Binary(
        b"echo $((40+2)); stty size\r".to_vec().into(),
    ))
    .await
    .unwrap();
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Binary(b) = msg {
                seen.extend_from_slice(&b);
                let text = String::from_utf8_lossy(&seen);
                if text.contains("42\r\n") && text.contains("30 100") {
                    return;
                }
            }
        }
    })
    .await;
    assert!(
        found.is_ok(),
        "no answer from the shell: {:?}",
        String::from_utf8_lossy(&seen)
    );
    // A second window on the same session sees the same shell, scrollback included.
    let (mut ws2, _) = tokio_tungstenite::connect_async(format!("ws://{host}/ws?token={token}"))
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), ws2.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&first.into_data()).contains("42"));

    // Typing `exit` ends the shell, the terminal process, and so the session.
    ws.send(Message::Binary(b"exit\r".to_vec().into()))
        .await
        .unwrap();
    h.wait_gone(&id, Duration::from_secs(10)).await;
    wait_no_processes(&id, Duration::from_secs(10)).await;
    h.shutdown().await;
}

#[tokio::test]
async fn stopping_kills_the_shell_and_everything_it_started() {
    let h = Harness::start(
        "killtree",
        "[machines.terminal]\nshell = \"/bin/sh\"\n",
        60.0,
    )
    .await;
    let id = h.launch("terminal", json!({})).await;
    let url = h.wait_url(&id, Duration::from_secs(10)).await;
    let (host, token) = url
        .trim_start_matches("http://")
        .split_once("/?token=")
        .unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{host}/ws?token={token}"))
        .await
        .unwrap();
    ws.send(Message::Binary(
        b"sleep 300 & sleep 301 & echo started\r".to_vec().into(),
    ))
    .await
    .unwrap();
    let more = common::poll(Duration::from_secs(10), || async {
        (session_processes(&id).len() >= 4).then_some(())
    })
    .await;
    assert!(more.is_some(), "{:?}", session_processes(&id));
    let (s, _) = h
        .delete(&format!("/session/{id}?wait_for_shutdown=true"))
        .await;
    assert_eq!(s, StatusCode::OK);
    wait_no_processes(&id, Duration::from_secs(10)).await;
    h.shutdown().await;
}

#[tokio::test]
async fn dropping_the_server_stops_its_sessions() {
    let mut h = Harness::start("drop", "", 60.0).await;
    let id = h.launch("terminal", json!({})).await;
    h.wait_url(&id, Duration::from_secs(10)).await;
    drop(h.server.take());
    wait_no_processes(&id, Duration::from_secs(10)).await;
    let _ = std::fs::remove_dir_all(&h.dir);
}
