//! The ComfyDeploy client against a fake that reproduces docs/providers/comfydeploy.md §8, one
//! test per quirk.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::{jwt_for, Fake, FakeSession, ME};
use futures::StreamExt;
use porthole_core::model::{Availability, LaunchRequest, SessionState};
use porthole_core::provider::Provider;
use porthole_core::ErrorCode;
use serde_json::json;

fn launch_on(machine: &str, gpu: Option<&str>, minutes: Option<u32>) -> LaunchRequest {
    LaunchRequest {
        machine_id: machine.to_owned(),
        resource: gpu.map(str::to_owned),
        timeout_minutes: minutes,
        mode: None,
        params: Default::default(),
    }
}

#[tokio::test]
async fn naive_timeout_end_is_read_as_utc() {
    let fake = Fake::start().await;
    let mut s = FakeSession::new("s1", ME, "A10G", 15);
    let end = NaiveDate::from_ymd_opt(2030, 1, 2)
        .unwrap()
        .and_hms_micro_opt(3, 4, 5, 678_901)
        .unwrap();
    s.timeout_end = Some(end);
    fake.add(s);
    let got = fake.client(&jwt_for(ME)).get("s1").await.unwrap().unwrap();
    assert_eq!(got.deadline, Some(Utc.from_utc_datetime(&end)));
    assert!(got.capabilities.can_extend);
}

#[tokio::test]
async fn org_none_status_running_and_session_id_do_not_confuse_the_model() {
    let fake = Fake::start().await;
    fake.add(FakeSession::new("s1", ME, "A10G", 15));
    let list = fake.client(&jwt_for(ME)).list().await.unwrap();
    assert_eq!(list.len(), 1);
    // status "running" with url null is not ready: the state comes from url and the probe.
    assert_eq!(list[0].id, "s1");
    assert_eq!(list[0].state, SessionState::Starting);
    assert_eq!(list[0].raw["org_id"], json!("None"));
}

#[tokio::test]
async fn url_stays_null_until_ready_then_the_session_is_connecting() {
    let fake = Fake::start().await;
    fake.add(FakeSession::new("s1", ME, "A10G", 15));
    let client = fake.client(&jwt_for(ME));
    let before = client.get("s1").await.unwrap().unwrap();
    assert_eq!(before.state, SessionState::Starting);
    assert_eq!(before.url, None);
    fake.with(|s| s.sessions[0].url = Some("https://abc.r5.modal.host".into()));
    let after = client.get("s1").await.unwrap().unwrap();
    // A URL is not "ready" until it answers; the watcher probes it.
    assert_eq!(after.state, SessionState::Connecting);
    assert_eq!(after.url.as_deref(), Some("https://abc.r5.modal.host"));
}

#[tokio::test]
async fn a_404_means_the_session_has_ended() {
    let fake = Fake::start().await;
    fake.add(FakeSession::new("s1", ME, "A10G", 15));
    let client = fake.client(&jwt_for(ME));
    assert!(client.get("s1").await.unwrap().is_some());
    fake.with(|s| s.sessions.clear());
    assert_eq!(client.get("s1").await.unwrap(), None);
    // Stopping an ended session is what the user wanted: not an error.
    client.stop("s1").await.unwrap();
}

#[tokio::test]
async fn legacy_sessions_get_created_plus_timeout_and_cannot_be_extended() {
    let fake = Fake::start().await;
    let mut s = FakeSession::new("legacy", ME, "T4", 20);
    s.timeout_end = None;
    let created = s.created_at;
    fake.add(s);
    let client = fake.client(&jwt_for(ME));
    // S3 leaves it out (no Redis deadline); S2 still knows it.
    assert!(client.list().await.unwrap().is_empty());
    let got = client.get("legacy").await.unwrap().unwrap();
    let expected = created + chrono::Duration::minutes(20);
    let skew = (got.deadline.unwrap() - expected).num_milliseconds().abs();
    assert!(skew < 5, "deadline {:?} vs {expected}", got.deadline);
    assert!(!got.capabilities.can_extend);
    let err = client.extend("legacy", 10).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("legacy"), "{}", err.message);
}

