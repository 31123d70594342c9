//! The IBM Quantum client against a fake built from docs/providers/ibm-quantum.md: one test per
//! quirk of its checklist (§8), at the wire boundary.
#![allow(clippy::unwrap_used)]

mod ibm;

use chrono::Utc;
use ibm::{client, client_with, fake, launch, seen};
use porthole_core::model::{Availability, EndReason, ResourceKind, SessionState};
use porthole_core::provider::Provider;
use porthole_core::ErrorCode;
use porthole_providers::ibm_quantum::{crn_region, regional_base_url, UNUSED_LIMIT};

#[tokio::test]
async fn the_key_is_exchanged_form_encoded_and_every_call_carries_bearer_crn_and_version() {
    let fake = fake(|_| {}).await;
    client(&fake).resources().await.unwrap();
    let token = seen(&fake, "POST", "/identity/token");
    assert_eq!(token.len(), 1);
    assert_eq!(
        token[0].content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert!(token[0]
        .body
        .contains("grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey"));
    let api = seen(&fake, "GET", "/backends");
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].auth_scheme, "Bearer");
    assert_eq!(
        api[0].service_crn.as_deref(),
        Some(fake.config().crn.as_str())
    );
    assert!(api[0].api_version.as_deref().unwrap() >= "2025-01-01");
}

#[tokio::test]
async fn a_token_is_reused_while_fresh_and_exchanged_again_before_it_expires() {
    let hour = fake(|_| {}).await;
    let c = client(&hour);
    c.resources().await.unwrap();
    c.resources().await.unwrap();
    assert_eq!(seen(&hour, "POST", "/identity/token").len(), 1, "reused");
    // A token with less than six minutes of life left is renewed before use.
    let short = fake(|c| c.token_seconds = 300).await;
    let c = client(&short);
    c.resources().await.unwrap();
    c.resources().await.unwrap();
    assert_eq!(seen(&short, "POST", "/identity/token").len(), 2, "renewed");
}

#[tokio::test]
async fn a_token_that_expired_mid_run_is_exchanged_again_once() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    c.resources().await.unwrap();
    fake.expire_tokens();
    assert_eq!(c.resources().await.unwrap().len(), 4);
    assert_eq!(seen(&fake, "POST", "/identity/token").len(), 2);
    assert_eq!(
        seen(&fake, "GET", "/backends").len(),
        3,
        "one refused, one again"
    );
}

#[tokio::test]
async fn a_wrong_key_and_a_foreign_instance_are_told_apart() {
    let fake = fake(|_| {}).await;
    let wrong = client_with(&fake, "not-the-key", &fake.config().crn)
        .check_access()
        .await
        .unwrap_err();
    assert_eq!(wrong.code, ErrorCode::Unauthorized);
    assert!(
        wrong.message.contains("IBM Cloud API key was rejected"),
        "{}",
        wrong.message
    );
    assert_eq!(
        seen(&fake, "POST", "/identity/token").len(),
        1,
        "IAM's 400 is not retried"
    );
    let other = "crn:v1:bluemix:public:quantum-computing:us-east:a/other:elsewhere::";
    let foreign = client_with(&fake, &fake.config().api_key, other)
        .check_access()
        .await
        .unwrap_err();
    assert_eq!(foreign.code, ErrorCode::Unauthorized);
    assert!(
        foreign
            .message
            .contains("not authorized for this IBM Cloud API key"),
        "{}",
        foreign.message
    );
    assert!(!foreign.message.contains("was rejected"));
}

#[test]
fn the_region_comes_from_the_crns_sixth_field() {
    let us = "crn:v1:bluemix:public:quantum-computing:us-east:a/acct:guid::";
    let eu = "crn:v1:bluemix:public:quantum-computing:eu-de:a/acct:guid::";
    assert_eq!(
        regional_base_url(us).unwrap(),
        "https://quantum.cloud.ibm.com/api/v1"
    );
    assert_eq!(
        regional_base_url(eu).unwrap(),
        "https://eu-de.quantum.cloud.ibm.com/api/v1"
    );
    assert_eq!(crn_region(eu).unwrap(), "eu-de");
    // A region is a name: nothing that could turn the API's host into another one.
    let host = crn_region("crn:v1:bluemix:public:quantum-computing:evil.example/:a/x:y::");
    assert_eq!(host.unwrap_err().code, ErrorCode::InvalidInput);
    let bad = crn_region("crn:v1:bluemix:public:cloud-object-storage:global:a/x:y::").unwrap_err();
    assert_eq!(bad.code, ErrorCode::InvalidInput);
}

