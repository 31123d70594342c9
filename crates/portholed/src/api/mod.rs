//! The HTTP API under `/api` (docs/providers/comfydeploy.md §3): routes, Bearer auth, and FastAPI-shaped errors for
//! everything, unknown routes and methods included.

mod body;
mod logs;
mod machines;
mod pair;
mod sessions;
pub mod tunnel;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use porthole_proxy::admission::Unverified;

use crate::error::ApiError;
use crate::key;
use crate::sessions::Sessions;

pub use body::MAX_BODY_BYTES;

pub struct AppState {
    pub sessions: Arc<Sessions>,
    pub key: key::KeyCell,
    /// The data folder (pending pairing tokens).
    pub data_dir: std::path::PathBuf,
    /// When the machines were loaded (their `created_at`).
    pub started: chrono::DateTime<chrono::Utc>,
}

/// The routes without Bearer auth: pricing, as upstream (docs/providers/comfydeploy.md §4.11),
/// and pairing, whose one-time token is its credential.
const PUBLIC_PATHS: [&str; 2] = ["/api/platform/gpu-pricing", "/api/pair"];

pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/session", post(sessions::create))
        .route("/session/increase-timeout", post(sessions::increase_legacy))
        .route(
            "/session/{id}",
            get(sessions::get_one).delete(sessions::delete),
        )
        .route(
            "/session/{id}/increase-timeout",
            post(sessions::increase_timeout),
        )
        .route("/session/{id}/snapshot", post(sessions::snapshot))
        .route("/session/{id}/tunnel", get(tunnel::open))
        .route("/sessions", get(sessions::list))
        .route("/machines", get(machines::list))
        .route("/machines/all", get(machines::list_all))
        .route("/machine/{id}", get(machines::get_one))
        .route("/platform/gpu-pricing", get(machines::pricing))
        .route("/v2/stream-logs", get(logs::stream))
        .route(porthole_local::pairing::REDEEM_PATH, post(pair::redeem));
    Router::new()
        .nest("/api", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), auth))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

/// The token from `Authorization: Bearer …` or `x-api-key` (docs/providers/comfydeploy.md §2.4).
fn presented_key(req: &Request) -> Option<&str> {
    let headers = req.headers();
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = v.trim().split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim());
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok())
}

async fn auth(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if PUBLIC_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    match presented_key(&req) {
        Some(k) if key::matches(&state.key.current(), k) => {
            if let Some(place) = req.extensions().get::<Unverified>() {
                place.verified();
            }
            next.run(req).await
        }
        _ => axum::response::IntoResponse::into_response(ApiError::unauthorized()),
    }
}