#[tokio::test]
async fn extending_adds_to_the_old_deadline_not_to_now() {
    let fake = Fake::start().await;
    let mut s = FakeSession::new("s1", ME, "A10G", 15);
    // A deadline far from now + 15, so "old deadline + minutes" and "now + minutes" differ.
    let end = NaiveDate::from_ymd_opt(2031, 5, 6)
        .unwrap()
        .and_hms_opt(7, 0, 0)
        .unwrap();
    s.timeout_end = Some(end);
    fake.add(s);
    let client = fake.client(&jwt_for(ME));
    client.extend("s1", 25).await.unwrap();
    let got = client.get("s1").await.unwrap().unwrap();
    assert_eq!(
        got.deadline,
        Some(Utc.from_utc_datetime(&end) + chrono::Duration::minutes(25))
    );
    // `timeout` keeps the original minutes upstream.
    assert_eq!(got.raw["timeout"], json!(15));
    assert_eq!(
        client.extend("s1", 0).await.unwrap_err().code,
        ErrorCode::InvalidInput
    );
    let gone = client.extend("nope", 5).await.unwrap_err();
    assert_eq!(gone.code, ErrorCode::SessionGone);
}

#[tokio::test]
async fn the_list_is_org_wide_and_we_keep_our_own() {
    let fake = Fake::start().await;
    fake.add(FakeSession::new("mine", ME, "A10G", 15));
    fake.add(FakeSession::new("theirs", "user_colleague", "H100", 15));
    let ids: Vec<String> = fake
        .client(&jwt_for(ME))
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec!["mine".to_owned()]);
}

#[tokio::test]
async fn a_just_launched_session_is_known_through_s2_before_s3_lists_it() {
    let fake = Fake::start().await;
    let client = fake.client(&jwt_for(ME));
    let s = client
        .launch(&launch_on("m-ready", Some("H100"), Some(30)))
        .await
        .unwrap();
    assert_eq!(s.state, SessionState::Starting);
    assert_eq!(s.resource.as_deref(), Some("H100"));
    let minutes = (s.deadline.unwrap() - Utc::now()).num_minutes();
    assert!((28..=30).contains(&minutes), "{minutes} minutes left");
    // The price comes from /platform/gpu-pricing (USD per second).
    let hourly = s.price_per_hour.unwrap();
    assert!((hourly - 0.002338 * 3600.0).abs() < 1e-9, "{hourly}");
    assert!(client.list().await.unwrap().is_empty());
    assert!(client.get(&s.id).await.unwrap().is_some());
    let body = fake.queries("POST /session");
    assert_eq!(body.len(), 1);
}

#[tokio::test]
async fn fastapi_errors_become_coded_errors_with_their_detail() {
    let fake = Fake::start().await;
    let client = fake.client(&jwt_for(ME));
    let missing = client
        .launch(&launch_on("m-gone", None, None))
        .await
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::InvalidInput);
    assert!(
        missing.message.contains("Machine not found"),
        "{}",
        missing.message
    );

    fake.with(|s| s.free_plan = true);
    let long = client
        .launch(&launch_on("m-ready", None, Some(60)))
        .await
        .unwrap_err();
    assert_eq!(long.code, ErrorCode::QuotaExceeded);
    assert!(long.message.contains("30 minutes"), "{}", long.message);

    fake.with(|s| s.low_balance = true);
    let broke = client
        .launch(&launch_on("m-ready", None, None))
        .await
        .unwrap_err();
    assert_eq!(broke.code, ErrorCode::QuotaExceeded);
    assert!(
        broke.message.contains("Insufficient balance"),
        "{}",
        broke.message
    );

    fake.with(|s| {
        s.free_plan = false;
        for i in 0..5 {
            s.sessions
                .push(FakeSession::new(&format!("busy{i}"), ME, "T4", 15));
        }
    });
    let busy = client
        .launch(&launch_on("m-ready", None, None))
        .await
        .unwrap_err();
    assert_eq!(busy.code, ErrorCode::QuotaExceeded);
    assert!(
        busy.message.contains("concurrent sessions"),
        "{}",
        busy.message
    );
}

#[tokio::test]
async fn a_422_list_is_turned_into_readable_text() {
    let fake = Fake::start().await;
    let client = fake.client(&jwt_for(ME));
    // An empty machine id is refused before the network; whitespace-only too.
    assert_eq!(
        client
            .launch(&launch_on(" ", None, None))
            .await
            .unwrap_err()
            .code,
        ErrorCode::InvalidInput
    );
    assert_eq!(fake.hits("POST /session"), 0);
    // The fake answers 422 to a body without machine_id; send one through the raw HTTP layer.
    let http = porthole_providers::http::HttpClient::new(
        &fake.base,
        Some(porthole_secrets::Sensitive::new(jwt_for(ME))),
        common::fast_policy(),
    )
    .unwrap();
    let err = http
        .send_json::<_, serde_json::Value>(reqwest::Method::POST, "session", Some(&json!({})), None)
        .await
        .unwrap_err()
        .into_error(ErrorCode::InvalidInput);
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("Field required"), "{}", err.message);
    assert!(err.message.contains("machine_id"), "{}", err.message);
}

