//! A provider that hangs is flagged within one poll, not after the HTTP layer's timeouts and
//! retries; recovery shows as soon as it answers. On tokio's paused clock.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use tokio::time::Instant;

use super::runner_tests::{next, Answers, Memory};
use super::tests::{session, t0};
use super::*;
use crate::clock::FakeClock;
use crate::error::ErrorCode;

fn watch(
    provider: &Arc<Memory>,
) -> (
    WatcherHandle,
    tokio::sync::mpsc::UnboundedReceiver<WatchEvent>,
) {
    spawn(
        "acct",
        provider.clone(),
        Arc::new(Answers(false)),
        Arc::new(FakeClock::new(t0())),
        WatchConfig::default(),
    )
}

#[tokio::test(start_paused = true)]
async fn a_hanging_list_flags_the_account_within_one_poll_and_recovers_when_it_answers() {
    let provider = Memory::with(vec![session("a", None, t0() + Duration::hours(1))]);
    let (handle, mut rx) = watch(&provider);
    assert!(matches!(next(&mut rx).await, WatchEvent::Added { .. }));

    *provider.list_delay.lock().unwrap() = StdDuration::from_secs(100);
    let asked = Instant::now();
    handle.refresh();
    match next(&mut rx).await {
        WatchEvent::Offline {
            account_id,
            error,
            confirmed_at,
        } => {
            assert_eq!(account_id, "acct");
            assert_eq!(error.code, ErrorCode::UpstreamUnavailable);
            assert!(
                error.message.contains("not answered for 15 s"),
                "{}",
                error.message
            );
            // The rows are as of the last list that answered.
            assert_eq!(confirmed_at, Some(t0()));
        }
        other => panic!("unexpected {other:?}"),
    }
    let flagged = asked.elapsed();
    assert!(
        flagged >= StdDuration::from_secs(15) && flagged < StdDuration::from_secs(17),
        "flagged after {flagged:?}"
    );
    // The sessions stay as last seen meanwhile.
    assert_eq!(handle.sessions().len(), 1);

    // The read that hung answers at last: back online at once.
    *provider.list_delay.lock().unwrap() = StdDuration::ZERO;
    assert!(matches!(next(&mut rx).await, WatchEvent::Online { .. }));
    let recovered = asked.elapsed();
    assert!(
        recovered >= StdDuration::from_secs(100) && recovered < StdDuration::from_secs(102),
        "recovered after {recovered:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hang_that_ends_in_a_failure_tells_the_failure_too() {
    let provider = Memory::with(Vec::new());
    *provider.list_delay.lock().unwrap() = StdDuration::from_secs(40);
    *provider.fail.lock().unwrap() = true;
    let (_handle, mut rx) = watch(&provider);
    let first = next(&mut rx).await;
    assert!(
        matches!(&first, WatchEvent::Offline { error, confirmed_at: None, .. } if error.message.contains("15 s")),
        "{first:?}"
    );
    let second = next(&mut rx).await;
    assert!(
        matches!(&second, WatchEvent::Offline { error, .. } if error.message == "down"),
        "{second:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_answer_within_the_limit_flags_nothing() {
    let provider = Memory::with(vec![session("a", None, t0() + Duration::hours(1))]);
    *provider.list_delay.lock().unwrap() = StdDuration::from_secs(14);
    let (handle, mut rx) = watch(&provider);
    assert!(matches!(next(&mut rx).await, WatchEvent::Added { .. }));
    handle.refresh();
    // Three more lists of 14 s each: none is flagged (events would come before the count moves).
    let until = provider.lists() + 3;
    while provider.lists() < until {
        tokio::time::sleep(StdDuration::from_secs(1)).await;
        if let Ok(event) = rx.try_recv() {
            assert!(
                matches!(event, WatchEvent::Updated { .. }),
                "unexpected {event:?}"
            );
        }
    }
}
