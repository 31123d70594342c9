//! M1–M3 (machines are the session templates) and P1 (GPU pricing).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Json;

use super::body::{query_bool, query_uint};
use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::gpu::CPU;
use crate::key::USER_ID;
use crate::machines::Machine;
use crate::wire::{GpuItem, MachineDetail, MachineListItem};

fn item(state: &AppState, m: &Machine, gpus: &[GpuItem]) -> MachineListItem {
    let created = state.started.to_rfc3339();
    MachineListItem {
        id: m.id.clone(),
        user_id: USER_ID.to_owned(),
        name: m.name.clone(),
        created_at: created.clone(),
        updated_at: created,
        // The type and builder version that clients keep as sessionable (docs/providers/comfydeploy.md §5.14).
        kind: "comfy-deploy-serverless".to_owned(),
        org_id: None,
        status: if m.available.is_ok() {
            "ready"
        } else {
            "error"
        }
        .to_owned(),
        gpu: Some(m.default_gpu.clone()),
        machine_version: None,
        machine_builder_version: "4".to_owned(),
        comfyui_version: None,
        import_failed_logs: m.available.as_ref().err().cloned(),
        machine_version_id: None,
        is_workspace: false,
        has_workflows: false,
        porthole_kind: m.kind.as_str().to_owned(),
        status_reason: m.available.as_ref().err().cloned(),
        gpus: gpus.to_vec(),
        concurrency_limit: m.max_sessions,
    }
}

fn listed(
    state: &AppState,
    q: &HashMap<String, String>,
    gpus: &[GpuItem],
) -> ApiResult<Vec<MachineListItem>> {
    let limit = query_uint(q, "limit")?.unwrap_or(100);
    let offset = query_uint(q, "offset")?.unwrap_or(0);
    // portholed has no deleted or workspace machines; the flags are checked and accepted.
    for flag in ["is_deleted", "is_docker", "is_workspace", "is_self_hosted"] {
        query_bool(q, flag)?;
    }
    let search = q.get("search").map(|s| s.to_lowercase());
    Ok(state
        .sessions
        .machines
        .iter()
        .filter(|m| {
            search
                .as_deref()
                .is_none_or(|s| m.name.to_lowercase().contains(s))
        })
        .skip(offset)
        .take(limit)
        .map(|m| item(state, m, gpus))
        .collect())
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<MachineListItem>>> {
    let gpus = state.sessions.gpu_items().await;
    listed(&state, &q, &gpus).map(Json)
}

pub async fn list_all(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<MachineListItem>>> {
    let gpus = state.sessions.gpu_items().await;
    listed(&state, &q, &gpus).map(Json)
}

pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<MachineDetail>> {
    let m = state
        .sessions
        .machine(&id)
        .ok_or_else(|| ApiError::not_found("Machine not found"))?;
    let gpus = state.sessions.gpu_items().await;
    Ok(Json(MachineDetail {
        item: item(&state, m, &gpus),
        deleted: false,
        endpoint: None,
        run_timeout: None,
        idle_timeout: None,
        keep_warm: 0,
        allow_concurrent_inputs: 1,
        base_docker_image: None,
        python_version: None,
        extra_args: None,
        prestart_command: None,
        install_custom_node_with_gpu: false,
        optimized_runner: false,
        disable_metadata: false,
        cpu_request: None,
        cpu_limit: None,
        memory_request: None,
        memory_limit: None,
        models_to_cache: Vec::new(),
        enable_gpu_memory_snapshot: false,
        docker_command_steps: None,
    }))
}

/// P1: USD per second for CPU, every GPU here, and every configured price.
pub async fn pricing(State(state): State<Arc<AppState>>) -> Json<BTreeMap<String, f64>> {
    let s = &state.sessions;
    let gpus = s.gpu_items().await;
    let mut out: BTreeMap<String, f64> = s.prices.clone();
    let cpu = Some(CPU).filter(|_| s.slurm.is_none());
    for name in cpu.into_iter().chain(gpus.iter().map(|g| g.name.as_str())) {
        out.entry(name.to_owned()).or_insert(0.0);
    }
    Json(out)
}
