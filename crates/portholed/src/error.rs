//! The API's errors, in FastAPI's envelope: `{"detail": "<string>"}`, and for invalid bodies
//! `{"detail": [{"loc", "msg", "type"}]}` with status 422 (docs/providers/comfydeploy.md §4.1).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: Value,
    /// Why a session ended, beside `detail` in a 404 (portholed's own addition).
    pub ended: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: Value::String(detail.into()),
            ended: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Invalid or missing token")
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, detail)
    }

    /// One 422 item, as pydantic writes it.
    pub fn invalid(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: json!([{ "loc": loc, "msg": msg.into(), "type": kind }]),
            ended: None,
        }
    }

    /// The same refusal, saying why the session ended (`kind`: timeout, stopped or failed).
    pub fn ended(mut self, kind: &str, reason: &str) -> Self {
        self.ended = Some(json!({ "kind": kind, "reason": reason }));
        self
    }
}

impl From<porthole_core::Error> for ApiError {
    fn from(err: porthole_core::Error) -> Self {
        use porthole_core::ErrorCode;
        let status = match err.code {
            ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorCode::SessionGone => StatusCode::NOT_FOUND,
            ErrorCode::QuotaExceeded => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, err.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.ended {
            Some(ended) => json!({ "detail": self.detail, "ended": ended }),
            None => json!({ "detail": self.detail }),
        };
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
