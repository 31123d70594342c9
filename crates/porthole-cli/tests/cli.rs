//! The real `porthole` binary against a real portholed started here on 127.0.0.1:0, with a
//! scratch data folder and its key in a file. This file has its own `main` because portholed's
//! terminal template runs the current executable again as its helper.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod everyday;
mod support;

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use portholed::{ConfigSource, KeyStorage, RunningServer, Server, ServerConfig};
use serde_json::Value;
use support::*;
// ---- tests ---------------------------------------------------------------------------------

fn help_documents_exit_codes(_: &Ctx) {
    let run = porthole(&["--help"], &[]).ok();
    assert!(run.stdout.contains("Exit codes:"), "{}", run.stdout);
    for line in ["3  unauthorized", "4  not found", "5  the server could not"] {
        assert!(run.stdout.contains(line), "{line}:\n{}", run.stdout);
    }
    let usage = porthole(&["sessions", "frobnicate"], &[]);
    assert_eq!(usage.code, 2, "{}", usage.stderr);
}

fn machines_lists_terminal(ctx: &Ctx) {
    let table = ctx.run(&["machines"]).ok();
    let header = table.stdout.lines().next().unwrap_or_default();
    assert!(header.starts_with("ID "), "{}", table.stdout);
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.contains(" terminal ") && l.contains(" yes")),
        "{}",
        table.stdout
    );
    let json = ctx.run(&["machines", "--json"]).ok().json();
    let terminal = json
        .as_array()
        .expect("array")
        .iter()
        .find(|m| m["name"] == "terminal")
        .expect("terminal");
    assert_eq!(terminal["can_launch"], true, "{terminal}");
}

fn resources_lists_cpu(ctx: &Ctx) {
    let table = ctx.run(&["resources"]).ok();
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with("CPU ") && l.contains("available")),
        "{}",
        table.stdout
    );
    let json = ctx.run(&["resources", "--json"]).ok().json();
    let cpu = json
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["id"] == "CPU")
        .expect("CPU");
    assert_eq!(cpu["kind"], "cpu");
    assert_eq!(cpu["availability"]["status"], "available");
}

fn a_session_launches_extends_stops_and_is_gone(ctx: &Ctx) {
    let launched = ctx
        .run(&["sessions", "launch", "--minutes", "30", "--json"])
        .ok();
    assert!(
        launched.stderr.contains("is ready after"),
        "{}",
        launched.stderr
    );
    let session = launched.json();
    let id = session_id(&session);
    assert_eq!(session["state"]["state"], "ready", "{session}");
    let url = session["url"].as_str().expect("url").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let list = ctx.run(&["sessions", "list", "--json"]).ok().json();
    let listed = list
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in {list}"));
    assert_eq!(listed["state"]["state"], "ready", "{listed}");
    // Scripts get the URL (the webview never does) and the machine's name.
    assert_eq!(listed["url"], url.as_str(), "{listed}");
    assert_eq!(listed["machine_name"], "terminal", "{listed}");

    let table = ctx.run(&["sessions", "list"]).ok();
    let row = table
        .stdout
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{id} not in\n{}", table.stdout));
    assert!(
        row.contains(" terminal ") && row.contains(" ready ") && row.contains('m'),
        "{row}"
    );

    let shown = ctx.run(&["sessions", "show", &id]).ok();
    assert!(shown.stdout.contains("state:"), "{}", shown.stdout);
    assert!(shown.stdout.contains("ready"), "{}", shown.stdout);
    let before = deadline_of(&ctx.run(&["sessions", "show", &id, "--json"]).ok().json());

    let extended = ctx
        .run(&["sessions", "extend", &id, "--minutes", "7", "--json"])
        .ok()
        .json();
    let after = deadline_of(&extended);
    assert_eq!(
        after - before,
        chrono::Duration::minutes(7),
        "{before} → {after}"
    );
    let said = ctx.run(&["sessions", "extend", &id, "-m", "1"]).ok();
    assert!(
        said.stdout
            .starts_with(&format!("Extended {id} by 1 minute;")),
        "{}",
        said.stdout
    );

    let printed = ctx.run(&["sessions", "open", &id, "--print"]).ok();
    assert_eq!(printed.stdout.trim(), url);
    opening_keeps_the_url_off_every_command_line(ctx, &id, &url);

    let stopped = ctx.run(&["sessions", "stop", &id, "--json"]).ok().json();
    assert_eq!(stopped["stopped"], true);

    // portholed says why it ended: shown, and refused plainly where it must be live.
    let ended = ctx.run(&["sessions", "show", &id, "--json"]).ok().json();
    assert_eq!(ended["state"]["reason"]["kind"], "stopped", "{ended}");
    let gone = ctx.run(&["sessions", "extend", &id, "--minutes", "5"]);
    assert_eq!(gone.code, 4, "{}", gone.stderr);
    assert!(gone.stderr.starts_with("porthole: "), "{}", gone.stderr);
    assert!(
        gone.stderr
            .contains("has ended: it stopped. [session_gone]"),
        "{}",
        gone.stderr
    );
    // Stopping what has ended is what the user wanted.
    ctx.run(&["sessions", "stop", &id]).ok();

    // The log of an ended session is replayed to its end, and the command ends.
    let logs = ctx.run(&["sessions", "logs", &id]).ok();
    assert!(logs.stdout.lines().count() >= 1, "{}", logs.stdout);
    let lines = ctx.run(&["sessions", "logs", &id, "--json"]).ok();
    let mut n = 0;
    for line in lines.stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["message"].is_string(), "{v}");
        n += 1;
    }
    assert_eq!(n, logs.stdout.lines().count());
}

