//! A template's `before_end` step: it runs when the deadline comes or a stop is asked, in the
//! session's environment and folder, its output and outcome in the session's log, bounded by its
//! grace period; then the session stops. Real processes.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{messages, read_stream, scratch, wait_no_processes, Harness, EXE};
use reqwest::StatusCode;
use serde_json::json;

/// A terminal template whose `before_end` is `step`, run from `dir`/work.
fn saver(dir: &std::path::Path, step: &str, seconds: u32) -> String {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    format!(
        "[machines.saver]\ncommand = [\"{EXE}\", \"__portholed-terminal\", \"--port\", \"{{port}}\", \"--shell\", \"/bin/sh\"]\n\
         cwd = \"{}\"\nbefore_end = {step:?}\nbefore_end_seconds = {seconds}\n",
        work.display()
    )
}

/// The session's log once it holds `line`-like text (the step writes after the end).
async fn log_with(h: &Harness, id: &str, wanted: &str) -> Vec<String> {
    common::poll(Duration::from_secs(20), || async {
        let msgs = messages(&read_stream(h, id, "").await);
        msgs.iter().any(|m| m.contains(wanted)).then_some(msgs)
    })
    .await
    .unwrap_or_else(|| panic!("no {wanted:?} in the log"))
}

#[tokio::test]
async fn the_deadline_runs_the_step_in_the_sessions_environment_then_stops_it() {
    let dir = scratch("before-end-timeout");
    let saved = dir.join("saved");
    std::fs::create_dir_all(&saved).unwrap();
    let step = format!(
        "echo saving $PORTHOLE_SESSION_ID; pwd > {}/$PORTHOLE_SESSION_ID",
        saved.display()
    );
    // One API minute lasts one second.
    let h = Harness::start("before-end-timeout", &saver(&dir, &step, 5), 1.0).await;
    let id = h.launch("saver", json!({"timeout": 2})).await;
    let (_, live) = h.get(&format!("/session/{id}")).await;
    assert_eq!(live["before_end_seconds"], 5, "{live}");
    h.wait_gone(&id, Duration::from_secs(10)).await;

    let msgs = log_with(&h, &id, "before_end finished").await;
    let at = |text: &str| msgs.iter().position(|m| m.contains(text));
    let (ended, running, said, finished) = (
        at("Session ended: Session closed due to timeout"),
        at("Running before_end (up to 5 s)"),
        at(&format!("saving {id}")),
        at("before_end finished in"),
    );
    assert!(
        ended < running && running < said && said < finished && ended.is_some(),
        "{msgs:?}"
    );
    assert!(
        msgs[finished.unwrap()].ends_with("exited with code 0"),
        "{msgs:?}"
    );
    // In the session's folder.
    let wrote = std::fs::read_to_string(saved.join(&id)).unwrap();
    assert_eq!(wrote.trim(), dir.join("work").display().to_string());
    // Still a timeout, as far as anyone asking is concerned; nothing is left running.
    let (status, body) = h.get(&format!("/session/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["ended"]["kind"], "timeout", "{body}");
    wait_no_processes(&id, Duration::from_secs(10)).await;
    h.shutdown().await;
}

#[tokio::test]
async fn a_stop_runs_the_step_too_and_one_that_hangs_is_stopped_after_its_grace() {
    let dir = scratch("before-end-stop");
    let h = Harness::start(
        "before-end-stop",
        &saver(&dir, "echo started saving; sleep 30", 1),
        60.0,
    )
    .await;
    let id = h.launch("saver", json!({"timeout": 30})).await;
    h.wait_url(&id, Duration::from_secs(10)).await;
    let (status, _) = h.delete(&format!("/session/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let msgs = log_with(&h, &id, "before_end did not finish").await;
    assert!(msgs.iter().any(|m| m == "started saving"), "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m == "before_end did not finish within 1 s and was stopped"),
        "{msgs:?}"
    );
    // The step's `sleep 30` went with the session.
    wait_no_processes(&id, Duration::from_secs(10)).await;
    h.shutdown().await;
}

#[tokio::test]
async fn a_session_whose_process_exits_on_its_own_runs_no_step() {
    let dir = scratch("before-end-exit");
    let toml = "[machines.brief]\ncommand = [\"sh\", \"-c\", \"sleep 0.2; exit 3 # {port}\"]\n\
         before_end = \"echo should not run\"\n";
    let h = Harness::start("before-end-exit", toml, 60.0).await;
    let id = h.launch("brief", json!({})).await;
    h.wait_gone(&id, Duration::from_secs(10)).await;
    log_with(&h, &id, "Session ended: exited with code 3").await;
    // Everything of it is gone (the step would run before that): the whole log says no step.
    wait_no_processes(&id, Duration::from_secs(10)).await;
    let msgs = messages(&read_stream(&h, &id, "").await);
    assert!(
        !msgs
            .iter()
            .any(|m| m.contains("before_end") || m.contains("should not run")),
        "{msgs:?}"
    );
    let _ = dir;
    h.shutdown().await;
}
