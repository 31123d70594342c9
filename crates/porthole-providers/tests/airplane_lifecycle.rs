//! Airplane sessions through their life on the fake's fast clock (Pending, Active, Waiting, an
//! end), answered and refused prompts, read-only keys, a stuck cancel, and the history read in
//! full whichever way the server reads `page`, through rate limits and faults.
#![allow(clippy::unwrap_used)]

mod airplane;

use std::collections::BTreeSet;

use airplane::{client, client_with, fake, runbook, seen, until, waiting_deploy};
use porthole_core::model::{EndReason, SessionState};
use porthole_core::provider::{checked_launch, Provider};
use porthole_core::ErrorCode;
use porthole_fakes::airplane::{Fault, Paging};

#[tokio::test]
async fn a_deploy_waits_for_its_approval_then_succeeds_with_its_outputs() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let s = c
        .launch(&runbook("deploy", &[("service", "web")]))
        .await
        .unwrap();
    assert_eq!(s.state, SessionState::Starting);
    let waiting = until(&c, &s.id, |st| *st == SessionState::WaitingForInput).await;
    assert_eq!(
        waiting.status_label.as_deref(),
        Some("Approve the deploy of web?")
    );
    let listed = c.list().await.unwrap();
    let row = listed.iter().find(|r| r.id == s.id).unwrap();
    assert_eq!(
        row.status_label.as_deref(),
        Some("Approve the deploy of web?")
    );
    let prompts = c.prompts(&s.id).await.unwrap();
    assert_eq!(prompts.len(), 1);
    let prompt = &prompts[0];
    assert_eq!(prompt.submit_label.as_deref(), Some("Approve"));
    assert_eq!(prompt.reject_label.as_deref(), Some("Reject"));
    // A missing answer is named before anything is sent.
    let missing = c
        .respond(&s.id, &prompt.id, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::InvalidInput);
    assert!(
        missing.message.to_lowercase().contains("reason"),
        "{}",
        missing.message
    );
    assert!(seen(&fake, "POST", "/prompts/submit").is_empty());
    let answer = [("reason".to_owned(), "ship it".to_owned())].into();
    c.respond(&s.id, &prompt.id, &answer).await.unwrap();
    let twice = c.respond(&s.id, &prompt.id, &answer).await.unwrap_err();
    assert_eq!(twice.code, ErrorCode::InvalidInput);
    assert!(
        twice.message.contains("already answered"),
        "{}",
        twice.message
    );
    let done = until(&c, &s.id, |st| !st.is_live()).await;
    assert_eq!(done.state, SessionState::Ended(EndReason::Completed));
    assert_eq!(
        done.status_label.as_deref(),
        Some("deployed: web\nreplicas: 2"),
        "its last run's first outputs"
    );
    let jobs = c.jobs(&s.id).await.unwrap();
    let blocks: Vec<(&str, &str)> = jobs
        .iter()
        .map(|j| (j.program.as_deref().unwrap(), j.status.as_str()))
        .collect();
    assert_eq!(
        blocks,
        [
            ("task build", "Succeeded"),
            ("form approve", "Succeeded"),
            ("task ship", "Succeeded")
        ]
    );
    assert_eq!(jobs[0].outputs["image"], "registry/web:1");
    assert_eq!(jobs[1].outputs["reason"], "ship it");
}

#[tokio::test]
async fn a_refused_prompt_cancels_the_session() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let (id, prompt) = waiting_deploy(&fake, &c, "web").await;
    c.reject(&id, &prompt).await.unwrap();
    let again = c.reject(&id, &prompt).await.unwrap_err();
    assert!(
        again.message.contains("already answered or refused"),
        "{}",
        again.message
    );
    let done = until(&c, &id, |st| !st.is_live()).await;
    assert_eq!(done.state, SessionState::Ended(EndReason::Cancelled));
}

