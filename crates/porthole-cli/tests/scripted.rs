//! The real `porthole` binary against the scripted test provider (a folder with a script, see
//! `porthole_providers::scripted`): a session with no template and no web page, launch
//! parameters, an unused and an idle clock, a prompt that waits for a person, close and cancel.
//! Built only with the `scripted` feature, which `make test` turns on.
#![cfg(feature = "scripted")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{porthole, Run};

/// A folder holding the script: launch takes `who` (required) and `count` (a number, 1 unless
/// given); a session waits for first work for 1.5 s, runs, asks "Ship it?" (a required note),
/// and goes idle once answered. Unused after 7 minutes, idle after 5: both inside the first
/// warning threshold (10 minutes), so each is warned at once.
fn scripted_folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("porthole-scripted-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = |name: &str, required: bool, default: Value| {
        json!({ "name": name, "label": capitalised(name), "kind": "text", "required": required,
                "default": default, "help": null })
    };
    let mut count = text("count", false, json!("1"));
    count["kind"] = json!("number");
    let script = json!({
        "resources": [{ "id": "runner", "label": "Scripted runner" }],
        "parameters": [text("who", true, Value::Null), count],
        "unused_seconds": 420,
        "idle_seconds": 300,
        "drain_ms": 300,
        "steps": [
            { "after_ms": 0, "state": { "state": "queued" } },
            { "after_ms": 1500, "state": { "state": "ready" } },
            { "after_ms": 300, "state": { "state": "waiting_for_input" }, "prompt": "Ship it?",
              "fields": [text("note", true, Value::Null)] },
            { "after_ms": 300, "state": { "state": "idle" } }
        ]
    });
    std::fs::write(dir.join("script.json"), script.to_string()).unwrap();
    dir
}

