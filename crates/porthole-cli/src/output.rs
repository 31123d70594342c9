//! What each command prints: tables and fields for people, the neutral model as JSON for
//! scripts (one document per command on stdout).

use std::io::Write;

use chrono::{DateTime, Local, Utc};
use porthole_core::inputs::Prompt;
use porthole_core::model::{
    Availability, Job, LogLine, Machine, Resource, ResourceKind, Session, SessionState,
};
use porthole_core::{Error, ErrorCode};
use serde::Serialize;

use crate::table;

/// Writes `text` to stdout. When the reader has gone (`porthole sessions logs ID | head`) there
/// is nobody left to tell: the command ends quietly, as it would have with SIGPIPE.
pub fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Error::io("cannot write to stdout", &e)),
    }
}

/// One JSON document, pretty-printed, on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::new(ErrorCode::Internal, format!("cannot write JSON: {e}")))?;
    print(&format!("{text}\n"))
}

/// One JSON object on one line (streams: `sessions logs --json`).
pub fn print_json_line<T: Serialize + ?Sized>(value: &T) -> Result<(), Error> {
    let text = serde_json::to_string(value)
        .map_err(|e| Error::new(ErrorCode::Internal, format!("cannot write JSON: {e}")))?;
    print(&format!("{text}\n"))
}

/// The state in a few words: `ready`, `waiting for your input`, `ended: timed out: its deadline
/// passed`; a state Porthole does not know as the provider wrote it.
pub fn state(state: &SessionState) -> String {
    match state {
        SessionState::Ended(reason) => format!("ended: {}", reason.describe()),
        SessionState::Other(_) => state.label(),
        other => other.label().to_lowercase(),
    }
}

fn or_dash(value: Option<&str>) -> String {
    value.filter(|v| !v.is_empty()).unwrap_or("-").to_owned()
}

fn local_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The sessions as a table; a machine shows by name where it is known, else by id.
pub fn sessions_table(sessions: &[Session], now: DateTime<Utc>) -> String {
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                or_dash(s.machine_name.as_deref().or(s.machine_id.as_deref())),
                or_dash(s.resource.as_deref()),
                state(&s.state),
                if s.state.is_live() {
                    table::remaining(s.remaining(now))
                } else {
                    "-".to_owned()
                },
                or_dash(s.url.as_deref()),
            ]
        })
        .collect();
    table::render(
        &["ID", "MACHINE", "GPU", "STATE", "REMAINING", "URL"],
        &rows,
    )
}

/// One session as aligned `key: value` lines.
pub fn session_fields(s: &Session, now: DateTime<Utc>) -> String {
    let machine = match s.machine_id.as_deref() {
        None | Some("") => "-".to_owned(),
        Some(id) => match s.machine_name.as_deref() {
            Some(name) if name != id => format!("{name} ({id})"),
            _ => id.to_owned(),
        },
    };
    let mut fields = vec![
        ("id", s.id.clone()),
        ("name", s.name.clone()),
        ("machine", machine),
        ("gpu", or_dash(s.resource.as_deref())),
        ("state", state(&s.state)),
    ];
    if let Some(label) = &s.status_label {
        fields.push(("status", label.clone()));
    }
    if let Some(note) = s.before_end.as_ref().filter(|_| s.state.is_live()) {
        fields.push(("at its end", note.clone()));
    }
    fields.push(("created", local_time(s.created_at)));
    // Every clock, in the app's words ("Ends", "Idle limit"), the one warned about marked.
    for clock in s.clocks() {
        let warned = s
            .warning
            .filter(|w| w.clock == clock.kind)
            .map(|w| format!(", warned at {} min", w.threshold_minutes))
            .unwrap_or_default();
        fields.push((
            clock.kind.label(),
            format!(
                "{} ({} left{warned})",
                local_time(clock.at),
                table::remaining(Some(clock.at - now))
            ),
        ));
    }
    // What the provider tells besides (a QPU session's mode, limit, timeline, console page).
    for d in &s.details {
        let parts: Vec<String> = [
            d.value.clone(),
            d.at.map(local_time),
            d.link.as_ref().map(|l| format!("<{l}>")),
        ]
        .into_iter()
        .flatten()
        .collect();
        fields.push((d.label.as_str(), parts.join(" ")));
    }
    fields.push(("url", or_dash(s.url.as_deref())));
    fields.push(("price", table::price(s.price_per_hour)));
    if let Some(cost) = s.cost_so_far(now) {
        fields.push(("cost so far", format!("${cost:.2}")));
    }
    let mut can = Vec::new();
    if s.capabilities.can_extend {
        can.push("extend");
    }
    if s.capabilities.can_stop {
        can.push("stop");
    }
    if s.capabilities.has_ui {
        can.push("open");
    }
    fields.push((
        "can",
        if can.is_empty() {
            "-".to_owned()
        } else {
            can.join(", ")
        },
    ));
    table::render_fields(&fields)
}

