//! The real `porthole` binary against a fake IBM Quantum Runtime (porthole-fakes): adding the
//! account (the key checked by IAM, the CRN by the API), backends, launch, list, show, jobs,
//! close and cancel, with the exact words scripts depend on. Needs the real keychain (make test
//! runs it inside a D-Bus session with one); skipped elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use porthole_fakes::ibm_quantum::{Config, FakeIbm};
use support::{keyring_bus, porthole_with_input, KeyringEnv};

#[test]
fn an_ibm_quantum_account_launches_lists_shows_jobs_closes_and_cancels() {
    let Some(bus) = keyring_bus() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = Config {
        job_seconds: 0.3,
        ..Config::default()
    };
    let fake = runtime.block_on(FakeIbm::start(config.clone())).unwrap();
    let env = KeyringEnv::new(&bus, "ibm", "Quantum");
    let instance = format!("instance={}", config.crn);
    let iam = format!("iam_url={}", fake.root());
    let base = fake.base_url();
    let add = [
        "accounts",
        "add",
        "Quantum",
        "--provider",
        "ibm-quantum",
        "--url",
        &base,
        "--field",
        &instance,
        "--field",
        &iam,
    ];

    // A wrong key: IAM refuses it, and nothing is saved.
    let wrong = porthole_with_input(&add, &env.refs(), Some("not-the-key\n"));
    assert_eq!(wrong.code, 3, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("IBM Cloud API key was rejected"),
        "{}",
        wrong.stderr
    );
    let listed = env.run(&["accounts", "list", "--json"]).ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "only Local: {listed}");
    porthole_with_input(&add, &env.refs(), Some(&format!("{}\n", config.api_key))).ok();

    // Backends, with qubits, status and queue.
    let resources = env.json(&["resources"]);
    let torino = resources
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "ibm_torino")
        .unwrap();
    assert_eq!(torino["kind"], "qpu_backend");
    assert_eq!(
        torino["availability"],
        serde_json::json!({"status": "busy", "queue_length": 4})
    );

    // An offline backend: refused plainly, exit 6.
    let offline = env.run(&[
        "--account",
        "Quantum",
        "sessions",
        "launch",
        "--resource",
        "ibm_osaka",
    ]);
    assert_eq!(offline.code, 6, "{}", offline.stderr);
    assert!(
        offline.stderr.contains("offline: maintenance"),
        "{}",
        offline.stderr
    );

    // Launch returns as soon as the session exists: waiting for its first job.
    let launched = env.json(&[
        "sessions",
        "launch",
        "--resource",
        "ibm_fez",
        "--mode",
        "batch",
        "--minutes",
        "60",
    ]);
    let id = launched["id"].as_str().unwrap().to_owned();
    assert_eq!(launched["state"]["state"], "queued", "{launched}");
    assert_eq!(launched["status_label"], "Waiting for first job");
    assert!(launched["unused_deadline"].is_string() && launched["deadline"].is_null());
    let list = env.json(&["sessions", "list"]);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == id.as_str()),
        "{list}"
    );
    let shown = env
        .run(&["--account", "Quantum", "sessions", "show", &id])
        .ok()
        .stdout;
    assert!(shown.contains("Unused limit:"), "{shown}");
    assert!(
        shown.contains("Mode:") && shown.contains("batch"),
        "{shown}"
    );
    assert!(
        shown.contains("Lifetime limit:") && shown.contains("1 h, from its first job"),
        "{shown}"
    );
    assert!(shown.contains("Opened:"), "its own timeline: {shown}");

    // A job from the user's own code: it runs, the hard clock starts, the job is listed.
    fake.submit_job(&id).unwrap();
    let running = env.show_until(&id, "running", |s| s["deadline"].is_string());
    assert!(running["unused_deadline"].is_null(), "{running}");
    let jobs = env.json(&["sessions", "jobs", &id]);
    assert_eq!(jobs.as_array().unwrap().len(), 1, "{jobs}");
    let table = env
        .run(&["--account", "Quantum", "sessions", "jobs", &id])
        .ok()
        .stdout;
    assert!(
        table.contains("STATUS") && table.contains("sampler"),
        "{table}"
    );

    // Close: it drains and completes; then a second session is cancelled.
    env.run(&["--account", "Quantum", "sessions", "stop", &id])
        .ok();
    let closed = env.show_until(&id, "closed", |s| s["state"]["state"] == "ended");
    assert_eq!(closed["state"]["reason"]["kind"], "completed", "{closed}");
    let second = env.json(&["sessions", "launch", "--resource", "ibm_fez"]);
    let second = second["id"].as_str().unwrap().to_owned();
    env.run(&[
        "--account",
        "Quantum",
        "sessions",
        "stop",
        &second,
        "--cancel",
    ])
    .ok();
    let cancelled = env.show_until(&second, "cancelled", |s| s["state"]["state"] == "ended");
    assert_eq!(
        cancelled["state"]["reason"]["kind"], "cancelled",
        "{cancelled}"
    );
    // Extend does not exist upstream.
    let extend = env.run(&[
        "--account",
        "Quantum",
        "sessions",
        "extend",
        &second,
        "--minutes",
        "15",
    ]);
    assert_ne!(extend.code, 0);
}
