//! A portholed reached as another computer would reach it: over TLS with the certificate it made
//! itself, paired with a one-time string, pinned. Real servers, real TLS, real HTTP.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use porthole_core::model::ProviderKind;
use porthole_core::provider::Provider;
use porthole_core::ErrorCode;
use porthole_local::pairing::{Fingerprint, Pairing};
use porthole_local::pinned::Pin;
use porthole_providers::http::RetryPolicy;
use porthole_providers::{pair, ComfyDeploy, ComfyDeployConfig};
use porthole_secrets::Sensitive;
use portholed::tls::Tls;
use portholed::{ConfigSource, KeyStorage, RunningServer, Server, ServerConfig};

struct Remote {
    server: RunningServer,
    dir: PathBuf,
}

impl Drop for Remote {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server serving TLS (as it does off loopback) with its key in a file, on a port of its own.
async fn remote(name: &str) -> Remote {
    let dir = std::env::temp_dir().join(format!("porthole-paired-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = ServerConfig::new(&dir);
    config.config = ConfigSource::Inline("nvidia_smi = \"\"\n".to_owned());
    config.key = KeyStorage::File;
    config.tls = Tls::Always;
    let server = Server::start(config).await.unwrap();
    Remote { server, dir }
}

fn client(base_url: &str, key: &str, pin: Fingerprint) -> ComfyDeploy {
    ComfyDeploy::new(ComfyDeployConfig {
        account_id: "gpu-box".to_owned(),
        kind: ProviderKind::Portholed,
        base_url: base_url.to_owned(),
        key: Sensitive::new(key.to_owned()),
        policy: RetryPolicy::default(),
        pin: Some(Pin::new(pin)),
    })
    .unwrap()
}

fn pairing(remote: &Remote) -> Pairing {
    Pairing {
        base_url: remote.server.base_url(),
        fingerprint: remote.server.fingerprint().unwrap(),
        token: portholed::pairing::issue(&remote.dir, chrono::Utc::now()).unwrap(),
    }
}

#[tokio::test]
async fn a_pairing_string_gives_the_key_once_over_pinned_tls() {
    let box1 = remote("once").await;
    assert!(box1.server.base_url().starts_with("https://"));
    let fingerprint = box1.server.fingerprint().unwrap();
    // The certificate is kept: the fingerprint is what the server recorded for `portholed pair`.
    assert_eq!(
        portholed::tls::recorded_fingerprint(&box1.dir),
        Some(fingerprint)
    );

    // What `portholed pair` prints reads back, and its token is spent by the first use.
    let string = pairing(&box1).encode();
    let paired = Pairing::parse(&string).unwrap();
    let key = pair::redeem(&paired).await.unwrap();
    assert_eq!(key, box1.server.api_key());
    let again = pair::redeem(&paired).await.unwrap_err();
    assert_eq!(again.code, ErrorCode::Unauthorized);
    assert!(again.message.contains("used already"), "{}", again.message);
    let forged = Pairing {
        token: Sensitive::new("0".repeat(48)),
        ..pairing(&box1)
    };
    assert_eq!(
        pair::redeem(&forged).await.unwrap_err().code,
        ErrorCode::Unauthorized
    );

    // The paired client works, pinned; the machines say what this server offers.
    let paired_client = client(&paired.base_url, key.expose(), fingerprint);
    paired_client.check_access().await.unwrap();
    assert!(!paired_client.machines().await.unwrap().is_empty());
}

#[tokio::test]
async fn another_certificate_at_the_paired_address_is_refused_in_words() {
    let (box1, box2) = (remote("pinned-a").await, remote("pinned-b").await);
    let pinned_to_1 = box1.server.fingerprint().unwrap();
    let presented = box2.server.fingerprint().unwrap();
    assert_ne!(
        pinned_to_1, presented,
        "each server makes its own certificate"
    );
    // box2 answers where the account expects box1: nothing is sent, and the error says why.
    let wrong = client(
        &box2.server.base_url(),
        box2.server.api_key().expose(),
        pinned_to_1,
    );
    let err = wrong.check_access().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::CertificateMismatch, "{}", err.message);
    assert!(
        err.message.contains(&pinned_to_1.short()) && err.message.contains(&presented.short()),
        "{}",
        err.message
    );
    assert!(err.message.contains("pair again"), "{}", err.message);
    // A pairing string whose fingerprint is not the server's gives nothing away either.
    let crossed = Pairing {
        fingerprint: pinned_to_1,
        ..pairing(&box2)
    };
    assert_eq!(
        pair::redeem(&crossed).await.unwrap_err().code,
        ErrorCode::CertificateMismatch
    );
}

#[tokio::test]
async fn a_rotated_key_stops_working_at_once_and_wrong_keys_never_work() {
    let box1 = remote("rotate").await;
    let fingerprint = box1.server.fingerprint().unwrap();
    let old = box1.server.api_key();
    let base = box1.server.base_url();
    client(&base, old.expose(), fingerprint)
        .check_access()
        .await
        .unwrap();
    for wrong in ["", "wrong", &format!("{}x", old.expose())] {
        let err = client(&base, wrong, fingerprint)
            .check_access()
            .await
            .unwrap_err();
        assert_eq!(
            err.code,
            ErrorCode::Unauthorized,
            "{wrong:?}: {}",
            err.message
        );
    }

    // `portholed key rotate`, from another process as a person would run it: the running
    // server takes the new key on its next request.
    portholed::key::rotate(&KeyStorage::File, &box1.dir).unwrap();
    let err = client(&base, old.expose(), fingerprint)
        .check_access()
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized, "{}", err.message);
    let new = box1.server.api_key();
    assert_ne!(new, old);
    client(&base, new.expose(), fingerprint)
        .check_access()
        .await
        .unwrap();
    // Pairing after a rotation hands out the new key.
    let key = pair::redeem(&pairing(&box1)).await.unwrap();
    assert_eq!(key, new);
}
