//! portholed's Slurm backend against a real one-node Slurm (slurmctld + slurmd on this machine,
//! two fake GPUs as GRES; tests/slurm/cluster.sh). `make slurm-test` starts the cluster, runs
//! these one at a time (the cluster has two CPUs and two GPUs) and stops it; without it they
//! say they are skipped. Every figure Slurm shows is read back from Slurm itself (`squeue`,
//! `scontrol`), not from portholed.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{config, poll, scratch, Harness, KEY};
use porthole_local::pinned::Pin;
use porthole_local::tunnel::Tunnel;
use porthole_secrets::Sensitive;
use portholed::tls::Tls;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The cluster's folder, when one runs for these tests, with no job left by an earlier test.
fn cluster() -> Option<PathBuf> {
    let Some(root) = std::env::var_os("PORTHOLE_SLURM_ROOT").map(PathBuf::from) else {
        eprintln!("skipped: needs a Slurm cluster (make slurm-test starts one)");
        return None;
    };
    let live = || {
        let out = Command::new("squeue")
            .args(["--noheader", "--states=PD,R,CG,CF", "-o", "%i"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let left = live();
    if !left.is_empty() {
        Command::new("scancel").args(&left).status().unwrap();
        let end = std::time::Instant::now() + Duration::from_secs(30);
        while !live().is_empty() {
            assert!(
                std::time::Instant::now() < end,
                "jobs would not leave: {:?}",
                live()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // And the node idle (an earlier test may have failed it and resumed it).
    let idle = || {
        let out = Command::new("sinfo")
            .args(["-h", "-N", "-o", "%t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .all(|s| s.trim() == "idle")
    };
    let end = std::time::Instant::now() + Duration::from_secs(30);
    while !idle() {
        assert!(std::time::Instant::now() < end, "the node is not idle");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(root)
}

/// The terminal template on Slurm; its `before_end` leaves a file in `dir` (it runs inside the
/// job, on the node, through `srun --overlap`).
fn toml(dir: &std::path::Path) -> String {
    format!(
        "backend = \"slurm\"\n[slurm]\npoll_seconds = 0.3\n\
         [machines.terminal]\nshell = \"/bin/sh\"\n\
         before_end = \"echo saved on $SLURM_JOB_ID > {}/saved-$PORTHOLE_SESSION_ID\"\n",
        dir.display()
    )
}

/// portholed on Slurm, serving TLS (its sessions are reached through its tunnel).
async fn server_in(dir: PathBuf) -> Harness {
    let mut c = config(&dir, &toml(&dir), 60.0);
    c.tls = Tls::Always;
    let mut h = Harness::start_with(c).await;
    let pin = Pin::new(h.server.as_ref().unwrap().fingerprint().unwrap());
    h.http = reqwest::Client::builder()
        .use_preconfigured_tls(pin.client_config().unwrap())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    h
}

/// What Slurm says of a job: `squeue -j ID -o FORMAT` (empty once it is forgotten).
fn squeue(job: &str, format: &str) -> String {
    let out = Command::new("squeue")
        .args(["--noheader", "--states=all", "-j", job, "-o", format])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The Slurm job of a session, found by the comment portholed gives its jobs.
fn job_of(id: &str) -> String {
    let out = Command::new("squeue")
        .args(["--noheader", "--states=all", "-o", "%i %k"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.ends_with(&format!(":{id}")))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no Slurm job for session {id} in:\n{text}"))
        .to_owned()
}

async fn session(h: &Harness, id: &str) -> (StatusCode, Value) {
    h.get(&format!("/session/{id}")).await
}

/// Polls until Slurm shows the job in `state`.
async fn job_state(job: &str, state: &str, limit: Duration) {
    poll(limit, || async {
        (squeue(job, "%T") == state).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("job {job} never {state}: {}", squeue(job, "%T %r")));
}

/// The reason an ended session gives (S2's 404 `ended.reason`), once it has ended.
async fn ended_reason(h: &Harness, id: &str, limit: Duration) -> String {
    poll(limit, || async {
        let (s, v) = session(h, id).await;
        (s == StatusCode::NOT_FOUND).then(|| v["ended"]["reason"].as_str().unwrap_or("").to_owned())
    })
    .await
    .unwrap_or_else(|| panic!("session {id} did not end within {limit:?}"))
}

fn tunnel(h: &Harness) -> Tunnel {
    let fingerprint = h.server.as_ref().unwrap().fingerprint().unwrap();
    Tunnel::new(&h.base, fingerprint, Sensitive::new(KEY.to_owned())).unwrap()
}

/// Types into the session's shell through portholed's tunnel; waits for `answer`.
async fn shell_through_tunnel(h: &Harness, id: &str, url: &str, command: &str, answer: &str) {
    let (host, token) = url
        .trim_start_matches("http://")
        .split_once("/?token=")
        .unwrap();
    let stream = tunnel(h).open(id, Duration::from_secs(5)).await.unwrap();
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("ws://{host}/ws?token={token}"), stream)
            .await
            .unwrap();
    common::shell_answers(&mut ws, command, answer).await;
}

#[tokio::test]
async fn a_gpu_session_runs_as_a_job_answers_through_the_tunnel_extends_and_stops() {
    let Some(_) = cluster() else { return };
    let h = server_in(scratch("slurm-life")).await;
    // The cluster's resources: partitions, GPU types and counts, free and total, time limits.
    let (status, machines) = h.get("/machines").await;
    assert_eq!(status, StatusCode::OK);
    let gpus = machines[0]["gpus"].as_array().unwrap();
    let one = gpus.iter().find(|g| g["name"] == "gpu/fake:1").unwrap();
    assert_eq!(
        (one["free"].as_u64(), one["total"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(one["max_minutes"].as_i64(), Some(10));
    assert!(gpus.iter().any(|g| g["name"] == "gpu/fake:2"));
    assert!(
        !gpus.iter().any(|g| g["name"] == "gpu/fake:3"),
        "a node has two"
    );
    // A session longer than the partition allows is refused before anything is submitted.
    let (status, v) = h
        .post(
            "/session",
            json!({"machine_id": "terminal", "gpu": "gpu/fake:1", "timeout": 11}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("at most 10 minutes"),
        "{v}"
    );

    let id = h
        .launch("terminal", json!({"gpu": "gpu/fake:1", "timeout": 5}))
        .await;
    let job = job_of(&id);
    assert_eq!(squeue(&job, "%P %b"), "gpu gres:gpu:fake:1");
    let url = h.wait_url(&id, Duration::from_secs(30)).await;
    assert_eq!(squeue(&job, "%T"), "RUNNING");
    // The deadline is the job's end time as Slurm reports it.
    let end: i64 = Command::new("squeue")
        .env("SLURM_TIME_FORMAT", "%s")
        .args(["--noheader", "-j", &job, "-o", "%e"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().parse().unwrap())
        .unwrap();
    let deadline_of = |v: &Value| {
        chrono::NaiveDateTime::parse_from_str(
            v["timeout_end"].as_str().unwrap(),
            "%Y-%m-%dT%H:%M:%S%.f",
        )
        .unwrap()
        .and_utc()
        .timestamp()
    };
    let (_, v) = session(&h, &id).await;
    assert!((deadline_of(&v) - end).abs() <= 1, "{v} vs {end}");
    // Its own GPU, given by Slurm; typed into through the tunnel.
    shell_through_tunnel(&h, &id, &url, "echo gpu=$CUDA_VISIBLE_DEVICES", "gpu=0").await;

    // Extend: the job's time limit moves; past the partition's maximum is refused clearly.
    let (status, v) = h
        .post(
            &format!("/session/{id}/increase-timeout"),
            json!({"minutes": 3}),
        )
        .await;
    assert!(status.is_success(), "{v}");
    assert_eq!(squeue(&job, "%l"), "8:00");
    poll(Duration::from_secs(10), || async {
        let (_, v) = session(&h, &id).await;
        (deadline_of(&v) - end >= 179).then_some(())
    })
    .await
    .expect("the deadline follows the job's new end time");
    let (status, v) = h
        .post(
            &format!("/session/{id}/increase-timeout"),
            json!({"minutes": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("Partition gpu allows sessions of at most 10 minutes"),
        "{v}"
    );
    assert_eq!(squeue(&job, "%l"), "8:00", "unchanged");

    // Stop: the template's before_end runs inside the job, then the job is cancelled in Slurm.
    let (status, _) = h
        .delete(&format!("/session/{id}?wait_for_shutdown=true"))
        .await;
    assert!(status.is_success());
    job_state(&job, "CANCELLED", Duration::from_secs(15)).await;
    assert!(ended_reason(&h, &id, Duration::from_secs(5))
        .await
        .starts_with("stopped"));
    let saved = std::fs::read_to_string(h.dir.join(format!("saved-{id}"))).unwrap();
    assert_eq!(saved.trim(), format!("saved on {job}"));
    let said = common::messages(&common::read_stream(&h, &id, "").await);
    assert!(
        said.iter()
            .any(|m| m.starts_with("before_end finished: exited with code 0")),
        "{said:?}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn with_the_gpus_taken_a_second_session_waits_with_slurm_s_reason_then_starts() {
    let Some(_) = cluster() else { return };
    let h = server_in(scratch("slurm-queue")).await;
    let first = h
        .launch("terminal", json!({"gpu": "gpu/fake:2", "timeout": 5}))
        .await;
    h.wait_url(&first, Duration::from_secs(30)).await;
    let second = h
        .launch("terminal", json!({"gpu": "gpu/fake:1", "timeout": 5}))
        .await;
    let label = poll(Duration::from_secs(15), || async {
        let (_, v) = session(&h, &second).await;
        v["status_label"]
            .as_str()
            .filter(|l| l.contains("Resources"))
            .map(str::to_owned)
    })
    .await
    .expect("the second session says why it waits");
    assert!(
        label.starts_with("Queued in Slurm (job ") && label.ends_with("Resources, 1st in line"),
        "{label}"
    );
    let (_, v) = session(&h, &second).await;
    assert!(v["url"].is_null(), "not ready while queued: {v}");
    assert_eq!(squeue(&job_of(&second), "%T %r"), "PENDING Resources");
    // The free count says so too.
    let (_, machines) = h.get("/machines").await;
    let one = machines[0]["gpus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "gpu/fake:1")
        .cloned()
        .unwrap();
    assert_eq!(
        (one["free"].as_u64(), one["queued"].as_u64()),
        (Some(0), Some(1)),
        "{one}"
    );

    let (status, _) = h.delete(&format!("/session/{first}")).await;
    assert!(status.is_success());
    h.wait_url(&second, Duration::from_secs(30)).await;
    h.delete(&format!("/session/{second}?wait_for_shutdown=true"))
        .await;
    h.shutdown().await;
}

#[tokio::test]
async fn a_session_that_reaches_its_time_limit_ends_with_time_limit() {
    let Some(_) = cluster() else { return };
    let h = server_in(scratch("slurm-limit")).await;
    let id = h
        .launch("terminal", json!({"gpu": "gpu/fake:1", "timeout": 1}))
        .await;
    let job = job_of(&id);
    h.wait_url(&id, Duration::from_secs(30)).await;
    // Slurm checks limits about every 30 s: a one-minute job ends 60–90 s after its start.
    let reason = ended_reason(&h, &id, Duration::from_secs(150)).await;
    assert_eq!(reason, format!("time limit reached (Slurm job {job})"));
    assert_eq!(squeue(&job, "%T"), "TIMEOUT");
    let (_, v) = session(&h, &id).await;
    assert_eq!(v["ended"]["kind"], "timeout", "{v}");
    h.shutdown().await;
}

#[tokio::test]
async fn sessions_survive_a_slurmctld_restart_and_a_portholed_restart_and_no_job_is_orphaned() {
    let Some(root) = cluster() else { return };
    let dir = scratch("slurm-restart");
    let h = server_in(dir.clone()).await;
    let id = h
        .launch("terminal", json!({"gpu": "gpu/fake:1", "timeout": 5}))
        .await;
    let url = h.wait_url(&id, Duration::from_secs(30)).await;
    let job = job_of(&id);

    // The controller restarts under a running session: the session stays, is read again.
    let restarted = Command::new("tests/slurm/cluster.sh")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(["restart-ctld", root.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(restarted.success());
    let (status, v) = h
        .post(
            &format!("/session/{id}/increase-timeout"),
            json!({"minutes": 1}),
        )
        .await;
    assert!(status.is_success(), "extended after the restart: {v}");
    assert_eq!(squeue(&job, "%T %l"), "RUNNING 6:00");
    let (status, v) = session(&h, &id).await;
    assert_eq!(
        (status, v["url"].as_str()),
        (StatusCode::OK, Some(url.as_str()))
    );

    // portholed restarts (its sessions left running): the new one re-adopts the session, and a
    // job of this server that no session owns is cancelled.
    let mut first = h.server.unwrap();
    first.keep_sessions_on_shutdown();
    first.shutdown().await;
    let tag = std::fs::read_to_string(dir.join("slurm-tag")).unwrap();
    let orphan = Command::new("sbatch")
        .args(["--parsable", "-p", "cpu", "-o", "/dev/null"])
        .arg(format!(
            "--comment=portholed:{}:no-such-session",
            tag.trim()
        ))
        .args(["--wrap", "sleep 300"])
        .output()
        .unwrap();
    let orphan = String::from_utf8_lossy(&orphan.stdout).trim().to_owned();
    job_state(&orphan, "RUNNING", Duration::from_secs(30)).await;
    let h = server_in(dir).await;
    assert_eq!(h.server.as_ref().unwrap().adoption().adopted, 1);
    let (status, v) = session(&h, &id).await;
    assert_eq!(
        (status, v["url"].as_str()),
        (StatusCode::OK, Some(url.as_str())),
        "{v}"
    );
    shell_through_tunnel(&h, &id, &url, "echo $((6*7))", "42").await;
    job_state(&orphan, "CANCELLED", Duration::from_secs(15)).await;
    assert_eq!(
        squeue(&job, "%T"),
        "RUNNING",
        "the adopted job was not touched"
    );
    h.delete(&format!("/session/{id}?wait_for_shutdown=true"))
        .await;
    job_state(&job, "CANCELLED", Duration::from_secs(15)).await;
    h.shutdown().await;
}

#[tokio::test]
async fn a_job_killed_on_its_node_or_cancelled_in_slurm_ends_its_session_with_why() {
    let Some(_) = cluster() else { return };
    let h = server_in(scratch("slurm-kill")).await;
    let id = h
        .launch("terminal", json!({"gpu": "gpu/fake:1", "timeout": 5}))
        .await;
    h.wait_url(&id, Duration::from_secs(30)).await;
    let job = job_of(&id);
    // The session's program on the node (it carries the session's id in its environment).
    let pids = common::session_processes(&id);
    assert!(
        !pids.is_empty(),
        "the job's processes carry the session's id"
    );
    for pid in pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let reason = ended_reason(&h, &id, Duration::from_secs(20)).await;
    assert_eq!(
        reason,
        format!("killed by signal 9 (Slurm job {job} on localhost)")
    );

    // Cancelled in Slurm by someone else (an administrator, `scancel` by hand).
    let id = h
        .launch("terminal", json!({"gpu": "gpu/fake:1", "timeout": 5}))
        .await;
    h.wait_url(&id, Duration::from_secs(30)).await;
    let job = job_of(&id);
    assert!(Command::new("scancel")
        .arg(&job)
        .status()
        .unwrap()
        .success());
    let reason = ended_reason(&h, &id, Duration::from_secs(20)).await;
    assert_eq!(reason, format!("cancelled in Slurm (job {job})"));
    h.shutdown().await;
}

#[tokio::test]
async fn a_node_that_fails_under_a_session_ends_it_with_node_failure() {
    let Some(_) = cluster() else { return };
    let h = server_in(scratch("slurm-node")).await;
    let id = h
        .launch("terminal", json!({"gpu": "gpu/fake:1", "timeout": 5}))
        .await;
    h.wait_url(&id, Duration::from_secs(30)).await;
    let job = job_of(&id);
    // An administrator (or Slurm itself) marks the node down: its jobs fail.
    let down = Command::new("scontrol")
        .args([
            "update",
            "NodeName=localhost",
            "State=DOWN",
            "Reason=porthole-test",
        ])
        .status()
        .unwrap();
    assert!(down.success());
    // (The test cluster's ReturnToService=2 brings the node back by itself once slurmd answers.)
    let reason = ended_reason(&h, &id, Duration::from_secs(30)).await;
    assert_eq!(
        reason,
        format!("node failure on localhost (Slurm job {job})")
    );
    assert_eq!(squeue(&job, "%T"), "NODE_FAIL", "not requeued");
    h.shutdown().await;
}
