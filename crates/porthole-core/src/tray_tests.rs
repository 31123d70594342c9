//! The tray model's rules, on explicit times.
use chrono::TimeZone;

use super::*;
use crate::model::{Capabilities, ClockWarning, EndReason, ProviderKind};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
        .single()
        .unwrap()
}

/// A session as the watcher shows it: one ending soon carries its warning.
fn s(id: &str, state: SessionState, minutes: Option<i64>) -> Session {
    let warning = matches!(state, SessionState::Expiring).then_some(ClockWarning {
        clock: ClockKind::Hard,
        threshold_minutes: 10,
    });
    Session {
        id: id.into(),
        account_id: "local".into(),
        provider: ProviderKind::Portholed,
        name: format!("term {id}"),
        machine_id: None,
        machine_name: None,
        resource: Some("CPU".into()),
        state,
        status_label: None,
        created_at: t0(),
        deadline: minutes.map(|m| t0() + Duration::minutes(m)),
        idle_deadline: None,
        unused_deadline: None,
        warning,
        url: None,
        price_per_hour: None,
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

#[test]
fn rows_are_live_sessions_soonest_first_with_their_time_left() {
    let m = TrayModel::build(
        &[
            s("b", SessionState::Ready, Some(90)),
            s("a", SessionState::Ready, Some(12)),
            s("c", SessionState::Starting, Some(30)),
            s("d", SessionState::Ended(EndReason::Timeout), Some(1)),
        ],
        t0(),
        &[],
        None,
    );
    let labels: Vec<&str> = m.rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        vec![
            "term a · CPU · 12 min left",
            "term c · CPU · starting…",
            "term b · CPU · 1 h 30 min left"
        ]
    );
    assert!(enabled(&m.rows[0], "open") && !enabled(&m.rows[1], "open"));
    assert_eq!(m.tooltip, "Porthole — term a ends in 12 min");
    assert!(!m.warning);
    let close = TrayModel::build(&[s("a", SessionState::Expiring, Some(9))], t0(), &[], None);
    assert!(close.warning);
    // Every clock counts: an idle session whose idle clock is sooner shows that one, and its
    // warning (decided by the watcher) turns the icon too.
    let mut idle = s("q", SessionState::Idle, Some(120));
    idle.capabilities.has_ui = false;
    idle.idle_deadline = Some(t0() + Duration::minutes(4));
    idle.warning = Some(ClockWarning {
        clock: ClockKind::Idle,
        threshold_minutes: 10,
    });
    let m = TrayModel::build(&[idle.clone()], t0(), &[], None);
    assert_eq!(m.rows[0].label, "term q · CPU · Idle, Idle limit in 4 min");
    assert_eq!(
        m.tooltip,
        "Porthole — term q reaches its idle limit in 4 min"
    );
    assert!(m.warning);
    assert!(
        enabled(&m.rows[0], "open"),
        "a session without a page opens in the app"
    );
    idle.state = SessionState::Ended(EndReason::IdleTimeout);
    assert!(
        !TrayModel::build(&[idle], t0(), &[], None).warning,
        "ended: no danger"
    );
    let none = TrayModel::build(&[], t0(), &[], None);
    assert_eq!(none.tooltip, "Porthole — no sessions running");
    assert!(none.rows.is_empty());
}

#[test]
fn a_stopping_session_offers_nothing_but_its_state() {
    let m = TrayModel::build(&[s("a", SessionState::Stopping, Some(9))], t0(), &[], None);
    assert_eq!(m.rows[0].label, "term a · CPU · stopping…");
    for verb in ["open", "extend-15", "stop"] {
        assert!(!enabled(&m.rows[0], verb), "{verb}");
    }
}

fn enabled(row: &TrayRow, verb: &str) -> bool {
    row.items
        .iter()
        .find(|i| i.id.starts_with(&format!("{verb}\u{1f}")))
        .unwrap_or_else(|| panic!("no {verb} item"))
        .enabled
}

/// Extensions past the provider's session-length ceiling (24 h from creation) are offered
/// disabled; the rest stay.
#[test]
fn extensions_past_the_ceiling_are_disabled() {
    let mut old = s("a", SessionState::Ready, Some(5));
    old.created_at = t0() - Duration::hours(24) + Duration::minutes(20);
    let items = session_items(&old);
    let extend: Vec<(String, bool)> = items
        .iter()
        .filter(|i| i.label.starts_with("Extend"))
        .map(|i| (i.label.clone(), i.enabled))
        .collect();
    assert_eq!(
        extend,
        [
            ("Extend +5 min".to_owned(), true),
            ("Extend +15 min".to_owned(), true),
            ("Extend +30 min".to_owned(), false),
            ("Extend +60 min".to_owned(), false)
        ]
    );
}

#[test]
fn a_session_offers_open_four_extensions_and_a_confirmed_stop() {
    let items = session_items(&s("a", SessionState::Ready, Some(30)));
    let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Open",
            "Extend +5 min",
            "Extend +15 min",
            "Extend +30 min",
            "Extend +60 min",
            "Stop"
        ]
    );
    assert!(items.iter().all(|i| i.enabled));
    assert_eq!(items[5].confirm.as_deref(), Some("Stop “term a” now"));
    assert!(items[..5].iter().all(|i| i.confirm.is_none()));
    assert_eq!(
        TrayAction::parse(&items[2].id),
        Some(TrayAction::Extend {
            account_id: "local".into(),
            session_id: "a".into(),
            minutes: 15
        })
    );
    let ended = session_items(&s("b", SessionState::Ended(EndReason::Timeout), Some(1)));
    assert!(ended.iter().all(|i| !i.enabled));
}