fn capitalised(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// `porthole --base-url file://DIR --provider scripted ARGS`, with its own config and data.
fn run(dir: &Path, args: &[&str]) -> Run {
    let base = format!("file://{}", dir.display());
    let config = dir.join("config");
    let data = dir.join("data");
    let mut all = vec!["--base-url", &base, "--provider", "scripted"];
    all.extend_from_slice(args);
    porthole(
        &all,
        &[
            ("PORTHOLE_API_KEY", "scripted-key-not-used"),
            ("PORTHOLE_CONFIG_DIR", config.to_str().unwrap()),
            ("PORTHOLE_DATA_DIR", data.to_str().unwrap()),
        ],
    )
}

/// Polls `sessions show ID --json` until `done` holds (20 s at most).
fn show_until(dir: &Path, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let shown = run(dir, &["sessions", "show", id, "--json"]).ok().json();
        if done(&shown) {
            return shown;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} in 20 s; last seen: {shown}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_scripted_session_launches_with_parameters_asks_for_input_and_closes() {
    let dir = scripted_folder("close");

    // Parameters are checked against the provider's schema before anything is launched.
    let missing = run(&dir, &["sessions", "launch"]);
    assert_eq!(missing.code, 6, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("Required: Who."),
        "{}",
        missing.stderr
    );
    let wrong = run(
        &dir,
        &[
            "sessions",
            "launch",
            "--param",
            "who=ada",
            "--param",
            "count=many",
        ],
    );
    assert_eq!(wrong.code, 6, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("Count must be a number"),
        "{}",
        wrong.stderr
    );
    assert!(!dir.join("sessions.json").exists(), "nothing was launched");

    // No template, no web page: launch returns once the provider has accepted the session,
    // waiting for its first work, with its clocks and the watcher's warning.
    let launched = run(
        &dir,
        &["sessions", "launch", "--param", "who=ada", "--json"],
    )
    .ok();
    let session = launched.json();
    let id = session["id"].as_str().unwrap().to_owned();
    assert_eq!(session["state"]["state"], "queued", "{session}");
    assert_eq!(
        session["raw"]["params"],
        json!({ "who": "ada", "count": "1" })
    );
    assert!(session["unused_deadline"].is_string(), "{session}");
    let shown = run(&dir, &["sessions", "show", &id]).ok().stdout;
    assert!(
        shown.contains("state:") && shown.contains("waiting for first work"),
        "{shown}"
    );
    assert!(
        shown.contains("Unused limit:") && shown.contains("warned at 10 min"),
        "the unused clock counts down and is warned:\n{shown}"
    );
    assert!(shown.contains("Ends:"), "the hard clock too:\n{shown}");

    // It asks for input; the answer is checked, then taken.
    let waiting = show_until(&dir, &id, "prompt", |s| {
        s["state"]["state"] == "waiting_for_input"
    });
    assert_eq!(waiting["status_label"], "Ship it?", "{waiting}");
    assert!(
        waiting["unused_deadline"].is_null(),
        "it has worked: {waiting}"
    );
    let prompts = run(&dir, &["sessions", "prompts", &id, "--json"])
        .ok()
        .json();
    assert_eq!(prompts[0]["message"], "Ship it?", "{prompts}");
    let prompt = prompts[0]["id"].as_str().unwrap().to_owned();
    let table = run(&dir, &["sessions", "prompts", &id]).ok().stdout;
    assert!(
        table.contains(&format!("{prompt}: Ship it?")) && table.contains("--param note="),
        "{table}"
    );
    // Its only prompt is the one answered when none is named.
    let unanswered = run(&dir, &["sessions", "answer", &id]);
    assert_eq!(unanswered.code, 6, "{}", unanswered.stderr);
    assert!(
        unanswered.stderr.contains("Required: Note."),
        "{}",
        unanswered.stderr
    );
    let stray = run(
        &dir,
        &[
            "sessions", "answer", &id, "--prompt", "p9", "--param", "note=x",
        ],
    );
    assert_eq!(stray.code, 6, "{}", stray.stderr);
    let answered = run(
        &dir,
        // The older words still work.
        &[
            "sessions",
            "respond",
            &id,
            "--prompt",
            &prompt,
            "--value",
            "note=ship",
        ],
    )
    .ok();
    assert!(answered.stdout.contains("Answered"), "{}", answered.stdout);

    // Idle now: the idle clock counts down, warned.
    let idle = show_until(&dir, &id, "idle", |s| s["state"]["state"] == "idle");
    assert_eq!(idle["warning"]["clock"], "idle", "{idle}");
    let shown = run(&dir, &["sessions", "show", &id]).ok().stdout;
    assert!(
        shown.contains("Idle limit:") && shown.contains("warned at 10 min"),
        "{shown}"
    );
    let listed = run(&dir, &["sessions", "list"]).ok().stdout;
    assert!(listed.contains(&id) && listed.contains("idle"), "{listed}");
    // The thresholds saved in the app's settings are the CLI's too.
    let saved = porthole_core::alerts::AlertSettings {
        warn_before_minutes: vec![6],
        ..Default::default()
    };
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(
        dir.join("config/settings.json"),
        serde_json::to_vec(&saved).unwrap(),
    )
    .unwrap();
    let shown = run(&dir, &["sessions", "show", &id]).ok().stdout;
    assert!(shown.contains("warned at 6 min"), "{shown}");

    // Close: it drains, then completes, and leaves the live list.
    run(&dir, &["sessions", "stop", &id]).ok();
    let ended = show_until(&dir, &id, "the end", |s| s["state"]["state"] == "ended");
    assert_eq!(ended["state"]["reason"]["kind"], "completed", "{ended}");
    let listed = run(&dir, &["sessions", "list", "--json"]).ok().json();
    assert_eq!(listed, json!([]), "an ended session is not live");
    // Its log says where it stands, and ends with it.
    let log = run(&dir, &["sessions", "logs", &id]).ok().stdout;
    assert!(log.contains("Ended: completed"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cancel_ends_a_scripted_session_at_once_and_a_gpu_style_stop_is_kept_apart() {
    let dir = scripted_folder("cancel");
    let launched = run(
        &dir,
        &[
            "sessions",
            "launch",
            "--param",
            "who=bo",
            "--no-wait",
            "--json",
        ],
    )
    .ok()
    .json();
    let id = launched["id"].as_str().unwrap().to_owned();
    let cancelled = run(&dir, &["sessions", "stop", &id, "--cancel", "--json"])
        .ok()
        .json();
    assert_eq!(
        cancelled,
        json!({ "id": id, "stopped": false, "cancelled": true })
    );
    let shown = run(&dir, &["sessions", "show", &id]).ok().stdout;
    assert!(shown.contains("ended: cancelled"), "{shown}");
    // Extending is not something these sessions do: a clear, coded refusal.
    let extend = run(&dir, &["sessions", "extend", &id, "-m", "5"]);
    assert_eq!(extend.code, 6, "{}", extend.stderr);
    assert!(
        extend.stderr.contains("cannot be extended"),
        "{}",
        extend.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}
