//! The real `porthole` binary against a fake Airplane (porthole-fakes): adding the account (the
//! key checked, a read-only one marked), launching a runbook with parameters and waiting for its
//! end, answering and refusing prompts, `list --all`, and `stop` refused with its documented
//! exit, in the exact words scripts depend on. Needs the real keychain (make test runs it inside
//! a D-Bus session with one); skipped elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use porthole_fakes::airplane::{Config, FakeAirplane};
use serde_json::Value;
use support::{keyring_bus, porthole_with_input, KeyringEnv};

/// Polls until the fake has an open prompt for the session (10 s at most).
fn open_prompt(fake: &FakeAirplane, id: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(prompt) = fake.open_prompt(id) {
            return prompt;
        }
        assert!(Instant::now() < deadline, "{id} never asked");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_airplane_account_launches_answers_refuses_and_lists_runbook_sessions() {
    let Some(bus) = keyring_bus() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(FakeAirplane::start(Config {
            step_ms: 250,
            ..Config::default()
        }))
        .unwrap();
    let config = fake.config();
    let env = KeyringEnv::new(&bus, "airplane", "Runbooks");
    let base = fake.base_url();
    let add = |name: &str| {
        vec![
            "accounts".to_owned(),
            "add".to_owned(),
            name.to_owned(),
            "--provider".to_owned(),
            "airplane".to_owned(),
            "--url".to_owned(),
            base.clone(),
            "--field".to_owned(),
            "env=staging".to_owned(),
        ]
    };
    let args = add("Runbooks");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // A wrong key: refused, nothing saved.
    let wrong = porthole_with_input(&args, &env.refs(), Some("tkn_wrong\n"));
    assert_eq!(wrong.code, 3, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("invalid API key"), "{}", wrong.stderr);
    let added =
        porthole_with_input(&args, &env.refs(), Some(&format!("{}\n", config.api_key))).ok();
    assert!(
        added.stdout.contains("Access: launch and answer"),
        "{}",
        added.stdout
    );

    // A missing required parameter: named, exit 6, nothing started.
    let missing = env.on(&["sessions", "launch", "--runbook", "deploy", "--no-wait"]);
    assert_eq!(missing.code, 6, "{}", missing.stderr);
    assert!(missing.stderr.contains("Service"), "{}", missing.stderr);
    assert_eq!(fake.executions(), 0);

    // Launched without waiting: the session, in JSON.
    let launched = env.json(&[
        "sessions",
        "launch",
        "--runbook",
        "deploy",
        "--param",
        "service=web",
        "--param",
        "replicas=3",
        "--no-wait",
    ]);
    let id = launched["id"].as_str().unwrap().to_owned();
    let waiting = env.show_until(&id, "waiting", |s| {
        s["state"]["state"] == "waiting_for_input"
    });
    assert_eq!(waiting["status_label"], "Approve the deploy of web?");
    let prompts = env.json(&["sessions", "prompts", &id]);
    assert_eq!(prompts[0]["parameters"][0]["name"], "reason", "{prompts}");
    // The answer is checked, then taken; a second answer is refused plainly.
    let empty = env.on(&["sessions", "answer", &id]);
    assert_eq!(empty.code, 6, "{}", empty.stderr);
    let answered = env.json(&["sessions", "answer", &id, "--param", "reason=ship it"]);
    assert_eq!(answered["answered"], true);
    let prompt = answered["prompt"].as_str().unwrap().to_owned();
    let twice = env.on(&[
        "sessions",
        "answer",
        &id,
        "--prompt",
        &prompt,
        "--param",
        "reason=again",
    ]);
    assert_eq!(twice.code, 6, "{}", twice.stderr);
    assert!(
        twice.stderr.contains("already answered"),
        "{}",
        twice.stderr
    );
    let done = env.show_until(&id, "succeeded", |s| s["state"]["state"] == "ended");
    assert_eq!(done["state"]["reason"]["kind"], "completed", "{done}");
    let jobs = env.on(&["sessions", "jobs", &id]).ok().stdout;
    assert!(jobs.contains("deployed: web"), "{jobs}");

    // Launched and waited for: refusing its prompt ends it cancelled, exit 8 with the reason.
    let waiter = {
        let mut all = vec!["--account", "Runbooks", "sessions", "launch", "--runbook"];
        all.extend(["deploy", "--param", "service=api", "--json"]);
        let refs = env.refs();
        let owned: Vec<(String, String)> = refs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let all: Vec<String> = all.iter().map(|s| (*s).to_owned()).collect();
        std::thread::spawn(move || {
            let refs: Vec<(&str, &str)> = owned
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            support::porthole(&all, &refs)
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let second = loop {
        let all = env.json(&["sessions", "list"]);
        if let Some(s) = all
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["raw"]["paramValues"]["service"] == "api")
        {
            break s["id"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "the second launch never showed");
        std::thread::sleep(Duration::from_millis(100));
    };
    open_prompt(&fake, &second);
    let refused = env.on(&["sessions", "answer", &second, "--cancel"]).ok();
    assert!(refused.stdout.starts_with("Refused"), "{}", refused.stdout);
    let waited = waiter.join().unwrap();
    assert_eq!(waited.code, 8, "{}", waited.stderr);
    assert!(
        waited.stderr.contains("waits for your answer"),
        "{}",
        waited.stderr
    );
    assert!(waited.stderr.contains("cancelled"), "{}", waited.stderr);

    // Finished sessions only with --all.
    let live = env.json(&["sessions", "list"]);
    assert!(live.as_array().unwrap().is_empty(), "{live}");
    let all = env.json(&["sessions", "list", "--all"]);
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(
        ids.contains(&id.as_str()) && ids.contains(&second.as_str()),
        "{all}"
    );

    // No stop in Airplane's API: a documented exit, said plainly.
    let stop = env.on(&["sessions", "stop", &id]);
    assert_eq!(stop.code, 6, "{}", stop.stderr);
    assert!(stop.stderr.contains("cannot be stopped"), "{}", stop.stderr);

    // The environment went in its header.
    let executes: Vec<Value> = fake
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/runbooks/execute") && !s.body.contains("{}"))
        .map(|s| serde_json::json!({"env": s.env_slug}))
        .collect();
    assert!(
        executes.iter().all(|e| e["env"] == "staging"),
        "{executes:?}"
    );

    // A read-only key: added and marked, its launch explained.
    let args = add("Reader");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let reader = porthole_with_input(
        &args,
        &env.refs(),
        Some(&format!("{}\n", config.read_only_key)),
    )
    .ok();
    assert!(
        reader.stdout.contains("Access: read-only"),
        "{}",
        reader.stdout
    );
    let refused = env.run(&[
        "--account",
        "Reader",
        "sessions",
        "launch",
        "--runbook",
        "hello",
        "--no-wait",
    ]);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(refused.stderr.contains("read-only"), "{}", refused.stderr);
    let _ = env.run(&["accounts", "remove", "Reader"]);
}
