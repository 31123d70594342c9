//! The one error that crosses into the webview: `{ code, message }`.

use porthole_core::ErrorCode;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl From<porthole_core::Error> for ApiError {
    fn from(err: porthole_core::Error) -> Self {
        Self {
            code: err.code,
            message: err.message,
        }
    }
}

impl ApiError {
    /// A failure of the shell itself (a task that panicked, a window that would not open).
    pub fn internal(what: impl std::fmt::Display) -> Self {
        Self {
            code: ErrorCode::Internal,
            message: format!("Porthole hit an internal error: {what}"),
        }
    }
}
