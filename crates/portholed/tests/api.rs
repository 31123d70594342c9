//! HTTP-level tests of every route, every error and the applicable quirks of docs/providers/comfydeploy.md §8.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use common::{helper_machine, session_processes, Harness, KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn detail(v: &Value) -> &str {
    v["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("no string detail in {v}"))
}

#[tokio::test]
async fn auth_is_required_everywhere_but_pricing() {
    let h = Harness::start("auth", "", 60.0).await;
    let plain = reqwest::Client::new();
    for path in [
        "/sessions",
        "/machines",
        "/session/x",
        "/v2/stream-logs?session_id=x",
        "/nope",
    ] {
        let r = plain.get(format!("{}{path}", h.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v, json!({"detail": "Invalid or missing token"}));
    }
    let wrong = plain
        .get(format!("{}/sessions", h.base))
        .bearer_auth("not-the-key")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let basic = plain
        .get(format!("{}/sessions", h.base))
        .header("authorization", format!("Basic {KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    let x_api_key = plain
        .get(format!("{}/sessions", h.base))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(x_api_key.status(), StatusCode::OK);
    let pricing = plain
        .get(format!("{}/platform/gpu-pricing", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(pricing.status(), StatusCode::OK);
    // A failed launch attempt without the key creates nothing.
    let r = plain
        .post(format!("{}/session", h.base))
        .json(&json!({"machine_id": "terminal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.get("/sessions").await.1, json!([]));
    h.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_have_fastapi_errors() {
    let h = Harness::start("routes", "", 60.0).await;
    let (s, v) = h.get("/no/such/route").await;
    assert_eq!(
        (s, v),
        (StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
    );
    let (s, v) = h.send(h.req(Method::PUT, "/sessions")).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(detail(&v), "Method Not Allowed");
    // Routes live under /api only.
    let root = h.base.trim_end_matches("/api").to_owned();
    let r = h
        .http
        .get(format!("{root}/sessions"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    h.shutdown().await;
}

#[tokio::test]
async fn machines_list_templates_with_status_and_reasons() {
    let toml = format!(
        "{}[machines.broken]\ncommand = [\"sh\", \"-c\", \"no port here\"]\n[machines.comfyui]\nenabled = true\n",
        helper_machine("web")
    );
    let h = Harness::start("machines", &toml, 60.0).await;
    let (s, v) = h.get("/machines?is_deleted=false&is_docker=true").await;
    assert_eq!(s, StatusCode::OK);
    let items = v.as_array().unwrap();
    let by = |n: &str| {
        items
            .iter()
            .find(|m| m["name"] == n)
            .unwrap_or_else(|| panic!("{n} in {v}"))
    };
    let term = by("terminal");
    assert_eq!(term["status"], "ready");
    assert_eq!(term["type"], "comfy-deploy-serverless");
    assert_eq!(term["machine_builder_version"], "4");
    assert_eq!(term["porthole_kind"], "terminal");
    assert_eq!(term["gpu"], "CPU");
    assert_eq!(term["concurrency_limit"], 5);
    assert!(term["status_reason"].is_null());
    assert!(uuid::Uuid::parse_str(term["id"].as_str().unwrap()).is_ok());
    let comfy = by("comfyui");
    assert_eq!(comfy["status"], "error");
    assert!(comfy["status_reason"]
        .as_str()
        .unwrap()
        .contains("comfyui_dir"));
    let broken = by("broken");
    assert_eq!(broken["status"], "error");
    assert!(broken["status_reason"].as_str().unwrap().contains("{port}"));
    assert_eq!(by("web")["status"], "ready");
    assert!(
        items.iter().any(|m| m["name"] == "jupyter"),
        "listed even when absent"
    );

    let (_, v) = h.get("/machines?search=TERM").await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (_, v) = h.get("/machines?limit=1&offset=1").await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (s, v) = h.get("/machines?limit=many").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["detail"][0]["loc"], json!(["query", "limit"]));
    let (s, _) = h.get("/machines/all").await;
    assert_eq!(s, StatusCode::OK);

    let id = term["id"].as_str().unwrap();
    let (s, v) = h.get(&format!("/machine/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["name"], "terminal");
    assert_eq!(v["deleted"], false);
    let (s, v) = h.get("/machine/terminal").await;
    assert_eq!((s, v["id"].as_str()), (StatusCode::OK, Some(id)));
    let (s, v) = h.get("/machine/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(
        (s, v),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "Machine not found"})
        )
    );
    h.shutdown().await;
}

#[tokio::test]
async fn pricing_is_public_usd_per_second_per_gpu() {
    let dir = common::scratch("pricing");
    let smi = dir.join("nvidia-smi");
    std::fs::write(
        &smi,
        "#!/bin/sh\necho '0, NVIDIA H100 80GB HBM3, 81559'\necho '1, NVIDIA L4, 23034'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&smi, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = common::config(&dir.join("data"), "", 60.0);
    c.config = portholed::ConfigSource::Inline(format!(
        "nvidia_smi = \"{}\"\n[prices]\nH100 = 0.002\nB200 = 0.003\n",
        smi.display()
    ));
    let h = Harness::start_with(c).await;
    let r = reqwest::get(format!("{}/platform/gpu-pricing", h.base))
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"CPU": 0.0, "H100": 0.002, "L4": 0.0, "B200": 0.003})
    );
    let (_, m) = h.get("/machine/terminal").await;
    assert_eq!(
        m["gpus"][1],
        json!({"name": "L4", "index": 1, "memory_mib": 23034, "model": "NVIDIA L4"})
    );
    h.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every refused launch leaves no session, no process and no log behind.
async fn assert_nothing_changed(h: &Harness) {
    assert_eq!(h.get("/sessions").await.1, json!([]));
    let logs: Vec<_> = std::fs::read_dir(h.dir.join("logs")).unwrap().collect();
    assert!(logs.is_empty(), "a refused launch wrote a log");
}

#[tokio::test]
async fn bad_launches_get_clear_errors_and_change_nothing() {
    let h = Harness::start("badlaunch", "[machines.comfyui]\nenabled = true\n", 60.0).await;
    let raw = |body: &'static str| {
        h.req(Method::POST, "/session")
            .header("content-type", "application/json")
            .body(body)
    };
    let (s, v) = h.send(raw("{\"machine_id\": ")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["detail"][0]["type"], "json_invalid");
    assert!(v["detail"][0]["msg"].is_string() && v["detail"][0]["loc"].is_array());
    let (s, v) = h.send(raw("{}")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["detail"][0]["loc"], json!(["body", "machine_id"]));
    let (s, _) = h.send(raw("")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = h.send(raw("[\"terminal\"]")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = h
        .send(raw("{\"machine_id\": \"terminal\", \"timeout\": \"long\"}"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let (s, v) = h.post("/session", json!({"machine_id": "nope"})).await;
    assert_eq!(
        (s, v),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "Machine not found"})
        )
    );
    let (s, v) = h
        .post("/session", json!({"machine_id": "terminal", "gpu": "H100"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&v),
        "GPU H100 is not available on this machine. Available: CPU"
    );
    let (s, v) = h
        .post("/session", json!({"machine_id": "terminal", "timeout": -5}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["detail"][0]["loc"], json!(["body", "timeout"]));
    let (s, v) = h
        .post(
            "/session",
            json!({"machine_id": "terminal", "timeout": 1441}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["detail"][0]["msg"].as_str().unwrap().contains("24 hours"));
    let (s, v) = h.post("/session", json!({"machine_id": "comfyui"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(detail(&v).contains("cannot run on this host"), "{v}");
    let big = format!(
        "{{\"machine_id\": \"terminal\", \"pad\": \"{}\"}}",
        "x".repeat(100_000)
    );
    let (s, v) = h
        .send(
            h.req(Method::POST, "/session")
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(detail(&v).contains("too large"));
    assert_nothing_changed(&h).await;
    h.shutdown().await;
}

#[tokio::test]
async fn session_shapes_follow_the_spec() {
    let h = Harness::start("shapes", "", 60.0).await;
    let (s, v) = h
        .post("/session", json!({"machine_id": "terminal", "machine_version_id": "ignored", "timeout": 0, "wait_for_server": false}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 2, "{v}");
    assert!(obj.contains_key("url"), "url present even when null");
    let id = v["session_id"].as_str().unwrap().to_owned();
    let (s, got) = h.get(&format!("/session/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    for key in [
        "id",
        "session_id",
        "gpu_event_id",
        "url",
        "gpu",
        "created_at",
        "timeout",
        "timeout_end",
        "machine_id",
        "machine_version_id",
        "status",
        "user_id",
        "org_id",
    ] {
        assert!(got.get(key).is_some(), "{key} missing from {got}");
    }
    assert_eq!(got["id"], got["session_id"]);
    assert_eq!(got["status"], "running");
    assert_eq!(got["timeout"], 15, "0 means 15 minutes");
    assert_eq!(got["gpu"], "CPU");
    assert!(got["org_id"].is_null());
    assert!(got["created_at"].as_str().unwrap().ends_with('Z'));
    let end = got["timeout_end"].as_str().unwrap();
    assert!(
        !end.ends_with('Z') && !end.contains('+'),
        "naive UTC: {end}"
    );
    let end = NaiveDateTime::parse_from_str(end, "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap()
        .and_utc();
    let left = end - Utc::now();
    assert!(
        left > chrono::Duration::minutes(14) && left <= chrono::Duration::minutes(15),
        "deadline set at creation: {left}"
    );
    let (_, list) = h.get("/sessions").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], got["id"]);
    let (s, v) = h
        .post(
            "/session",
            json!({"machine_id": "terminal", "timeout": null}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, two) = h
        .get(&format!("/session/{}", v["session_id"].as_str().unwrap()))
        .await;
    assert_eq!(two["timeout"], 15, "null means 15 minutes");
    h.shutdown().await;
}

#[tokio::test]
async fn stop_extend_and_their_errors() {
    let h = Harness::start("stopextend", "", 60.0).await;
    let id = h.launch("terminal", json!({"timeout": 30})).await;
    let (_, before) = h.get(&format!("/session/{id}")).await;

    for minutes in [json!(-5), json!(0), json!(100_000), json!("ten")] {
        let (s, v) = h
            .post(
                &format!("/session/{id}/increase-timeout"),
                json!({"minutes": minutes}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{minutes}: {v}");
        assert!(v["detail"].is_array());
    }
    let (s, v) = h
        .post(
            &format!("/session/{id}/increase-timeout"),
            json!({"minutes": 1420}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "past 24 h from now: {v}");
    let (_, after_refusals) = h.get(&format!("/session/{id}")).await;
    assert_eq!(
        after_refusals["timeout_end"], before["timeout_end"],
        "refusals change nothing"
    );

    let (s, v) = h
        .post(
            &format!("/session/{id}/increase-timeout"),
            json!({"minutes": 5}),
        )
        .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::OK,
            json!({"message": "Timeout increased successfully"})
        )
    );
    let (_, after) = h.get(&format!("/session/{id}")).await;
    let parse = |v: &Value| {
        NaiveDateTime::parse_from_str(v["timeout_end"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.f")
            .unwrap()
    };
    assert_eq!(
        parse(&after) - parse(&before),
        chrono::Duration::minutes(5),
        "old deadline + 5"
    );
    assert_eq!(after["timeout"], 30, "timeout keeps the original minutes");

    let legacy = json!({"machine_id": "terminal", "session_id": id, "timeout": 60, "gpu": "CPU"});
    let (s, _) = h.post("/session/increase-timeout", legacy).await;
    assert_eq!(s, StatusCode::OK);
    let (_, after_legacy) = h.get(&format!("/session/{id}")).await;
    assert_eq!(
        after_legacy["timeout_end"], after["timeout_end"],
        "S6 does not move the deadline"
    );

    let (s, v) = h.post(&format!("/session/{id}/snapshot"), json!({})).await;
    assert_eq!(
        (s, detail(&v)),
        (
            StatusCode::BAD_REQUEST,
            "Modal function id is not a sandbox"
        )
    );

    // Stopped by the CLI, which names itself in its User-Agent.
    let (s, v) = h
        .send(
            h.req(
                Method::DELETE,
                &format!("/session/{id}?wait_for_shutdown=true"),
            )
            .header("user-agent", "porthole-cli/0.1.0"),
        )
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!({"success": true})));
    assert!(
        session_processes(&id).is_empty(),
        "wait_for_shutdown waits for the processes"
    );
    // Upstream's 404, and why it ended beside it (portholed's addition).
    let (s, v) = h.get(&format!("/session/{id}")).await;
    assert_eq!(
        (s, v),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "GPUEvent not found", "ended": {"kind": "stopped", "reason": "stopped from the CLI"}})
        )
    );
    let (s, v) = h.delete(&format!("/session/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        detail(&v),
        format!("GPUEvent not found session_id: {id}, the event might be already closed")
    );
    let (s, v) = h
        .post(
            &format!("/session/{id}/increase-timeout"),
            json!({"minutes": 5}),
        )
        .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "GPU event not found"})
        )
    );
    let (s, _) = h.delete("/session/unknown?wait_for_shutdown=maybe").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(h.get("/sessions").await.1, json!([]));
    h.shutdown().await;
}

#[tokio::test]
async fn concurrency_limit_per_machine() {
    let toml = format!("max_sessions_per_machine = 2\n{}", helper_machine("other"));
    let h = Harness::start("limit", &toml, 60.0).await;
    let a = h.launch("terminal", json!({})).await;
    let _b = h.launch("terminal", json!({})).await;
    let (s, v) = h.post("/session", json!({"machine_id": "terminal"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(detail(&v), "You have reached the maximum number of concurrent sessions. Please close some sessions and try again.");
    let _c = h.launch("other", json!({})).await;
    let (_, all) = h.get("/sessions").await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let (_, term) = h.get("/sessions?machine_id=terminal").await;
    assert_eq!(term.as_array().unwrap().len(), 2);
    let created: Vec<&str> = term
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["created_at"].as_str().unwrap())
        .collect();
    assert!(created[0] >= created[1], "newest first");
    let (_, m) = h.get("/machine/terminal").await;
    let (_, by_id) = h
        .get(&format!(
            "/sessions?machine_id={}",
            m["id"].as_str().unwrap()
        ))
        .await;
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&by_id),
        ids(&term),
        "machine_id takes the id or the name"
    );
    h.delete(&format!("/session/{a}")).await;
    h.launch("terminal", json!({})).await;
    h.shutdown().await;
}

#[tokio::test]
async fn wait_for_server_blocks_until_the_url_answers() {
    let toml = "[machines.dies]\ncommand = [\"sh\", \"-c\", \"exit 3 # {port}\"]\n";
    let h = Harness::start("waitserver", toml, 60.0).await;
    let (s, v) = h
        .post(
            "/session",
            json!({"machine_id": "terminal", "wait_for_server": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let url = v["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("?token="),
        "{url}"
    );
    let r = h.http.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, v) = h
        .post(
            "/session",
            json!({"machine_id": "dies", "wait_for_server": true}),
        )
        .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"detail": "Session creation failed"})
        )
    );
    tokio::time::timeout(Duration::from_secs(5), async {
        while h.get("/sessions?machine_id=dies").await.1 != json!([]) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    h.shutdown().await;
}
