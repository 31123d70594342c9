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
    config.config = ConfigSource::Inline("nvidia_smi = \"\"\n".to_owned());
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

#[test]
fn a_pairing_string_adds_a_pinned_account_once() {
    let Some(bus) = keyring_bus() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let tmp = std::env::temp_dir().join(format!("porthole-cli-paired-{}", std::process::id()));
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
