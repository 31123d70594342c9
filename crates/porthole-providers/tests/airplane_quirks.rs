//! One test per item of the Airplane quirks checklist (docs/providers/airplane.md §5), against
//! the fake in porthole-fakes.
#![allow(clippy::unwrap_used)]

mod airplane;

use std::time::Duration;

use airplane::{client, client_with, fake, runbook, seen, until};
use porthole_core::inputs::ParamKind;
use porthole_core::model::{EndReason, SessionState};
use porthole_core::provider::Provider;
use porthole_core::ErrorCode;
use porthole_fakes::airplane::{Fault, Timestamps};
use serde_json::{json, Value};

fn body(s: &porthole_fakes::airplane::Seen) -> Value {
    serde_json::from_str(&s.body).unwrap()
}

#[tokio::test]
async fn every_call_is_an_rpc_verb_under_v0_gets_with_queries_and_posts_with_json() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let s = c.launch(&runbook("hello", &[])).await.unwrap();
    c.get(&s.id).await.unwrap();
    c.list().await.unwrap();
    let all = fake.seen();
    assert!(all.iter().all(|r| r.path.starts_with("/v0/")), "{all:?}");
    for r in &all {
        match r.method.as_str() {
            "GET" => assert!(r.body.is_empty(), "{r:?}"),
            "POST" => assert_eq!(r.content_type.as_deref(), Some("application/json")),
            other => panic!("{other} {}", r.path),
        }
    }
    let get = seen(&fake, "GET", "/sessions/get");
    assert_eq!(get[0].query, format!("id={}", s.id));
}

#[tokio::test]
async fn the_key_goes_in_x_airplane_api_key_and_a_wrong_one_is_unauthorized() {
    let fake = fake(|_| {}).await;
    client(&fake).check_access().await.unwrap();
    assert_eq!(
        fake.seen()[0].api_key.as_deref(),
        Some("tkn_fake_airplane_key")
    );
    let wrong = client_with(&fake, "tkn_wrong", None, None);
    let err = wrong.check_access().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized);
    assert!(err.message.contains("invalid API key"), "{}", err.message);
    assert!(
        !err.message.contains("tkn_"),
        "no key in errors: {}",
        err.message
    );
}

#[tokio::test]
async fn the_team_id_is_sent_when_known_and_not_required() {
    let fake = fake(|c| c.team_id = Some("tea20220101fake01".into())).await;
    client(&fake).list().await.unwrap();
    assert!(fake.seen().iter().all(|r| r.team_id.is_none()));
    let key = fake.config().api_key;
    client_with(&fake, &key, Some("tea20220101fake01"), None)
        .list()
        .await
        .unwrap();
    assert_eq!(
        fake.seen().last().unwrap().team_id.as_deref(),
        Some("tea20220101fake01")
    );
    let other = client_with(&fake, &key, Some("tea_other"), None);
    assert_eq!(
        other.list().await.unwrap_err().code,
        ErrorCode::Unauthorized
    );
}

#[tokio::test]
async fn the_environment_is_chosen_by_header_and_the_default_has_none() {
    let fake = fake(|_| {}).await;
    client(&fake).launch(&runbook("hello", &[])).await.unwrap();
    let key = fake.config().api_key;
    client_with(&fake, &key, None, Some("staging"))
        .launch(&runbook("hello", &[]))
        .await
        .unwrap();
    let executes = seen(&fake, "POST", "/runbooks/execute");
    assert_eq!(executes[0].env_slug, None);
    assert_eq!(executes[1].env_slug.as_deref(), Some("staging"));
}

