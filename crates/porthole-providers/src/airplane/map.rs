//! Airplane's sessions in Porthole's model: statuses mapped to the core's kinds (the spec's
//! words kept beside them), no clocks (a runbook session has no deadline), its parameters, who
//! started it and its page on the web host as details.

use chrono::{DateTime, Duration, Utc};
use porthole_core::inputs::{ParamKind, Parameter, Prompt};
use porthole_core::model::{
    Capabilities, Detail, EndReason, Job, ProviderKind, Session, SessionState,
};

use super::wire::{Status, WireBlock, WireParameter, WirePrompt, WireRun, WireSession};

/// A session in Cancelling this long is flagged as stuck (nothing public can move it on).
pub const STUCK_AFTER: Duration = Duration::minutes(10);

fn state_of(wire: &WireSession, now: DateTime<Utc>) -> (SessionState, Option<String>) {
    match wire.status.clone() {
        Some(Status::Pending) => (SessionState::Starting, Some("Pending".into())),
        Some(Status::Active) => (SessionState::Ready, Some("Active".into())),
        Some(Status::Waiting) => (SessionState::WaitingForInput, Some("Waiting".into())),
        Some(Status::Cancelling) => {
            let stuck = wire.updated_at.is_some_and(|at| now - at > STUCK_AFTER);
            let label = if stuck {
                format!(
                    "Cancelling, stuck for {} min",
                    wire.updated_at.map_or(0, |at| (now - at).num_minutes())
                )
            } else {
                "Cancelling".to_owned()
            };
            (SessionState::Stopping, Some(label))
        }
        Some(Status::Succeeded) => (SessionState::Ended(EndReason::Completed), None),
        Some(Status::Failed) => (
            SessionState::Ended(EndReason::Failed("the runbook failed".into())),
            None,
        ),
        Some(Status::Cancelled) => (SessionState::Ended(EndReason::Cancelled), None),
        Some(Status::Other(written)) => (SessionState::Other(written), None),
        // A row without a status is still a session: shown as it is.
        None => (SessionState::Other("unknown".into()), None),
    }
}

/// The session for Porthole; `web`: the web host (`https://app…`), where one can be derived.
pub fn session(
    account_id: &str,
    wire: &WireSession,
    raw: serde_json::Value,
    web: Option<&str>,
    now: DateTime<Utc>,
) -> Session {
    let (state, status_label) = state_of(wire, now);
    Session {
        id: wire.id.clone(),
        account_id: account_id.to_owned(),
        provider: ProviderKind::Airplane,
        name: wire
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| wire.id.clone()),
        machine_id: None,
        machine_name: None,
        resource: wire.runbook_id.clone(),
        state,
        status_label,
        created_at: wire.created_at.unwrap_or(now),
        deadline: None,
        idle_deadline: None,
        unused_deadline: None,
        warning: None,
        url: None,
        price_per_hour: None,
        before_end: None,
        capabilities: Capabilities {
            can_extend: false,
            can_stop: false,
            has_ui: false,
            can_cancel: false,
        },
        details: details(wire, web),
        raw,
    }
}

fn details(wire: &WireSession, web: Option<&str>) -> Vec<Detail> {
    let mut out = Vec::new();
    if let Some(runbook) = &wire.runbook_id {
        out.push(Detail::text("Runbook", runbook.clone()));
    }
    if let Some(by) = &wire.created_by {
        out.push(Detail::text("Started by", by.clone()));
    }
    for (slug, value) in wire.param_values.iter().flatten() {
        out.push(Detail::text(&format!("Parameter {slug}"), text_of(value)));
    }
    if let Some(at) = wire.updated_at {
        out.push(Detail {
            label: "Updated".into(),
            value: None,
            at: Some(at),
            link: None,
        });
    }
    if let Some(host) = web {
        out.push(Detail {
            label: "On Airplane".into(),
            value: Some("Its page on the web app".into()),
            at: None,
            link: Some(format!("{host}/sessions/{}", wire.id)),
        });
    }
    out
}

/// The web host from the API's: its host with `api` turned into `app`, as Airplane's CLI does
/// (`https://api.airplane.dev/v0` → `https://app.airplane.dev`). None where the host has no
/// `api` part to turn (a compatible server elsewhere).
pub fn web_host(base_url: &str) -> Option<String> {
    let url = url::Url::parse(base_url).ok()?;
    let host = url.host_str()?;
    let first = host.split('.').next()?;
    if first != "api" {
        return None;
    }
    let app = format!("app{}", &host[first.len()..]);
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!("{}://{app}{port}", url.scheme()))
}

/// A runbook's or prompt's parameters as a form: lists, maps and objects as JSON (sent as a
/// string, as the API wants), required unless `constraints.optional`.
pub fn parameters(params: &[WireParameter]) -> Vec<Parameter> {
    params
        .iter()
        .filter_map(|p| {
            let name = p.slug.clone()?;
            let kind = match p.kind.as_deref() {
                Some("integer" | "float") => ParamKind::Number,
                Some("boolean") => ParamKind::Boolean,
                Some("list" | "map" | "object") => ParamKind::Json,
                _ => ParamKind::Text,
            };
            let help = p.desc.clone().filter(|d| !d.trim().is_empty());
            Some(Parameter {
                label: p
                    .name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| name.clone()),
                name,
                kind,
                required: !p
                    .constraints
                    .as_ref()
                    .and_then(|c| c.optional)
                    .unwrap_or(false),
                default: p.default.as_ref().filter(|d| !d.is_null()).map(text_of),
                help: help.or_else(|| json_hint(p)),
            })
        })
        .collect()
}

