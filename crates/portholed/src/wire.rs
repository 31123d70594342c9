//! The exact JSON shapes of the ComfyDeploy sessions API (docs/providers/comfydeploy.md §5),
//! as portholed sends and accepts them. Field names and null-ness follow the spec; nothing else in
//! the crate builds these bodies by hand.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `timeout_end` is naive UTC with no offset (docs/providers/comfydeploy.md §5.4): `2025-06-01T12:34:56.789012`.
pub fn naive_utc(t: DateTime<Utc>) -> String {
    t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// `created_at` is timezone-aware and printed with `Z` (docs/providers/comfydeploy.md §5.4).
pub fn zulu(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// S1 request (docs/providers/comfydeploy.md §5.1). Unknown keys (for example `machine_version_id`) are ignored, as
/// pydantic does upstream.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateSessionBody {
    pub machine_id: String,
    #[serde(default)]
    pub gpu: Option<String>,
    #[serde(default)]
    pub timeout: Option<i64>,
    #[serde(default)]
    pub wait_for_server: Option<bool>,
}

/// S1 response (docs/providers/comfydeploy.md §5.3): `url` is always present, null until the session answers.
#[derive(Debug, Clone, Serialize)]
pub struct CreateSessionResponse {
    pub session_id: String,
    pub url: Option<String>,
}

/// S2 body and S3 items (docs/providers/comfydeploy.md §5.4).
#[derive(Debug, Clone, Serialize)]
pub struct SessionResponse {
    pub id: String,
    pub session_id: String,
    pub gpu_event_id: String,
    pub url: Option<String>,
    pub gpu: String,
    pub created_at: String,
    pub timeout: Option<i64>,
    pub timeout_end: Option<String>,
    pub machine_id: Option<String>,
    pub machine_version_id: Option<String>,
    pub status: String,
    /// portholed's addition: what a starting session is doing, in words ("Queued in Slurm (job
    /// 12): Resources, 2nd in line"), where there is more to say than "starting".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_label: Option<String>,
    pub user_id: Option<String>,
    pub org_id: Option<String>,
    /// portholed's addition: how long its template's `before_end` step may run before the
    /// session stops (absent: the template has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_end_seconds: Option<u64>,
}

/// S4 response.
#[derive(Debug, Clone, Serialize)]
pub struct DeleteSessionResponse {
    pub success: bool,
}

/// S5 request.
#[derive(Debug, Clone, Deserialize)]
pub struct IncreaseTimeoutBody {
    pub minutes: i64,
}

/// S5 response.
#[derive(Debug, Clone, Serialize)]
pub struct MessageResponse {
    pub message: String,
}

/// One GPU of this host, as the machine items carry it (a portholed extension). With the Slurm
/// backend, one thing a session can ask a partition for (`gpu/a100:2`, or a partition alone
/// for no GPU), with the cluster's availability.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct GpuItem {
    /// The spec's MachineGPU name where it matches (`H100`, `A100-80GB`…), else the card's name.
    pub name: String,
    pub index: u32,
    pub memory_mib: u64,
    /// nvidia-smi's own name for the card (Slurm: "2 × a100 on gpu").
    pub model: String,
    /// GPUs a session of it gets (Slurm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// GPUs of this type free now / in all, across the partition's usable nodes (Slurm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
    /// Jobs waiting in the partition (Slurm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued: Option<u32>,
    /// The longest session the partition allows, in minutes (Slurm; absent: no limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_minutes: Option<i64>,
}

/// M1 items (docs/providers/comfydeploy.md §5.10) plus portholed's extensions (`porthole_kind`, `status_reason`,
/// `gpus`). A template that cannot run here has `status: "error"` and the reason.
#[derive(Debug, Clone, Serialize)]
pub struct MachineListItem {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub org_id: Option<String>,
    pub status: String,
    pub gpu: Option<String>,
    pub machine_version: Option<String>,
    pub machine_builder_version: String,
    pub comfyui_version: Option<String>,
    pub import_failed_logs: Option<String>,
    pub machine_version_id: Option<String>,
    pub is_workspace: bool,
    pub has_workflows: bool,
    pub porthole_kind: String,
    pub status_reason: Option<String>,
    pub gpus: Vec<GpuItem>,
    pub concurrency_limit: u32,
}

/// M3 (docs/providers/comfydeploy.md §5.11): the list item plus the detail fields that mean something here.
#[derive(Debug, Clone, Serialize)]
pub struct MachineDetail {
    #[serde(flatten)]
    pub item: MachineListItem,
    pub deleted: bool,
    pub endpoint: Option<String>,
    pub run_timeout: Option<i64>,
    pub idle_timeout: Option<i64>,
    pub keep_warm: i64,
    pub allow_concurrent_inputs: i64,
    pub base_docker_image: Option<String>,
    pub python_version: Option<String>,
    pub extra_args: Option<String>,
    pub prestart_command: Option<String>,
    pub install_custom_node_with_gpu: bool,
    pub optimized_runner: bool,
    pub disable_metadata: bool,
    pub cpu_request: Option<f64>,
    pub cpu_limit: Option<f64>,
    pub memory_request: Option<i64>,
    pub memory_limit: Option<i64>,
    pub models_to_cache: Vec<String>,
    pub enable_gpu_memory_snapshot: bool,
    pub docker_command_steps: Option<serde_json::Value>,
}

/// One line of the S10 stream (docs/providers/comfydeploy.md §5.13).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogLine {
    pub message: String,
    pub level: String,
    pub timestamp: String,
}

/// The S10 timestamp format: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn log_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_have_the_spec_formats() {
        let t = Utc
            .with_ymd_and_hms(2025, 6, 1, 12, 34, 56)
            .single()
            .expect("valid")
            + chrono::Duration::microseconds(789_012);
        assert_eq!(naive_utc(t), "2025-06-01T12:34:56.789012");
        assert_eq!(zulu(t), "2025-06-01T12:34:56.789012Z");
        assert_eq!(log_timestamp(t), "2025-06-01T12:34:56.789Z");
    }

    #[test]
    fn create_body_ignores_unknown_keys() {
        let body: CreateSessionBody = serde_json::from_str(
            r#"{"machine_id":"m","machine_version_id":"v","gpu":null,"timeout":0}"#,
        )
        .expect("parse");
        assert_eq!(body.machine_id, "m");
        assert_eq!(body.gpu, None);
        assert_eq!(body.timeout, Some(0));
        assert_eq!(body.wait_for_server, None);
    }
}
