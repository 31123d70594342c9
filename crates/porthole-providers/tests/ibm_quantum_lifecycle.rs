//! IBM Quantum sessions through their life on the fake's fast clock (first job, idle, max_ttl,
//! unused, drain, cancel), and the client under faults (5xx bursts, Retry-After, a hanging
//! answer, a truncated body, a POST that failed): coded errors, recovery, nothing retried that
//! could run twice.
#![allow(clippy::unwrap_used)]

mod ibm;

use std::time::{Duration, Instant};

use ibm::{client, fake, launch, seen};
use porthole_core::model::{EndReason, Session, SessionState};
use porthole_core::provider::Provider;
use porthole_core::ErrorCode;
use porthole_fakes::ibm_quantum::Fault;
use porthole_providers::IbmQuantum;

/// Polls the session until `done` holds (10 s at most).
async fn until(c: &IbmQuantum, id: &str, what: &str, done: impl Fn(&Session) -> bool) -> Session {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = c.get(id).await.unwrap().unwrap();
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what}: still {:?}", s.state);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_unused_session_closes_by_itself_as_idle_too_long() {
    let fake = fake(|c| c.unused_seconds = 1).await;
    let c = client(&fake);
    let id = c.launch(&launch("ibm_fez", None, None)).await.unwrap().id;
    let closed = until(&c, &id, "closed unused", |s| !s.state.is_live()).await;
    assert_eq!(closed.state, SessionState::Ended(EndReason::IdleTimeout));
    assert_eq!(
        closed.status_label.as_deref(),
        Some("closed unused: no job was submitted")
    );
}

#[tokio::test]
async fn a_session_goes_idle_without_work_and_a_job_makes_it_run_again() {
    let fake = fake(|c| {
        c.job_seconds = 0.1;
        c.interactive_ttl = 1;
    })
    .await;
    let c = client(&fake);
    let id = c.launch(&launch("ibm_fez", None, None)).await.unwrap().id;
    fake.submit_job(&id).unwrap();
    let first = until(&c, &id, "an idle clock", |s| s.idle_deadline.is_some()).await;
    let idle = until(&c, &id, "idle", |s| s.state == SessionState::Idle).await;
    assert_eq!(idle.status_label.as_deref(), Some("Idle (deactivated)"));
    assert_eq!(idle.idle_deadline, None, "deactivated: no idle clock runs");
    assert!(idle.deadline.is_some(), "the hard clock still does");
    fake.submit_job(&id).unwrap();
    let again = until(&c, &id, "a new idle clock", |s| {
        s.state == SessionState::Ready
            && s.idle_deadline
                .is_some_and(|at| Some(at) > first.idle_deadline)
    })
    .await;
    assert_eq!(
        again.deadline, first.deadline,
        "max_ttl counts from the first job still"
    );
}

#[tokio::test]
async fn max_ttl_ends_the_session_as_timed_out() {
    let fake = fake(|c| c.job_seconds = 30.0).await;
    let c = client(&fake);
    let id = c.launch(&launch("ibm_fez", None, None)).await.unwrap().id;
    fake.edit_session(&id, |s| s.max_ttl = 1);
    fake.submit_job(&id).unwrap();
    let closed = until(&c, &id, "timed out", |s| !s.state.is_live()).await;
    assert_eq!(closed.state, SessionState::Ended(EndReason::Timeout));
    let jobs = c.jobs(&id).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].status, "Cancelled - Ran too long",
        "IBM's words, as written"
    );
    assert!(!jobs[0].pending);
}

#[tokio::test]
async fn close_drains_the_queue_then_the_session_completes() {
    let fake = fake(|c| c.job_seconds = 0.4).await;
    let c = client(&fake);
    let id = c.launch(&launch("ibm_fez", None, None)).await.unwrap().id;
    fake.submit_job(&id).unwrap();
    fake.submit_job(&id).unwrap();
    c.stop(&id).await.unwrap();
    let draining = c.get(&id).await.unwrap().unwrap();
    assert_eq!(draining.state, SessionState::Draining);
    assert!(fake.submit_job(&id).is_err(), "no new jobs");
    let done = until(&c, &id, "completed", |s| !s.state.is_live()).await;
    assert_eq!(done.state, SessionState::Ended(EndReason::Completed));
}

#[tokio::test]
async fn cancel_ends_it_now_and_fails_the_queued_jobs() {
    let fake = fake(|c| c.job_seconds = 30.0).await;
    let c = client(&fake);
    let id = c.launch(&launch("ibm_fez", None, None)).await.unwrap().id;
    fake.submit_job(&id).unwrap();
    fake.submit_job(&id).unwrap();
    let before = c.jobs(&id).await.unwrap();
    assert_eq!(
        before
            .iter()
            .map(|j| (j.status.as_str(), j.pending))
            .collect::<Vec<_>>(),
        vec![("Queued", true), ("Running", true)],
        "newest first"
    );
    c.cancel(&id).await.unwrap();
    let s = c.get(&id).await.unwrap().unwrap();
    assert_eq!(s.state, SessionState::Ended(EndReason::Cancelled));
    let after = c.jobs(&id).await.unwrap();
    assert_eq!(
        after[0].status, "Cancelled",
        "the queued job failed with the session"
    );
    assert_eq!(after[0].program.as_deref(), Some("sampler"));
    let query = &seen(&fake, "GET", "/jobs")[0].query;
    assert!(
        query.contains("limit=200") && query.contains("exclude_params=true"),
        "{query}"
    );
}

#[tokio::test]
async fn a_burst_of_5xx_and_a_retry_after_on_gets_are_ridden_out() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    fake.inject("/api/v1/backends", Fault::Status(502));
    fake.inject("/api/v1/backends", Fault::Status(503));
    fake.inject("/api/v1/backends", Fault::RetryAfter(1));
    let started = Instant::now();
    assert_eq!(c.resources().await.unwrap().len(), 4);
    assert_eq!(seen(&fake, "GET", "/backends").len(), 4);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
}

#[tokio::test]
async fn a_hanging_answer_is_a_coded_error_within_the_request_timeout() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    c.resources().await.unwrap();
    fake.inject("/api/v1/backends", Fault::Delay(Duration::from_secs(20)));
    let err = c.resources().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert!(err.message.contains("did not answer"), "{}", err.message);
}

#[tokio::test]
async fn a_truncated_body_on_a_get_is_asked_again() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let id = c.launch(&launch("ibm_fez", None, None)).await.unwrap().id;
    fake.inject(&format!("/api/v1/sessions/{id}"), Fault::Truncated);
    assert_eq!(c.get(&id).await.unwrap().unwrap().id, id);
    assert_eq!(seen(&fake, "GET", &format!("/sessions/{id}")).len(), 2);
}

#[tokio::test]
async fn a_failed_launch_is_not_sent_twice() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    fake.inject("/api/v1/sessions", Fault::Status(502));
    let err = c.launch(&launch("ibm_fez", None, None)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert_eq!(
        seen(&fake, "POST", "/sessions").len(),
        1,
        "a POST is not retried blindly"
    );
    fake.inject("/api/v1/backends", Fault::Status(503));
    fake.inject("/api/v1/backends", Fault::Status(503));
    fake.inject("/api/v1/backends", Fault::Status(503));
    fake.inject("/api/v1/backends", Fault::Status(503));
    let down = c.resources().await.unwrap_err();
    assert!(
        down.message.contains("maintenance"),
        "503 is maintenance: {}",
        down.message
    );
}