/// A value as Airplane sends it (a string), or as JSON when it is not one.
pub fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// How to write a list, map or object parameter: as JSON, with its fields named.
fn json_hint(p: &WireParameter) -> Option<String> {
    let fields = |children: &Option<Vec<WireParameter>>| {
        children
            .iter()
            .flatten()
            .filter_map(|c| c.slug.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match p.kind.as_deref()? {
        "object" => Some(format!("JSON object with {}", fields(&p.params))),
        "list" => Some(format!(
            "JSON list of {}",
            p.values
                .as_ref()
                .and_then(|v| v.kind.clone())
                .unwrap_or_else(|| "values".into())
        )),
        "map" => Some("JSON object of names to values".into()),
        _ => None,
    }
}

/// A prompt as a form: its description, its fields, Airplane's words for its two buttons.
pub fn prompt(wire: &WirePrompt) -> Prompt {
    let non_empty = |t: &Option<String>| t.clone().filter(|t| !t.trim().is_empty());
    Prompt {
        id: wire.id.clone(),
        message: non_empty(&wire.description)
            .unwrap_or_else(|| "The runbook waits for your answer.".into()),
        parameters: parameters(
            wire.schema
                .as_ref()
                .map(|s| s.parameters.as_slice())
                .unwrap_or_default(),
        ),
        submit_label: non_empty(&wire.confirm_text),
        reject_label: Some(non_empty(&wire.cancel_text).unwrap_or_else(|| "Reject".into())),
    }
}

/// A run as a job: its status as Airplane writes it, its task.
pub fn run_job(run: &WireRun) -> Job {
    Job {
        id: run.id.clone(),
        status: run.status.clone().unwrap_or_else(|| "Unknown".into()),
        pending: run.is_live(),
        reason: None,
        program: run.task_id.clone(),
        created_at: run.created_at,
        outputs: Default::default(),
    }
}

/// A block as a job: the state of the run it started, else not started yet (a note: shown).
pub fn block_job(block: &WireBlock, run: Option<&WireRun>) -> Job {
    let kind = block.kind.clone().unwrap_or_else(|| "block".into());
    let slug = block
        .slug
        .clone()
        .or_else(|| block.id.clone())
        .unwrap_or_else(|| "?".into());
    let (status, pending) = match (run, kind.as_str()) {
        (Some(run), _) => (
            run.status.clone().unwrap_or_else(|| "Unknown".into()),
            run.is_live(),
        ),
        (None, "note") => ("Shown".to_owned(), false),
        (None, _) => ("NotStarted".to_owned(), true),
    };
    Job {
        id: run.map(|r| r.id.clone()).unwrap_or_else(|| slug.clone()),
        status,
        pending,
        reason: None,
        program: Some(format!("{kind} {slug}")),
        created_at: run.and_then(|r| r.created_at),
        outputs: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_web_host_is_the_api_host_with_app_for_api() {
        assert_eq!(
            web_host("https://api.airplane.dev/v0").as_deref(),
            Some("https://app.airplane.dev")
        );
        assert_eq!(
            web_host("http://api.localtest.me:8080/v0").as_deref(),
            Some("http://app.localtest.me:8080")
        );
        assert_eq!(web_host("http://127.0.0.1:9000/v0"), None);
        assert_eq!(web_host("https://airplane.corp.example/v0"), None);
    }

    #[test]
    fn statuses_map_to_the_core_and_a_long_cancel_is_stuck() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let wire = |status: Status, minutes_ago: i64| WireSession {
            id: "ses1".into(),
            status: Some(status),
            updated_at: Some(now - Duration::minutes(minutes_ago)),
            ..WireSession::default()
        };
        let state = |w: WireSession| state_of(&w, now);
        assert_eq!(state(wire(Status::Pending, 0)).0, SessionState::Starting);
        assert_eq!(state(wire(Status::Active, 0)).0, SessionState::Ready);
        assert_eq!(
            state(wire(Status::Waiting, 0)).0,
            SessionState::WaitingForInput
        );
        assert_eq!(
            state(wire(Status::Succeeded, 0)).0,
            SessionState::Ended(EndReason::Completed)
        );
        assert!(matches!(
            state(wire(Status::Failed, 0)).0,
            SessionState::Ended(EndReason::Failed(_))
        ));
        assert_eq!(
            state(wire(Status::Other("Paused".into()), 0)).0,
            SessionState::Other("Paused".into())
        );
        let (fresh, label) = state(wire(Status::Cancelling, 2));
        assert_eq!(fresh, SessionState::Stopping);
        assert_eq!(label.as_deref(), Some("Cancelling"));
        let (_, stuck) = state(wire(Status::Cancelling, 45));
        assert_eq!(stuck.as_deref(), Some("Cancelling, stuck for 45 min"));
        // A bare id is a session too.
        let bare = WireSession {
            id: "ses2".into(),
            ..WireSession::default()
        };
        let s = session("ap", &bare, serde_json::json!({"id": "ses2"}), None, now);
        assert_eq!(s.name, "ses2");
        assert_eq!(s.created_at, now);
        assert!(s.state.is_live());
    }
}
