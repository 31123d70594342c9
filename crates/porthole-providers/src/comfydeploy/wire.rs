//! ComfyDeploy's JSON as the client reads and writes it (docs/providers/comfydeploy.md §5).
//! Reading is lenient where the spec says the server is sloppy; every optional field defaults.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// S1 request (§5.1). `wait_for_server` is always false: we poll S2 instead of holding a request
/// open for up to ten minutes.
#[derive(Debug, Clone, Serialize)]
pub struct CreateSessionBody<'a> {
    pub machine_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    pub wait_for_server: bool,
}

/// S1 response (§5.3).
#[derive(Debug, Clone, Deserialize)]
pub struct CreateSessionResponse {
    pub session_id: String,
    #[serde(default)]
    pub url: Option<String>,
}

/// S2 body and S3 items (§5.4).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SessionResponse {
    /// The session id. `session_id` duplicates it and is deprecated: key on this one.
    pub id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub gpu_event_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// An open string: unknown GPUs must still parse.
    #[serde(default)]
    pub gpu: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    /// The original minutes; not updated by extensions.
    #[serde(default)]
    pub timeout: Option<i64>,
    /// Naive UTC without an offset; null for legacy runners.
    #[serde(default)]
    pub timeout_end: Option<String>,
    #[serde(default)]
    pub machine_id: Option<String>,
    #[serde(default)]
    pub machine_version_id: Option<String>,
    /// Always "running" upstream: ignored for state.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// Can be the literal string "None": read through [`SessionResponse::org`].
    #[serde(default)]
    pub org_id: Option<String>,
    /// portholed's: its template's `before_end` step runs for up to this long before the
    /// session stops.
    #[serde(default)]
    pub before_end_seconds: Option<u64>,
    /// portholed's: what a starting session is doing ("Queued in Slurm (job 12): Resources,
    /// 1st in line").
    #[serde(default)]
    pub status_label: Option<String>,
}

impl SessionResponse {
    /// `org_id`, with the literal "None" (Python's `str(None)`) treated as absent.
    pub fn org(&self) -> Option<&str> {
        self.org_id
            .as_deref()
            .filter(|o| !o.is_empty() && *o != "None")
    }
}

/// S5 request.
#[derive(Debug, Clone, Serialize)]
pub struct IncreaseTimeoutBody {
    pub minutes: u32,
}

/// S5/S6 response: a message only; the new deadline is read back with S2.
#[derive(Debug, Clone, Deserialize)]
pub struct MessageResponse {
    #[serde(default)]
    pub message: Option<String>,
}

/// S4 response.
#[derive(Debug, Clone, Deserialize)]
pub struct DeleteSessionResponse {
    #[serde(default)]
    pub success: bool,
}

/// A GPU as portholed lists it on its machines (an extension of §5.10).
#[derive(Debug, Clone, Deserialize)]
pub struct GpuItem {
    pub name: String,
    #[serde(default)]
    pub memory_mib: Option<u64>,
    #[serde(default)]
    pub model: Option<String>,
    /// portholed on Slurm: GPUs a session of it gets, free now and in all in its partition,
    /// jobs waiting there, and the partition's time limit in minutes.
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub free: Option<u32>,
    #[serde(default)]
    pub total: Option<u32>,
    #[serde(default)]
    pub queued: Option<u32>,
    #[serde(default)]
    pub max_minutes: Option<u32>,
}

/// M1 items (§5.10), the fields Porthole uses.
#[derive(Debug, Clone, Deserialize)]
pub struct MachineListItem {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub gpu: Option<String>,
    /// A string upstream ("4"); accept a number too.
    #[serde(default, deserialize_with = "string_or_number")]
    pub machine_builder_version: Option<String>,
    #[serde(default)]
    pub is_workspace: bool,
    /// portholed: why a template cannot run here.
    #[serde(default)]
    pub status_reason: Option<String>,
    /// portholed: the GPUs this host has.
    #[serde(default)]
    pub gpus: Vec<GpuItem>,
}

impl MachineListItem {
    /// §5.14: only ready comfy-deploy-serverless machines of builder version 4 or later can host
    /// a session. `Err` says why not.
    pub fn sessionable(&self) -> Result<(), String> {
        self.can_ever_host()?;
        match self.status.as_deref() {
            Some("ready") => Ok(()),
            Some(status) => Err(self
                .status_reason
                .clone()
                .unwrap_or_else(|| format!("the machine is {status}, not ready"))),
            None => Err("the machine reports no status".to_owned()),
        }
    }