fn logs_follow_a_live_session_until_it_ends(ctx: &Ctx) {
    // One API minute is one second on this server: the session ends by itself.
    let base = ["--base-url", ctx.fast_base.as_str()];
    let env = [("PORTHOLE_API_KEY", ctx.fast_key.as_str())];
    let launch = [
        &base[..],
        &[
            "sessions",
            "launch",
            "--no-wait",
            "--minutes",
            "2",
            "--json",
        ],
    ]
    .concat();
    let session = porthole(&launch, &env).ok().json();
    let id = session_id(&session);
    let started = Instant::now();
    let logs = porthole(&[&base[..], &["sessions", "logs", &id]].concat(), &env).ok();
    assert!(!logs.stdout.is_empty(), "no log lines");
    assert!(started.elapsed() < RUN_LIMIT);
    // It ended by itself at its deadline, and says so.
    let gone = porthole(
        &[&base[..], &["sessions", "show", &id, "--json"]].concat(),
        &env,
    )
    .ok()
    .json();
    assert_eq!(gone["state"]["reason"]["kind"], "timeout", "{gone}");
}

/// A session that ends while `launch` waits for it: the tracker's reason (its deadline passed),
/// exit 4, and the wait stops at once.
fn a_launch_that_ends_before_it_is_ready_says_why(ctx: &Ctx) {
    // One API minute is one second on this server; `silent` never answers.
    let args = [
        "--base-url",
        ctx.fast_base.as_str(),
        "sessions",
        "launch",
        "--machine",
        "silent",
        "--minutes",
        "1",
        "--timeout-secs",
        "60",
    ];
    let started = Instant::now();
    let run = porthole(&args, &[("PORTHOLE_API_KEY", ctx.fast_key.as_str())]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("ended before it was ready (it timed out"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(30), "waited on");
}

fn a_launch_that_never_answers_times_out(ctx: &Ctx) {
    let run = ctx.run(&[
        "sessions",
        "launch",
        "--machine",
        "silent",
        "--timeout-secs",
        "1",
    ]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("not ready after 1s"), "{}", run.stderr);
    assert!(run.stderr.contains("waiting for "), "{}", run.stderr);
    let id = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("launched "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the launched id on stderr")
        .to_owned();
    ctx.run(&["sessions", "stop", &id]).ok();
}

fn unknown_names_are_refused_or_not_found(ctx: &Ctx) {
    let run = ctx.run(&["sessions", "launch", "--machine", "no-such-machine"]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.stderr.contains("[invalid_input]"), "{}", run.stderr);
    for verb in ["show", "logs", "open"] {
        let run = ctx.run(&["sessions", verb, "no-such-session"]);
        assert_eq!(run.code, 4, "{verb}: {}", run.stderr);
        assert!(run.stderr.contains("[session_gone]"), "{}", run.stderr);
    }
}

fn a_wrong_key_is_unauthorized(ctx: &Ctx) {
    let run = porthole(
        &["--base-url", &ctx.base, "sessions", "list"],
        &[("PORTHOLE_API_KEY", "wrong-key-1234")],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("unauthorized"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

fn no_key_is_unauthorized(_: &Ctx) {
    // A remote server (TEST-NET, never contacted): no local key to fall back on.
    let run = porthole(&["--base-url", "http://192.0.2.1/api", "machines"], &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("PORTHOLE_API_KEY"), "{}", run.stderr);
}

fn a_dead_port_is_unavailable_not_unauthorized(ctx: &Ctx) {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}/api");
    let run = porthole(
        &["--base-url", &base, "sessions", "list", "--json"],
        &[("PORTHOLE_API_KEY", &ctx.key)],
    );
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        !run.stderr.to_lowercase().contains("unauthorized"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

fn a_bad_base_url_is_invalid_input(ctx: &Ctx) {
    let run = porthole(
        &["--base-url", "ftp://example.com", "machines"],
        &[("PORTHOLE_API_KEY", &ctx.key)],
    );
    assert_eq!(run.code, 6, "{}", run.stderr);
}

/// What the provider's descriptor says it cannot take is refused before anything is launched:
/// exit 6, the parameter or mode named, no session left behind.
fn a_launch_the_provider_cannot_take_is_refused_by_name(ctx: &Ctx) {
    let before = ctx.run(&["sessions", "list", "--json"]).ok().json();
    for (args, words) in [
        (&["--param", "shots=100"][..], "shots"),
        (&["--mode", "batch"][..], "\"batch\""),
    ] {
        let mut all = vec!["sessions", "launch", "--machine", "terminal", "--no-wait"];
        all.extend_from_slice(args);
        let run = ctx.run(&all);
        assert_eq!(run.code, 6, "{}", run.stderr);
        assert!(run.stderr.contains(words), "{}", run.stderr);
    }
    let after = ctx.run(&["sessions", "list", "--json"]).ok().json();
    assert_eq!(before, after, "a refused launch started a session");
}

fn the_local_key_is_found_without_the_environment(ctx: &Ctx) {
    let data = ctx.porthole_data.to_str().unwrap();
    let run = porthole(
        &["--base-url", &ctx.base, "machines", "--json"],
        &[("PORTHOLE_DATA_DIR", data)],
    )
    .ok();
    assert!(run.json().as_array().is_some_and(|a| !a.is_empty()));
}

fn the_local_server_is_found_on_the_port_it_took(ctx: &Ctx) {
    // No --base-url and no accounts: the Local account. The test's server is not on 7788 (it
    // took a free port, as the app's does when 7788 is taken); its data folder says where it is.
    let run = ctx
        .run_on_local("local-port", &["sessions", "list", "--json"])
        .ok();
    assert!(run.json().is_array(), "{}", run.stdout);
}

fn the_local_key_is_never_sent_to_another_users_listener(ctx: &Ctx) {
    use std::os::unix::fs::MetadataExt;
    // Starting a server as another user needs root (CI runs as root).
    if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
        println!("skipped: needs root to serve as another user");
        return;
    }
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // A web server that answers anything, run by `nobody` on a loopback port.
    let mut squatter = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
        ])
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir("/")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the other user's server never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let base = format!("http://127.0.0.1:{port}/api");
    let data = ctx.porthole_data.to_str().unwrap();
    let run = porthole(
        &["--base-url", &base, "machines", "--json"],
        &[("PORTHOLE_DATA_DIR", data)],
    );
    let _ = squatter.kill();
    let _ = squatter.wait();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("Another user's program"),
        "{}",
        run.stderr
    );
}

fn keys_never_appear_in_any_output(ctx: &Ctx) {
    let outputs = OUTPUTS.lock().unwrap();
    for out in outputs.iter() {
        for key in [&ctx.key, &ctx.fast_key, &"wrong-key-1234".to_owned()] {
            assert!(!out.contains(key.as_str()), "a key was printed:\n{out}");
        }
    }
}

// ---- harness -------------------------------------------------------------------------------

type TestFn = fn(&Ctx);

const TESTS: &[(&str, TestFn)] = &[
    ("help_documents_exit_codes", help_documents_exit_codes),
    ("machines_lists_terminal", machines_lists_terminal),
    ("resources_lists_cpu", resources_lists_cpu),
    (
        "a_session_launches_extends_stops_and_is_gone",
        a_session_launches_extends_stops_and_is_gone,
    ),
    (
        "logs_follow_a_live_session_until_it_ends",
        logs_follow_a_live_session_until_it_ends,
    ),
    (
        "a_launch_that_never_answers_times_out",
        a_launch_that_never_answers_times_out,
    ),
    (
        "unknown_names_are_refused_or_not_found",
        unknown_names_are_refused_or_not_found,
    ),
    ("a_wrong_key_is_unauthorized", a_wrong_key_is_unauthorized),
    ("no_key_is_unauthorized", no_key_is_unauthorized),
    (
        "a_dead_port_is_unavailable_not_unauthorized",
        a_dead_port_is_unavailable_not_unauthorized,
    ),
    (
        "a_bad_base_url_is_invalid_input",
        a_bad_base_url_is_invalid_input,
    ),
    (
        "a_launch_that_ends_before_it_is_ready_says_why",
        a_launch_that_ends_before_it_is_ready_says_why,
    ),
    (
        "a_launch_the_provider_cannot_take_is_refused_by_name",
        a_launch_the_provider_cannot_take_is_refused_by_name,
    ),
    (
        "the_local_key_is_found_without_the_environment",
        the_local_key_is_found_without_the_environment,
    ),
    (
        "the_local_server_is_found_on_the_port_it_took",
        the_local_server_is_found_on_the_port_it_took,
    ),
    (
        "the_local_key_is_never_sent_to_another_users_listener",
        the_local_key_is_never_sent_to_another_users_listener,
    ),
    (
        "accounts_keep_their_keys_in_the_keychain",
        accounts::accounts_keep_their_keys_in_the_keychain,
    ),
    (
        "without_a_keychain_adding_an_account_fails_clearly",
        accounts::without_a_keychain_adding_an_account_fails_clearly,
    ),
    (
        "a_corrupt_accounts_file_exits_1_before_anything_else",
        accounts::a_corrupt_accounts_file_exits_1_before_anything_else,
    ),
    (
        "an_unknown_account_setting_is_refused_first",
        accounts::an_unknown_account_setting_is_refused_first,
    ),
    (
        "porthole_log_shows_retries",
        accounts::porthole_log_shows_retries,
    ),
    // Last: it checks the output of every run before it.
    (
        "keys_never_appear_in_any_output",
        keys_never_appear_in_any_output,
    ),
];

/// `sessions open` hands the opener a private page that redirects to the URL, never the URL
/// itself (its token would be on the opener's and the browser's command line).
fn opening_keeps_the_url_off_every_command_line(ctx: &Ctx, id: &str, url: &str) {
    use std::os::unix::fs::PermissionsExt;
    let scratch = ctx.porthole_data.with_file_name("opener");
    let bin = scratch.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let args_file = scratch.join("args");
    let opener = bin.join("xdg-open");
    std::fs::write(
        &opener,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n",
            args_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let data = scratch.join("data");
    let opened = porthole(
        &["--base-url", &ctx.base, "sessions", "open", id],
        &[
            ("PORTHOLE_API_KEY", &ctx.key),
            ("PATH", &path),
            ("PORTHOLE_DATA_DIR", &data.display().to_string()),
        ],
    )
    .ok();
    assert!(opened.stdout.contains("Opened"), "{}", opened.stdout);
    let args = std::fs::read_to_string(&args_file).unwrap();
    let page = args.trim();
    assert!(
        !args.contains("token"),
        "the opener was given the URL: {args}"
    );
    assert!(page.ends_with(".html"), "{page}");
    let html = std::fs::read_to_string(page).unwrap();
    assert!(
        html.contains(&serde_json::to_string(url).unwrap()),
        "{html}"
    );
    let mode = std::fs::metadata(page).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A machine whose process never listens: launches that wait for it must give up.
const CONFIG: &str = r#"
nvidia_smi = ""
[machines.silent]
command = ["/bin/sh", "-c", "exec sleep 600", "sh", "{port}"]
"#;

async fn start(data_dir: &Path, minute_seconds: Option<f64>) -> RunningServer {
    let _ = std::fs::remove_dir_all(data_dir);
    std::fs::create_dir_all(data_dir).unwrap();
    let mut config = ServerConfig::new(data_dir);
    config.config = ConfigSource::Inline(CONFIG.to_owned());
    config.key = KeyStorage::File;
    config.minute_seconds = minute_seconds;
    config.helper_exe = Some(std::env::current_exe().unwrap());
    Server::start(config).await.unwrap()
}

fn main() -> ExitCode {
    if let Some(code) = portholed::run_helper_if_requested() {
        return code;
    }
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let scratch = std::env::temp_dir().join(format!("porthole-cli-it-{}", std::process::id()));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // portholed keeps its state in `<PORTHOLE_DATA_DIR>/portholed`, as the CLI expects.
    let server = runtime.block_on(start(&scratch.join("data/portholed"), None));
    let fast = runtime.block_on(start(&scratch.join("fast"), Some(1.0)));
    let ctx = Ctx {
        base: server.base_url(),
        key: server.api_key().expose().clone(),
        porthole_data: scratch.join("data"),
        fast_base: fast.base_url(),
        fast_key: fast.api_key().expose().clone(),
    };
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, test) in TESTS.iter().chain(everyday::TESTS) {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            skipped += 1;
            continue;
        }
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(|| test(&ctx));
        let verdict = if outcome.is_ok() { "ok" } else { "FAILED" };
        println!("test {name} ... {verdict} ({:.2?})", started.elapsed());
        if outcome.is_ok() {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    runtime.block_on(async {
        server.shutdown().await;
        fast.shutdown().await;
    });
    let _ = std::fs::remove_dir_all(&scratch);
    println!("\ntest result: cli {passed} passed; {failed} failed; {skipped} filtered out");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
