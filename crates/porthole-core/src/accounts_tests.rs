//! The accounts file's tests (`accounts.rs`).

use super::*;

fn store(name: &str) -> AccountStore {
    let dir = std::env::temp_dir().join(format!("porthole-accounts-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    AccountStore::new(&dir)
}

#[test]
fn a_first_start_has_only_the_local_account_and_writes_nothing() {
    let s = store("first");
    let list = s.list().unwrap();
    assert_eq!(list, vec![local_account()]);
    assert_eq!(s.default_account().unwrap().id, LOCAL_ACCOUNT_ID);
    assert!(!s.path().exists());
}

#[test]
fn a_key_set_changes_the_file_for_its_account_until_it_is_removed() {
    let s = store("keys-set");
    let a = s
        .add(
            "Cloud",
            ProviderKind::ComfyDeploy,
            "https://x.example",
            BTreeMap::new(),
        )
        .unwrap();
    let before = std::fs::read(s.path()).unwrap();
    assert!(s.keys_set().unwrap().is_empty());
    s.note_key_set("cloud").unwrap();
    let first = s.keys_set().unwrap();
    assert_eq!(first.keys().collect::<Vec<_>>(), vec![&a.id]);
    assert_ne!(
        std::fs::read(s.path()).unwrap(),
        before,
        "the watched file changed"
    );
    s.note_key_set(&a.id).unwrap();
    assert_ne!(
        s.keys_set().unwrap()[&a.id],
        first[&a.id],
        "each setting is told apart"
    );
    assert_eq!(
        s.list().unwrap().len(),
        2,
        "the accounts themselves are unchanged"
    );
    assert_eq!(
        s.note_key_set("nobody").unwrap_err().code,
        ErrorCode::InvalidInput
    );
    s.remove(&a.id).unwrap();
    assert!(s.keys_set().unwrap().is_empty());
}

#[test]
fn add_edit_default_and_remove_round_trip_through_the_file() {
    let s = store("crud");
    let a = s
        .add(
            "My GPUs",
            ProviderKind::ComfyDeploy,
            "https://api.comfydeploy.com/api/",
            BTreeMap::new(),
        )
        .unwrap();
    assert_eq!(a.id, "my-gpus");
    assert_eq!(a.base_url, "https://api.comfydeploy.com/api");
    let dup = s
        .add(
            " my gpus ",
            ProviderKind::ComfyDeploy,
            "https://x.example",
            BTreeMap::new(),
        )
        .unwrap_err();
    assert_eq!(dup.code, ErrorCode::InvalidInput);
    let renamed = s.edit("my-gpus", Some("Cloud"), None).unwrap();
    assert_eq!(
        (renamed.id.as_str(), renamed.name.as_str()),
        ("my-gpus", "Cloud")
    );
    s.set_default("cloud").unwrap();
    assert_eq!(s.default_account().unwrap().id, "my-gpus");
    // A second store on the same folder (the CLI beside the app) sees the same accounts.
    let other = AccountStore::new(s.path().parent().unwrap());
    assert_eq!(other.list().unwrap().len(), 2);
    assert_eq!(s.remove("Cloud").unwrap().id, "my-gpus");
    assert_eq!(s.default_account().unwrap().id, LOCAL_ACCOUNT_ID);
    assert_eq!(s.list().unwrap(), vec![local_account()]);
}

#[test]
fn add_then_runs_before_the_file_names_the_account_and_its_error_writes_nothing() {
    let s = store("then");
    let other = AccountStore::new(s.path().parent().unwrap());
    let mut seen_by_other = None;
    let added = s
        .add_then(
            "Keyed",
            ProviderKind::ComfyDeploy,
            "https://x.example",
            BTreeMap::new(),
            |account| {
                seen_by_other = Some(other.list()?.iter().any(|a| a.id == account.id));
                Ok(())
            },
        )
        .unwrap();
    // While the key was being stored, a reader of the file did not see the account yet.
    assert_eq!(seen_by_other, Some(false));
    assert!(other.list().unwrap().contains(&added));
    let refused = s
        .add_then(
            "Unkeyed",
            ProviderKind::ComfyDeploy,
            "https://y.example",
            BTreeMap::new(),
            |_| Err(Error::invalid_input("no keychain")),
        )
        .unwrap_err();
    assert_eq!(refused.message, "no keychain");
    assert_eq!(other.list().unwrap().len(), 2);
}

#[test]
fn the_local_account_cannot_be_removed() {
    let s = store("local");
    assert_eq!(s.remove("local").unwrap_err().code, ErrorCode::InvalidInput);
    assert_eq!(s.remove("Local").unwrap_err().code, ErrorCode::InvalidInput);
}

#[test]
fn bad_names_and_urls_are_refused_before_anything_is_written() {
    let s = store("bad");
    for (name, url) in [
        ("", "https://x.example"),
        ("ok", "ftp://x"),
        ("ok", "x.example"),
        ("a\nb", "https://x.example"),
    ] {
        let err = s
            .add(name, ProviderKind::ComfyDeploy, url, BTreeMap::new())
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "{name:?} {url:?}");
    }
    assert!(!s.path().exists());
}

#[test]
fn ids_stay_unique_and_readable() {
    let s = store("ids");
    let a = s
        .add(
            "Team / A",
            ProviderKind::Airplane,
            "https://api.airplane.dev",
            BTreeMap::new(),
        )
        .unwrap();
    let b = s
        .add(
            "team--a",
            ProviderKind::Airplane,
            "https://api.airplane.dev",
            BTreeMap::new(),
        )
        .unwrap();
    let c = s
        .add(
            "Local!",
            ProviderKind::Portholed,
            "http://10.0.0.2:7788/api",
            BTreeMap::new(),
        )
        .unwrap();
    assert_eq!(
        (a.id.as_str(), b.id.as_str(), c.id.as_str()),
        ("team-a", "team-a-2", "account")
    );
}

#[test]
fn a_damaged_file_is_reported_and_never_overwritten() {
    let s = store("damaged");
    std::fs::create_dir_all(s.path().parent().unwrap()).unwrap();
    std::fs::write(s.path(), b"{ not json").unwrap();
    let err = s
        .add(
            "x",
            ProviderKind::ComfyDeploy,
            "https://x.example",
            BTreeMap::new(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Io);
    assert!(
        err.message.contains("will not overwrite"),
        "{}",
        err.message
    );
    assert_eq!(std::fs::read(s.path()).unwrap(), b"{ not json");
}

#[cfg(unix)]
#[test]
fn the_file_is_private_and_holds_no_key_field() {
    use std::os::unix::fs::PermissionsExt;
    let s = store("private");
    s.add(
        "x",
        ProviderKind::ComfyDeploy,
        "https://x.example",
        BTreeMap::new(),
    )
    .unwrap();
    let mode = std::fs::metadata(s.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(s.path()).unwrap();
    assert!(!text.contains("key"), "{text}");
}
