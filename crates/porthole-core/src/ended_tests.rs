use chrono::TimeZone;

use super::*;
use crate::history::HistoryKind;
use crate::model::{Capabilities, EndReason, ProviderKind, SessionState};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap()
}

fn ended(id: &str) -> Session {
    Session {
        id: id.to_owned(),
        account_id: "local".to_owned(),
        provider: ProviderKind::Portholed,
        name: format!("terminal on CPU {id}"),
        machine_id: Some("terminal".to_owned()),
        machine_name: Some("terminal".to_owned()),
        resource: Some("CPU".to_owned()),
        state: SessionState::Ended(EndReason::Timeout),
        status_label: None,
        created_at: t0(),
        deadline: Some(t0()),
        idle_deadline: None,
        unused_deadline: None,
        warning: None,
        url: Some("http://127.0.0.1:9/?token=SECRET-TOKEN".to_owned()),
        price_per_hour: Some(0.5),
        before_end: None,
        capabilities: Capabilities {
            can_extend: true,
            can_stop: true,
            has_ui: true,
            can_cancel: false,
        },
        details: Vec::new(),
        raw: serde_json::json!({ "url": "http://127.0.0.1:9/?token=SECRET-TOKEN" }),
    }
}

/// A fresh folder of this test's own.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("porthole-ended-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn launched() -> Vec<HistoryEntry> {
    vec![HistoryEntry {
        at: t0(),
        kind: HistoryKind::Launched,
    }]
}

#[test]
fn ended_sessions_and_their_history_survive_a_reopen_without_their_secrets() {
    let dir = scratch("reopen");
    let path = dir.join("ended.json");
    let store = EndedStore::open(&path);
    assert!(store.list().is_empty());
    store.add(ended("a"), t0(), launched());
    store.add(ended("b"), t0() + Duration::minutes(1), Vec::new());

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("SECRET-TOKEN"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let again = EndedStore::open(&path);
    let list = again.list();
    assert_eq!(
        list.iter()
            .map(|e| e.session.id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(list[0].ended_at, t0());
    assert_eq!(
        list[0].session.state,
        SessionState::Ended(EndReason::Timeout)
    );
    assert_eq!(list[0].session.url, None);
    assert_eq!(again.history("local", "a"), Some(launched()));
    assert_eq!(again.history("local", "zzz"), None);
}

#[test]
fn dismiss_and_clear_forget_on_disk_too() {
    let dir = scratch("dismiss");
    let path = dir.join("ended.json");
    let store = EndedStore::open(&path);
    for id in ["a", "b", "c"] {
        store.add(ended(id), t0(), Vec::new());
    }
    store.dismiss("local", "b").unwrap();
    store.dismiss("local", "nope").unwrap();
    let ids = |s: &EndedStore| {
        s.list()
            .into_iter()
            .map(|e| e.session.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&EndedStore::open(&path)), ["a", "c"]);
    store.clear().unwrap();
    assert!(EndedStore::open(&path).list().is_empty());
}

#[test]
fn at_most_keep_and_none_older_than_keep_for() {
    let store = EndedStore::default();
    store.add(ended("old"), t0(), Vec::new());
    for i in 0..KEEP {
        store.add(ended(&i.to_string()), t0() + KEEP_FOR, Vec::new());
    }
    let list = store.list();
    assert_eq!(list.len(), KEEP);
    assert_eq!(list[0].session.id, "0", "the oldest went first");
    // Eight days on: the week-old ones go.
    store.add(
        ended("new"),
        t0() + KEEP_FOR * 2 + Duration::seconds(1),
        Vec::new(),
    );
    assert_eq!(store.list().len(), 1);
    // The same session ending again is kept once.
    store.add(
        ended("new"),
        t0() + KEEP_FOR * 2 + Duration::seconds(2),
        Vec::new(),
    );
    assert_eq!(store.list().len(), 1);
}

#[test]
fn an_unreadable_file_is_set_aside_not_overwritten() {
    let dir = scratch("unreadable");
    let path = dir.join("ended.json");
    std::fs::write(&path, b"{ not json").unwrap();
    let store = EndedStore::open(&path);
    assert!(store.list().is_empty());
    assert_eq!(
        std::fs::read(dir.join("ended.json.unreadable")).unwrap(),
        b"{ not json"
    );
    store.add(ended("a"), t0(), Vec::new());
    assert_eq!(EndedStore::open(&path).list().len(), 1);
}