#[tokio::test]
async fn a_bad_or_revoked_key_is_unauthorized() {
    let fake = Fake::start().await;
    for key in ["not-a-jwt", &jwt_for("revoked")] {
        let err = fake.client(key).list().await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthorized, "{key}");
        assert!(
            !err.message.contains(key),
            "the key leaked: {}",
            err.message
        );
    }
    // 401 is final: never retried.
    assert_eq!(fake.hits("GET /sessions"), 2);
}

#[tokio::test]
async fn stop_treats_missing_function_and_already_closed_as_stopped() {
    let fake = Fake::start().await;
    let mut s = FakeSession::new("nofn", ME, "A10G", 15);
    s.no_function = true;
    fake.add(s);
    fake.add(FakeSession::new("ok", ME, "A10G", 15));
    let client = fake.client(&jwt_for(ME));
    client.stop("nofn").await.unwrap();
    client.stop("ok").await.unwrap();
    client.stop("ok").await.unwrap();
    assert!(client.list().await.unwrap().is_empty());
    assert_eq!(fake.hits("DELETE /session/{id}"), 3);
}

#[tokio::test]
async fn machines_are_those_that_can_host_a_session() {
    let fake = Fake::start().await;
    let machines = fake.client(&jwt_for(ME)).machines().await.unwrap();
    let ids: Vec<&str> = machines.iter().map(|m| m.id.as_str()).collect();
    // Classic and builder-3 machines can never host one and are left out; a machine still
    // building is listed with the reason; workspace (snapshot) machines come from a second call.
    assert_eq!(ids, vec!["m-ready", "m-building", "m-snapshot"]);
    assert!(machines[0].can_launch);
    assert!(!machines[1].can_launch);
    assert!(machines[1]
        .unavailable_reason
        .as_deref()
        .unwrap()
        .contains("building"));
    assert_eq!(machines[0].default_resource.as_deref(), Some("A10G"));
    let queries = fake.queries("GET /machines");
    assert!(
        queries.iter().any(|q| q.contains("is_deleted=false")),
        "{queries:?}"
    );
}

#[tokio::test]
async fn gpus_are_an_open_string_priced_from_the_public_price_list() {
    let fake = Fake::start().await;
    fake.add(FakeSession::new("s1", ME, "X9000", 15));
    // Prices need no key: even a rejected key still gets them.
    let resources = fake.client("not-a-jwt").resources().await.unwrap();
    let x = resources.iter().find(|r| r.id == "X9000").unwrap();
    assert!((x.price_per_hour.unwrap() - 36.0).abs() < 1e-9);
    assert_eq!(x.availability, Availability::Unknown);
    let h100 = resources.iter().find(|r| r.id == "H100").unwrap();
    assert_eq!(h100.memory_mib, Some(80 * 1024));
    let session = fake.client(&jwt_for(ME)).get("s1").await.unwrap().unwrap();
    assert_eq!(session.resource.as_deref(), Some("X9000"));
    assert!((session.price_per_hour.unwrap() - 36.0).abs() < 1e-9);
}

#[tokio::test]
async fn the_log_stream_replays_and_ends_at_stream_complete() {
    let fake = Fake::start().await;
    fake.with(|s| {
        s.log_lines = vec![
            json!({"message": "Creating session...", "level": "info", "timestamp": "2025-06-01T12:00:00.123Z"}),
            json!({"message": "Modal function failed with status: x", "level": "error", "timestamp": "2025-06-01T12:00:01.000Z"}),
        ];
    });
    let lines: Vec<_> = fake
        .client(&jwt_for(ME))
        .logs("s1")
        .await
        .unwrap()
        .collect()
        .await;
    let lines: Vec<_> = lines.into_iter().map(Result::unwrap).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0].message, "Creating session...");
    assert_eq!(lines[1].level, "error");
    assert_eq!(
        lines[0].timestamp,
        Some(
            Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
                + chrono::Duration::milliseconds(123)
        )
    );
    // No exact-match log_level filter that would hide the error lines.
    let q = fake.queries("GET /v2/stream-logs");
    assert_eq!(q, vec!["session_id=s1".to_owned()]);
}

#[tokio::test]
async fn an_unavailable_log_stream_is_a_coded_error() {
    let fake = Fake::start().await;
    fake.with(|s| s.log_end = json!({"type": "stream_unavailable"}));
    let items: Vec<_> = fake
        .client(&jwt_for(ME))
        .logs("s1")
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].as_ref().unwrap_err().code,
        ErrorCode::UpstreamUnavailable
    );
}
