//! What every fake shares: the fault script (a queue of injected answers, each taken by the next
//! request whose path starts with its prefix), poison-tolerant locking and header reading.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// One injected answer, taken by the next request whose path starts with the given prefix.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This status with the provider's error body.
    Status(u16),
    /// 429 with this Retry-After, in seconds.
    RetryAfter(u64),
    /// Answer only after this long.
    Delay(Duration),
    /// 200 with a JSON body cut in half.
    Truncated,
}

/// Builds a provider's error body: (status, code, message).
pub(crate) type ErrorBody = fn(u16, &str, &str) -> Response;

/// A lock that a panicked holder does not poison (a failed test must not break the next request).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn header_of(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Takes the first queued fault whose prefix starts `path`, if any.
pub(crate) fn take_fault(faults: &Mutex<VecDeque<(String, Fault)>>, path: &str) -> Option<Fault> {
    let mut faults = lock(faults);
    let at = faults
        .iter()
        .position(|(prefix, _)| path.starts_with(prefix.as_str()));
    at.and_then(|i| faults.remove(i)).map(|(_, f)| f)
}

/// Answers `request` as the taken fault says (or passes it on when there is none), with the
/// provider's error body built by `error`.
pub(crate) async fn apply_fault(
    fault: Option<Fault>,
    request: Request,
    next: Next,
    error: ErrorBody,
) -> Response {
    match fault {
        Some(Fault::Status(status)) => error(status, "fault", "injected failure"),
        Some(Fault::RetryAfter(seconds)) => {
            let mut response = error(429, "rate_limited", "too many requests");
            if let Ok(v) = seconds.to_string().parse() {
                response.headers_mut().insert("retry-after", v);
            }
            response
        }
        Some(Fault::Delay(wait)) => {
            tokio::time::sleep(wait).await;
            next.run(request).await
        }
        Some(Fault::Truncated) => {
            let response = next.run(request).await;
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            let half = bytes.slice(..bytes.len() / 2);
            ([("content-type", "application/json")], half).into_response()
        }
        None => next.run(request).await,
    }
}

/// Serves `app` on 127.0.0.1 (any free port) until the runtime stops; where it listens.
pub async fn serve(app: axum::Router) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}
