//! The CLI's everyday words: errors as JSON for scripts, ids shortened to a unique prefix,
//! templates by name, where a missing session was looked for, and shell completions.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// A test of this file, by name.
type Test = (&'static str, fn(&Ctx));

pub const TESTS: &[Test] = &[
    (
        "errors_with_json_are_one_object_on_stderr",
        errors_with_json_are_one_object_on_stderr,
    ),
    (
        "ids_shorten_to_a_unique_prefix_and_templates_go_by_name",
        ids_shorten_to_a_unique_prefix_and_templates_go_by_name,
    ),
    (
        "a_missing_session_says_where_it_was_looked_for",
        a_missing_session_says_where_it_was_looked_for,
    ),
    (
        "completions_are_printed_for_each_shell",
        completions_are_printed_for_each_shell,
    ),
];

fn errors_with_json_are_one_object_on_stderr(ctx: &Ctx) {
    let run = ctx.run(&["sessions", "show", "no-such-session", "--json"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "stdout stays empty: {}", run.stdout);
    let error: Value =
        serde_json::from_str(run.stderr.trim()).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    assert_eq!(error["code"], "session_gone", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no-such-session"),
        "{error}"
    );
    let refused = ctx.run(&["sessions", "launch", "--machine", "nope", "--json"]);
    assert_eq!(refused.code, 6, "{}", refused.stderr);
    let error: Value = serde_json::from_str(refused.stderr.trim()).unwrap();
    assert_eq!(error["code"], "invalid_input", "{error}");
}

fn ids_shorten_to_a_unique_prefix_and_templates_go_by_name(ctx: &Ctx) {
    let missing = ctx.run(&["sessions", "launch", "--machine", "comfy", "--no-wait"]);
    assert_eq!(missing.code, 6, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("the machines are: ") && missing.stderr.contains("terminal"),
        "{}",
        missing.stderr
    );
    // By its name, in any case.
    let launched = ctx
        .run(&[
            "sessions",
            "launch",
            "--machine",
            "Terminal",
            "--minutes",
            "30",
            "--no-wait",
            "--json",
        ])
        .ok()
        .json();
    let id = session_id(&launched);
    assert_eq!(launched["machine_name"], "terminal", "{launched}");
    let short = &id[..8];
    let shown = ctx.run(&["sessions", "show", short, "--json"]).ok().json();
    assert_eq!(shown["id"], id.as_str(), "{shown}");
    let stopped = ctx.run(&["sessions", "stop", short, "--json"]).ok().json();
    assert_eq!(stopped["id"], id.as_str(), "{stopped}");
    // portholed says who stopped it, for a day.
    let deadline = Instant::now() + Duration::from_secs(20);
    let ended = loop {
        let run = ctx.run(&["sessions", "show", &id]);
        if run.stdout.contains("ended: stopped") {
            break run;
        }
        assert!(Instant::now() < deadline, "not ended: {}", run.stdout);
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        ended.stdout.contains("status") && ended.stdout.contains("Stopped from the CLI."),
        "{}",
        ended.stdout
    );
}

fn a_missing_session_says_where_it_was_looked_for(ctx: &Ctx) {
    let given = ctx.run(&["sessions", "show", "no-such-session"]);
    assert_eq!(given.code, 4, "{}", given.stderr);
    assert!(
        given.stderr.contains(&format!("(looked in {})", ctx.base)),
        "{}",
        given.stderr
    );
    // No account named: the default one, and how to pick another.
    let run = ctx.run_on_local("looked-in", &["sessions", "show", "no-such-session"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("(looked in account \"Local\"; `-a NAME` picks another account)"),
        "{}",
        run.stderr
    );
}

fn completions_are_printed_for_each_shell(_: &Ctx) {
    let bash = porthole(&["completions", "bash"], &[]).ok();
    assert!(
        bash.stdout.contains("_porthole") && bash.stdout.contains("sessions"),
        "{}",
        bash.stdout
    );
    let zsh = porthole(&["completions", "zsh"], &[]).ok();
    assert!(
        zsh.stdout.starts_with("#compdef porthole"),
        "{}",
        zsh.stdout
    );
    let fish = porthole(&["completions", "fish"], &[]).ok();
    assert!(
        fish.stdout.contains("complete -c porthole"),
        "{}",
        fish.stdout
    );
    let unknown = porthole(&["completions", "tcsh"], &[]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
}
