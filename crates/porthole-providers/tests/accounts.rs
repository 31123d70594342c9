//! Accounts against the real Secret Service (run by `make test` inside scripts/with-keyring.sh)
//! and a fake provider: a key is saved only once it has worked, lives only in the keychain, and
//! goes away with its account.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{jwt_for, Fake, ME};
use porthole_core::accounts::{AccountStore, KeyState};
use porthole_core::model::ProviderKind;
use porthole_core::ErrorCode;
use porthole_providers::accounts::Accounts;
use porthole_secrets::{Keychain, Sensitive};

fn real_keychain() -> bool {
    let on = std::env::var_os("PORTHOLE_REAL_KEYCHAIN").is_some();
    if !on {
        eprintln!("skipped: needs PORTHOLE_REAL_KEYCHAIN=1 inside a D-Bus session with a keyring");
    }
    on
}

fn accounts(name: &str) -> (Accounts, String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("porthole-acct-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let service = format!("dev.porthole.test.{}.{name}", std::process::id());
    let accounts = Accounts::new(AccountStore::new(&dir), Keychain::new(service.clone()));
    (accounts, service, dir)
}

/// What another program (secret-tool) finds in the keychain for this entry.
fn secret_tool_lookup(service: &str, user: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", user])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn a_working_key_is_saved_in_the_keychain_and_removed_with_its_account() {
    if !real_keychain() {
        return;
    }
    let fake = Fake::start().await;
    let (acc, service, dir) = accounts("roundtrip");
    let key = jwt_for(ME);
    let added = acc
        .add(
            "Cloud GPUs",
            ProviderKind::ComfyDeploy,
            &fake.base,
            BTreeMap::new(),
            Sensitive::new(key.clone()),
        )
        .await
        .unwrap();
    assert_eq!(added.id, "cloud-gpus");
    // Another program reads the same entry: the key is really in the Secret Service.
    assert_eq!(
        secret_tool_lookup(&service, &added.id).as_deref(),
        Some(key.as_str())
    );
    let views = acc.list().unwrap();
    assert_eq!(views.len(), 2);
    assert_eq!(views[0].key, KeyState::Builtin);
    assert_eq!(views[1].key, KeyState::Set);
    acc.test("Cloud GPUs").await.unwrap();
    // The profile never holds the key.
    let text = std::fs::read_to_string(dir.join("accounts.json")).unwrap();
    assert!(!text.contains(&key));

    acc.remove("cloud-gpus").unwrap();
    assert_eq!(secret_tool_lookup(&service, &added.id), None);
    assert_eq!(acc.list().unwrap().len(), 1);
}

#[tokio::test]
async fn a_wrong_key_is_refused_with_the_providers_reason_and_nothing_is_saved() {
    if !real_keychain() {
        return;
    }
    let fake = Fake::start().await;
    let (acc, service, dir) = accounts("wrongkey");
    let err = acc
        .add(
            "Cloud",
            ProviderKind::ComfyDeploy,
            &fake.base,
            BTreeMap::new(),
            Sensitive::new("nope".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized);
    assert!(
        err.message.contains("Invalid or expired token"),
        "{}",
        err.message
    );
    assert!(!dir.join("accounts.json").exists());
    assert_eq!(secret_tool_lookup(&service, "cloud"), None);
}

#[tokio::test]
async fn an_unreachable_provider_is_not_a_wrong_key_and_nothing_is_saved() {
    if !real_keychain() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (acc, _, dir) = accounts("dead");
    let err = acc
        .add(
            "Cloud",
            ProviderKind::ComfyDeploy,
            &format!("http://127.0.0.1:{port}/api"),
            BTreeMap::new(),
            Sensitive::new(jwt_for(ME)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert!(!dir.join("accounts.json").exists());
}

#[tokio::test]
async fn a_key_removed_behind_our_back_shows_as_missing_and_is_unauthorized() {
    if !real_keychain() {
        return;
    }
    let fake = Fake::start().await;
    let (acc, service, _) = accounts("missing");
    let added = acc
        .add(
            "Cloud",
            ProviderKind::ComfyDeploy,
            &fake.base,
            BTreeMap::new(),
            Sensitive::new(jwt_for(ME)),
        )
        .await
        .unwrap();
    Keychain::new(service).delete(&added.id).unwrap();
    assert_eq!(acc.list().unwrap()[1].key, KeyState::Missing);
    let err = acc.test("Cloud").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized);
    assert!(err.message.contains("No key is stored"), "{}", err.message);
    // Setting a working key again repairs it.
    acc.set_key("Cloud", Sensitive::new(jwt_for(ME)))
        .await
        .unwrap();
    assert_eq!(acc.list().unwrap()[1].key, KeyState::Set);
}

#[test]
fn an_airplane_account_needs_its_own_server_over_https() {
    let mut account = porthole_core::model::Account {
        id: "a".into(),
        name: "Runbooks".into(),
        provider: ProviderKind::Airplane,
        base_url: String::new(),
        fields: BTreeMap::new(),
    };
    let connect = |a: &porthole_core::model::Account| {
        porthole_providers::accounts::connect(a, Sensitive::new("k".into()))
    };
    let err = connect(&account).err().unwrap();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(
        err.message.contains("service has closed"),
        "{}",
        err.message
    );
    account.base_url = "http://runbooks.example/v0".into();
    let err = connect(&account).err().unwrap();
    assert!(err.message.contains("https://"), "{}", err.message);
    account.base_url = "https://runbooks.example/v0".into();
    let client = connect(&account).unwrap();
    assert_eq!(client.kind(), ProviderKind::Airplane);
}

#[test]
fn an_ibm_account_needs_a_quantum_instance_crn() {
    let mut account = porthole_core::model::Account {
        id: "q".into(),
        name: "Quantum".into(),
        provider: ProviderKind::IbmQuantum,
        base_url: "https://quantum.cloud.ibm.com/api/v1".into(),
        fields: BTreeMap::new(),
    };
    let connect = |a: &porthole_core::model::Account| {
        porthole_providers::accounts::connect(a, Sensitive::new("k".into()))
            .err()
            .map(|e| (e.code, e.message))
    };
    let (code, message) = connect(&account).unwrap();
    assert_eq!(code, ErrorCode::InvalidInput);
    assert!(message.contains("instance CRN"), "{message}");
    account.fields.insert(
        "instance".into(),
        "crn:v1:bluemix:public:cloudant:us-south:a/x:y::".into(),
    );
    let (_, message) = connect(&account).unwrap();
    assert!(
        message.contains("not an IBM Quantum instance CRN"),
        "{message}"
    );
    account.fields.insert(
        "instance".into(),
        "crn:v1:bluemix:public:quantum-computing:eu-de:a/x:y::".into(),
    );
    assert!(connect(&account).is_none(), "a quantum CRN connects");
}