fn availability(a: &Availability) -> String {
    match a {
        Availability::Available => "available".to_owned(),
        Availability::Busy { queue_length } => format!("busy ({queue_length} queued)"),
        Availability::Unavailable { reason } => format!("unavailable: {reason}"),
        Availability::Unknown => "unknown".to_owned(),
    }
}

fn resource_kind(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Gpu => "gpu",
        ResourceKind::Cpu => "cpu",
        ResourceKind::QpuBackend => "qpu",
        ResourceKind::Runbook => "runbook",
    }
}

pub fn resources_table(resources: &[Resource]) -> String {
    let rows: Vec<Vec<String>> = resources
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                resource_kind(r.kind).to_owned(),
                r.label.clone(),
                table::memory(r.memory_mib),
                table::price(r.price_per_hour),
                availability(&r.availability),
            ]
        })
        .collect();
    table::render(
        &["ID", "KIND", "LABEL", "MEMORY", "PRICE", "AVAILABILITY"],
        &rows,
    )
}

/// A session's jobs, newest first: status (as the provider wrote it), id, program, created.
pub fn jobs_table(id: &str, jobs: &[Job]) -> String {
    if jobs.is_empty() {
        return format!("{id} has no jobs yet.\n");
    }
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                match &j.reason {
                    Some(reason) => format!("{}: {reason}", j.status),
                    None => j.status.clone(),
                },
                j.id.clone(),
                or_dash(j.program.as_deref()),
                j.created_at.map(local_time).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut out = table::render(&["STATUS", "JOB", "PROGRAM", "CREATED"], &rows);
    // What each produced (Airplane's run outputs), below the table.
    for j in jobs.iter().filter(|j| !j.outputs.is_empty()) {
        out.push_str(&format!("\n{} outputs:\n", j.id));
        for (k, v) in &j.outputs {
            out.push_str(&format!("  {k}: {v}\n"));
        }
    }
    out
}

