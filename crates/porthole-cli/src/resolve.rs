//! What a person types, turned into what the provider knows: a session id shortened to any
//! unique prefix (the 8 characters in session names), a template named by its name or its id.

use porthole_core::model::{Machine, Session};
use porthole_core::provider::Provider;
use porthole_core::Error;

/// The live session whose id is `typed` or starts with it; `typed` itself when none does (an
/// ended session the provider may still know, or none: the command says so). Two or more that
/// start so are named.
pub async fn session_id(provider: &dyn Provider, typed: &str) -> Result<String, Error> {
    let typed = typed.trim();
    // Without a list (the provider is unreachable), the id is taken as typed: the command's
    // own call says what is wrong.
    let Ok(sessions) = provider.list().await else {
        return Ok(typed.to_owned());
    };
    Ok(pick_session(&sessions, typed)?.unwrap_or_else(|| typed.to_owned()))
}

fn pick_session(sessions: &[Session], typed: &str) -> Result<Option<String>, Error> {
    if typed.is_empty() || sessions.iter().any(|s| s.id == typed) {
        return Ok(Some(typed.to_owned()).filter(|t| !t.is_empty()));
    }
    let matching: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.id.starts_with(typed))
        .collect();
    match matching.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.id.clone())),
        several => {
            let named: Vec<String> = several
                .iter()
                .map(|s| format!("{} ({})", s.id, s.name))
                .collect();
            Err(Error::invalid_input(format!(
                "{typed:?} starts more than one session's id: {}. Type more of it.",
                named.join(", ")
            )))
        }
    }
}

/// The template whose id or name (in any case) is `typed`, or a refusal that names them all.
pub fn machine<'a>(machines: &'a [Machine], typed: &str) -> Result<&'a Machine, Error> {
    let typed = typed.trim();
    machines
        .iter()
        .find(|m| m.id == typed)
        .or_else(|| machines.iter().find(|m| m.name.eq_ignore_ascii_case(typed)))
        .ok_or_else(|| {
            let choices: Vec<String> = machines
                .iter()
                .map(|m| {
                    if m.name == m.id {
                        m.id.clone()
                    } else {
                        format!("{} ({})", m.name, m.id)
                    }
                })
                .collect();
            Error::invalid_input(if choices.is_empty() {
                format!("There is no machine {typed:?}: this account has none.")
            } else {
                format!(
                    "There is no machine {typed:?}; the machines are: {}.",
                    choices.join(", ")
                )
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str) -> Session {
        serde_json::from_value(serde_json::json!({
            "id": id, "account_id": "local", "provider": "portholed", "name": format!("terminal {id}"),
            "machine_id": null, "machine_name": null, "resource": null,
            "state": {"state": "ready"}, "status_label": null,
            "created_at": "2026-01-01T00:00:00Z", "deadline": null, "idle_deadline": null,
            "unused_deadline": null, "url": null, "price_per_hour": null,
            "capabilities": {"can_extend": true, "can_stop": true, "has_ui": true, "can_cancel": false},
            "raw": null
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_unique_prefix_names_its_session_and_an_ambiguous_one_is_refused() {
        let sessions = [
            session("3f2a91c0-aaaa"),
            session("3f2a91c0-bbbb"),
            session("9b1e0000"),
        ];
        let pick = |t: &str| pick_session(&sessions, t);
        assert_eq!(pick("9b1e").unwrap().as_deref(), Some("9b1e0000"));
        assert_eq!(
            pick("3f2a91c0-bbbb").unwrap().as_deref(),
            Some("3f2a91c0-bbbb")
        );
        assert_eq!(pick("ffff").unwrap(), None, "none: as typed");
        let err = pick("3f2a91c0").unwrap_err();
        assert!(
            err.message
                .contains("3f2a91c0-aaaa (terminal 3f2a91c0-aaaa)")
                && err.message.contains("3f2a91c0-bbbb"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_machine_is_found_by_id_or_name_and_a_miss_names_them() {
        let m = |id: &str, name: &str| Machine {
            id: id.into(),
            name: name.into(),
            default_resource: None,
            can_launch: true,
            unavailable_reason: None,
        };
        let machines = [m("tpl-1", "terminal"), m("tpl-2", "sdxl-ready")];
        assert_eq!(machine(&machines, "tpl-2").unwrap().name, "sdxl-ready");
        assert_eq!(machine(&machines, "Terminal").unwrap().id, "tpl-1");
        let err = machine(&machines, "comfy").unwrap_err();
        assert!(
            err.message.contains("terminal (tpl-1), sdxl-ready (tpl-2)"),
            "{}",
            err.message
        );
    }
}
