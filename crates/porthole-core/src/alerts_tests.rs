use chrono::TimeZone;

use super::*;
use crate::model::{Capabilities, ProviderKind, SessionState};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
        .single()
        .unwrap()
}

pub(super) fn session(price: Option<f64>, deadline_in: i64) -> Session {
    Session {
        id: "s1".into(),
        account_id: "local".into(),
        provider: ProviderKind::Portholed,
        name: "terminal s1".into(),
        machine_id: None,
        machine_name: None,
        resource: Some("CPU".into()),
        state: SessionState::Ready,
        status_label: None,
        created_at: t0(),
        deadline: Some(t0() + Duration::minutes(deadline_in)),
        idle_deadline: None,
        unused_deadline: None,
        warning: None,
        url: Some("http://127.0.0.1:1/".into()),
        price_per_hour: price,
        before_end: None,
        capabilities: Capabilities {
            can_extend: true,
            can_stop: true,
            has_ui: true,
            can_cancel: false,
        },
        details: Vec::new(),
        raw: serde_json::Value::Null,
    }
}

pub(super) fn warning(threshold: i32) -> WatchEvent {
    WatchEvent::Warning {
        account_id: "local".into(),
        session_id: "s1".into(),
        name: "terminal s1".into(),
        clock: ClockKind::Hard,
        clock_at: t0(),
        remaining_seconds: threshold * 60,
        threshold_minutes: threshold,
    }
}

pub(super) fn ended(reason: EndReason) -> WatchEvent {
    ended_by(reason, false)
}

fn ended_by(reason: EndReason, requested: bool) -> WatchEvent {
    WatchEvent::Ended {
        account_id: "local".into(),
        session_id: "s1".into(),
        name: "terminal s1".into(),
        reason,
        requested,
        outcome: None,
    }
}

#[test]
fn each_notice_is_sent_once_in_order() {
    let mut a = Alerts::in_memory();
    let s = AlertSettings::default();
    let ready = WatchEvent::Ready {
        session: session(None, 15),
    };
    let titles: Vec<String> = [
        &ready,
        &ready,
        &warning(10),
        &warning(10),
        &warning(2),
        &ended(EndReason::Timeout),
        &ended(EndReason::Timeout),
    ]
    .into_iter()
    .filter_map(|e| a.on_event(e, &s))
    .map(|n| n.title)
    .collect();
    assert_eq!(
        titles,
        vec![
            "terminal s1 is ready",
            "terminal s1 ends in 10 minutes",
            "terminal s1 ends in 2 minutes",
            "terminal s1 timed out",
        ]
    );
}

