//! What the hub keeps beside the watchers' events: ended sessions (across a restart) and the
//! accounts that are not answering. On tokio's paused clock.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;

use super::runner_tests::{Answers, Memory};
use super::tests::{session, t0};
use super::*;
use crate::clock::FakeClock;
use crate::ended::EndedStore;
use crate::history::HistoryKind;
use crate::model::{EndReason, SessionState};

fn hub() -> Hub {
    Hub::new(
        Arc::new(Answers(false)),
        Arc::new(FakeClock::new(t0())),
        WatchConfig::default(),
    )
}

/// Polls `done` on tokio's clock for up to a minute.
async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("{what}: not within a minute");
}

#[tokio::test(start_paused = true)]
async fn an_ended_session_is_kept_with_its_history_across_a_restart_until_cleared() {
    let dir = std::env::temp_dir().join(format!("porthole-hub-ended-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("ended.json");
    let mut listed = session("a", None, t0() + Duration::hours(1));
    listed.account_id = "one".to_owned();
    let provider = Memory::with(vec![listed]);
    let first = hub().with_ended(EndedStore::open(&path));
    first.watch("one", provider.clone());
    until("listed", || first.sessions(None).len() == 1).await;
    // The provider no longer has it (and says so when asked).
    provider.sessions.lock().unwrap().clear();
    first.refresh_all();
    until("kept", || first.ended().len() == 1).await;
    let kept = &first.ended()[0];
    assert_eq!(kept.session.id, "a");
    assert_eq!(kept.session.name, "session a");
    assert_eq!(kept.session.state, SessionState::Ended(EndReason::Vanished));
    assert_eq!(kept.ended_at, t0());
    drop(first);

    // A restart: the row and its history are back.
    let second = hub().with_ended(EndedStore::open(&path));
    assert_eq!(second.ended().len(), 1);
    let states: Vec<SessionState> = second
        .history("one", "a")
        .into_iter()
        .filter_map(|e| match e.kind {
            HistoryKind::State { state } => Some(state),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [
            SessionState::Starting,
            SessionState::Ended(EndReason::Vanished)
        ]
    );
    second.dismiss_ended("one", "a").unwrap();
    assert!(EndedStore::open(&path).list().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(start_paused = true)]
async fn the_hub_knows_which_accounts_are_not_answering() {
    let hub = hub();
    let provider = Memory::with(Vec::new());
    *provider.fail.lock().unwrap() = true;
    hub.watch("one", provider.clone());
    until("offline", || hub.unanswered().contains_key("one")).await;
    assert_eq!(hub.unanswered()["one"].message, "down");
    *provider.fail.lock().unwrap() = false;
    until("online", || hub.unanswered().is_empty()).await;
    // Unwatching forgets it too.
    *provider.fail.lock().unwrap() = true;
    hub.refresh_all();
    until("offline again", || hub.unanswered().contains_key("one")).await;
    hub.unwatch("one");
    assert!(hub.unanswered().is_empty());
}