#[tokio::test]
async fn backends_come_as_devices_with_status_queue_and_reason() {
    let fake = fake(|_| {}).await;
    let resources = client(&fake).resources().await.unwrap();
    let by = |name: &str| resources.iter().find(|r| r.id == name).unwrap();
    assert_eq!(by("ibm_torino").kind, ResourceKind::QpuBackend);
    assert_eq!(by("ibm_torino").label, "ibm_torino (133 qubits, Heron)");
    assert_eq!(
        by("ibm_torino").availability,
        Availability::Busy { queue_length: 4 }
    );
    assert_eq!(by("ibm_fez").availability, Availability::Available);
    assert_eq!(
        by("ibm_kyiv").availability,
        Availability::Unavailable {
            reason: "paused: calibrating".into()
        }
    );
    assert_eq!(
        by("ibm_osaka").availability,
        Availability::Unavailable {
            reason: "offline: maintenance".into()
        }
    );
}

#[tokio::test]
async fn a_launch_opens_a_session_waiting_for_its_first_job_with_both_backend_names() {
    let fake = fake(|_| {}).await;
    let session = client(&fake)
        .launch(&launch("ibm_fez", Some("batch"), Some(60)))
        .await
        .unwrap();
    assert_eq!(session.state, SessionState::Queued);
    assert_eq!(
        session.status_label.as_deref(),
        Some("Waiting for first job")
    );
    assert!(session.raw["backend_name"].is_null(), "null while open");
    assert_eq!(
        session.resource.as_deref(),
        Some("ibm_fez"),
        "the backend asked for"
    );
    assert_eq!(session.id.len(), 20);
    assert!(session
        .id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    // The hard clock starts with the first job; until then the unused one counts.
    assert_eq!(session.deadline, None);
    assert_eq!(
        session.unused_deadline,
        Some(session.created_at + UNUSED_LIMIT)
    );
    let body: serde_json::Value =
        serde_json::from_str(&seen(&fake, "POST", "/sessions")[0].body).unwrap();
    assert_eq!(body["backend"], "ibm_fez");
    assert_eq!(body["backend_name"], "ibm_fez");
    assert_eq!(body["mode"], "batch");
    assert_eq!(body["max_ttl"], 3600);
}

#[tokio::test]
async fn the_default_lifetime_is_eight_hours_and_the_plan_clamps_it() {
    let fake = fake(|c| c.max_ttl_limit = 7200).await;
    let session = client(&fake)
        .launch(&launch("ibm_fez", None, None))
        .await
        .unwrap();
    let body: serde_json::Value =
        serde_json::from_str(&seen(&fake, "POST", "/sessions")[0].body).unwrap();
    assert_eq!(body["max_ttl"], 28_800);
    assert_eq!(body["mode"], "dedicated", "the first mode is the default");
    assert_eq!(
        session.raw["max_ttl"], 7200,
        "read back as the server clamped it"
    );
    let limit = session
        .details
        .iter()
        .find(|d| d.label == "Lifetime limit")
        .unwrap();
    assert_eq!(
        limit.value.as_deref(),
        Some("2 h, from its first job"),
        "shown as clamped"
    );
}

#[tokio::test]
async fn the_open_plan_refuses_dedicated_sessions_in_plain_words() {
    let fake = fake(|c| c.open_plan = true).await;
    let err = client(&fake)
        .launch(&launch("ibm_fez", Some("dedicated"), None))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("--mode batch"), "{}", err.message);
    let batch = client(&fake)
        .launch(&launch("ibm_fez", Some("batch"), None))
        .await;
    assert!(batch.is_ok());
}

#[tokio::test]
async fn an_offline_or_unknown_backend_is_refused_before_anything_is_created() {
    let fake = fake(|_| {}).await;
    let offline = client(&fake)
        .launch(&launch("ibm_osaka", None, None))
        .await
        .unwrap_err();
    assert_eq!(offline.code, ErrorCode::InvalidInput);
    assert!(
        offline.message.contains("offline: maintenance"),
        "{}",
        offline.message
    );
    let unknown = client(&fake)
        .launch(&launch("ibm_nowhere", None, None))
        .await
        .unwrap_err();
    assert_eq!(unknown.code, ErrorCode::InvalidInput);
    assert!(seen(&fake, "POST", "/sessions").is_empty());
}

