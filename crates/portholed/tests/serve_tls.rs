//! The `portholed` binary as a person runs it on a GPU box: its command line (clap, environment
//! variables), TLS with the certificate it makes, `portholed pair`, and `portholed key rotate`
//! taking effect on the running server at once.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{scratch, EXE};
use porthole_local::pairing::{Fingerprint, Pairing};
use porthole_local::pinned::Pin;

struct Served {
    child: Child,
    base: String,
    fingerprint: Fingerprint,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary with `args` and reads the address and certificate it announces.
fn serve(args: &[&str], dir: &Path) -> Served {
    std::fs::write(dir.join("portholed.toml"), "nvidia_smi = \"\"\n").unwrap();
    let mut child = Command::new(EXE)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .env("PORTHOLED_CONFIG", dir.join("portholed.toml"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = loop {
        let line = lines.next().expect("portholed announced itself").unwrap();
        if line.starts_with("portholed listening on ") {
            break line;
        }
    };
    let base = line.split_whitespace().nth(3).unwrap().to_owned();
    let fingerprint = line
        .split_whitespace()
        .find_map(|w| Fingerprint::parse(w.trim_end_matches(';')).ok())
        .unwrap_or_else(|| panic!("no certificate in {line:?}"));
    Served {
        child,
        base,
        fingerprint,
    }
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(EXE).args(args).output().unwrap()
}

fn pinned(fingerprint: Fingerprint) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(Pin::new(fingerprint).client_config().unwrap())
        .build()
        .unwrap()
}

async fn status_with(http: &reqwest::Client, base: &str, key: &str) -> u16 {
    http.get(format!("{base}/machines"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn help_names_every_option_and_its_environment_variable() {
    let help = run(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for word in [
        "--listen",
        "--tls-cert",
        "--insecure-plain-http",
        "PORTHOLED_LISTEN",
        "PORTHOLED_DATA_DIR",
        "pair",
        "key",
    ] {
        assert!(text.contains(word), "{word} missing from:\n{text}");
    }
    let version = run(&["--version"]);
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("portholed "));
    // Plain HTTP beyond loopback is one loud flag, and it does not mix with TLS.
    let both = run(&["--insecure-plain-http", "--tls"]);
    assert_eq!(both.status.code(), Some(2));
    let unknown = run(&["--listne", "x"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[tokio::test]
async fn a_tls_server_pairs_once_and_a_rotated_key_stops_working_at_once() {
    let dir = scratch("serve-tls");
    let served = serve(&["--listen=127.0.0.1:0", "--tls", "--key-file"], &dir);
    assert!(
        served.base.starts_with("https://127.0.0.1:"),
        "{}",
        served.base
    );
    let data_dir = dir.to_str().unwrap();

    // `portholed pair`: the string and its link, naming this server and its certificate.
    let printed = run(&["pair", "--data-dir", data_dir]);
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let stdout = String::from_utf8_lossy(&printed.stdout).to_string();
    let mut lines = stdout.lines();
    let (string, link) = (lines.next().unwrap(), lines.next().unwrap());
    let pairing = Pairing::parse(string).unwrap();
    assert_eq!(Pairing::parse(link).unwrap(), pairing);
    assert_eq!(pairing.base_url, served.base);
    assert_eq!(pairing.fingerprint, served.fingerprint);
    let elsewhere = run(&["pair", "--data-dir", data_dir, "--address", "gpu-box"]);
    let port = served.base.rsplit(':').next().unwrap();
    assert_eq!(
        Pairing::parse(
            String::from_utf8_lossy(&elsewhere.stdout)
                .lines()
                .next()
                .unwrap()
        )
        .unwrap()
        .base_url,
        format!("https://gpu-box:{port}")
    );

    // Redeemed over TLS pinned to it: the key, once.
    let http = pinned(served.fingerprint);
    let redeem = |token: String| {
        let http = http.clone();
        let url = format!("{}/pair", served.base);
        async move {
            http.post(url)
                .json(&serde_json::json!({ "token": token }))
                .send()
                .await
                .unwrap()
        }
    };
    let answer = redeem(pairing.token.expose().clone()).await;
    assert_eq!(answer.status(), 200);
    let key = answer.json::<serde_json::Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        key,
        std::fs::read_to_string(dir.join("api-key")).unwrap().trim()
    );
    assert_eq!(redeem(pairing.token.expose().clone()).await.status(), 401);
    assert_eq!(status_with(&http, &served.base, &key).await, 200);

    // Plain HTTP gets nowhere on a TLS port.
    let plain = served.base.replace("https://", "http://");
    assert!(reqwest::get(format!("{plain}/machines")).await.is_err());

    // `portholed key rotate` from another process: the running server refuses the old key on
    // its very next request.
    let rotated = run(&["key", "rotate", "--key-file", "--data-dir", data_dir]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert_eq!(status_with(&http, &served.base, &key).await, 401);
    let new = std::fs::read_to_string(dir.join("api-key")).unwrap();
    assert_ne!(new.trim(), key);
    assert_eq!(status_with(&http, &served.base, new.trim()).await, 200);
    // The printed key is the new one too; the environment says what the flags say (as the
    // systemd unit sets them: PORTHOLED_KEY_FILE=1).
    let printed = Command::new(EXE)
        .args(["key", "--data-dir", data_dir])
        .env("PORTHOLED_KEY_FILE", "1")
        .output()
        .unwrap();
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), new.trim());
}

#[test]
fn pairing_a_server_without_tls_says_how_to_get_it() {
    let dir = scratch("pair-plain");
    let served_plain = Command::new(EXE)
        .args(["pair", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(served_plain.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&served_plain.stderr);
    assert!(stderr.contains("pairing needs it"), "{stderr}");
    assert!(served_plain.stdout.is_empty());
}