#[test]
fn window_titles_name_the_session_and_its_time_left() {
    assert_eq!(
        window_title(&s("a", SessionState::Ready, Some(12)), t0()),
        "term a — 12 min left — Porthole"
    );
    assert_eq!(
        window_title(
            &s("a", SessionState::Ended(EndReason::Timeout), Some(12)),
            t0()
        ),
        "term a — ended — Porthole"
    );
    assert_eq!(
        window_title(&s("a", SessionState::Starting, Some(12)), t0()),
        "term a — starting… — Porthole"
    );
}

#[test]
fn the_account_switcher_filters_the_rows() {
    let mut other = s("o", SessionState::Ready, Some(20));
    other.account_id = "cloud".into();
    let sessions = [s("a", SessionState::Ready, Some(30)), other];
    let accounts = [
        ("local".to_owned(), "Local".to_owned()),
        ("cloud".to_owned(), "My cloud".to_owned()),
    ];
    let all = TrayModel::build(&sessions, t0(), &accounts, None);
    assert_eq!(all.rows.len(), 2);
    let labels: Vec<(&str, bool)> = all
        .accounts
        .iter()
        .map(|a| (a.label.as_str(), a.selected))
        .collect();
    assert_eq!(
        labels,
        [
            ("All accounts", true),
            ("Local", false),
            ("My cloud", false)
        ]
    );
    assert_eq!(
        TrayAction::parse(&all.accounts[2].id),
        Some(TrayAction::ShowAccount {
            account_id: Some("cloud".into())
        })
    );
    assert_eq!(
        TrayAction::parse(&all.accounts[0].id),
        Some(TrayAction::ShowAccount { account_id: None })
    );
    let cloud = TrayModel::build(&sessions, t0(), &accounts, Some("cloud"));
    assert_eq!(cloud.rows.len(), 1);
    assert_eq!(cloud.rows[0].account_id, "cloud");
    assert!(cloud.accounts[2].selected && !cloud.accounts[0].selected);
    assert_eq!(cloud.tooltip, "Porthole — term o ends in 20 min");
    // An account that was removed: every account's sessions again.
    let gone = TrayModel::build(&sessions, t0(), &accounts, Some("x"));
    assert_eq!(gone.rows.len(), 2);
    assert!(gone.accounts[0].selected);
    // One account: no switcher.
    let one = TrayModel::build(&sessions, t0(), &accounts[..1], None);
    assert!(one.accounts.is_empty());
    // A filter hides rows, never danger: a session of another account about to end still
    // turns the icon to its warning.
    let mut ending = s("e", SessionState::Expiring, Some(2));
    ending.account_id = "cloud".into();
    let filtered = TrayModel::build(
        &[s("a", SessionState::Ready, Some(30)), ending],
        t0(),
        &accounts,
        Some("local"),
    );
    assert!(filtered.warning);
    // Its row too, with its account named.
    assert_eq!(filtered.rows.len(), 2);
    assert_eq!(filtered.rows[0].session_id, "e");
    assert!(
        filtered.rows[0].label.starts_with("term e · My cloud · "),
        "{}",
        filtered.rows[0].label
    );
}

#[test]
fn action_ids_round_trip_and_odd_ids_are_refused() {
    for action in [
        TrayAction::Open {
            account_id: "local".into(),
            session_id: "a:b".into(),
        },
        TrayAction::Extend {
            account_id: "cloud-2".into(),
            session_id: "x".into(),
            minutes: 30,
        },
        TrayAction::Stop {
            account_id: "local".into(),
            session_id: "y".into(),
        },
        TrayAction::CloseWindow {
            account_id: "local".into(),
            session_id: "z".into(),
        },
        TrayAction::Relaunch {
            account_id: "local".into(),
            session_id: "w".into(),
        },
    ] {
        assert_eq!(TrayAction::parse(&action.id()), Some(action));
    }
    assert_eq!(TrayAction::parse("extend-7\u{1f}local\u{1f}x"), None);
    assert_eq!(TrayAction::parse("quit"), None);
}