    /// The type and builder version never change on their own: a machine that fails this is
    /// not worth listing, unlike one that is merely still building.
    pub fn can_ever_host(&self) -> Result<(), String> {
        if self.kind.as_deref() != Some("comfy-deploy-serverless") {
            return Err(format!(
                "machine type {} cannot host sessions",
                self.kind.as_deref().unwrap_or("unknown")
            ));
        }
        let builder: u32 = self
            .machine_builder_version
            .as_deref()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if builder < 4 {
            return Err("the machine's builder version is older than 4".to_owned());
        }
        Ok(())
    }
}

/// One S10 event (§5.13): a log line or a control message.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum LogEvent {
    Control {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        source: Option<String>,
    },
    Line {
        message: String,
        #[serde(default)]
        level: Option<String>,
        #[serde(default)]
        timestamp: Option<String>,
    },
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match value {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Parses a timestamp leniently: RFC 3339 with `Z` or an offset, a naive time (taken as UTC, as
/// `timeout_end` is), or the malformed `isoformat()[:-3] + "Z"` of §5.9.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.with_timezone(&Utc));
    }
    let naive = t.trim_end_matches('Z');
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(Utc.from_utc_datetime(&n));
        }
    }
    // `2025-06-01T12:34:56.789+00:` (an offset cut in half): drop the broken offset.
    let cut = naive
        .rfind(['+', '-'])
        .filter(|&i| i > 10)
        .map(|i| &naive[..i])?;
    NaiveDateTime::parse_from_str(cut, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| Utc.from_utc_datetime(&n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_timeout_end_is_utc() {
        let t = parse_time("2025-06-01T12:34:56.789012").expect("parse");
        assert_eq!(t.to_rfc3339(), "2025-06-01T12:34:56.789012+00:00");
    }

    #[test]
    fn zulu_and_offsets_parse() {
        assert_eq!(
            parse_time("2025-06-01T12:34:56Z").expect("z").to_rfc3339(),
            "2025-06-01T12:34:56+00:00"
        );
        assert_eq!(
            parse_time("2025-06-01T14:34:56+02:00")
                .expect("offset")
                .to_rfc3339(),
            "2025-06-01T12:34:56+00:00"
        );
    }

    #[test]
    fn malformed_isoformat_is_parsed_leniently() {
        // isoformat()[:-3] + "Z" on an aware datetime: "...56.789012+00:00" -> "...56.789012+00Z"
        let t = parse_time("2025-06-01T12:34:56.789012+00Z").expect("lenient");
        assert_eq!(t.timestamp(), 1_748_781_296);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn org_none_is_absent() {
        let s: SessionResponse =
            serde_json::from_str(r#"{"id":"a","org_id":"None"}"#).expect("parse");
        assert_eq!(s.org(), None);
        let s: SessionResponse =
            serde_json::from_str(r#"{"id":"a","org_id":"org_1"}"#).expect("parse");
        assert_eq!(s.org(), Some("org_1"));
    }

    #[test]
    fn builder_version_may_be_a_number() {
        let m: MachineListItem = serde_json::from_str(
            r#"{"id":"m","type":"comfy-deploy-serverless","status":"ready","machine_builder_version":4}"#,
        )
        .expect("parse");
        assert_eq!(m.sessionable(), Ok(()));
        let old: MachineListItem = serde_json::from_str(
            r#"{"id":"m","type":"comfy-deploy-serverless","status":"ready","machine_builder_version":"3"}"#,
        )
        .expect("parse");
        assert!(old.sessionable().is_err());
    }

    #[test]
    fn log_events_are_lines_or_control() {
        let line: LogEvent = serde_json::from_str(
            r#"{"message":"Creating session...","level":"info","timestamp":"2025-06-01T12:00:00.000Z"}"#,
        )
        .expect("line");
        assert!(matches!(line, LogEvent::Line { .. }));
        let done: LogEvent =
            serde_json::from_str(r#"{"type":"stream_complete","source":"sentinel"}"#).expect("ctl");
        assert!(matches!(done, LogEvent::Control { ref kind, .. } if kind == "stream_complete"));
    }
}