#[tokio::test]
async fn states_are_an_open_enum_and_unknown_ones_are_kept() {
    // A job that runs for as long as the test: the session has work, so nothing closes it.
    let fake = fake(|c| c.job_seconds = 600.0).await;
    let c = client(&fake);
    let id = c.launch(&launch("ibm_fez", None, None)).await.unwrap().id;
    fake.submit_job(&id).unwrap();
    let state = |s: &'static str, accepting: bool| {
        fake.edit_session(&id, |f| {
            f.state = s;
            f.accepting_jobs = accepting;
        });
    };
    state("active", true);
    assert_eq!(
        c.get(&id).await.unwrap().unwrap().state,
        SessionState::Ready
    );
    state("active", false);
    assert_eq!(
        c.get(&id).await.unwrap().unwrap().state,
        SessionState::Draining
    );
    state("pending_closed", false);
    assert_eq!(
        c.get(&id).await.unwrap().unwrap().state,
        SessionState::Draining
    );
    state("pending_inactive", true);
    assert_eq!(c.get(&id).await.unwrap().unwrap().state, SessionState::Idle);
    state("frozen_by_ops", true);
    assert_eq!(
        c.get(&id).await.unwrap().unwrap().state,
        SessionState::Other("frozen_by_ops".into())
    );
}

#[tokio::test]
async fn close_is_a_patch_of_accepting_jobs_only_with_an_empty_answer_and_404_counts_as_closed() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let id = c.launch(&launch("ibm_fez", None, None)).await.unwrap().id;
    c.stop(&id).await.unwrap();
    let patch = seen(&fake, "PATCH", &format!("/sessions/{id}"));
    assert_eq!(patch.len(), 1);
    assert_eq!(patch[0].body, r#"{"accepting_jobs":false}"#);
    // No job ever ran: it closes at once, and S2 still answers for it.
    let closed = c.get(&id).await.unwrap().unwrap();
    assert!(
        matches!(closed.state, SessionState::Ended(_)),
        "{:?}",
        closed.state
    );
    c.stop("c0000000000000000404").await.unwrap();
}

#[tokio::test]
async fn cancel_is_delete_close_with_an_empty_answer_and_the_closed_session_stays_readable() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let id = c.launch(&launch("ibm_fez", None, None)).await.unwrap().id;
    c.cancel(&id).await.unwrap();
    assert_eq!(
        seen(&fake, "DELETE", &format!("/sessions/{id}/close")).len(),
        1
    );
    let closed = c.get(&id).await.unwrap().unwrap();
    assert_eq!(closed.state, SessionState::Ended(EndReason::Cancelled));
    assert_eq!(
        closed.status_label.as_deref(),
        Some("cancelled by the user")
    );
    assert!(closed.raw["closed_at"].is_string());
    assert!(c.list().await.unwrap().is_empty(), "not live");
    assert!(c.get("c0000000000000000404").await.unwrap().is_none());
}

#[tokio::test]
async fn sessions_are_listed_from_workloads_of_both_modes_every_page() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let mut ids = Vec::new();
    // 60 dedicated ones ("session" workloads: two pages of 50) and 10 batches.
    for i in 0..70 {
        let mode = if i % 7 == 0 { "batch" } else { "dedicated" };
        ids.push(
            c.launch(&launch("ibm_fez", Some(mode), None))
                .await
                .unwrap()
                .id,
        );
    }
    c.cancel(&ids[0]).await.unwrap();
    let mut listed: Vec<String> = c.list().await.unwrap().into_iter().map(|s| s.id).collect();
    listed.sort();
    let mut live = ids[1..].to_vec();
    live.sort();
    assert_eq!(listed, live);
    let pages = seen(&fake, "GET", "/workloads");
    assert!(pages.len() >= 3, "paged through next.href: {}", pages.len());
    let first = &pages[0].query;
    assert!(
        first.contains("status=pending") && first.contains("status=in_progress"),
        "{first}"
    );
    assert!(first.contains("mode=session"), "{first}");
}

