//! The one error vocabulary of Porthole. Every crate maps its failures into [`Error`]; the desktop
//! shell serialises it as `{ code, message }` and the CLI prints the message and exits with a code
//! derived from [`ErrorCode`].

use serde::{Deserialize, Serialize};

/// What kind of failure happened. The UI branches on these, so each one means one thing to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The provider rejected the key.
    Unauthorized,
    /// The OS keychain cannot be used (no Secret Service, locked, prompt dismissed).
    KeychainUnavailable,
    /// The session no longer exists on the provider.
    SessionGone,
    /// The provider refused because of a quota, a limit or credit.
    QuotaExceeded,
    /// The provider asked us to slow down.
    RateLimited,
    /// The provider could not be reached or answered with a server error.
    UpstreamUnavailable,
    /// The request was malformed or named something that does not exist.
    InvalidInput,
    /// The provider answered something we could not understand.
    InvalidResponse,
    /// Reading or writing local files failed.
    Io,
    /// A session that runs to completion ended without completing (failed, cancelled, timed
    /// out…); the message says how.
    SessionFailed,
    /// A paired server presented a certificate other than the one paired with (nothing was
    /// sent to it).
    CertificateMismatch,
    /// A bug: something that should not happen did.
    Internal,
}

impl ErrorCode {
    /// The stable wire name of the code, as the UI and `--json` output see it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::KeychainUnavailable => "keychain_unavailable",
            ErrorCode::SessionGone => "session_gone",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UpstreamUnavailable => "upstream_unavailable",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::InvalidResponse => "invalid_response",
            ErrorCode::Io => "io",
            ErrorCode::SessionFailed => "session_failed",
            ErrorCode::CertificateMismatch => "certificate_mismatch",
            ErrorCode::Internal => "internal",
        }
    }

    /// Whether repeating the same idempotent request later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited | ErrorCode::UpstreamUnavailable
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A coded error with a message written for the person using the app.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    pub fn io(context: &str, err: &std::io::Error) -> Self {
        Self::new(ErrorCode::Io, format!("{context}: {err}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_their_wire_names() {
        for code in [
            ErrorCode::Unauthorized,
            ErrorCode::KeychainUnavailable,
            ErrorCode::SessionGone,
            ErrorCode::QuotaExceeded,
            ErrorCode::RateLimited,
            ErrorCode::UpstreamUnavailable,
            ErrorCode::InvalidInput,
            ErrorCode::InvalidResponse,
            ErrorCode::Io,
            ErrorCode::Internal,
        ] {
            let json = serde_json::to_string(&code).expect("serialise");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).expect("deserialise");
            assert_eq!(back, code);
        }
    }

    #[test]
    fn only_transient_codes_are_retryable() {
        assert!(ErrorCode::UpstreamUnavailable.is_retryable());
        assert!(ErrorCode::RateLimited.is_retryable());
        assert!(!ErrorCode::Unauthorized.is_retryable());
        assert!(!ErrorCode::InvalidInput.is_retryable());
    }

    #[test]
    fn display_is_the_message_alone() {
        let err = Error::new(ErrorCode::SessionGone, "session abc ended");
        assert_eq!(err.to_string(), "session abc ended");
    }
}
