//! Every listener portholed owns, attacked: the API (plain on loopback, and over TLS as another
//! computer reaches it), a terminal session and a token front
//! (porthole_proxy::attack_set, the same set the session proxies face); no session token on any
//! command line; the files that hold tokens private.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{Harness, KEY};
use porthole_proxy::admission::{DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_UNVERIFIED};
use porthole_proxy::attack_set::{run_all, Target};
use serde_json::json;

/// A terminal and a ComfyUI session (behind its token front), each with its URL's token.
async fn two_sessions(name: &str) -> (Harness, Vec<(String, url::Url, String)>) {
    let dir = common::scratch(name);
    // Top-level keys (comfyui_dir) before any table.
    let toml = format!(
        "{}{}",
        common::comfy_config(&dir),
        common::helper_machine("shell")
    );
    let h = Harness::start_with(common::config(&dir, &toml, 60.0)).await;
    let mut sessions = Vec::new();
    for machine in ["shell", "comfyui"] {
        let id = h.launch(machine, json!({"timeout": 10})).await;
        let url = url::Url::parse(&h.wait_url(&id, Duration::from_secs(30)).await).unwrap();
        let token = url
            .query_pairs()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        sessions.push((id, url, token));
    }
    (h, sessions)
}

fn target(url: &url::Url, credential: String, forged: String, ws: Option<&str>) -> Target {
    let port = url.port().unwrap();
    Target {
        addr: ([127, 0, 0, 1], port).into(),
        host: format!("127.0.0.1:{port}"),
        path: "/".to_owned(),
        credential: vec![credential],
        forged: vec![forged],
        websocket: ws.map(str::to_owned),
        pages: true,
        header_timeout: DEFAULT_HEADER_TIMEOUT,
        max_unverified: DEFAULT_MAX_UNVERIFIED,
        tls: None,
    }
}

#[tokio::test]
async fn every_listener_faces_the_attack_set() {
    let (h, sessions) = two_sessions("attacks").await;
    let (_, terminal_url, terminal_token) = &sessions[0];
    let terminal_cookie = format!("porthole_terminal_{}", terminal_url.port().unwrap());
    let terminal = target(
        terminal_url,
        format!("Cookie: {terminal_cookie}={terminal_token}"),
        format!("Cookie: {terminal_cookie}=forged"),
        Some("/ws"),
    );

    // The front's credential is the cookie its standing token hands out.
    let (_, front_url, _) = &sessions[1];
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let entry = http.get(front_url.as_str()).send().await.unwrap();
    assert_eq!(entry.status(), 302);
    let pair = entry.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (name, _) = pair.split_once('=').unwrap();
    let front = target(
        front_url,
        format!("Cookie: {pair}"),
        format!("Cookie: {name}=forged"),
        None,
    );

    let api_addr = h.server.as_ref().unwrap().local_addr();
    let api = Target {
        addr: api_addr,
        host: api_addr.to_string(),
        path: "/api/sessions".to_owned(),
        credential: vec![format!("Authorization: Bearer {KEY}")],
        forged: vec!["Authorization: Bearer forged".to_owned()],
        websocket: None,
        pages: false,
        header_timeout: DEFAULT_HEADER_TIMEOUT,
        max_unverified: DEFAULT_MAX_UNVERIFIED,
        tls: None,
    };
    // The API as another computer reaches it: over TLS (pinned, as a paired client speaks it).
    let mut config = common::config(&common::scratch("attacks-tls"), "", 60.0);
    config.tls = portholed::tls::Tls::Always;
    let remote = Harness::start_with(config).await;
    let remote_server = remote.server.as_ref().unwrap();
    let pin = porthole_local::pinned::Pin::new(remote_server.fingerprint().unwrap());
    let remote_api = Target {
        addr: remote_server.local_addr(),
        tls: Some(std::sync::Arc::new(pin.client_config().unwrap())),
        ..api.clone()
    };
    tokio::join!(
        run_all(&terminal),
        run_all(&front),
        run_all(&api),
        run_all(&remote_api)
    );
    h.shutdown().await;
    remote.shutdown().await;
}

/// Every local user can read every process's argv: no session's token may be there. The tokens
/// are in the session processes' environment instead (which the scan below proves it can see).
#[tokio::test]
async fn no_session_token_is_on_any_command_line() {
    let (h, sessions) = two_sessions("argv").await;
    for (id, _, token) in &sessions {
        let mut in_environment = false;
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let path = entry.path();
            if let Ok(cmdline) = std::fs::read(path.join("cmdline")) {
                assert!(
                    !contains(&cmdline, token.as_bytes()),
                    "{}'s command line holds session {id}'s token: {:?}",
                    path.display(),
                    String::from_utf8_lossy(&cmdline)
                );
            }
            if let Ok(environ) = std::fs::read(path.join("environ")) {
                in_environment |= contains(&environ, token.as_bytes());
            }
        }
        assert!(in_environment, "session {id}'s token is in no environment");
    }
    h.shutdown().await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The database holds every session's token: it, its journals and the folder are the owner's
/// only, also when an earlier version left them open.
#[tokio::test]
async fn the_files_that_hold_tokens_are_private() {
    let dir = common::scratch("modes");
    let db = dir.join(portholed::DB_FILE);
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let h = Harness::start_with(common::config(&dir, &common::helper_machine("shell"), 60.0)).await;
    let id = h.launch("shell", json!({"timeout": 10})).await;
    h.wait_url(&id, Duration::from_secs(30)).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let mut checked = 0;
    for entry in walk(&dir) {
        let m = mode(&entry);
        assert_eq!(m & 0o077, 0, "{} is {m:o}", entry.display());
        checked += 1;
    }
    for journal in ["-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(journal);
        assert_eq!(mode(std::path::Path::new(&name)), 0o600, "{journal}");
    }
    assert!(checked >= 4, "only {checked} files");
    h.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}