#[tokio::test]
async fn error_bodies_become_coded_errors_in_plain_words() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    for (status, code, words) in [
        (400, ErrorCode::InvalidInput, "injected"),
        (401, ErrorCode::Unauthorized, "rejected the API key"),
        (403, ErrorCode::Unauthorized, "read-only"),
        (409, ErrorCode::InvalidInput, "busy"),
        (423, ErrorCode::InvalidInput, "busy"),
        (500, ErrorCode::UpstreamUnavailable, "having trouble"),
    ] {
        // A 5xx is asked again (four times in all); the others are not.
        let tries = if status >= 500 { 4 } else { 1 };
        for _ in 0..tries {
            fake.inject("/v0/sessions/list", Fault::Status(status));
        }
        let err = c.check_access().await.unwrap_err();
        assert_eq!(err.code, code, "{status}: {}", err.message);
        assert!(err.message.contains(words), "{status}: {}", err.message);
    }
    c.check_access().await.expect("no fault left over");
    let missing = c.get("ses_missing").await.unwrap();
    assert!(missing.is_none(), "a 404 session is none");
    let err = c.launch(&runbook("nope", &[])).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(
        err.message.contains("no runbook \"nope\""),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn a_429_waits_as_long_as_retry_after_says() {
    let fake = fake(|_| {}).await;
    fake.inject("/v0/sessions/list", Fault::RetryAfter(1));
    let started = std::time::Instant::now();
    client(&fake).list().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(seen(&fake, "GET", "/sessions/list").len(), 2);
}

#[tokio::test]
async fn sessions_get_takes_the_id_in_the_query_and_answers_the_session_unwrapped() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let launched = c.launch(&runbook("hello", &[])).await.unwrap();
    let got = c.get(&launched.id).await.unwrap().unwrap();
    assert_eq!(got.id, launched.id);
    assert_eq!(got.name, "Say hello #1");
    assert_eq!(got.resource.as_deref(), Some("rbk20220120hello01"));
}

#[tokio::test]
async fn sessions_list_is_wrapped_without_a_total_and_paged_until_a_short_page() {
    let fake = fake(|_| {}).await;
    fake.seed_history(60);
    let ended = client(&fake).finished().await.unwrap();
    assert_eq!(ended.len(), 60);
    let pages = seen(&fake, "GET", "/sessions/list");
    assert_eq!(pages.len(), 2, "a full page, then a short one");
}

#[tokio::test]
async fn the_list_asks_for_at_most_50_rows() {
    let fake = fake(|_| {}).await;
    fake.seed_history(120);
    client(&fake).list().await.unwrap();
    for page in seen(&fake, "GET", "/sessions/list") {
        assert!(page.query.contains("limit=50"), "{}", page.query);
    }
}

#[tokio::test]
async fn live_sessions_are_filtered_here_as_the_list_has_no_status_filter() {
    let fake = fake(|_| {}).await;
    let history = fake.seed_history(3);
    let c = client(&fake);
    let live = c
        .launch(&runbook("deploy", &[("service", "web")]))
        .await
        .unwrap();
    let listed = c.list().await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [live.id.as_str()]
    );
    let ended: Vec<String> = c
        .finished()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ended, history, "newest first");
    assert!(!seen(&fake, "GET", "/sessions/list")
        .iter()
        .any(|r| r.query.contains("status")));
}

#[tokio::test]
async fn updated_after_is_rfc3339_with_z_and_brings_what_changed() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let s = c.launch(&runbook("hello", &[])).await.unwrap();
    c.list().await.unwrap();
    let done = until(&c, &s.id, |st| !st.is_live()).await;
    assert_eq!(done.state, SessionState::Ended(EndReason::Completed));
    c.list().await.unwrap();
    let incremental = seen(&fake, "GET", "/sessions/list").pop().unwrap();
    let after = url::form_urlencoded::parse(incremental.query.as_bytes())
        .find_map(|(k, v)| (k == "updatedAfter").then(|| v.into_owned()))
        .expect("incremental");
    let after = after.as_str();
    assert!(after.ends_with('Z'), "{after}");
    assert!(chrono::DateTime::parse_from_rfc3339(after).is_ok());
    let ended = c.finished().await.unwrap();
    assert!(ended.iter().any(|e| e.id == s.id), "the change was read");
}

#[tokio::test]
async fn both_timestamp_formats_are_read() {
    for format in [Timestamps::Postgres, Timestamps::Rfc3339, Timestamps::Mixed] {
        let fake = fake(|c| c.timestamps = format).await;
        let c = client(&fake);
        let before = chrono::Utc::now() - chrono::Duration::seconds(2);
        let s = c.launch(&runbook("hello", &[])).await.unwrap();
        let raw = fake.session(&s.id).unwrap();
        assert!(s.created_at >= before, "{format:?}: {raw}");
        let updated = s.details.iter().find(|d| d.label == "Updated").unwrap();
        assert!(updated.at.unwrap() >= before, "{format:?}: {raw}");
    }
    let pg = porthole_providers::airplane::wire::parse_time("2022-01-11 22:32:45.601486+00");
    assert_eq!(pg.unwrap().to_rfc3339(), "2022-01-11T22:32:45.601486+00:00");
}