#[test]
fn time_left_reads_naturally() {
    assert_eq!(time_left(Duration::seconds(45)), "45 s");
    assert_eq!(time_left(Duration::minutes(12)), "12 min");
    assert_eq!(time_left(Duration::minutes(125)), "2 h 05 min");
    assert_eq!(time_left(Duration::seconds(-5)), "0 s");
}

#[test]
fn a_session_waiting_for_a_person_comes_first_and_says_what_it_asks() {
    let mut asks = s("r1", SessionState::WaitingForInput, None);
    asks.name = "Deploy #1".into();
    asks.resource = None;
    asks.status_label = Some("Approve the deploy of web?".into());
    let soon = s("g1", SessionState::Ready, Some(5));
    let menu = TrayModel::build(&[soon, asks.clone()], t0(), &[], None);
    assert_eq!(
        menu.rows[0].label,
        "Deploy #1 · waits for you: Approve the deploy of web?"
    );
    assert_eq!(menu.tooltip, "Porthole — Deploy #1 waits for you");
    // Without the question, the state's own words.
    asks.status_label = None;
    assert_eq!(status_phrase(&asks, t0()), "Waiting for your input");
}

#[test]
fn accounts_not_answering_are_said_above_the_rows_and_in_the_tooltip() {
    let sessions = [s("a", SessionState::Ready, Some(30))];
    let quiet = TrayModel::build(&sessions, t0(), &[], None).with_unanswered(&[]);
    assert!(quiet.notices.is_empty());
    assert_eq!(quiet.tooltip, "Porthole — term a ends in 30 min");

    let one = TrayModel::build(&sessions, t0(), &[], None).with_unanswered(&["Studio".into()]);
    assert_eq!(
        one.notices,
        ["Studio is not answering; its sessions are as last seen"]
    );
    assert_eq!(
        one.tooltip,
        "Porthole — term a ends in 30 min\nStudio is not answering"
    );
    // The rows stay.
    assert_eq!(one.rows.len(), 1);

    let two = TrayModel::build(&sessions, t0(), &[], None)
        .with_unanswered(&["Studio".into(), "Lab".into()]);
    assert_eq!(two.notices.len(), 2);
    assert!(two
        .tooltip
        .ends_with("\nStudio (and 1 more) is not answering"));
}

#[test]
fn a_name_that_says_what_it_runs_on_is_not_followed_by_it_again() {
    let mut named = s("a", SessionState::Ready, Some(30));
    named.name = "terminal on CPU 3f2a91c0".into();
    named.resource = Some("CPU".into());
    let m = TrayModel::build(&[named], t0(), &[], None);
    assert_eq!(m.rows[0].label, "terminal on CPU 3f2a91c0 · 30 min left");
}

/// A warning notification offers the usual extension and Open, each doing what the tray's
/// entry does; only what the session allows now.
#[test]
fn a_warning_offers_the_usual_extension_then_open() {
    let labels =
        |items: Vec<TrayItem>| -> Vec<String> { items.into_iter().map(|i| i.label).collect() };
    let ready = s("a", SessionState::Expiring, Some(5));
    let items = warning_actions(&ready);
    assert_eq!(labels(items.clone()), ["Extend +15 min", "Open"]);
    // The verb and the session carried apart make the same action again.
    for item in &items {
        let verb = TrayAction::verb_of(&item.id);
        assert_eq!(
            TrayAction::for_session(verb, "local", "a"),
            TrayAction::parse(&item.id),
            "{verb}"
        );
    }
    assert_eq!(TrayAction::for_session("account", "local", "a"), None);
    assert_eq!(TrayAction::for_session("extend-7", "local", "a"), None);

    // Past the ceiling 15 min does not fit: no smaller step is offered instead, and no Extend.
    let mut old = ready.clone();
    old.created_at = t0() - Duration::hours(24) + Duration::minutes(10);
    assert_eq!(labels(warning_actions(&old)), ["Open"]);
    // A session that cannot extend.
    let mut fixed = ready.clone();
    fixed.capabilities.can_extend = false;
    assert_eq!(labels(warning_actions(&fixed)), ["Open"]);
    // A provider without that step (a runbook has none).
    let mut runbook = ready.clone();
    runbook.provider = ProviderKind::Airplane;
    assert_eq!(labels(warning_actions(&runbook)), ["Open"]);
    assert!(warning_actions(&s("b", SessionState::Stopping, Some(5))).is_empty());
}
