//! Reading what a provider says when it refuses: the error bodies of every provider Porthole
//! speaks to, turned into one line for a person.

/// The provider's own words in an error body: FastAPI's `{"detail": "..."}` or
/// `{"detail": [{"loc", "msg", "type"}]}` (ComfyDeploy, portholed), IBM's
/// `{"errors": [{"code", "message", "solution"|"more_info"}], "trace"}` (a code that is a string
/// or a number), IBM's legacy `{"error": {"message", "code"}}`, IBM Cloud IAM's
/// `{"errorCode", "errorMessage"}` and Airplane's `{"error": "<message>", "code"}`.
pub fn detail_of(body: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    if json.get("detail").is_none() {
        return ibm_message(&json);
    }
    match json.get("detail")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|item| {
                    let msg = item
                        .get("msg")
                        .and_then(|m| m.as_str())
                        .unwrap_or("invalid");
                    let loc: Vec<String> = item
                        .get("loc")
                        .and_then(|l| l.as_array())
                        .map(|l| {
                            l.iter()
                                .filter(|p| p.as_str() != Some("body"))
                                .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    if loc.is_empty() {
                        msg.to_owned()
                    } else {
                        format!("{}: {msg}", loc.join("."))
                    }
                })
                .collect();
            Some(format!("Invalid request: {}", parts.join("; ")))
        }
        other => Some(other.to_string()),
    }
}

pub fn fallback_detail(status: u16, text: &str) -> String {
    let snippet: String = text.trim().chars().take(200).collect();
    if snippet.is_empty() {
        format!("HTTP {status} with an empty body")
    } else {
        format!("HTTP {status}: {snippet}")
    }
}

fn ibm_message(json: &serde_json::Value) -> Option<String> {
    let text = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .and_then(|m| m.as_str())
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
    };
    // Airplane: `{"error": "<message>", "code"?: "<code>"}`.
    if let Some(message) = json.get("error").and_then(|e| e.as_str()) {
        let message = message.trim();
        return (!message.is_empty()).then(|| message.to_owned());
    }
    if let Some(item) = json
        .get("errors")
        .and_then(|e| e.as_array())
        .and_then(|e| e.first())
        .or_else(|| json.get("error"))
    {
        let message = text(item, "message")?;
        return Some(match text(item, "solution") {
            Some(solution) => format!("{message} ({solution})"),
            None => message,
        });
    }
    text(json, "errorMessage")
}

/// Why a session ended, as portholed says beside `detail` in a 404 (`"ended": {"kind",
/// "reason"}`): `kind` is `timeout`, `stopped` or `failed`; `reason` its own words ("exited
/// with code 1").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub kind: String,
    pub reason: String,
}

pub fn ended_of(body: &str) -> Option<Ended> {
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    let ended = json.get("ended")?;
    let text = |k: &str| ended.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    Some(Ended {
        kind: text("kind").unwrap_or_else(|| "failed".into()),
        reason: text("reason")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastapi_details_are_read() {
        assert_eq!(
            detail_of(r#"{"detail":"Machine not found"}"#).as_deref(),
            Some("Machine not found")
        );
        let validation = r#"{"detail":[{"loc":["body","minutes"],"msg":"Input should be a valid integer","type":"int_parsing"}]}"#;
        assert_eq!(
            detail_of(validation).as_deref(),
            Some("Invalid request: minutes: Input should be a valid integer")
        );
        assert_eq!(detail_of("<html>oops</html>"), None);
    }

    #[test]
    fn ibm_and_iam_errors_are_read_whatever_their_code_is() {
        let sessions = r#"{"errors":[{"code":"session_not_found","message":"Session not found","more_info":"https://x"}],"trace":"t"}"#;
        assert_eq!(detail_of(sessions).as_deref(), Some("Session not found"));
        let workloads = r#"{"errors":[{"code":1000,"message":"Unauthorized","solution":"Get a new token.","more_info":"https://x"}]}"#;
        assert_eq!(
            detail_of(workloads).as_deref(),
            Some("Unauthorized (Get a new token.)")
        );
        let legacy = r#"{"error":{"message":"Instance not found","code":"NOT_FOUND"}}"#;
        assert_eq!(detail_of(legacy).as_deref(), Some("Instance not found"));
        let iam =
            r#"{"errorCode":"BXNIM0415E","errorMessage":"Provided API key could not be found."}"#;
        assert_eq!(
            detail_of(iam).as_deref(),
            Some("Provided API key could not be found.")
        );
        assert_eq!(detail_of(r#"{"errors":[]}"#), None);
        let airplane = r#"{"error":"runbook not found","code":"not_found"}"#;
        assert_eq!(detail_of(airplane).as_deref(), Some("runbook not found"));
    }
}
