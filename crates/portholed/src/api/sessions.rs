//! S1–S7: create, read, list, stop and extend sessions.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header::USER_AGENT;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;

use super::body::{query_bool, JsonBody};
use super::AppState;
use crate::end_reason::stop_reason;
use crate::error::{ApiError, ApiResult};
use crate::wire::{
    CreateSessionBody, CreateSessionResponse, DeleteSessionResponse, IncreaseTimeoutBody,
    MessageResponse, SessionResponse,
};

const INCREASED: &str = "Timeout increased successfully";

pub async fn create(
    State(state): State<Arc<AppState>>,
    JsonBody(body): JsonBody<CreateSessionBody>,
) -> ApiResult<Json<CreateSessionResponse>> {
    state.sessions.launch(body).await.map(Json)
}

pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionResponse>> {
    state.sessions.get(&id).map(Json)
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<SessionResponse>>> {
    let machine = q
        .get("machine_id")
        .map(String::as_str)
        .filter(|m| !m.is_empty());
    state.sessions.list(machine).map(Json)
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Json<DeleteSessionResponse>> {
    let wait = query_bool(&q, "wait_for_shutdown")?.unwrap_or(false);
    let agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
    state.sessions.stop(&id, wait, stop_reason(agent)).await?;
    Ok(Json(DeleteSessionResponse { success: true }))
}

pub async fn increase_timeout(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<IncreaseTimeoutBody>,
) -> ApiResult<Json<MessageResponse>> {
    state.sessions.extend(&id, body.minutes).await?;
    Ok(Json(MessageResponse {
        message: INCREASED.to_owned(),
    }))
}

/// S6 body (legacy, docs/providers/comfydeploy.md §4.7).
#[derive(Debug, Deserialize)]
pub struct LegacyIncreaseBody {
    #[serde(rename = "machine_id")]
    pub _machine_id: String,
    pub session_id: String,
    #[serde(rename = "timeout")]
    pub _timeout: i64,
    #[serde(rename = "gpu")]
    pub _gpu: String,
}

/// S6: as upstream, it answers the same message and does not move `timeout_end` (it only ever
/// affected legacy runners, and portholed has none). Use S5 to extend.
pub async fn increase_legacy(
    State(state): State<Arc<AppState>>,
    JsonBody(body): JsonBody<LegacyIncreaseBody>,
) -> ApiResult<Json<MessageResponse>> {
    if state.sessions.store.get_active(&body.session_id)?.is_none() {
        return Err(ApiError::not_found("GPU event not found"));
    }
    Ok(Json(MessageResponse {
        message: INCREASED.to_owned(),
    }))
}

/// S7: only upstream's sandbox sessions can be snapshotted; portholed sessions never can.
pub async fn snapshot(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<MessageResponse>> {
    if state.sessions.store.get_active(&id)?.is_none() {
        return Err(ApiError::not_found(format!(
            "GPUEvent not found session_id: {id}"
        )));
    }
    Err(ApiError::bad_request("Modal function id is not a sandbox"))
}
