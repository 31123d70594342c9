//! IBM's sessions and backends in Porthole's model: states mapped to the core's kinds (IBM's own
//! words kept beside them), and the three clocks computed from the TTL fields.

use chrono::{DateTime, Duration, Utc};
use porthole_core::model::{
    Availability, Capabilities, Detail, EndReason, Job, ProviderKind, Resource, ResourceKind,
    Session, SessionState,
};

use super::wire::{Device, Usage, WireJob, WireSession, WireState};

/// An `open` session that gets no job within this closes by itself.
pub const UNUSED_LIMIT: Duration = Duration::minutes(30);

/// IBM's words for where a session is, beside the core's kind.
fn state_of(wire: &WireSession) -> (SessionState, Option<String>) {
    let accepting = wire.accepting_jobs != Some(false);
    let reason = wire.state_reason.clone().filter(|r| !r.trim().is_empty());
    match wire.state.clone().unwrap_or(WireState::Open) {
        WireState::Open if accepting => {
            (SessionState::Queued, Some("Waiting for first job".into()))
        }
        WireState::Active if accepting => (SessionState::Ready, Some("Running".into())),
        WireState::Open | WireState::Active | WireState::PendingClosed => {
            (SessionState::Draining, Some("Draining: no new jobs".into()))
        }
        WireState::Inactive | WireState::PendingInactive => {
            (SessionState::Idle, Some("Idle (deactivated)".into()))
        }
        WireState::Closed => (SessionState::Ended(end_reason(wire)), reason),
        WireState::Other(written) => (SessionState::Other(written), reason),
    }
}

/// Why a closed session closed, from IBM's reason and what it had done: cancelled when IBM says
/// so, out of time when its reason speaks of time, else completed (what IBM's web page shows
/// after a close). IBM's own words stay in the status label.
fn end_reason(wire: &WireSession) -> EndReason {
    let reason = wire
        .state_reason
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    if reason.contains("cancel") {
        EndReason::Cancelled
    } else if wire.started_at.is_none() && (reason.contains("unused") || reason.contains("no job"))
    {
        EndReason::IdleTimeout
    } else if reason.contains("ttl") || reason.contains("time") || reason.contains("expired") {
        EndReason::Timeout
    } else if reason.contains("fail") || reason.contains("error") {
        EndReason::Failed(wire.state_reason.clone().unwrap_or_default())
    } else {
        EndReason::Completed
    }
}

/// When it was created: its first transition (into `open`), else when it started.
fn created(wire: &WireSession) -> Option<DateTime<Utc>> {
    wire.timestamps
        .iter()
        .filter_map(|t| t.timestamp)
        .min()
        .or(wire.started_at)
}

/// The session for Porthole. `now` stands in for a creation time IBM did not give.
pub fn session(
    account_id: &str,
    wire: &WireSession,
    raw: serde_json::Value,
    now: DateTime<Utc>,
) -> Session {
    let (state, status_label) = state_of(wire);
    let created_at = created(wire).unwrap_or(now);
    let live = state.is_live();
    let seconds = |s: Option<i64>| s.filter(|s| *s > 0).map(Duration::seconds);
    // The hard clock starts with the first job.
    let deadline = wire
        .started_at
        .zip(seconds(wire.max_ttl))
        .map(|(start, ttl)| start + ttl)
        .filter(|_| live);
    // Idle: after the last job finished, while it is active and nothing runs.
    let idle_deadline = match (wire.last_job_completed, wire.last_job_started) {
        (Some(done), started)
            if state == SessionState::Ready && started.is_none_or(|s| s <= done) =>
        {
            seconds(wire.interactive_ttl).map(|ttl| done + ttl)
        }
        _ => None,
    };
    let unused_deadline = (state == SessionState::Queued && wire.started_at.is_none())
        .then(|| created_at + UNUSED_LIMIT);
    Session {
        id: wire.id.clone(),
        account_id: account_id.to_owned(),
        provider: ProviderKind::IbmQuantum,
        name: wire.id.clone(),
        machine_id: None,
        machine_name: None,
        resource: wire.backend_name.clone(),
        state,
        status_label,
        created_at,
        deadline,
        idle_deadline,
        unused_deadline,
        warning: None,
        url: None,
        price_per_hour: None,
        before_end: None,
        capabilities: Capabilities {
            can_extend: false,
            can_stop: true,
            has_ui: false,
            can_cancel: true,
        },
        details: details(wire),
        raw,
    }
}

/// IBM's official list of an instance's workloads (there is no official page per session).
pub const CONSOLE_WORKLOADS: &str = "https://quantum.cloud.ibm.com/workloads";

