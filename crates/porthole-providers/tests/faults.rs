//! Network behaviour under faults: 5xx bursts, slow answers, truncated bodies, refused
//! connections, 429 with Retry-After. GETs are retried with backoff; POST and DELETE are not
//! retried blindly; a network failure is never reported as "unauthorized".
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{client_for, fast_policy, jwt_for, Fake, FakeSession, Fault, ME};
use porthole_core::model::LaunchRequest;
use porthole_core::provider::Provider;
use porthole_core::ErrorCode;

fn launch() -> LaunchRequest {
    LaunchRequest {
        machine_id: "m-ready".to_owned(),
        resource: None,
        timeout_minutes: None,
        mode: None,
        params: Default::default(),
    }
}

#[tokio::test]
async fn a_burst_of_5xx_on_a_get_is_retried_through() {
    let fake = Fake::start().await;
    fake.add(FakeSession::new("s1", ME, "A10G", 15));
    fake.fault(
        "GET /sessions",
        &[
            Fault::Status(503, "busy"),
            Fault::Status(502, "Bad Gateway"),
        ],
    );
    let list = fake.client(&jwt_for(ME)).list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(fake.hits("GET /sessions"), 3);
}

#[tokio::test]
async fn a_get_that_keeps_failing_gives_up_after_the_bounded_attempts() {
    let fake = Fake::start().await;
    fake.fault(
        "GET /sessions",
        &[Fault::Status(500, "Internal Server Error"); 10],
    );
    let err = fake.client(&jwt_for(ME)).list().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert_eq!(
        fake.hits("GET /sessions"),
        fast_policy().max_attempts as usize
    );
}

#[tokio::test]
async fn a_post_that_fails_with_5xx_is_not_retried() {
    let fake = Fake::start().await;
    fake.fault(
        "POST /session",
        &[Fault::Status(500, "Session creation failed")],
    );
    let err = fake
        .client(&jwt_for(ME))
        .launch(&launch())
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert!(
        err.message.contains("Session creation failed"),
        "{}",
        err.message
    );
    assert_eq!(fake.hits("POST /session"), 1);
    // Nothing was launched twice behind the user's back.
    assert_eq!(fake.with(|s| s.created), 0);
}

#[tokio::test]
async fn a_delete_that_fails_with_5xx_is_not_retried() {
    let fake = Fake::start().await;
    fake.add(FakeSession::new("s1", ME, "A10G", 15));
    fake.fault("DELETE /session/{id}", &[Fault::Status(502, "Bad Gateway")]);
    let err = fake.client(&jwt_for(ME)).stop("s1").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert_eq!(fake.hits("DELETE /session/{id}"), 1);
}

#[tokio::test]
async fn a_slow_answer_times_out_as_unavailable_not_unauthorized() {
    let fake = Fake::start().await;
    fake.fault(
        "GET /sessions",
        &[
            Fault::Delay(Duration::from_secs(3)),
            Fault::Delay(Duration::from_secs(3)),
        ],
    );
    let mut policy = fast_policy();
    policy.request_timeout = Duration::from_millis(200);
    policy.max_attempts = 2;
    let err = client_for(&fake.base, &jwt_for(ME), policy)
        .list()
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert!(
        !err.message.to_lowercase().contains("unauthor"),
        "{}",
        err.message
    );
    // The timeout bounds the whole request, retries included: no time was left for a second try.
    assert_eq!(fake.hits("GET /sessions"), 1);
}

#[tokio::test]
async fn a_truncated_body_to_a_get_is_retried_like_a_5xx() {
    let fake = Fake::start().await;
    fake.add(FakeSession::new("s1", ME, "A10G", 15));
    fake.fault("GET /sessions", &[Fault::Truncated, Fault::Truncated]);
    let list = fake.client(&jwt_for(ME)).list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(fake.hits("GET /sessions"), 3);
    // Cut off every time: given up after the bounded attempts, as unavailable.
    fake.fault("GET /sessions", &[Fault::Truncated; 10]);
    let err = fake.client(&jwt_for(ME)).list().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert!(err.message.contains("cut off"), "{}", err.message);
    assert_eq!(
        fake.hits("GET /sessions"),
        3 + fast_policy().max_attempts as usize
    );
}

#[tokio::test]
async fn a_whole_body_that_is_not_the_json_asked_for_is_an_invalid_response() {
    let fake = Fake::start().await;
    fake.fault("GET /sessions", &[Fault::NotJson]);
    let err = fake.client(&jwt_for(ME)).list().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidResponse);
    // Asking again would get the same page: not retried.
    assert_eq!(fake.hits("GET /sessions"), 1);
}

