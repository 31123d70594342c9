//! Why a session ended, in the words portholed records and says for a day after the end: how
//! its process ended, who stopped it, and the kind of end (S2's `ended` note).

use crate::sessions::TIMEOUT_REASON;

/// How a process ended, for a person: "exited with code 1", "killed by signal 9".
pub(crate) fn exited(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => format!("exited ({status})"),
    }
}

/// Why a stop asked with this User-Agent ended a session, as the session's history will say:
/// Porthole's own clients name themselves (`porthole-cli/…`, `porthole/…`, see
/// `porthole_providers::http::set_client_name`).
pub fn stop_reason(user_agent: Option<&str>) -> &'static str {
    let product = user_agent
        .and_then(|agent| agent.split('/').next())
        .unwrap_or_default();
    match product {
        "porthole-cli" => "stopped from the CLI",
        "porthole" => "stopped from the app",
        _ => "stopped",
    }
}

/// What kind of end a recorded reason is: `timeout`, `stopped` or `failed`.
pub(crate) fn ended_kind(reason: &str) -> &'static str {
    if reason == TIMEOUT_REASON
        || reason.starts_with("Reached timeout period")
        || reason.starts_with("time limit reached")
    {
        "timeout"
    } else if reason == "stopped" || reason.starts_with("stopped ") {
        "stopped"
    } else {
        "failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_says_which_of_porthole_s_clients_asked() {
        assert_eq!(
            stop_reason(Some("porthole-cli/0.1.0")),
            "stopped from the CLI"
        );
        assert_eq!(stop_reason(Some("porthole/0.1.0")), "stopped from the app");
        assert_eq!(stop_reason(Some("curl/8.0")), "stopped");
        assert_eq!(stop_reason(Some("porthole-clix/1")), "stopped");
        assert_eq!(stop_reason(None), "stopped");
        for reason in ["stopped", "stopped from the CLI", "stopped from the app"] {
            assert_eq!(ended_kind(reason), "stopped", "{reason}");
        }
        assert_eq!(ended_kind("stoppedx"), "failed");
    }
}