#[tokio::test]
async fn a_prompt_is_answered_only_through_its_own_session() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let (a, _) = waiting_deploy(&fake, &c, "web").await;
    let (_, theirs) = waiting_deploy(&fake, &c, "api").await;
    let answer = [("reason".to_owned(), "x".to_owned())].into();
    let err = c.respond(&a, &theirs, &answer).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::SessionGone);
    assert!(err.message.contains("has no prompt"), "{}", err.message);
    assert_eq!(
        c.reject(&a, &theirs).await.unwrap_err().code,
        ErrorCode::SessionGone
    );
    assert!(
        seen(&fake, "POST", "/prompts/").is_empty(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn a_launch_that_started_is_not_reported_failed_when_it_cannot_be_read_yet() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    for _ in 0..4 {
        fake.inject("/v0/sessions/get", Fault::Status(503));
    }
    let s = c.launch(&runbook("hello", &[])).await.unwrap();
    assert_eq!(s.state, SessionState::Starting);
    assert!(fake.session(&s.id).is_some());
    assert_eq!(fake.executions(), 1);
}

#[tokio::test]
async fn a_failing_runbook_ends_failed() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let (id, prompt) = waiting_deploy(&fake, &c, "broken").await;
    let answer = [("reason".to_owned(), "try".to_owned())].into();
    c.respond(&id, &prompt, &answer).await.unwrap();
    let done = until(&c, &id, |st| !st.is_live()).await;
    assert!(
        matches!(done.state, SessionState::Ended(EndReason::Failed(_))),
        "{:?}",
        done.state
    );
}

#[tokio::test]
async fn launch_parameters_are_checked_against_the_runbook_first() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let err = checked_launch(&c, &runbook("deploy", &[]))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(
        err.message.to_lowercase().contains("service"),
        "{}",
        err.message
    );
    let filled = checked_launch(&c, &runbook("deploy", &[("service", "web")]))
        .await
        .unwrap();
    assert_eq!(filled.params["replicas"], "2", "defaults filled");
    assert!(seen(&fake, "POST", "/runbooks/execute").is_empty());
}

#[tokio::test]
async fn without_the_internal_calls_runs_stand_for_blocks_and_history_gives_the_schema() {
    let fake = fake(|c| c.internal_calls = false).await;
    let c = client(&fake);
    // Never run and no runbook call: nothing is known, the values go as given.
    assert!(c.schema("hello").await.unwrap().is_none());
    let s = c.launch(&runbook("hello", &[("name", "x")])).await.unwrap();
    let known = c.schema("rbk20220120hello01").await.unwrap().unwrap();
    assert_eq!(known[0].name, "name");
    until(&c, &s.id, |st| !st.is_live()).await;
    let jobs = c.jobs(&s.id).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, "Succeeded");
    assert_eq!(jobs[0].program.as_deref(), Some("tsk20220120greet01"));
}

#[tokio::test]
async fn a_read_only_key_is_accepted_marked_and_its_launch_explained() {
    let fake = fake(|_| {}).await;
    let ro = client_with(&fake, &fake.config().read_only_key, None, None);
    ro.check_access().await.unwrap();
    let details = ro.account_details().await.unwrap();
    assert!(details[0]
        .value
        .as_deref()
        .unwrap()
        .starts_with("read-only"));
    let err = ro.launch(&runbook("hello", &[])).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized);
    assert!(err.message.contains("read-only"), "{}", err.message);
    let rw = client(&fake).account_details().await.unwrap();
    assert_eq!(rw[0].value.as_deref(), Some("launch and answer"));
    assert_eq!(fake.executions(), 0, "the probe starts nothing");
}

