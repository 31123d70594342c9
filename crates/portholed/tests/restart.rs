//! Restart and re-adoption: living sessions are adopted and keep their deadline, dead ones are
//! ended with a reason, a reused pid is never signalled, and a crashed portholed leaves nothing
//! unowned.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use common::{config, scratch, session_processes, wait_no_processes, Harness, EXE};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use portholed::store::{SessionRow, Store};
use portholed::{Adoption, KeyStorage, DB_FILE};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn restart_readopts_living_sessions_and_ends_the_others() {
    let dir = scratch("readopt");
    let mut c = config(&dir, "", 1.0);
    c.stop_sessions_on_shutdown = false;
    let a = Harness::start_with(c.clone()).await;
    let keep = a.launch("terminal", json!({"timeout": 4})).await;
    let lost = a.launch("terminal", json!({"timeout": 60})).await;
    let keep_url = a.wait_url(&keep, Duration::from_secs(10)).await;
    a.wait_url(&lost, Duration::from_secs(10)).await;
    let (_, before) = a.get(&format!("/session/{keep}")).await;
    a.server.unwrap().shutdown().await;
    assert!(
        !session_processes(&keep).is_empty(),
        "left running for re-adoption"
    );
    let killed = session_processes(&lost);
    assert!(!killed.is_empty(), "the lost session has processes to kill");
    for pid in &killed {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    wait_no_processes(&lost, Duration::from_secs(10)).await;
    // A process that is still exiting has no environment left to find it by, but is not a
    // zombie yet either: wait until each killed one is a zombie or gone, as the restart will
    // judge them (under load this took long enough for the restart to adopt one).
    let dead = common::poll(Duration::from_secs(10), || async {
        killed
            .iter()
            .all(|pid| portholed::process::start_time(*pid).is_none())
            .then_some(())
    })
    .await;
    assert!(dead.is_some(), "the killed processes did not die");

    let b = Harness::start_with(c).await;
    assert_eq!(
        b.server.as_ref().unwrap().adoption(),
        &Adoption {
            adopted: 1,
            ended: 1,
            cleaned: 0
        }
    );
    let (s, after) = b.get(&format!("/session/{keep}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(after["url"], keep_url.as_str());
    assert_eq!(
        after["timeout_end"], before["timeout_end"],
        "the deadline survives the restart"
    );
    assert_eq!(
        b.http.get(&keep_url).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        b.get(&format!("/session/{lost}")).await.0,
        StatusCode::NOT_FOUND
    );
    let log = std::fs::read_to_string(dir.join(format!("logs/{lost}.log"))).unwrap();
    assert!(
        log.contains("portholed restarted and the session's process was gone"),
        "{log}"
    );

    // The new server keeps enforcing the old deadline.
    b.wait_gone(&keep, Duration::from_secs(15)).await;
    wait_no_processes(&keep, Duration::from_secs(10)).await;
    let log = std::fs::read_to_string(dir.join(format!("logs/{keep}.log"))).unwrap();
    assert!(
        log.contains("re-adopted") && log.contains("Session closed due to timeout"),
        "{log}"
    );
    b.shutdown().await;
}

#[tokio::test]
async fn a_reused_pid_is_not_adopted_nor_signalled() {
    let dir = scratch("pidreuse");
    let mut stranger = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = i32::try_from(stranger.id()).unwrap();
    let started = portholed::process::start_time(pid).unwrap();
    {
        let store = Store::open(&dir.join(DB_FILE)).unwrap();
        let now = Utc::now();
        let row = SessionRow {
            id: "11111111-2222-3333-4444-555555555555".into(),
            gpu_event_id: "e".into(),
            machine_id: portholed::machines::machine_id("terminal"),
            machine_name: "terminal".into(),
            gpu: "CPU".into(),
            gpu_index: None,
            created_at: now,
            timeout_min: 15,
            deadline: now + chrono::Duration::minutes(15),
            port: 1,
            token: "t".into(),
            url: None,
            pid: Some(pid),
            pid_start: Some(started + 1),
            end_time: None,
            end_reason: None,
            reaped: false,
        };
        assert!(store.insert_within_limit(&row, 5).unwrap());
    }
    let h = Harness::start_with(config(&dir, "", 60.0)).await;
    assert_eq!(
        h.server.as_ref().unwrap().adoption(),
        &Adoption {
            adopted: 0,
            ended: 1,
            cleaned: 0
        }
    );
    assert_eq!(
        h.get("/session/11111111-2222-3333-4444-555555555555")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        stranger.try_wait().unwrap().is_none(),
        "the stranger was signalled"
    );
    stranger.kill().unwrap();
    let _ = stranger.wait();
    h.shutdown().await;
}

#[tokio::test]
async fn a_crashed_portholed_binary_leaves_sessions_to_readopt() {
    let dir = scratch("crash");
    let mut child = Command::new(EXE)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--key-file",
            "--minute-seconds",
            "60",
            "--data-dir",
        ])
        .arg(&dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("portholed printed its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("portholed listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let key = std::fs::read_to_string(dir.join("api-key")).unwrap();
    let http = reqwest::Client::new();
    let v: serde_json::Value = http
        .post(format!("{base}/session"))
        .bearer_auth(key.trim())
        .json(&json!({"machine_id": "terminal", "wait_for_server": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = v["session_id"].as_str().unwrap().to_owned();
    let url = v["url"].as_str().unwrap().to_owned();
    child.kill().unwrap(); // SIGKILL: no shutdown code runs
    child.wait().unwrap();
    assert!(
        !session_processes(&id).is_empty(),
        "the session outlives the crash"
    );

    let mut c = config(&dir, "", 60.0);
    c.key = KeyStorage::File;
    let h = Harness::start_with(c).await;
    assert_eq!(h.server.as_ref().unwrap().adoption().adopted, 1);
    let r = h
        .http
        .get(format!("{}/session/{id}", h.base))
        .bearer_auth(key.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        h.http.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    let r = h
        .http
        .delete(format!("{}/session/{id}?wait_for_shutdown=true", h.base))
        .bearer_auth(key.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    wait_no_processes(&id, Duration::from_secs(10)).await;
    h.shutdown().await;
}