#[tokio::test]
async fn a_runbook_is_executed_by_slug_or_by_id() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    c.launch(&runbook("hello", &[])).await.unwrap();
    c.launch(&runbook("rbk20220120hello01", &[])).await.unwrap();
    let executes = seen(&fake, "POST", "/runbooks/execute");
    assert_eq!(body(&executes[0])["slug"], "hello");
    assert!(body(&executes[0]).get("id").is_none());
    assert_eq!(body(&executes[1])["id"], "rbk20220120hello01");
    assert!(body(&executes[1]).get("slug").is_none());
}

#[tokio::test]
async fn execute_answers_a_session_id_that_is_then_read() {
    let fake = fake(|_| {}).await;
    let s = client(&fake).launch(&runbook("hello", &[])).await.unwrap();
    assert!(s.id.starts_with("ses"), "{}", s.id);
    assert!(fake.session(&s.id).is_some());
    assert!(seen(&fake, "GET", "/sessions/get")
        .iter()
        .any(|r| r.query == format!("id={}", s.id)));
}

#[tokio::test]
async fn every_execute_carries_an_idempotency_key_so_a_retry_starts_nothing_twice() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    fake.inject("/v0/runbooks/execute", Fault::Status(500));
    c.launch(&runbook("hello", &[])).await.unwrap();
    c.launch(&runbook("hello", &[])).await.unwrap();
    let executes = seen(&fake, "POST", "/runbooks/execute");
    assert_eq!(executes.len(), 3, "the failed one was retried");
    let keys: Vec<_> = executes
        .iter()
        .map(|r| r.idempotency_key.clone().expect("a key"))
        .collect();
    assert_eq!(keys[0], keys[1], "the retry repeats its key");
    assert_ne!(keys[1], keys[2], "a new launch has its own");
    assert_eq!(fake.executions(), 2);
}

#[tokio::test]
async fn parameter_values_are_strings_both_ways() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let s = c
        .launch(&runbook(
            "deploy",
            &[("service", "web"), ("replicas", "3"), ("dry_run", "true")],
        ))
        .await
        .unwrap();
    let sent = body(&seen(&fake, "POST", "/runbooks/execute")[0]);
    assert_eq!(
        sent["paramValues"],
        json!({"service": "web", "replicas": "3", "dry_run": "true"})
    );
    let replicas = s
        .details
        .iter()
        .find(|d| d.label == "Parameter replicas")
        .unwrap();
    assert_eq!(replicas.value.as_deref(), Some("3"));
}

#[tokio::test]
async fn statuses_the_client_does_not_know_are_shown_as_written() {
    let fake = fake(|c| c.extra_rows = vec![json!({"id": "ses_paused", "status": "Paused"})]).await;
    let listed = client(&fake).list().await.unwrap();
    let paused = listed.iter().find(|s| s.id == "ses_paused").unwrap();
    assert_eq!(paused.state, SessionState::Other("Paused".into()));
}

#[tokio::test]
async fn a_row_with_only_its_id_is_a_session() {
    let fake = fake(|c| c.extra_rows = vec![json!({"id": "ses_bare"})]).await;
    let c = client(&fake);
    let listed = c.list().await.unwrap();
    let bare = listed.iter().find(|s| s.id == "ses_bare").expect("shown");
    assert_eq!(bare.name, "ses_bare");
    assert!(c.get("ses_bare").await.unwrap().is_some());
}

#[tokio::test]
async fn ids_are_type_prefixed_and_a_runbook_url_gives_its_id() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let s = c
        .launch(&runbook(
            "https://app.airplane.dev/runbooks/rbk20220120hello01",
            &[],
        ))
        .await
        .unwrap();
    assert_eq!(
        body(&seen(&fake, "POST", "/runbooks/execute")[0])["id"],
        "rbk20220120hello01"
    );
    assert!(s.id.starts_with("ses") && s.resource.unwrap().starts_with("rbk"));
}

#[tokio::test]
async fn updated_by_may_be_a_session_and_who_started_it_is_created_by() {
    let fake = fake(|_| {}).await;
    let s = client(&fake).launch(&runbook("hello", &[])).await.unwrap();
    assert!(s.raw["updatedBy"].as_str().unwrap().starts_with("ses"));
    let by = s.details.iter().find(|d| d.label == "Started by").unwrap();
    assert_eq!(by.value.as_deref(), Some("usr20220101apiuser"));
}

