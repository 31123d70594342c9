//! A session that becomes ready with a warning already due is told once, "is ready, ends in …":
//! two notices of the same moment could reach the desktop in either order.

use super::tests::{ended, session, warning};
use super::*;
use crate::model::ClockWarning;

fn ready_warned(threshold: i32) -> WatchEvent {
    let mut s = session(None, threshold.into());
    s.state = SessionState::Expiring;
    s.warning = Some(ClockWarning {
        clock: ClockKind::Hard,
        threshold_minutes: threshold,
    });
    WatchEvent::Ready { session: s }
}

fn titles(a: &mut Alerts, events: &[WatchEvent]) -> Vec<String> {
    let s = AlertSettings::default();
    events
        .iter()
        .filter_map(|e| a.on_event(e, &s))
        .map(|n| n.title)
        .collect()
}

#[test]
fn ready_with_its_warning_due_is_one_notice_then_the_rest_as_usual() {
    let mut a = Alerts::in_memory();
    let told = titles(
        &mut a,
        &[
            ready_warned(2),
            warning(2),
            ready_warned(2),
            warning(2),
            ended(EndReason::Timeout),
        ],
    );
    assert_eq!(
        told,
        vec![
            "terminal s1 is ready, ends in 2 minutes",
            "terminal s1 timed out"
        ]
    );
}

#[test]
fn ready_after_its_warning_was_told_is_told_with_the_next_one() {
    // The warning was told before (say, in an earlier run), the session opens again: being
    // ready is still news, and said once.
    let mut a = Alerts::in_memory();
    assert_eq!(titles(&mut a, &[warning(10)]).len(), 1);
    let told = titles(&mut a, &[ready_warned(10), warning(10), warning(2)]);
    assert_eq!(
        told,
        vec![
            "terminal s1 is ready, ends in 10 minutes",
            "terminal s1 ends in 2 minutes"
        ]
    );
}

#[test]
fn ready_without_a_warning_due_is_told_alone() {
    let mut a = Alerts::in_memory();
    let ready = WatchEvent::Ready {
        session: session(None, 30),
    };
    assert_eq!(
        titles(&mut a, &[ready, warning(10)]),
        vec!["terminal s1 is ready", "terminal s1 ends in 10 minutes"]
    );
}