/// Minutes or hours, as a person reads a limit.
fn duration(seconds: i64) -> String {
    match seconds {
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// What the detail view and `sessions show` list for a QPU session besides its clocks: its
/// mode, backend, whether it takes jobs, its limit as IBM clamped it, the time it may still stay
/// active, the QPU time it used, its own timeline and where to find it on IBM's web console.
fn details(wire: &WireSession) -> Vec<Detail> {
    let mut out = Vec::new();
    if let Some(mode) = &wire.mode {
        out.push(Detail::text("Mode", mode.clone()));
    }
    if let Some(backend) = &wire.backend_name {
        out.push(Detail::text("Backend", backend.clone()));
    }
    if let Some(accepting) = wire.accepting_jobs {
        out.push(Detail::text(
            "Accepting jobs",
            if accepting { "yes" } else { "no" },
        ));
    }
    if let Some(ttl) = wire.max_ttl.filter(|t| *t > 0) {
        out.push(Detail::text(
            "Lifetime limit",
            format!("{}, from its first job", duration(ttl)),
        ));
    }
    if let Some(active) = wire
        .active_ttl
        .filter(|_| wire.state != Some(WireState::Closed))
    {
        out.push(Detail::text("Active time left", duration(active.max(0))));
    }
    out.push(Detail::text(
        "QPU time used",
        match wire.elapsed_time {
            Some(seconds) => format!("{seconds:.1} s"),
            None => "counted when it closes".to_owned(),
        },
    ));
    for (i, step) in wire.timestamps.iter().enumerate() {
        let state = String::from(step.status.clone());
        out.push(Detail {
            label: if i == 0 {
                "Opened".to_owned()
            } else {
                format!("Became {state}")
            },
            value: None,
            at: step.timestamp,
            link: None,
        });
    }
    out.push(Detail {
        label: "On IBM Quantum".to_owned(),
        value: Some(format!("Workloads (search for {})", wire.id)),
        at: None,
        link: Some(CONSOLE_WORKLOADS.to_owned()),
    });
    out
}

/// The instance's QPU usage, against its limit where it has one.
pub fn usage(usage: &Usage) -> Detail {
    let minutes = |s: f64| duration((s.max(0.0) / 60.0).round() as i64 * 60);
    let used = usage.usage_consumed_seconds.unwrap_or(0.0);
    let mut value = match usage.usage_limit_seconds.filter(|l| *l > 0.0) {
        Some(limit) => format!(
            "{} of {} ({:.0}%)",
            minutes(used),
            minutes(limit),
            100.0 * used / limit
        ),
        None => format!("{} (no limit)", minutes(used)),
    };
    if usage.usage_limit_reached == Some(true) {
        value.push_str(": the limit is reached, new jobs will not run");
    }
    Detail::text("QPU usage", value)
}

/// A job as Porthole shows it: IBM's status as written (`Cancelled - Ran too long` included).
pub fn job(wire: &WireJob) -> Job {
    let status = wire
        .status
        .clone()
        .or_else(|| wire.state.as_ref().and_then(|s| s.status.clone()))
        .unwrap_or_else(|| "Unknown".into());
    Job {
        id: wire.id.clone(),
        pending: matches!(status.to_ascii_lowercase().as_str(), "queued" | "running"),
        status,
        reason: wire.state.as_ref().and_then(|s| s.reason.clone()),
        program: wire.program.as_ref().and_then(|p| p.id.clone()),
        created_at: wire.created,
        outputs: Default::default(),
    }
}

/// A backend as a resource: online ones launchable (busy with their queue), paused and offline
/// ones listed with IBM's reason.
pub fn resource(device: &Device) -> Resource {
    let family = device
        .processor_type
        .as_ref()
        .and_then(|p| p.family.clone())
        .map(|f| format!(", {f}"))
        .unwrap_or_default();
    let label = match device.qubits {
        Some(q) => format!("{} ({q} qubits{family})", device.name),
        None => device.name.clone(),
    };
    let status = device.status.name.to_ascii_lowercase();
    let availability = match status.as_str() {
        "online" | "active" => match device.queue_length {
            Some(0) | None => Availability::Available,
            Some(queue_length) => Availability::Busy { queue_length },
        },
        _ => Availability::Unavailable {
            reason: match device
                .status
                .reason
                .as_deref()
                .filter(|r| !r.trim().is_empty())
            {
                Some(reason) => format!("{status}: {reason}"),
                None => status,
            },
        },
    };
    Resource {
        id: device.name.clone(),
        kind: ResourceKind::QpuBackend,
        label,
        memory_mib: None,
        price_per_hour: None,
        availability,
        max_minutes: None,
    }
}