#[tokio::test]
async fn a_session_long_in_cancelling_is_flagged_stuck() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let s = c
        .launch(&runbook("deploy", &[("service", "web")]))
        .await
        .unwrap();
    fake.freeze(
        &s.id,
        "Cancelling",
        chrono::Utc::now() - chrono::Duration::minutes(42),
    );
    let got = c.get(&s.id).await.unwrap().unwrap();
    assert_eq!(got.state, SessionState::Stopping);
    // And in the list the app watches.
    let listed = client(&fake).list().await.unwrap();
    let row = listed.iter().find(|r| r.id == s.id).unwrap();
    assert_eq!(
        row.status_label.as_deref(),
        Some("Cancelling, stuck for 42 min")
    );
    assert_eq!(
        got.status_label.as_deref(),
        Some("Cancelling, stuck for 42 min")
    );
}

async fn history_read(paging: Paging, n: usize) {
    let fake = fake(|c| c.paging = paging).await;
    let seeded: BTreeSet<String> = fake.seed_history(n).into_iter().collect();
    let ended = client(&fake).finished().await.unwrap();
    let read: Vec<String> = ended.iter().map(|s| s.id.clone()).collect();
    let unique: BTreeSet<String> = read.iter().cloned().collect();
    assert_eq!(read.len(), unique.len(), "{paging:?}: nothing twice");
    assert_eq!(unique, seeded, "{paging:?}: the full set");
}

#[tokio::test]
async fn the_history_is_read_whole_when_page_counts_pages() {
    history_read(Paging::Index, 137).await;
    history_read(Paging::Index, 100).await;
}

#[tokio::test]
async fn the_history_is_read_whole_when_page_counts_rows() {
    history_read(Paging::Offset, 137).await;
    history_read(Paging::Offset, 100).await;
    history_read(Paging::Offset, 49).await;
}

#[tokio::test]
async fn faults_in_the_middle_of_a_history_read_lose_and_repeat_nothing() {
    for paging in [Paging::Index, Paging::Offset] {
        let fake = fake(|c| c.paging = paging).await;
        let seeded: BTreeSet<String> = fake.seed_history(160).into_iter().collect();
        // The first page goes through; the second is rate limited, the third fails once,
        // the fourth is cut off.
        fake.inject("/v0/sessions/list", Fault::Delay(std::time::Duration::ZERO));
        fake.inject("/v0/sessions/list", Fault::RetryAfter(1));
        fake.inject("/v0/sessions/list", Fault::Delay(std::time::Duration::ZERO));
        fake.inject("/v0/sessions/list", Fault::Status(503));
        fake.inject("/v0/sessions/list", Fault::Truncated);
        let ended = client(&fake).finished().await.unwrap();
        let read: Vec<String> = ended.into_iter().map(|s| s.id).collect();
        let unique: BTreeSet<String> = read.iter().cloned().collect();
        assert_eq!(read.len(), unique.len(), "{paging:?}");
        assert_eq!(unique, seeded, "{paging:?}");
    }
}

#[tokio::test]
async fn a_failed_history_read_keeps_what_was_known_and_is_read_again_in_full() {
    let fake = fake(|_| {}).await;
    let seeded = fake.seed_history(70);
    let c = client(&fake);
    for _ in 0..4 {
        fake.inject("/v0/sessions/list", Fault::Status(500));
    }
    assert_eq!(
        c.finished().await.unwrap_err().code,
        ErrorCode::UpstreamUnavailable
    );
    let ended = c.finished().await.unwrap();
    assert_eq!(ended.len(), seeded.len());
    // Read in full that time: no updatedAfter until a read has succeeded.
    let reads = seen(&fake, "GET", "/sessions/list");
    assert!(reads.iter().all(|r| !r.query.contains("updatedAfter")));
}

#[tokio::test]
async fn watching_reads_only_what_changed() {
    let fake = fake(|_| {}).await;
    fake.seed_history(120);
    let c = client(&fake);
    c.list().await.unwrap();
    let full = seen(&fake, "GET", "/sessions/list").len();
    assert_eq!(full, 3);
    c.list().await.unwrap();
    assert_eq!(
        seen(&fake, "GET", "/sessions/list").len(),
        full + 1,
        "one short page of what changed"
    );
}
