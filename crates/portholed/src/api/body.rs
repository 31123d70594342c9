//! Request bodies and query strings, refused the way FastAPI refuses them: 422 with a `detail`
//! list for malformed or ill-typed input, 413 for an oversized body. A refused request changes
//! nothing.

use std::collections::HashMap;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// No API body is anywhere near this; a larger one is refused before it is parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "Request body too large (limit {} KiB)",
                        MAX_BODY_BYTES / 1024
                    ),
                )
            })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses a JSON body into `T`, with pydantic-style 422 errors.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(&["body"], "Field required", "missing"));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid(&["body"], format!("JSON decode error: {e}"), "json_invalid")
    })?;
    if !value.is_object() {
        return Err(ApiError::invalid(
            &["body"],
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        let msg = e.to_string();
        match missing_field(&msg) {
            Some(field) => ApiError::invalid(&["body", field], "Field required", "missing"),
            None => ApiError::invalid(&["body"], msg, "value_error"),
        }
    })
}

fn missing_field(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// A boolean query parameter (`true/false/1/0/yes/no/on/off`, as FastAPI accepts).
pub fn query_bool(q: &HashMap<String, String>, name: &str) -> Result<Option<bool>, ApiError> {
    let Some(v) = q.get(name) else {
        return Ok(None);
    };
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(Some(true)),
        "false" | "0" | "no" | "off" => Ok(Some(false)),
        _ => Err(ApiError::invalid(
            &["query", name],
            "Input should be a valid boolean, unable to interpret input",
            "bool_parsing",
        )),
    }
}

/// A non-negative integer query parameter.
pub fn query_uint(q: &HashMap<String, String>, name: &str) -> Result<Option<usize>, ApiError> {
    let Some(v) = q.get(name) else {
        return Ok(None);
    };
    v.parse().map(Some).map_err(|_| {
        ApiError::invalid(
            &["query", name],
            "Input should be a valid non-negative integer",
            "int_parsing",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::CreateSessionBody;

    fn detail(err: ApiError) -> serde_json::Value {
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        err.detail
    }

    #[test]
    fn malformed_and_missing_bodies_are_422_lists() {
        let d = detail(parse::<CreateSessionBody>(b"{not json").expect_err("bad"));
        assert_eq!(d[0]["type"], "json_invalid");
        assert_eq!(d[0]["loc"][0], "body");
        let d = detail(parse::<CreateSessionBody>(b"{}").expect_err("missing"));
        assert_eq!(d[0]["loc"], serde_json::json!(["body", "machine_id"]));
        assert_eq!(d[0]["type"], "missing");
        let d = detail(parse::<CreateSessionBody>(b"").expect_err("empty"));
        assert_eq!(d[0]["type"], "missing");
        let d = detail(parse::<CreateSessionBody>(b"[1]").expect_err("array"));
        assert_eq!(d[0]["type"], "model_attributes_type");
        let d = detail(parse::<CreateSessionBody>(br#"{"machine_id": 5}"#).expect_err("type"));
        assert_eq!(d[0]["type"], "value_error");
    }

    #[test]
    fn query_values_are_checked() {
        let mut q = HashMap::new();
        q.insert("w".to_owned(), "TRUE".to_owned());
        q.insert("n".to_owned(), "x".to_owned());
        assert_eq!(query_bool(&q, "w").expect("ok"), Some(true));
        assert_eq!(query_bool(&q, "absent").expect("ok"), None);
        assert!(query_bool(&q, "n").is_err());
        assert!(query_uint(&q, "n").is_err());
    }
}