/// A client of `fake` whose requests may take 600 ms in all.
fn impatient(fake: &Fake) -> porthole_providers::ComfyDeploy {
    let mut policy = fast_policy();
    policy.request_timeout = Duration::from_millis(600);
    client_for(&fake.base, &jwt_for(ME), policy)
}

/// How `list` fails through `client`, and how long it took to.
async fn timed_list_error(
    client: &porthole_providers::ComfyDeploy,
) -> (porthole_core::Error, Duration) {
    let started = std::time::Instant::now();
    let err = client.list().await.unwrap_err();
    (err, started.elapsed())
}

/// A server that accepts and never answers costs the request timeout in all, not the timeout
/// times the attempts plus the backoff.
#[tokio::test]
async fn a_server_that_never_answers_costs_one_request_timeout() {
    let fake = Fake::start().await;
    fake.fault("GET /sessions", &[Fault::Delay(Duration::from_secs(30)); 4]);
    let (err, took) = timed_list_error(&impatient(&fake)).await;
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert!(err.message.contains("did not answer"), "{}", err.message);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(fake.hits("GET /sessions"), 1);
}

/// A server that sends its headers, then stalls in the body, costs the request timeout too: the
/// deadline covers reading the answer, not only its head.
#[tokio::test]
async fn a_body_that_stalls_costs_one_request_timeout() {
    let fake = Fake::start().await;
    fake.fault("GET /sessions", &[Fault::StallBody; 4]);
    let (err, took) = timed_list_error(&impatient(&fake)).await;
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert!(err.message.contains("600 ms"), "{}", err.message);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // And a POST whose answer stalls says the request may have reached the server.
    fake.fault("POST /session", &[Fault::StallBody]);
    let err = impatient(&fake).launch(&launch()).await.unwrap_err();
    assert!(
        err.message.contains("may have reached it"),
        "{}",
        err.message
    );
    assert_eq!(fake.hits("POST /session"), 1);
}

/// A redirect to another host is not followed (the key would go with it): a coded error that
/// names the host. One on the same origin is followed.
#[tokio::test]
async fn a_redirect_to_another_host_is_refused_and_named() {
    let fake = Fake::start().await;
    fake.fault(
        "GET /sessions",
        &[Fault::Redirect("http://elsewhere.example/api/sessions")],
    );
    let err = fake.client(&jwt_for(ME)).list().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidResponse);
    assert!(err.message.contains("elsewhere.example"), "{}", err.message);
    assert_eq!(fake.hits("GET /sessions"), 1);

    fake.add(FakeSession::new("s1", ME, "A10G", 15));
    let same = format!("{}/sessions?again=1", fake.base);
    fake.fault(
        "GET /sessions",
        &[Fault::Redirect(Box::leak(same.into_boxed_str()))],
    );
    let list = fake.client(&jwt_for(ME)).list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(fake.hits("GET /sessions"), 3);
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_and_never_unauthorized() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = client_for(
        &format!("http://127.0.0.1:{port}/api"),
        &jwt_for(ME),
        fast_policy(),
    );
    for err in [
        client.list().await.unwrap_err(),
        client.launch(&launch()).await.unwrap_err(),
        client.stop("s1").await.unwrap_err(),
    ] {
        assert_eq!(err.code, ErrorCode::UpstreamUnavailable, "{}", err.message);
        assert!(
            !err.message.to_lowercase().contains("unauthor"),
            "{}",
            err.message
        );
    }
}

#[tokio::test]
async fn a_429_waits_for_retry_after_then_succeeds() {
    let fake = Fake::start().await;
    fake.add(FakeSession::new("s1", ME, "A10G", 15));
    fake.fault("GET /session/{id}", &[Fault::RetryAfter(1)]);
    let got = fake.client(&jwt_for(ME)).get("s1").await.unwrap();
    assert!(got.is_some());
    let arrivals = fake.arrivals("GET /session/{id}");
    assert_eq!(arrivals.len(), 2);
    let waited = arrivals[1] - arrivals[0];
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
}

#[tokio::test]
async fn a_429_on_a_post_is_retried_because_the_server_did_not_act() {
    let fake = Fake::start().await;
    fake.fault("POST /session", &[Fault::RetryAfter(0)]);
    let session = fake.client(&jwt_for(ME)).launch(&launch()).await.unwrap();
    assert_eq!(fake.hits("POST /session"), 2);
    assert_eq!(fake.with(|s| s.created), 1);
    assert!(!session.id.is_empty());
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_is_rate_limited_at_once() {
    let fake = Fake::start().await;
    fake.fault("GET /sessions", &[Fault::RetryAfter(3600)]);
    let err = fake.client(&jwt_for(ME)).list().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::RateLimited);
    assert_eq!(fake.hits("GET /sessions"), 1);
}
