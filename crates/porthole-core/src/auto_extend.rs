//! Auto-extend's rules: whether a session about to end, in use, is extended now, by how much,
//! or held back (the spending cap, the provider's longest session), and what is told about it.

use chrono::{DateTime, Duration, Utc};

use crate::alerts::{minutes_left, AlertSettings, Alerts, AutoExtend, Notice};
use crate::model::Session;

/// The notification for an extension auto-extend made (each one is news: not deduplicated).
pub fn auto_extended_notice(
    settings: &AlertSettings,
    session: &Session,
    minutes: u32,
) -> Option<Notice> {
    settings.notifications.then(|| Notice {
        account_id: session.account_id.clone(),
        session_id: session.id.clone(),
        title: format!("{} extended by {minutes} min", session.name),
        body: "Auto-extend: the session was in use and about to end. Turn this off in Settings."
            .to_owned(),
    })
}

/// Why auto-extend holds back from a session it would otherwise extend now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Held {
    /// Extending would take its cost past the spending cap (USD).
    SpendCap(f64),
    /// Extending would take it past its provider's longest session.
    ProviderLimit,
}

/// What auto-extend does with a session now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AutoExtendDecision {
    /// Nothing to do: off, not ending soon, not in use, no deadline…
    Nothing,
    Extend(u32),
    /// It would extend, but may not.
    Held(Held),
}

/// How many minutes to extend `session` by now, if auto-extend should act. `last_activity` is
/// when its window last saw traffic; `max_minutes` the provider's longest session.
pub fn auto_extend_minutes(
    settings: &AutoExtend,
    session: &Session,
    now: DateTime<Utc>,
    last_activity: Option<DateTime<Utc>>,
    max_minutes: Option<u32>,
) -> Option<u32> {
    match auto_extend_decision(settings, session, now, last_activity, max_minutes) {
        AutoExtendDecision::Extend(minutes) => Some(minutes),
        _ => None,
    }
}

/// What auto-extend does with `session` now, and why it holds back when it does.
pub fn auto_extend_decision(
    settings: &AutoExtend,
    session: &Session,
    now: DateTime<Utc>,
    last_activity: Option<DateTime<Utc>>,
    max_minutes: Option<u32>,
) -> AutoExtendDecision {
    use AutoExtendDecision::{Extend, Nothing};
    if !settings.enabled || !session.capabilities.can_extend || !session.state.is_live() {
        return Nothing;
    }
    let Some(deadline) = session.deadline else {
        return Nothing;
    };
    let remaining = deadline - now;
    if remaining <= Duration::zero()
        || remaining >= Duration::minutes(i64::from(settings.when_below_minutes))
    {
        return Nothing;
    }
    let active = last_activity
        .is_some_and(|at| now - at <= Duration::minutes(i64::from(settings.active_within_minutes)));
    if !active {
        return Nothing;
    }
    if !crate::descriptor::extension_fits(session, settings.extend_by_minutes, max_minutes) {
        return AutoExtendDecision::Held(Held::ProviderLimit);
    }
    let new_deadline = deadline + Duration::minutes(i64::from(settings.extend_by_minutes));
    if let Some(per_hour) = session.price_per_hour {
        let hours = (new_deadline - session.created_at).num_seconds() as f64 / 3600.0;
        if per_hour * hours > settings.spend_cap_usd {
            return AutoExtendDecision::Held(Held::SpendCap(settings.spend_cap_usd));
        }
    }
    Extend(settings.extend_by_minutes)
}

impl Alerts {
    /// Told once per deadline: auto-extend would have extended the session but holds back, so
    /// it ends at its deadline unless the person extends it.
    pub fn auto_extend_held(
        &mut self,
        session: &Session,
        held: Held,
        now: DateTime<Utc>,
        settings: &AlertSettings,
    ) -> Option<Notice> {
        let deadline = session.deadline?;
        if !settings.notifications {
            return None;
        }
        let key = format!(
            "{}/{}/held-{}",
            session.account_id,
            session.id,
            deadline.timestamp()
        );
        if !self.remember(key) {
            return None;
        }
        self.save();
        let left = minutes_left(i32::try_from((deadline - now).num_seconds()).unwrap_or(i32::MAX));
        let why = match held {
            Held::SpendCap(cap) => format!("its cost would pass your ${cap:.2} spending cap"),
            Held::ProviderLimit => format!(
                "it would pass {}'s longest session",
                session.provider.label()
            ),
        };
        Some(Notice {
            account_id: session.account_id.clone(),
            session_id: session.id.clone(),
            title: format!("{} will not be extended", session.name),
            body: format!("Auto-extend stopped: {why}. It ends in {left} unless you extend it."),
        })
    }
}
