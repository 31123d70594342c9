//! Shell tests through Tauri's real IPC and ACL path (MockRuntime, no display, no D-Bus).

use std::path::PathBuf;

use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{WebviewUrl, WebviewWindowBuilder};

use crate::state::AppState;

fn app() -> tauri::App<tauri::test::MockRuntime> {
    let dirs = porthole_core::paths::Dirs {
        config: std::env::temp_dir().join("porthole-shell-test/config"),
        data: std::env::temp_dir().join("porthole-shell-test/data"),
    };
    mock_builder()
        .manage(AppState::with_dirs(dirs))
        .invoke_handler(crate::specta_builder().invoke_handler())
        // The real config and capabilities: the ACL under test is the one the app ships.
        .build(tauri::generate_context!(test = true))
        .expect("build the mock app")
}

fn request(cmd: &str, url: &str) -> InvokeRequest {
    InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: url.parse().expect("url"),
        body: InvokeBody::default(),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    }
}

fn app_url() -> &'static str {
    if cfg!(windows) {
        "http://tauri.localhost"
    } else {
        "tauri://localhost"
    }
}

#[test]
fn the_main_window_can_ask_for_app_info() {
    let app = app();
    let main = WebviewWindowBuilder::new(&app, "main", WebviewUrl::default())
        .build()
        .expect("main window");
    let body = get_ipc_response(&main, request("app_info", app_url()))
        .expect("app_info is allowed for the main window");
    let info: serde_json::Value = body.deserialize().expect("json");
    assert_eq!(info["name"], "Porthole");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(info["config_dir"]
        .as_str()
        .is_some_and(|d| d.ends_with("porthole-shell-test/config")));
    // The keychain answer is either usable or a coded problem, never a crash.
    assert!(info["keychain"]["usable"].is_boolean());
    // Nothing started the Local server in this app: it is reported as starting, tagged.
    assert_eq!(
        info["local_server"],
        serde_json::json!({"state": "starting"})
    );
}

#[test]
fn a_session_window_cannot_invoke_commands() {
    let app = app();
    let session = WebviewWindowBuilder::new(&app, "session-abc", WebviewUrl::default())
        .build()
        .expect("session window");
    let err = get_ipc_response(&session, request("app_info", app_url()))
        .expect_err("a window no capability names must be refused");
    assert!(
        err.to_string().contains("not allowed"),
        "unexpected refusal: {err}"
    );
}

#[test]
fn a_remote_origin_in_the_main_window_cannot_invoke_commands() {
    let app = app();
    let main = WebviewWindowBuilder::new(&app, "main", WebviewUrl::default())
        .build()
        .expect("main window");
    let err = get_ipc_response(&main, request("app_info", "http://127.0.0.1:8080/"))
        .expect_err("a remote origin must be refused");
    assert!(
        err.to_string().contains("not allowed"),
        "unexpected refusal: {err}"
    );
}

/// The command names of build.rs's app manifest (each gets an allow/deny permission).
fn manifest_commands() -> Vec<String> {
    let build = include_str!("../build.rs");
    let list = build
        .split("commands(&[")
        .nth(1)
        .and_then(|rest| rest.split("])").next())
        .expect("the command list in build.rs");
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Every command is registered, exported, allowed for the main window and refused for a
/// session window: a command added in one place but not the others fails here.
#[test]
fn every_command_is_wired_and_gated_the_same_way() {
    let app = app();
    let main = WebviewWindowBuilder::new(&app, "main", WebviewUrl::default())
        .build()
        .expect("main window");
    let session = WebviewWindowBuilder::new(&app, "session-xyz", WebviewUrl::default())
        .build()
        .expect("session window");
    let bindings = include_str!("../ui/src/lib/backend/bindings.ts");
    let capability = include_str!("../capabilities/main.json");
    let commands = manifest_commands();
    assert!(commands.len() >= 16, "{commands:?}");
    // And the other way: every command the bindings call is in the manifest (else the window
    // gets "not allowed" for a command that exists).
    let calls = bindings.split("__TAURI_INVOKE").skip(1);
    for call in calls.filter(|c| c.starts_with('(') || c.starts_with('<')) {
        let Some(cmd) = call.split('"').nth(1) else {
            continue;
        };
        assert!(
            commands.iter().any(|c| c == cmd),
            "{cmd} is in the bindings but not in build.rs's manifest"
        );
    }
    for cmd in commands {
        assert!(
            bindings.contains(&format!("(\"{cmd}\"")),
            "{cmd} is not in the bindings"
        );
        let permission = format!("\"allow-{}\"", cmd.replace('_', "-"));
        assert!(
            capability.contains(&permission),
            "{cmd} has no permission in capabilities/main.json"
        );
        // The main window reaches the command (it may still refuse the empty arguments).
        if let Err(err) = get_ipc_response(&main, request(&cmd, app_url())) {
            assert!(!err.to_string().contains("not allowed"), "{cmd}: {err}");
        }
        let refused = get_ipc_response(&session, request(&cmd, app_url()))
            .expect_err("a session window must not reach any command");
        assert!(
            refused.to_string().contains("not allowed"),
            "{cmd}: {refused}"
        );
    }
}

#[test]
fn unknown_commands_are_refused() {
    let app = app();
    let main = WebviewWindowBuilder::new(&app, "main", WebviewUrl::default())
        .build()
        .expect("main window");
    assert!(get_ipc_response(&main, request("no_such_command", app_url())).is_err());
}

/// `make bindings` runs this test and then `git diff --exit-code` on the output.
#[test]
fn export_bindings() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(crate::BINDINGS_PATH);
    crate::export_bindings(&path).expect("export");
    let text = std::fs::read_to_string(&path).expect("read back");
    assert!(text.contains("appInfo"), "bindings lack app_info");
    assert!(
        text.contains("keychain_unavailable"),
        "bindings lack the error codes"
    );
}