pub fn machines_table(machines: &[Machine]) -> String {
    let rows: Vec<Vec<String>> = machines
        .iter()
        .map(|m| {
            vec![
                m.id.clone(),
                m.name.clone(),
                or_dash(m.default_resource.as_deref()),
                if m.can_launch { "yes" } else { "no" }.to_owned(),
                m.unavailable_reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table::render(&["ID", "NAME", "GPU", "LAUNCHABLE", "NOTE"], &rows)
}

/// A session's prompts for a person: each id, question and the values its answer takes.
pub fn prompts(id: &str, prompts: &[Prompt]) -> String {
    if prompts.is_empty() {
        return format!("{id} waits for nothing.\n");
    }
    let mut out = String::new();
    for p in prompts {
        out.push_str(&format!("{}: {}\n", p.id, p.message));
        if let Some(reject) = &p.reject_label {
            out.push_str(&format!("  ({reject}: --cancel)\n"));
        }
        for field in &p.parameters {
            let required = if field.required { ", required" } else { "" };
            out.push_str(&format!(
                "  --param {}=…  {} ({:?}{required})\n",
                field.name, field.label, field.kind
            ));
        }
    }
    out
}

/// One log line for a person: `12:03:04 info  message`.
pub fn log_line(line: &LogLine) -> String {
    let at = line
        .timestamp
        .map(|t| t.with_timezone(&Local).format("%H:%M:%S ").to_string())
        .unwrap_or_default();
    format!("{at}{:<5} {}\n", line.level, line.message.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use porthole_core::model::{Capabilities, EndReason, ProviderKind};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn session(id: &str, state: SessionState, url: Option<&str>) -> Session {
        Session {
            id: id.into(),
            account_id: "local".into(),
            provider: ProviderKind::Portholed,
            name: format!("CPU {id}"),
            machine_id: Some("m-1".into()),
            machine_name: Some("terminal".into()),
            resource: Some("CPU".into()),
            state,
            status_label: None,
            created_at: t0(),
            deadline: Some(t0() + chrono::Duration::seconds(42 * 60 + 10)),
            idle_deadline: None,
            unused_deadline: None,
            warning: None,
            url: url.map(str::to_owned),
            price_per_hour: Some(0.0),
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
    fn the_sessions_table_shows_time_left_for_live_sessions_only() {
        let unnamed = Session {
            machine_name: None,
            ..session("old", SessionState::Ended(EndReason::Timeout), None)
        };
        let out = sessions_table(
            &[
                session("abc", SessionState::Ready, Some("http://127.0.0.1:1/")),
                unnamed,
            ],
            t0(),
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[0].starts_with("ID   MACHINE   GPU  STATE"), "{out}");
        assert!(lines[1].starts_with("abc  terminal  CPU  ready"), "{out}");
        assert!(
            lines[1].contains("ready") && lines[1].contains("42m 10s"),
            "{out}"
        );
        assert!(lines[1].ends_with("http://127.0.0.1:1/"), "{out}");
        assert!(lines[2].starts_with("old  m-1 "), "{out}");
        assert!(lines[2].contains("ended: timed out"), "{out}");
        assert!(!lines[2].contains("42m"), "{out}");
    }

    #[test]
    fn session_fields_name_what_can_be_done() {
        let out = session_fields(&session("abc", SessionState::Starting, None), t0());
        assert!(out.contains("machine:     terminal (m-1)"), "{out}");
        assert!(out.contains("state:"), "{out}");
        assert!(out.contains("(42m 10s left)"), "{out}");
        assert!(out.contains("can:         extend, stop, open"), "{out}");
        assert!(out.contains("url:         -"), "{out}");
    }

    #[test]
    fn a_live_session_says_what_runs_before_it_ends() {
        let mut s = session("abc", SessionState::Ready, None);
        s.before_end = Some("Its before_end step runs first, for up to 60 s.".into());
        let out = session_fields(&s, t0());
        assert!(
            out.contains("at its end:  Its before_end step runs first, for up to 60 s."),
            "{out}"
        );
        s.state = SessionState::Ended(EndReason::Timeout);
        assert!(!session_fields(&s, t0()).contains("at its end"));
    }

    #[test]
    fn machines_and_resources_tables() {
        let out = machines_table(&[Machine {
            id: "terminal".into(),
            name: "Terminal".into(),
            can_launch: true,
            unavailable_reason: None,
            default_resource: Some("CPU".into()),
        }]);
        assert_eq!(
            out,
            "ID        NAME      GPU  LAUNCHABLE  NOTE\nterminal  Terminal  CPU  yes\n"
        );
        let out = resources_table(&[Resource {
            id: "CPU".into(),
            kind: ResourceKind::Cpu,
            label: "CPU".into(),
            memory_mib: None,
            price_per_hour: Some(0.0),
            availability: Availability::Available,
            max_minutes: None,
        }]);
        assert!(out
            .lines()
            .nth(1)
            .is_some_and(|l| l == "CPU  cpu   CPU    -       $0.00/h  available"));
    }
}
