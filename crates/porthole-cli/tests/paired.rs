//! `porthole accounts add NAME --pair` against a real portholed serving TLS as it does off
//! loopback: the string given as an argument or pasted on stdin, spent once, the account pinned
//! to the server's certificate (another one at that address is refused with its own exit
//! code). Needs the real keychain (make test runs it inside a D-Bus session with one); skipped
//! elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use porthole_local::pairing::Pairing;
use portholed::tls::Tls;
use portholed::{ConfigSource, KeyStorage, RunningServer, Server, ServerConfig};
use support::{keyring_bus, porthole_with_input, KeyringEnv};

async fn server(dir: &std::path::Path) -> RunningServer {
    let _ = std::fs::remove_dir_all(dir);
    let mut config = ServerConfig::new(dir);
    // A page server as the session (the terminal template re-runs the test binary).
    config.config = ConfigSource::Inline(
        "nvidia_smi = \"\"\n[machines.web]\ncommand = [\"python3\", \"-m\", \"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"]\n"
            .to_owned(),
    );
    config.key = KeyStorage::File;
    config.tls = Tls::Always;
    Server::start(config).await.unwrap()
}

/// What `portholed pair` prints for `server`, keeping its state in `dir`.
fn pairing_string(server: &RunningServer, dir: &std::path::Path) -> String {
    Pairing {
        base_url: server.base_url(),
        fingerprint: server.fingerprint().unwrap(),
        token: portholed::pairing::issue(dir, chrono::Utc::now()).unwrap(),
    }
    .encode()
}

/// `sessions forward ID`: its one-time URL sets the cookie and lands on the session's page
/// (served on the other side of the tunnel); Ctrl-C stops it.
fn forwarded_page_answers(runtime: &tokio::runtime::Runtime, env: &KeyringEnv, id: &str) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(support::EXE)
        .args(["--account", "gpu-box", "sessions", "forward", id, "--json"])
        .env_clear()
        .envs(env.refs())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first: serde_json::Value =
        serde_json::from_str(&lines.next().expect("a first line").unwrap()).unwrap();
    let open_url = first["open_url"].as_str().unwrap().to_owned();
    let local = first["local_url"].as_str().unwrap().to_owned();
    assert!(local.starts_with("http://127.0.0.1:"), "{first}");
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let status = |url: String| {
            let http = http.clone();
            async move { http.get(url).send().await.unwrap().status() }
        };
        // Without the handshake: refused by the proxy's gate.
        assert_eq!(status(local.clone()).await, 403);
        let entry = http.get(&open_url).send().await.unwrap();
        assert_eq!(entry.status(), 302);
        let cookie = entry.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let landing = entry.headers()["location"].to_str().unwrap().to_owned();
        let page = http
            .get(format!("{local}{landing}"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("Directory listing"));
        // The one-time URL works once.
        assert_eq!(status(open_url.clone()).await, 403);
    });
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("forward did not stop within 10 s of Ctrl-C");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "forward did not stop cleanly on Ctrl-C: {status}"
    );
}

#[test]
fn a_pairing_string_adds_a_pinned_account_once() {
    let Some(bus) = keyring_bus() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let tmp = std::env::temp_dir().join(format!(
        "porthole-cli-paired-servers-{}",
        std::process::id()
    ));
    let (dir_a, dir_b) = (tmp.join("a"), tmp.join("b"));
    let box_a = runtime.block_on(server(&dir_a));
    let env = KeyringEnv::new(&bus, "paired", "gpu-box");

    // Given as an argument: added, pinned, and it works at once.
    let string = pairing_string(&box_a, &dir_a);
    let added = porthole_with_input(
        &["accounts", "add", "gpu-box", "--pair", &string, "--json"],
        &env.refs(),
        None,
    )
    .ok()
    .json();
    assert_eq!(added["provider"], "portholed");
    assert_eq!(added["base_url"], box_a.base_url());
    let fingerprint = box_a.fingerprint().unwrap().to_string();
    assert_eq!(added["fields"]["tls_fingerprint"], fingerprint);
    let machines = env.json(&["machines"]);
    assert!(machines.to_string().contains("terminal"), "{machines}");

    // A session there, forwarded to this computer's loopback through the server's tunnel.
    let launched = env.json(&["sessions", "launch", "--machine", "web", "--minutes", "10"]);
    let id = launched["id"].as_str().unwrap().to_owned();
    forwarded_page_answers(&runtime, &env, &id);

    // The same string again: spent (exit 3), and nothing was added.
    let again = porthole_with_input(
        &["accounts", "add", "gpu-box-2", "--pair", &string],
        &env.refs(),
        None,
    );
    assert_eq!(again.code, 3, "{}", again.stderr);
    assert!(again.stderr.contains("used already"), "{}", again.stderr);
    // Not a pairing string: said so, without echoing it.
    let typo = porthole_with_input(
        &[
            "accounts",
            "add",
            "gpu-box-2",
            "--pair",
            "porthole-pair:v1:c2VjcmV0",
        ],
        &env.refs(),
        None,
    );
    assert_eq!(typo.code, 6, "{}", typo.stderr);
    assert!(typo.stderr.contains("not a pairing string") && !typo.stderr.contains("c2VjcmV0"));

    // Another server now answers at the account's address: refused, exit 9, in words. (The
    // account is pointed at box B, whose certificate is not the pinned one.)
    let box_b = runtime.block_on(server(&dir_b));
    let mut accounts: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.config_dir().join("accounts.json")).unwrap(),
    )
    .unwrap();
    let listed = accounts["accounts"].as_array_mut().unwrap();
    let gpu_box = listed.iter_mut().find(|a| a["name"] == "gpu-box").unwrap();
    gpu_box["base_url"] = box_b.base_url().into();
    std::fs::write(
        env.config_dir().join("accounts.json"),
        serde_json::to_vec(&accounts).unwrap(),
    )
    .unwrap();
    let refused = env.on(&["machines"]);
    assert_eq!(refused.code, 9, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("other than the one this account was paired with"),
        "{}",
        refused.stderr
    );

    // Pasted on stdin (`--pair` alone): the way that keeps it out of the process list.
    let pasted = porthole_with_input(
        &["accounts", "add", "gpu-box-b", "--pair"],
        &env.refs(),
        Some(&format!("{}\n", pairing_string(&box_b, &dir_b))),
    )
    .ok();
    assert!(
        pasted.stdout.contains("Added gpu-box-b"),
        "{}",
        pasted.stdout
    );
    let _ = porthole_with_input(&["accounts", "remove", "gpu-box-b"], &env.refs(), None);
    drop((box_a, box_b));
    let _ = std::fs::remove_dir_all(&tmp);
}
