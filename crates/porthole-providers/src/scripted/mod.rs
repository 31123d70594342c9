//! The scripted provider: for tests only (the `scripted` feature, which `make test` turns on and
//! `make run` and `make package` leave off). It has what the GPU providers lack: no templates,
//! no web page, launch parameters, idle and unused clocks, prompts that wait for a person, and
//! close versus cancel. So the core, the CLI and the app are driven through all of it before a
//! real provider of that shape exists.
//!
//! Its "server" is a folder, named by the account's base URL (`file:///…`): `script.json`,
//! written by the test, says what every session goes through (see [`Script`]); `sessions.json`
//! holds what was launched and what people did to it. Every process that reads the folder (the
//! CLI, the app) sees the same sessions at the same moments.

mod script;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use porthole_core::inputs::{check_values, Parameter, Prompt};
use porthole_core::model::{
    Capabilities, LaunchRequest, LogLine, Machine, ProviderKind, Resource, Session,
};
use porthole_core::provider::{LogStream, Provider};
use porthole_core::{Error, ErrorCode};
use serde::{Deserialize, Serialize};

pub use script::{Answer, Record, Script, ScriptResource, Standing, Step};

/// The launched sessions (`sessions.json`).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Launched {
    next: u64,
    sessions: Vec<Record>,
}

#[derive(Clone)]
pub struct Scripted {
    account_id: String,
    folder: PathBuf,
}

impl Scripted {
    /// The provider for the folder `base_url` names (`file:///path`).
    pub fn new(account_id: &str, base_url: &str) -> Result<Self, Error> {
        let folder = base_url
            .strip_prefix("file://")
            .filter(|p| p.starts_with('/'))
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "A scripted account's base URL is a folder (file:///path), not {base_url:?}."
                ))
            })?;
        Ok(Self {
            account_id: account_id.to_owned(),
            folder: PathBuf::from(folder),
        })
    }

    fn script(&self) -> Result<Script, Error> {
        read_json(&self.folder.join("script.json"))?.ok_or_else(|| {
            Error::new(
                ErrorCode::UpstreamUnavailable,
                format!("No script.json in {}.", self.folder.display()),
            )
        })
    }

    fn launched(&self) -> Result<Launched, Error> {
        Ok(read_json(&self.folder.join("sessions.json"))?.unwrap_or_default())
    }

    fn save(&self, launched: &Launched) -> Result<(), Error> {
        let bytes = serde_json::to_vec_pretty(launched)
            .map_err(|e| Error::new(ErrorCode::Internal, format!("sessions.json: {e}")))?;
        porthole_core::paths::write_private(&self.folder.join("sessions.json"), &bytes)
    }

    /// Changes one live session's record; a session that is over (or unknown) is gone.
    fn change(&self, id: &str, f: impl FnOnce(&mut Record, &Standing)) -> Result<(), Error> {
        let script = self.script()?;
        let mut launched = self.launched()?;
        let now = Utc::now();
        let record = launched
            .sessions
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| gone(id))?;
        let standing = script.standing(record, now);
        if standing.gone || !standing.state.is_live() {
            return Err(gone(id));
        }
        f(record, &standing);
        self.save(&launched)
    }

    fn session(&self, record: &Record, standing: Standing) -> Session {
        Session {
            id: record.id.clone(),
            account_id: self.account_id.clone(),
            provider: ProviderKind::Scripted,
            name: record.name.clone(),
            machine_id: None,
            machine_name: None,
            resource: Some(record.resource.clone()),
            state: standing.state,
            status_label: standing.prompt.map(|p| p.message),
            created_at: record.created_at,
            deadline: Some(standing.deadline),
            idle_deadline: standing.idle_deadline,
            unused_deadline: standing.unused_deadline,
            warning: None,
            url: None,
            price_per_hour: None,
            before_end: None,
            capabilities: Capabilities {
                can_extend: false,
                can_stop: true,
                has_ui: false,
                can_cancel: true,
            },
            details: Vec::new(),
            raw: serde_json::to_value(record).unwrap_or_default(),
        }
    }

    /// Every session with where it stands now, the ones that are over included.
    fn all(&self) -> Result<Vec<(Session, bool)>, Error> {
        let script = self.script()?;
        let now = Utc::now();
        Ok(self
            .launched()?
            .sessions
            .iter()
            .map(|r| {
                let standing = script.standing(r, now);
                let gone = standing.gone;
                (self.session(r, standing), gone)
            })
            .collect())
    }
}

/// How often a followed log looks for a change.
const LOG_POLL: std::time::Duration = std::time::Duration::from_millis(200);

impl Scripted {
    /// Where one session (an ended one too) stands now.
    fn standing(&self, id: &str) -> Result<Standing, Error> {
        let script = self.script()?;
        let launched = self.launched()?;
        let record = launched
            .sessions
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| gone(id))?;
        Ok(script.standing(record, Utc::now()))
    }

    /// The log's line for where the session stands now, and whether it is over.
    fn log_line(&self, id: &str) -> Result<(String, bool), Error> {
        let standing = self.standing(id)?;
        if standing.gone {
            return Ok(("One of its clocks ran out".into(), true));
        }
        let over = !standing.state.is_live();
        let message = match &standing.prompt {
            Some(prompt) => format!("{}: {}", standing.state.label(), prompt.message),
            None => standing.state.label(),
        };
        Ok((message, over))
    }
}