#[tokio::test]
async fn a_next_page_on_another_origin_is_not_followed() {
    let fake = fake(|c| c.foreign_next = true).await;
    let c = client(&fake);
    for _ in 0..51 {
        c.launch(&launch("ibm_fez", None, None)).await.unwrap();
    }
    let err = c.list().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidResponse);
    assert!(err.message.contains("not followed"), "{}", err.message);
}

#[tokio::test]
async fn there_is_no_extend() {
    let fake = fake(|_| {}).await;
    let err = client(&fake).extend("c1", 30).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("relaunch"), "{}", err.message);
    assert!(fake.seen().is_empty(), "nothing sent");
}

#[tokio::test]
async fn error_bodies_are_read_in_each_shape() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    // A 404 with {errors: [{code: string}]}: the session is gone.
    let gone = c.get("c0000000000000000404").await.unwrap();
    assert!(gone.is_none());
    // The workloads' 401 (numeric code, a solution) after the token expired twice in a row.
    c.resources().await.unwrap();
    fake.inject(
        "/api/v1/workloads",
        porthole_fakes::ibm_quantum::Fault::Status(401),
    );
    fake.inject(
        "/api/v1/workloads",
        porthole_fakes::ibm_quantum::Fault::Status(401),
    );
    let err = c.list().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized);
    assert!(err.message.contains("injected failure"), "{}", err.message);
}

#[tokio::test]
async fn ids_that_would_leave_the_sessions_path_are_refused() {
    let fake = fake(|_| {}).await;
    let err = client(&fake).stop("../backends").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::SessionGone);
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn the_hard_clock_starts_at_the_first_job_and_the_idle_one_after_the_last() {
    let fake = fake(|c| {
        c.job_seconds = 0.2;
        c.interactive_ttl = 600;
    })
    .await;
    let c = client(&fake);
    let id = c
        .launch(&launch("ibm_fez", None, Some(60)))
        .await
        .unwrap()
        .id;
    fake.submit_job(&id).unwrap();
    let running = c.get(&id).await.unwrap().unwrap();
    assert_eq!(running.state, SessionState::Ready);
    assert_eq!(running.status_label.as_deref(), Some("Running"));
    assert_eq!(running.unused_deadline, None, "it has worked");
    let started = running.raw["started_at"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<Utc>>()
        .unwrap();
    assert_eq!(
        running.deadline,
        Some(started + chrono::Duration::seconds(3600))
    );
    assert_eq!(running.resource.as_deref(), Some("ibm_fez"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let idle = loop {
        let s = c.get(&id).await.unwrap().unwrap();
        if s.idle_deadline.is_some() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no idle deadline after the job"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let done = idle.raw["last_job_completed"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<Utc>>()
        .unwrap();
    assert_eq!(
        idle.idle_deadline,
        Some(done + chrono::Duration::seconds(600))
    );
    assert!(idle.raw["elapsed_time"].is_null(), "null while it runs");
}

#[tokio::test]
async fn the_instances_usage_is_told_against_its_limit() {
    let fake = fake(|_| {}).await;
    let details = client(&fake).account_details().await.unwrap();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].label, "QPU usage");
    assert_eq!(details[0].value.as_deref(), Some("2 min of 10 min (20%)"));
    assert_eq!(seen(&fake, "GET", "/instances/usage").len(), 1);
}

#[tokio::test]
async fn credentials_go_over_https_or_to_this_machine_only() {
    let fake = fake(|_| {}).await;
    let config = fake.config();
    let made = |base: &str, iam: &str| {
        porthole_providers::IbmQuantum::new(porthole_providers::IbmQuantumConfig {
            account_id: "ibm".into(),
            base_url: base.into(),
            instance: config.crn.clone(),
            iam_url: iam.into(),
            key: porthole_secrets::Sensitive::new(config.api_key.clone()),
            policy: ibm::fast_policy(),
        })
        .err()
        .map(|e| e.message)
    };
    assert_eq!(
        made(&fake.base_url(), &fake.root()),
        None,
        "loopback is fine"
    );
    assert_eq!(
        made(
            "https://quantum.cloud.ibm.com/api/v1",
            "https://iam.cloud.ibm.com"
        ),
        None
    );
    let iam = made("https://quantum.cloud.ibm.com/api/v1", "http://iam.example").unwrap();
    assert!(iam.contains("IAM URL must start with https://"), "{iam}");
    let api = made("http://quantum.example/api/v1", "https://iam.cloud.ibm.com").unwrap();
    assert!(api.contains("API base URL"), "{api}");
}
