//! The final warning of a session whose provider runs a step before ending it says so.

use super::tests::{ended, session, warning};
use super::*;

#[test]
fn the_final_warning_says_what_runs_before_the_end() {
    let mut a = Alerts::in_memory();
    let s = AlertSettings::default();
    let mut with_step = session(None, 15);
    with_step.before_end = Some("Its before_end step runs first, for up to 60 s.".into());
    assert!(a
        .on_event(
            &WatchEvent::Added {
                session: with_step.clone()
            },
            &s
        )
        .is_none());
    let first = a.on_event(&warning(10), &s).expect("the first warning");
    assert_eq!(first.body, "Extend it from Porthole to keep working.");
    let last = a.on_event(&warning(2), &s).expect("the final warning");
    assert_eq!(
        last.body,
        "Extend it from Porthole to keep working. Its before_end step runs first, for up to 60 s."
    );
}

#[test]
fn without_a_step_or_after_the_end_the_final_warning_is_plain() {
    let s = AlertSettings::default();
    let mut a = Alerts::in_memory();
    a.on_event(
        &WatchEvent::Added {
            session: session(None, 15),
        },
        &s,
    );
    assert_eq!(
        a.on_event(&warning(2), &s).expect("warned").body,
        "Extend it from Porthole to keep working."
    );
    // A step that was there, then the session ended: forgotten with it.
    let mut b = Alerts::in_memory();
    let mut with_step = session(None, 15);
    with_step.before_end = Some("Saves first.".into());
    b.on_event(&WatchEvent::Added { session: with_step }, &s);
    b.on_event(&ended(EndReason::Stopped), &s);
    assert!(b.before_end.is_empty());
}