fn gone(id: &str) -> Error {
    Error::new(
        ErrorCode::SessionGone,
        format!("Session {id} is over or does not exist."),
    )
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::new(
                ErrorCode::InvalidResponse,
                format!("{} is not valid: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&format!("cannot read {}", path.display()), &e)),
    }
}

#[async_trait::async_trait]
impl Provider for Scripted {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Scripted
    }

    async fn list(&self) -> Result<Vec<Session>, Error> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|(s, gone)| !gone && s.state.is_live())
            .map(|(s, _)| s)
            .collect())
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, Error> {
        Ok(self
            .all()?
            .into_iter()
            .find(|(s, _)| s.id == id)
            .filter(|(_, gone)| !gone)
            .map(|(s, _)| s))
    }

    async fn launch(&self, request: &LaunchRequest) -> Result<Session, Error> {
        let script = self.script()?;
        ProviderKind::Scripted.descriptor().check_launch(request)?;
        let resource = match &request.resource {
            Some(id) if !script.resources.iter().any(|r| &r.id == id) => {
                return Err(Error::invalid_input(format!(
                    "There is no resource {id:?}."
                )))
            }
            Some(id) => id.clone(),
            None => script
                .resources
                .first()
                .map(|r| r.id.clone())
                .ok_or_else(|| Error::invalid_input("The script has no resources."))?,
        };
        let params = check_values(&script.parameters, &request.params)?;
        let mut launched = self.launched()?;
        launched.next += 1;
        let record = Record {
            id: format!("run-{}", launched.next),
            name: format!("scripted-{}", launched.next),
            resource,
            created_at: Utc::now(),
            lifetime_minutes: request.timeout_minutes.unwrap_or(script.lifetime_minutes),
            params,
            ..Record::default()
        };
        launched.sessions.push(record.clone());
        self.save(&launched)?;
        let standing = script.standing(&record, record.created_at);
        Ok(self.session(&record, standing))
    }

    async fn extend(&self, _id: &str, _minutes: u32) -> Result<(), Error> {
        Err(Error::invalid_input(
            "Scripted sessions cannot be extended.",
        ))
    }

    /// Closes it: it takes no new work, drains, then completes.
    async fn stop(&self, id: &str) -> Result<(), Error> {
        match self.change(id, |r, _| {
            r.closed_at.get_or_insert(Utc::now());
        }) {
            Err(e) if e.code == ErrorCode::SessionGone => Ok(()),
            other => other,
        }
    }

    async fn cancel(&self, id: &str) -> Result<(), Error> {
        match self.change(id, |r, _| {
            r.cancelled_at.get_or_insert(Utc::now());
        }) {
            Err(e) if e.code == ErrorCode::SessionGone => Ok(()),
            other => other,
        }
    }

    async fn resources(&self) -> Result<Vec<Resource>, Error> {
        Ok(self
            .script()?
            .resources
            .into_iter()
            .map(|r| Resource::runbook(r.id, r.label))
            .collect())
    }

    async fn machines(&self) -> Result<Vec<Machine>, Error> {
        Ok(Vec::new())
    }

    /// Where the session stands now, then a line each time that changes, until it is over.
    async fn logs(&self, id: &str) -> Result<LogStream, Error> {
        self.log_line(id)?;
        let start = (self.clone(), id.to_owned(), None::<String>, false);
        Ok(Box::pin(futures::stream::unfold(
            start,
            |(this, id, last, over)| async move {
                if over {
                    return None;
                }
                loop {
                    match this.log_line(&id) {
                        Err(e) => return Some((Err(e), (this, id, last, true))),
                        Ok((message, ended)) if last.as_ref() != Some(&message) => {
                            let line = LogLine {
                                message: message.clone(),
                                level: "info".into(),
                                timestamp: Some(Utc::now()),
                            };
                            return Some((Ok(line), (this, id, Some(message), ended)));
                        }
                        Ok((_, true)) => return None,
                        Ok(_) => tokio::time::sleep(LOG_POLL).await,
                    }
                }
            },
        )))
    }

    async fn parameters(&self, _resource: &str) -> Result<Vec<Parameter>, Error> {
        Ok(self.script()?.parameters)
    }

    async fn prompts(&self, id: &str) -> Result<Vec<Prompt>, Error> {
        Ok(self.standing(id)?.prompt.into_iter().collect())
    }

    async fn respond(
        &self,
        id: &str,
        prompt_id: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let mut outcome = Ok(());
        self.change(id, |r, standing| match &standing.prompt {
            Some(p) if p.id == prompt_id => match check_values(&p.parameters, values) {
                Ok(values) => {
                    r.answers.insert(
                        p.id.clone(),
                        Answer {
                            at: Utc::now(),
                            values,
                        },
                    );
                }
                Err(e) => outcome = Err(e),
            },
            _ => {
                outcome = Err(Error::invalid_input(format!(
                    "Session {id} is not waiting for an answer to {prompt_id:?}."
                )))
            }
        })?;
        outcome
    }
}