#[tokio::test]
async fn parameters_nest_in_params_and_values_and_prompts_use_parameters() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let params = c.parameters("deploy").await.unwrap();
    let named = |n: &str| params.iter().find(|p| p.name == n).unwrap().clone();
    assert!(named("service").required);
    assert_eq!(named("replicas").kind, ParamKind::Number);
    assert_eq!(named("replicas").default.as_deref(), Some("2"));
    assert_eq!(named("dry_run").kind, ParamKind::Boolean);
    assert_eq!(named("labels").kind, ParamKind::Json);
    assert!(named("labels").help.unwrap().contains("team"));
    assert!(named("regions").help.unwrap().contains("list of string"));
    let s = c
        .launch(&runbook("deploy", &[("service", "web")]))
        .await
        .unwrap();
    until(&c, &s.id, |st| *st == SessionState::WaitingForInput).await;
    let prompts = c.prompts(&s.id).await.unwrap();
    let reason = &prompts[0].parameters[0];
    assert_eq!((reason.name.as_str(), reason.required), ("reason", true));
}

#[tokio::test]
async fn permissions_of_any_role_do_not_stop_a_row_being_read() {
    let row = json!({"id": "ses_private", "status": "Active", "isPrivate": true, "permissions": [
        {"action": "sessions.get", "roleID": "session_admin", "subUserID": "usr1"},
        {"action": "sessions.get", "roleID": "a_role_from_later", "subGroupID": "grp1"}]});
    let fake = fake(|c| c.extra_rows = vec![row]).await;
    let listed = client(&fake).list().await.unwrap();
    let private = listed.iter().find(|s| s.id == "ses_private").unwrap();
    assert_eq!(private.state, SessionState::Ready);
}

#[tokio::test]
async fn there_is_no_stop_or_extend_and_nothing_is_sent_for_them() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let s = c.launch(&runbook("hello", &[])).await.unwrap();
    let before = fake.seen().len();
    let stop = c.stop(&s.id).await.unwrap_err();
    assert_eq!(stop.code, ErrorCode::InvalidInput);
    assert!(
        stop.message.contains("cannot be stopped"),
        "{}",
        stop.message
    );
    assert_eq!(
        c.extend(&s.id, 15).await.unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(fake.seen().len(), before);
    let d = porthole_core::model::ProviderKind::Airplane.descriptor();
    assert!(d.actions.stop.is_none() && d.actions.cancel.is_none() && d.extend_steps.is_empty());
    assert!(!s.capabilities.can_stop && !s.capabilities.can_extend);
}

#[tokio::test]
async fn runs_are_read_since_the_session_began_and_kept_by_its_session_id() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let a = c.launch(&runbook("hello", &[("name", "a")])).await.unwrap();
    let b = c.launch(&runbook("hello", &[("name", "b")])).await.unwrap();
    until(&c, &a.id, |st| !st.is_live()).await;
    until(&c, &b.id, |st| !st.is_live()).await;
    let jobs = c.jobs(&a.id).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        jobs[0].outputs.get("greeting").map(String::as_str),
        Some("hello, a")
    );
    let runs = seen(&fake, "GET", "/runs/list");
    assert!(runs.iter().all(|r| !r.query.contains("sessionID")));
    assert!(runs.iter().all(|r| r.query.contains("since=")));
}

#[tokio::test]
async fn there_is_no_deadline_to_count_down() {
    let fake = fake(|_| {}).await;
    let s = client(&fake)
        .launch(&runbook("deploy", &[("service", "web")]))
        .await
        .unwrap();
    assert!(s.deadline.is_none() && s.idle_deadline.is_none() && s.unused_deadline.is_none());
    assert!(s.clocks().is_empty());
    let d = porthole_core::model::ProviderKind::Airplane.descriptor();
    assert!(d.lifetime.choices.is_empty());
    let mut asked = runbook("hello", &[]);
    asked.timeout_minutes = Some(30);
    assert_eq!(
        d.check_launch(&asked).unwrap_err().code,
        ErrorCode::InvalidInput
    );
}

#[tokio::test]
async fn the_web_host_is_the_api_host_with_api_turned_into_app() {
    assert_eq!(
        porthole_providers::airplane::web_host("https://api.airplane.dev/v0").as_deref(),
        Some("https://app.airplane.dev")
    );
    // The fake is on 127.0.0.1: nothing to derive, so no link.
    let fake = fake(|_| {}).await;
    let s = client(&fake).launch(&runbook("hello", &[])).await.unwrap();
    assert!(s.details.iter().all(|d| d.link.is_none()));
}
