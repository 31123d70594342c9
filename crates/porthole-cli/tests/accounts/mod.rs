//! The `accounts` commands against the real Secret Service of the test's D-Bus session, and
//! without one: keys go to the keychain and nowhere else.

use std::process::Command;

use crate::support::*;

/// The environment of a CLI with its own accounts file, on the test's D-Bus session.
fn accounts_env(ctx: &Ctx, name: &str, bus: &str) -> Vec<(String, String)> {
    let config = ctx.porthole_data.with_file_name(format!("config-{name}"));
    let _ = std::fs::remove_dir_all(&config);
    vec![
        (
            "PORTHOLE_CONFIG_DIR".to_owned(),
            config.display().to_string(),
        ),
        (
            "PORTHOLE_DATA_DIR".to_owned(),
            ctx.porthole_data.display().to_string(),
        ),
        ("DBUS_SESSION_BUS_ADDRESS".to_owned(), bus.to_owned()),
    ]
}

fn as_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn secret_tool_lookup(user: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "dev.porthole.desktop",
            "username",
            user,
        ])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn accounts_keep_their_keys_in_the_keychain(ctx: &Ctx) {
    let Some(bus) = super::support::keyring_bus() else {
        return;
    };
    let env = accounts_env(ctx, "keychain", &bus);
    let env = as_refs(&env);
    let list = porthole(&["accounts", "list", "--json"], &env).ok().json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["key"]["state"], "builtin");

    let add = [
        "accounts",
        "add",
        "GPU box",
        "--provider",
        "portholed",
        "--url",
        &ctx.base,
    ];
    let wrong = porthole_with_input(&add, &env, Some("wrong-key-1234\n"));
    assert_eq!(wrong.code, 3, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("unauthorized"), "{}", wrong.stderr);
    let list = porthole(&["accounts", "list", "--json"], &env).ok().json();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "a refused key saved an account"
    );

    let added = porthole_with_input(&add, &env, Some(&format!("{}\n", ctx.key))).ok();
    assert!(added.stdout.contains("gpu-box"), "{}", added.stdout);
    // Another program finds the key in the Secret Service; the accounts file does not hold it.
    assert_eq!(
        secret_tool_lookup("gpu-box").as_deref(),
        Some(ctx.key.as_str())
    );
    let config = std::fs::read_to_string(
        ctx.porthole_data
            .with_file_name("config-keychain")
            .join("accounts.json"),
    )
    .unwrap();
    assert!(!config.contains(&ctx.key));

    let listed = porthole(&["accounts", "list"], &env).ok();
    assert!(listed.stdout.contains("GPU box"), "{}", listed.stdout);
    porthole(&["accounts", "test", "gpu box"], &env).ok();
    porthole(&["-a", "GPU box", "sessions", "list", "--json"], &env).ok();
    porthole(&["accounts", "use", "gpu-box"], &env).ok();
    let machines = porthole(&["machines", "--json"], &env).ok().json();
    assert!(machines.as_array().is_some_and(|m| !m.is_empty()));

    let local = porthole(&["accounts", "remove", "Local"], &env);
    assert_eq!(local.code, 6, "{}", local.stderr);
    porthole(&["accounts", "remove", "gpu-box"], &env).ok();
    assert_eq!(secret_tool_lookup("gpu-box"), None);
    let gone = porthole(&["-a", "gpu-box", "sessions", "list"], &env);
    assert_eq!(gone.code, 6, "{}", gone.stderr);
}

/// `accounts add Box` for the test server, with its key on stdin.
fn add_box_with_the_right_key(ctx: &Ctx, env: &[(&str, &str)]) -> Run {
    add_box_with(ctx, env, &[])
}

/// The same, with `extra` arguments.
fn add_box_with(ctx: &Ctx, env: &[(&str, &str)], extra: &[&str]) -> Run {
    let mut add = vec![
        "accounts",
        "add",
        "Box",
        "--provider",
        "portholed",
        "--url",
        &ctx.base,
    ];
    add.extend_from_slice(extra);
    porthole_with_input(&add, env, Some(&format!("{}\n", ctx.key)))
}

pub fn without_a_keychain_adding_an_account_fails_clearly(ctx: &Ctx) {
    let env = accounts_env(ctx, "nobus", "unix:path=/nonexistent/porthole-test-bus");
    let env = as_refs(&env);
    let run = add_box_with_the_right_key(ctx, &env);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("keychain_unavailable"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    // Nothing half-saved: the account is not listed without its key.
    let list = porthole(&["accounts", "list", "--json"], &env).ok().json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

/// A corrupt accounts file is a local-file problem (exit 1, as `--help` says), found before any
/// key is asked for or any server contacted, and never overwritten.
pub fn a_corrupt_accounts_file_exits_1_before_anything_else(ctx: &Ctx) {
    let env = accounts_env(ctx, "corrupt", "disabled:");
    let config = std::path::PathBuf::from(&env[0].1);
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("accounts.json"), b"{ not json").unwrap();
    let env = as_refs(&env);
    // A server that would answer: had it been contacted, or the key asked for, the exit would
    // not be 1 (the key on stdin is right, so only the file can fail the command).
    let run = add_box_with_the_right_key(ctx, &env);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("accounts.json"), "{}", run.stderr);
    assert!(!run.stderr.contains("Checking the key"), "{}", run.stderr);
    let list = porthole(&["accounts", "list"], &env);
    assert_eq!(list.code, 1, "{}", list.stderr);
    assert_eq!(
        std::fs::read(config.join("accounts.json")).unwrap(),
        b"{ not json"
    );
}

/// `PORTHOLE_LOG=debug` shows what the CLI does on the network: here, its retries.
pub fn porthole_log_shows_retries(_ctx: &Ctx) {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/api", dead.local_addr().unwrap());
    drop(dead);
    let args = ["--base-url", &base, "machines"];
    let quiet = porthole(&args, &[("PORTHOLE_API_KEY", "k")]);
    assert_eq!(quiet.code, 5, "{}", quiet.stderr);
    assert!(!quiet.stderr.contains("retrying"), "{}", quiet.stderr);
    let loud = porthole(
        &args,
        &[("PORTHOLE_API_KEY", "k"), ("PORTHOLE_LOG", "debug")],
    );
    assert_eq!(loud.code, 5, "{}", loud.stderr);
    assert!(loud.stderr.contains("retrying request"), "{}", loud.stderr);
}

/// A setting the provider does not have is refused by name, before the key is asked for or the
/// server contacted (the key on stdin is right: only the setting can fail the command).
pub fn an_unknown_account_setting_is_refused_first(ctx: &Ctx) {
    let env = accounts_env(ctx, "fields", "disabled:");
    let env = as_refs(&env);
    let run = add_box_with(ctx, &env, &["--field", "region=eu"]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.stderr.contains("\"region\""), "{}", run.stderr);
    assert!(!run.stderr.contains("Checking the key"), "{}", run.stderr);
}