/// Past KEEP keys the oldest are forgotten, whatever their names sort as (a set sorted by name
/// would drop "a…" keys first, however new).
#[test]
fn the_oldest_keys_are_forgotten_first() {
    let (dir, path) = fresh_alerts_file("keep");
    let s = AlertSettings::default();
    let mut a = Alerts::load(&path);
    let event = |account: &str, n: usize| WatchEvent::Warning {
        account_id: account.to_owned(),
        session_id: format!("s{n}"),
        name: "x".to_owned(),
        clock: ClockKind::Hard,
        clock_at: t0(),
        remaining_seconds: 60,
        threshold_minutes: 2,
    };
    // The old ones sort last, the new ones first.
    for n in 0..10 {
        assert!(a.on_event(&event("z-old", n), &s).is_some());
    }
    for n in 0..KEEP {
        assert!(a.on_event(&event("a-new", n), &s).is_some());
    }
    drop(a);
    let mut again = Alerts::load(&path);
    assert!(
        again.on_event(&event("a-new", 0), &s).is_none(),
        "a recent notification was forgotten"
    );
    assert!(
        again.on_event(&event("z-old", 0), &s).is_some(),
        "the oldest was kept"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A folder of its own for a test's alerts file, and the file's path (not there yet).
fn fresh_alerts_file(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("porthole-alerts-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("alerts.json");
    let _ = std::fs::remove_file(&path);
    (dir, path)
}

#[test]
fn nothing_is_repeated_across_a_restart() {
    let (dir, path) = fresh_alerts_file("restart");
    let s = AlertSettings::default();
    let mut first = Alerts::load(&path);
    assert!(first.on_event(&warning(10), &s).is_some());
    drop(first);
    let mut again = Alerts::load(&path);
    assert!(
        again.on_event(&warning(10), &s).is_none(),
        "repeated after a restart"
    );
    assert!(again.on_event(&warning(2), &s).is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_session_the_user_stopped_or_cancelled_gets_no_notice() {
    let mut a = Alerts::in_memory();
    assert!(a
        .on_event(&ended(EndReason::Stopped), &AlertSettings::default())
        .is_none());
    // Cancelled or closed from this app: they know too.
    assert!(a
        .on_event(
            &ended_by(EndReason::Cancelled, true),
            &AlertSettings::default()
        )
        .is_none());
    let vanished = a.on_event(&ended(EndReason::Vanished), &AlertSettings::default());
    assert_eq!(vanished.unwrap().title, "terminal s1 has ended");
    // Cancelled by someone else: told.
    let cancelled =
        Alerts::in_memory().on_event(&ended(EndReason::Cancelled), &AlertSettings::default());
    assert_eq!(cancelled.unwrap().title, "terminal s1 was cancelled");
}

#[test]
fn notices_can_be_turned_off() {
    let mut a = Alerts::in_memory();
    let off = AlertSettings {
        notifications: false,
        ..AlertSettings::default()
    };
    assert!(a.on_event(&warning(10), &off).is_none());
    // Turned back on, the warning was never sent, so it is sent now.
    assert!(a
        .on_event(&warning(10), &AlertSettings::default())
        .is_some());
}

fn on() -> AutoExtend {
    AutoExtend {
        enabled: true,
        extend_by_minutes: 15,
        when_below_minutes: 5,
        active_within_minutes: 10,
        spend_cap_usd: 1.0,
    }
}

#[test]
fn auto_extend_acts_only_near_the_deadline_and_when_active() {
    let s = session(None, 30);
    let near = t0() + Duration::minutes(26);
    let active = Some(near - Duration::minutes(3));
    assert_eq!(auto_extend_minutes(&on(), &s, near, active, None), Some(15));
    // Not near enough, idle, no activity known, or turned off.
    assert_eq!(
        auto_extend_minutes(&on(), &s, t0() + Duration::minutes(20), active, None),
        None
    );
    assert_eq!(
        auto_extend_minutes(&on(), &s, near, Some(near - Duration::minutes(11)), None),
        None
    );
    assert_eq!(auto_extend_minutes(&on(), &s, near, None, None), None);
    assert_eq!(
        auto_extend_minutes(&AutoExtend::default(), &s, near, active, None),
        None
    );
}

#[test]
fn auto_extend_never_passes_the_spending_cap_or_the_provider_limit() {
    let near = t0() + Duration::minutes(26);
    let active = Some(near);
    // $1.50/h: 45 minutes cost $1.125 > $1 cap; 30 + 15 min at $1/h is $0.75.
    assert_eq!(
        auto_extend_minutes(&on(), &session(Some(1.5), 30), near, active, None),
        None
    );
    assert_eq!(
        auto_extend_minutes(&on(), &session(Some(1.0), 30), near, active, None),
        Some(15)
    );
    // The provider allows 40 minutes in all: 45 is too long.
    assert_eq!(
        auto_extend_minutes(&on(), &session(None, 30), near, active, Some(40)),
        None
    );
    let mut fixed = session(None, 30);
    fixed.capabilities.can_extend = false;
    assert_eq!(auto_extend_minutes(&on(), &fixed, near, active, None), None);
}

#[test]
fn auto_extend_says_why_it_holds_back_once_per_deadline() {
    let near = t0() + Duration::minutes(26);
    let active = Some(near);
    let costly = session(Some(1.5), 30);
    assert_eq!(
        auto_extend_decision(&on(), &costly, near, active, None),
        AutoExtendDecision::Held(Held::SpendCap(1.0))
    );
    assert_eq!(
        auto_extend_decision(&on(), &session(None, 30), near, active, Some(40)),
        AutoExtendDecision::Held(Held::ProviderLimit)
    );
    assert_eq!(
        auto_extend_decision(&on(), &session(None, 30), t0(), active, None),
        AutoExtendDecision::Nothing,
        "not near its end: nothing to hold back"
    );
    let mut a = Alerts::in_memory();
    let s = AlertSettings::default();
    let told = a
        .auto_extend_held(&costly, Held::SpendCap(1.0), near, &s)
        .expect("told");
    assert_eq!(told.title, "terminal s1 will not be extended");
    assert_eq!(
        told.body,
        "Auto-extend stopped: its cost would pass your $1.00 spending cap. It ends in 4 minutes \
         unless you extend it."
    );
    assert!(a
        .auto_extend_held(&costly, Held::SpendCap(1.0), near, &s)
        .is_none());
    // Extended by hand: a new deadline, told again when it comes.
    let mut later = costly.clone();
    later.deadline = costly.deadline.map(|d| d + Duration::minutes(15));
    assert!(a
        .auto_extend_held(&later, Held::SpendCap(1.0), near, &s)
        .is_some());
    let quiet = AlertSettings {
        notifications: false,
        ..AlertSettings::default()
    };
    let mut b = Alerts::in_memory();
    assert!(b
        .auto_extend_held(&costly, Held::SpendCap(1.0), near, &quiet)
        .is_none());
}

#[test]
fn settings_round_trip_and_refuse_nonsense() {
    let dir = std::env::temp_dir().join(format!("porthole-settings-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SettingsStore::new(&dir);
    assert_eq!(store.load(), (AlertSettings::default(), None));
    let mut s = AlertSettings {
        warn_before_minutes: vec![15, 5],
        ..AlertSettings::default()
    };
    s.auto_extend.enabled = true;
    store.save(&s).unwrap();
    assert_eq!(store.load(), (s.clone(), None));
    assert_eq!(
        SettingsStore::warn_before(&s),
        vec![Duration::minutes(15), Duration::minutes(5)]
    );
    s.warn_before_minutes = vec![0];
    assert_eq!(
        store.save(&s).unwrap_err().code,
        crate::ErrorCode::InvalidInput
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A settings file that cannot be read: the defaults, a coded problem to report, and the file
/// kept (untouched until a save, then as a backup beside the new one).
#[test]
fn an_unreadable_settings_file_is_reported_and_kept() {
    let dir = std::env::temp_dir().join(format!("porthole-settings-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("settings.json");
    std::fs::write(&file, b"{\"warn_before_minutes\": [10,").unwrap();
    let store = SettingsStore::new(&dir);
    let (settings, problem) = store.load();
    assert_eq!(settings, AlertSettings::default());
    let problem = problem.expect("reported");
    assert_eq!(problem.code, crate::ErrorCode::InvalidInput);
    assert!(
        problem.message.contains("settings.json"),
        "{}",
        problem.message
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"{\"warn_before_minutes\": [10,"
    );

    store.save(&AlertSettings::default()).unwrap();
    assert_eq!(store.load(), (AlertSettings::default(), None));
    let backups: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("settings.unreadable-"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(
        std::fs::read(dir.join(&backups[0])).unwrap(),
        b"{\"warn_before_minutes\": [10,"
    );
    // A readable file is simply replaced: no backup.
    store.save(&AlertSettings::default()).unwrap();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_automatic_extension_is_notified_unless_notifications_are_off() {
    let s = session(Some(1.0), 4);
    let settings = AlertSettings::default();
    let notice = auto_extended_notice(&settings, &s, 15).expect("a notice");
    assert_eq!(notice.title, format!("{} extended by 15 min", s.name));
    assert!(notice.body.contains("Auto-extend"));
    assert_eq!(
        auto_extended_notice(&settings, &s, 15),
        Some(notice),
        "not deduplicated"
    );
    let off = AlertSettings {
        notifications: false,
        ..AlertSettings::default()
    };
    assert_eq!(auto_extended_notice(&off, &s, 15), None);
}

#[test]
fn an_idle_clock_is_warned_again_each_time_it_starts_again() {
    let s = AlertSettings::default();
    let mut a = Alerts::in_memory();
    let idle = |at: DateTime<Utc>| WatchEvent::Warning {
        account_id: "qpu".into(),
        session_id: "s1".into(),
        name: "bell".into(),
        clock: ClockKind::Idle,
        clock_at: at,
        remaining_seconds: 120,
        threshold_minutes: 2,
    };
    let first = a.on_event(&idle(t0()), &s).expect("first idle period");
    assert_eq!(first.title, "bell reaches its idle limit in 2 minutes");
    assert!(a.on_event(&idle(t0()), &s).is_none(), "once per clock");
    // It got work, then went idle again: a new idle clock, a new warning.
    let later = t0() + Duration::minutes(30);
    assert!(a.on_event(&idle(later), &s).is_some());
    // The hard clock of the same session is its own.
    assert!(a.on_event(&warning(2), &s).is_some());
}

#[test]
fn a_session_without_a_page_is_told_when_its_first_work_starts_and_each_time_it_goes_idle() {
    let mut a = Alerts::in_memory();
    let s = AlertSettings::default();
    let qpu = |state: SessionState| {
        let mut q = session(None, 60);
        q.capabilities.has_ui = false;
        q.url = None;
        q.state = state;
        q
    };
    let mut told = |event: WatchEvent| a.on_event(&event, &s).map(|n| n.title);
    // First seen waiting: not a change.
    assert_eq!(
        told(WatchEvent::Added {
            session: qpu(SessionState::Queued)
        }),
        None
    );
    assert_eq!(
        told(WatchEvent::Updated {
            session: qpu(SessionState::Ready)
        })
        .as_deref(),
        Some("terminal s1 started its first work")
    );
    assert_eq!(
        told(WatchEvent::Updated {
            session: qpu(SessionState::Expiring)
        }),
        None
    );
    assert_eq!(
        told(WatchEvent::Updated {
            session: qpu(SessionState::Idle)
        })
        .as_deref(),
        Some("terminal s1 is idle")
    );
    assert_eq!(
        told(WatchEvent::Updated {
            session: qpu(SessionState::Ready)
        }),
        None,
        "work again"
    );
    assert_eq!(
        told(WatchEvent::Updated {
            session: qpu(SessionState::Idle)
        })
        .as_deref(),
        Some("terminal s1 is idle"),
        "idle again is news again"
    );
    // A session with its own page is told by its Ready event instead.
    let mut page = session(None, 60);
    page.id = "s2".into();
    page.state = SessionState::Queued;
    assert_eq!(
        told(WatchEvent::Added {
            session: page.clone()
        }),
        None
    );
    page.state = SessionState::Ready;
    assert_eq!(told(WatchEvent::Updated { session: page }), None);
}

#[test]
fn a_session_that_waits_for_a_person_is_told_with_what_it_asks_each_time() {
    let mut a = Alerts::in_memory();
    let s = AlertSettings::default();
    let runbook = |state: SessionState, asks: Option<&str>| {
        let mut r = session(None, 60);
        r.capabilities.has_ui = false;
        r.state = state;
        r.status_label = asks.map(str::to_owned);
        r
    };
    let mut told = |session: Session, added: bool| {
        let event = if added {
            WatchEvent::Added { session }
        } else {
            WatchEvent::Updated { session }
        };
        a.on_event(&event, &s).map(|n| (n.title, n.body))
    };
    // Found waiting at start-up: told at once, with the question.
    let (title, body) = told(
        runbook(SessionState::WaitingForInput, Some("Approve the deploy?")),
        true,
    )
    .expect("first seen waiting");
    assert_eq!(title, "terminal s1 is waiting for you");
    assert!(body.starts_with("Approve the deploy?\n"), "{body}");
    assert_eq!(
        told(
            runbook(SessionState::WaitingForInput, Some("Approve the deploy?")),
            false
        ),
        None,
        "still the same wait"
    );
    let next = told(
        runbook(SessionState::WaitingForInput, Some("And the database?")),
        false,
    )
    .expect("a new question while it waits");
    assert!(next.1.starts_with("And the database?\n"), "{}", next.1);
    assert_eq!(told(runbook(SessionState::Ready, None), false), None);
    let again = told(runbook(SessionState::WaitingForInput, None), false).expect("a new wait");
    assert_eq!(again.1, "Answer it from Porthole's tray or window.");
}

#[test]
fn an_end_with_an_outcome_says_it() {
    let mut a = Alerts::in_memory();
    let event = WatchEvent::Ended {
        account_id: "ap".into(),
        session_id: "ses1".into(),
        name: "Deploy #1".into(),
        reason: EndReason::Completed,
        requested: false,
        outcome: Some("deployed: web".into()),
    };
    let notice = a.on_event(&event, &AlertSettings::default()).expect("told");
    assert_eq!(notice.title, "Deploy #1 has ended");
    assert!(notice.body.ends_with("\ndeployed: web"), "{}", notice.body);
}

#[test]
fn a_session_without_a_time_limit_is_not_told_its_limit_starts() {
    let mut a = Alerts::in_memory();
    let s = AlertSettings::default();
    let mut runbook = session(None, 60);
    runbook.deadline = None;
    runbook.capabilities.has_ui = false;
    runbook.state = SessionState::Starting;
    assert!(a
        .on_event(
            &WatchEvent::Added {
                session: runbook.clone()
            },
            &s
        )
        .is_none());
    runbook.state = SessionState::Ready;
    assert!(
        a.on_event(&WatchEvent::Updated { session: runbook }, &s)
            .is_none(),
        "no 'its time limit counts from now' without one"
    );
}

#[test]
fn a_session_running_before_the_app_started_is_not_announced_ready() {
    let s = AlertSettings::default();
    let started = t0() + Duration::hours(1);
    let mut a = Alerts::in_memory().since(started);
    let mut old = session(None, 120);
    old.id = "old".into();
    assert!(
        a.on_event(
            &WatchEvent::Ready {
                session: old.clone()
            },
            &s
        )
        .is_none(),
        "running for an hour before this run of the app"
    );
    assert!(a
        .on_event(&WatchEvent::Ready { session: old }, &s)
        .is_none());
    // Launched (or created by the CLI) since: news.
    let mut new = session(None, 120);
    new.id = "new".into();
    new.created_at = started + Duration::seconds(5);
    let told = a
        .on_event(&WatchEvent::Ready { session: new }, &s)
        .expect("told");
    assert_eq!(told.title, "terminal s1 is ready");
    // A provider whose clock is a little behind ours: still news.
    let mut skewed = session(None, 120);
    skewed.id = "skewed".into();
    skewed.created_at = started - Duration::seconds(20);
    assert!(a
        .on_event(&WatchEvent::Ready { session: skewed }, &s)
        .is_some());
}
