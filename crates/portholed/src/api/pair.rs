//! `POST /api/pair {"token"}`: a pairing token from `portholed pair` (crate::pairing), good once,
//! exchanged for the API key. Any other answer is the same 401 as a wrong key, and nothing about
//! the token is logged.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::Json;
use porthole_proxy::admission::Unverified;
use serde::Deserialize;

use super::AppState;
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize)]
struct Redeem {
    token: String,
}

pub async fn redeem(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> ApiResult<Json<serde_json::Value>> {
    let place = request.extensions().get::<Unverified>().cloned();
    let body: Bytes = axum::body::to_bytes(request.into_body(), 4096)
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request too large"))?;
    let Ok(Redeem { token }) = serde_json::from_slice(&body) else {
        return Err(ApiError::unauthorized());
    };
    let redeemed = crate::pairing::redeem(&state.data_dir, &token, chrono::Utc::now())
        .map_err(|e| ApiError::internal(e.message))?;
    if !redeemed {
        tracing::info!("a pairing attempt was refused (unknown, spent or expired token)");
        return Err(ApiError::unauthorized());
    }
    if let Some(place) = place {
        place.verified();
    }
    tracing::info!("a client paired with this server");
    let key = state.key.current();
    // The one answer that carries the key, to the holder of a valid one-time token.
    Ok(Json(serde_json::json!({ "key": key.expose() })))
}
