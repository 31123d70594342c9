//! Names for the machines sessions run on. Providers report a session's machine by its id (a UUID
//! for ComfyDeploy and portholed); people know machines by name. An account's machines are asked
//! for when one of its sessions names a machine not known yet, and then at most once per
//! [`ASK_AGAIN`]; an id a successful lookup did not have (a deleted machine) is not asked about
//! again. A lookup may take [`LOOKUP_TIMEOUT`] at most, since the watcher waits for it. Names are
//! decoration: when the lookup fails, sessions keep their ids and nothing else changes.
//!
//! The desktop app's watchers and the `porthole` CLI both name sessions through this (the CLI
//! fetches the names beside the sessions, [`MachineNames::fetch`], and names them with
//! [`MachineNames::apply`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use crate::model::{Machine, Session};
use crate::provider::Provider;

/// How long after a lookup the machines may be asked for again.
pub const ASK_AGAIN: Duration = Duration::seconds(60);

/// The longest a lookup may take before the sessions go on with their ids.
pub const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// One account's machine names, by id.
#[derive(Debug, Default)]
pub struct MachineNames {
    names: HashMap<String, String>,
    /// Ids the last successful lookup did not have: asking again would not find them either.
    unfound: HashSet<String>,
    asked: Option<DateTime<Utc>>,
}

/// The provider's machines, or `None` when they cannot be had within [`LOOKUP_TIMEOUT`].
async fn lookup(provider: &dyn Provider) -> Option<Vec<Machine>> {
    match tokio::time::timeout(LOOKUP_TIMEOUT, provider.machines()).await {
        Ok(Ok(machines)) => Some(machines),
        Ok(Err(err)) => {
            tracing::debug!(code = ?err.code, "machine names unavailable");
            None
        }
        Err(_) => {
            tracing::debug!("machine names took too long");
            None
        }
    }
}

fn by_id(machines: Vec<Machine>) -> HashMap<String, String> {
    machines.into_iter().map(|m| (m.id, m.name)).collect()
}

impl MachineNames {
    /// The provider's machine names now (none when they cannot be had in time): for the CLI,
    /// which asks once, beside the sessions.
    pub async fn fetch(provider: &dyn Provider) -> Self {
        Self {
            names: lookup(provider).await.map(by_id).unwrap_or_default(),
            ..Self::default()
        }
    }

    /// Sets each session's `machine_name` from the names known.
    pub fn apply(&self, sessions: &mut [Session]) {
        for session in sessions {
            session.machine_name = session
                .machine_id
                .as_ref()
                .and_then(|id| self.names.get(id))
                .cloned();
            session.name_after_machine();
        }
    }

    /// Sets each session's `machine_name` where its machine is known, asking `provider` for its
    /// machines first when a session names one that is not (and the last lookup is old enough).
    pub async fn name(
        &mut self,
        provider: &dyn Provider,
        now: DateTime<Utc>,
        sessions: &mut [Session],
    ) {
        let unknown: Vec<&str> = sessions
            .iter()
            .filter_map(|s| s.machine_id.as_deref())
            .filter(|id| !id.is_empty() && !self.names.contains_key(*id))
            .collect();
        let new = unknown.iter().any(|id| !self.unfound.contains(*id));
        // A clock set back counts as time passed.
        let due = self
            .asked
            .is_none_or(|at| now - at >= ASK_AGAIN || now < at);
        if new && due {
            self.asked = Some(now);
            if let Some(machines) = lookup(provider).await {
                self.names = by_id(machines);
                self.unfound = unknown
                    .into_iter()
                    .filter(|id| !self.names.contains_key(*id))
                    .map(str::to_owned)
                    .collect();
            }
        }
        self.apply(sessions);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::unnamed_session_name;
    use crate::watcher::tests::{session, t0};

    fn unnamed(id: &str, resource: Option<&str>) -> Session {
        let mut s = session(id, None, t0());
        s.resource = resource.map(str::to_owned);
        s.name = unnamed_session_name(resource, id);
        s
    }

    #[test]
    fn sessions_without_a_name_of_their_own_are_named_after_what_was_chosen() {
        let names = MachineNames {
            names: HashMap::from([("terminal".to_owned(), "terminal".to_owned())]),
            ..MachineNames::default()
        };
        let mut sessions = vec![
            unnamed("3f2a91c0aaaa", Some("CPU")),
            unnamed("77bb0000cccc", None),
            // A name the provider gave is kept.
            session("given", None, t0()),
        ];
        assert_eq!(sessions[0].name, "CPU 3f2a91c0");
        names.apply(&mut sessions);
        assert_eq!(sessions[0].name, "terminal on CPU 3f2a91c0");
        assert_eq!(sessions[1].name, "terminal 77bb0000");
        assert_eq!(sessions[2].name, "session given");
        // Again: nothing changes (the name is no longer the provider's default).
        names.apply(&mut sessions);
        assert_eq!(sessions[0].name, "terminal on CPU 3f2a91c0");
        // A machine not known: the name stays as it was.
        let mut other = vec![unnamed("99990000dddd", Some("L4"))];
        other[0].machine_id = Some("gone".to_owned());
        names.apply(&mut other);
        assert_eq!(other[0].name, "L4 99990000");
    }
}
