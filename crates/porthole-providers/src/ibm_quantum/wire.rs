//! IBM Quantum Runtime's JSON, field by field (docs/providers/ibm-quantum.md). Everything is
//! read leniently, as IBM's own clients do: states, modes and statuses are open enums that keep
//! unknown values, every timestamp is optional, and `backend_name` may be null while a session
//! is `open`. Error bodies are read by `crate::error_body`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// The IAM exchange's answer (`POST /identity/token`). Only the token and its lifetime are kept.
#[derive(Debug, Clone, Deserialize)]
pub struct IamToken {
    pub access_token: String,
    /// Seconds the token lasts (3600 at most).
    #[serde(default)]
    pub expires_in: Option<i64>,
    /// When it expires, in Unix seconds.
    #[serde(default)]
    pub expiration: Option<i64>,
}

/// A session's state: `open`, `active`, `inactive`, `closed`, the `pending_*` ones IBM's Python
/// client knows, and anything else as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum WireState {
    Open,
    Active,
    Inactive,
    PendingInactive,
    PendingClosed,
    Closed,
    Other(String),
}

impl From<WireState> for String {
    fn from(state: WireState) -> String {
        match state {
            WireState::Open => "open".into(),
            WireState::Active => "active".into(),
            WireState::Inactive => "inactive".into(),
            WireState::PendingInactive => "pending_inactive".into(),
            WireState::PendingClosed => "pending_closed".into(),
            WireState::Closed => "closed".into(),
            WireState::Other(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for WireState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "open" => WireState::Open,
            "active" => WireState::Active,
            "inactive" => WireState::Inactive,
            "pending_inactive" => WireState::PendingInactive,
            "pending_closed" => WireState::PendingClosed,
            "closed" => WireState::Closed,
            _ => WireState::Other(s),
        })
    }
}

/// One transition of `timestamps[]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Transition {
    pub status: WireState,
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
}

/// A session (S1's and S2's answer).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WireSession {
    pub id: String,
    #[serde(default)]
    pub backend_name: Option<String>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub activated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_job_started: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_job_completed: Option<DateTime<Utc>>,
    /// Seconds of idleness before it is deactivated.
    #[serde(default)]
    pub interactive_ttl: Option<i64>,
    /// Its longest life, in seconds, counted from its first job.
    #[serde(default)]
    pub max_ttl: Option<i64>,
    /// The time it may still stay active, in seconds (remaining, not configured).
    #[serde(default)]
    pub active_ttl: Option<i64>,
    #[serde(default)]
    pub state: Option<WireState>,
    #[serde(default)]
    pub state_reason: Option<String>,
    #[serde(default)]
    pub accepting_jobs: Option<bool>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub timestamps: Vec<Transition>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// QPU seconds used; null while it runs.
    #[serde(default)]
    pub elapsed_time: Option<f64>,
}

/// S1's body (Variant A). Both names of the backend are sent, as IBM's own Rust client does.
#[derive(Debug, Clone, Serialize)]
pub struct CreateSession<'a> {
    pub mode: &'a str,
    pub max_ttl: i64,
    pub backend: &'a str,
    pub backend_name: &'a str,
}

/// S3's body: the only field a session lets change.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateSession {
    pub accepting_jobs: bool,
}

/// `GET /backends` with `IBM-API-Version` 2025-01-01 or later.
#[derive(Debug, Clone, Deserialize)]
pub struct Devices {
    pub devices: Vec<Device>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Device {
    pub name: String,
    pub status: DeviceStatus,
    #[serde(default)]
    pub is_simulator: Option<bool>,
    #[serde(default)]
    pub qubits: Option<u32>,
    #[serde(default)]
    pub processor_type: Option<ProcessorType>,
    #[serde(default)]
    pub queue_length: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeviceStatus {
    /// `online`, `paused` or `offline` (others kept as written).
    pub name: String,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProcessorType {
    #[serde(default)]
    pub family: Option<String>,
    #[serde(default)]
    pub revision: Option<serde_json::Value>,
}

/// A page of `GET /workloads`.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkloadsPage {
    #[serde(default)]
    pub workloads: Vec<Workload>,
    #[serde(default)]
    pub next: Option<Cursor>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Cursor {
    #[serde(default)]
    pub href: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Workload {
    pub id: String,
    /// `job`, `session` or `batch`.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub backend: Option<String>,
    /// A workload status (`pending`, `in_progress`, `completed`, `canceled`, `failed`).
    #[serde(default)]
    pub status: Option<String>,
}

/// `GET /jobs?session_id=…`.
#[derive(Debug, Clone, Deserialize)]
pub struct JobsPage {
    #[serde(default)]
    pub jobs: Vec<WireJob>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireJob {
    pub id: String,
    /// `Queued`, `Running`, `Completed`, `Cancelled`, `Cancelled - Ran too long`, `Failed`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub state: Option<JobState>,
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    #[serde(default)]
    pub program: Option<Program>,
    #[serde(default)]
    pub backend: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JobState {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Program {
    #[serde(default)]
    pub id: Option<String>,
}

/// `GET /instances/usage`.
#[derive(Debug, Clone, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub usage_consumed_seconds: Option<f64>,
    #[serde(default)]
    pub usage_limit_seconds: Option<f64>,
    #[serde(default)]
    pub usage_limit_reached: Option<bool>,
}
