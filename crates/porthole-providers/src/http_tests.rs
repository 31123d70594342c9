//! The HTTP layer's own rules: codes for statuses, Retry-After, bodies cut off.

use super::*;

#[test]
fn statuses_get_their_codes() {
    let code = |status, detail: &str| {
        HttpError::Status {
            status,
            detail: detail.into(),
            ended: None,
        }
        .into_error(ErrorCode::SessionGone)
        .code
    };
    assert_eq!(
        code(401, "Invalid or missing token"),
        ErrorCode::Unauthorized
    );
    assert_eq!(
        code(403, "Insufficient balance for requested operation"),
        ErrorCode::QuotaExceeded
    );
    assert_eq!(code(403, "Forbidden"), ErrorCode::Unauthorized);
    assert_eq!(code(404, "GPUEvent not found"), ErrorCode::SessionGone);
    assert_eq!(
        code(
            400,
            "You have reached the maximum number of concurrent sessions."
        ),
        ErrorCode::QuotaExceeded
    );
    assert_eq!(
        code(400, "Machine is not a Comfy Deploy Serverless machine"),
        ErrorCode::InvalidInput
    );
    assert_eq!(code(422, "Invalid request"), ErrorCode::InvalidInput);
    assert_eq!(code(429, "slow down"), ErrorCode::RateLimited);
    assert_eq!(code(503, "down"), ErrorCode::UpstreamUnavailable);
}

#[test]
fn network_errors_are_never_unauthorized() {
    let err = HttpError::Network("Cannot reach x".into()).into_error(ErrorCode::SessionGone);
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
}

#[test]
fn backoff_grows_and_is_capped() {
    let client =
        HttpClient::new("http://127.0.0.1:1/api", None, RetryPolicy::default()).expect("client");
    for _ in 0..50 {
        let first = client.backoff(1);
        assert!(first >= Duration::from_millis(150) && first <= Duration::from_millis(300));
        let late = client.backoff(12);
        assert!(late >= Duration::from_millis(2500) && late <= Duration::from_secs(5));
    }
}

#[test]
fn bad_base_urls_are_refused_clearly() {
    let err = HttpClient::new("ftp://x", None, RetryPolicy::default()).expect_err("scheme");
    assert_eq!(err.code, ErrorCode::InvalidInput);
    let err = HttpClient::new("not a url", None, RetryPolicy::default()).expect_err("parse");
    assert!(err.message.contains("not a URL"), "{}", err.message);
}
