//! The Airplane client (docs/providers/airplane.md): runbook sessions over an RPC-style API
//! (`/v0/sessions/get`, `/v0/sessions/list`, `/v0/runbooks/execute`, prompts and runs). The
//! hosted service has closed; compatible servers keep the API, so the base URL is the account's
//! and has no default. Sessions have no deadline, no stop and no extend. The list is read once
//! in full, then incrementally (`updatedAfter`, written with `Z`).

mod map;
mod paging;
pub mod wire;
mod work;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use porthole_core::inputs::{Parameter, Prompt};
use porthole_core::model::{
    Detail, Job, LaunchRequest, Machine, ProviderKind, Resource, Session, SessionState,
};
use porthole_core::provider::{LogStream, Provider};
use porthole_core::{Error, ErrorCode};
use porthole_secrets::Sensitive;
use tokio::sync::Mutex;

use crate::http::{HttpClient, HttpError, RetryPolicy};
pub use map::{web_host, STUCK_AFTER};
pub use paging::PAGE;
use wire::{Execute, Executed, PromptGot, SessionList, Submit, WireRunbook, WireSession};

/// An incremental read starts this long before the last one did (clocks differ).
const OVERLAP: Duration = Duration::seconds(30);

#[derive(Debug, Clone)]
pub struct AirplaneConfig {
    pub account_id: String,
    /// The API base, `/v0` included.
    pub base_url: String,
    pub key: Sensitive<String>,
    /// `X-Team-ID`, when the key reaches several teams.
    pub team_id: Option<String>,
    /// `X-Airplane-Env-Slug`; the default environment without it.
    pub env: Option<String>,
    pub policy: RetryPolicy,
}

/// What the client knows of the sessions: read in full once, then what changed since.
#[derive(Default)]
struct Known {
    sessions: BTreeMap<String, Session>,
    /// When the last read began; `None` before the first full read.
    since: Option<DateTime<Utc>>,
}

/// A session as of one change: its id and its `updatedAt`.
type LabelKey = (String, Option<DateTime<Utc>>);

pub struct Airplane {
    account_id: String,
    api: HttpClient,
    web: Option<String>,
    known: Mutex<Known>,
    /// Ended runs' outputs (they no longer change).
    outputs: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
    /// What a waiting session asks, by session and its `updatedAt`; how an ended one came out.
    labels: Mutex<BTreeMap<LabelKey, Option<String>>>,
    /// Whether the key may launch (`None`: not asked yet).
    writable: Mutex<Option<bool>>,
}

impl Airplane {
    pub fn new(config: AirplaneConfig) -> Result<Self, Error> {
        crate::secure::over_https(&config.base_url, "API URL", "its API key is")?;
        let mut headers: Vec<(&str, &str)> = vec![("accept", "application/json")];
        if let Some(team) = config.team_id.as_deref().filter(|t| !t.trim().is_empty()) {
            headers.push(("x-team-id", team.trim()));
        }
        if let Some(env) = config.env.as_deref().filter(|e| !e.trim().is_empty()) {
            headers.push(("x-airplane-env-slug", env.trim()));
        }
        let api = HttpClient::new(&config.base_url, None, config.policy)?
            .with_headers(&headers)?
            .with_secret_header("x-airplane-api-key", &config.key)?;
        Ok(Self {
            account_id: config.account_id,
            web: map::web_host(&config.base_url),
            api,
            known: Mutex::new(Known::default()),
            outputs: Mutex::new(BTreeMap::new()),
            labels: Mutex::new(BTreeMap::new()),
            writable: Mutex::new(None),
        })
    }

    fn mapped(&self, raw: serde_json::Value) -> Option<Session> {
        let wire: WireSession = serde_json::from_value(raw.clone())
            .map_err(|e| tracing::debug!("an Airplane session row Porthole cannot read: {e}"))
            .ok()?;
        Some(map::session(
            &self.account_id,
            &wire,
            raw,
            self.web.as_deref(),
            Utc::now(),
        ))
    }

    /// A waiting session with what it asks, an ended one with how it came out (asked once per
    /// change; a failure to ask leaves the session as it is).
    async fn enriched(&self, mut session: Session) -> Session {
        let updated = session
            .raw
            .get("updatedAt")
            .and_then(|v| v.as_str())
            .and_then(wire::parse_time);
        let key = (session.id.clone(), updated);
        if let Some(label) = self.labels.lock().await.get(&key) {
            if label.is_some() {
                session.status_label = label.clone();
            }
            return session;
        }
        let label = match &session.state {
            SessionState::WaitingForInput => {
                match self.open_prompts(&session.id, session.created_at).await {
                    Ok(prompts) => Some(prompts.first().map(|p| p.message.clone())),
                    Err(e) => {
                        tracing::debug!(
                            "the prompt of {} cannot be read: {}",
                            session.id,
                            e.message
                        );
                        None
                    }
                }
            }
            SessionState::Ended(_) => Some(self.outcome(&session.id, session.created_at).await),
            _ => Some(None),
        };
        if let Some(label) = label {
            if label.is_some() {
                session.status_label = label.clone();
            }
            self.labels.lock().await.insert(key, label);
        }
        session
    }

    /// Brings what is known up to date: in full the first time, then what changed.
    async fn refresh(&self) -> Result<Vec<Session>, Error> {
        let mut known = self.known.lock().await;
        let started = Utc::now();
        let since = known
            .since
            .map(|t| (t - OVERLAP).to_rfc3339_opts(SecondsFormat::Secs, true));
        let filters: Vec<(&str, &str)> = since
            .as_deref()
            .map(|s| vec![("updatedAfter", s)])
            .unwrap_or_default();
        let rows = paging::read_all(&self.api, "sessions/list", "sessions", &filters).await?;
        for session in rows.into_iter().filter_map(|row| self.mapped(row)) {
            let session = if session.state == SessionState::WaitingForInput {
                self.enriched(session).await
            } else {
                session
            };
            known.sessions.insert(session.id.clone(), session);
        }
        known.since = Some(started);
        Ok(known.sessions.values().cloned().collect())
    }

    /// Whether the key may launch: asked once, with an execute that names no runbook (a
    /// writable key is told the runbook is missing, a read-only one is refused with 403).
    async fn may_launch(&self) -> Option<bool> {
        let mut writable = self.writable.lock().await;
        if writable.is_none() {
            let probe = self
                .api
                .send_json::<_, serde_json::Value>(
                    reqwest::Method::POST,
                    "runbooks/execute",
                    Some(&serde_json::json!({})),
                    None,
                )
                .await;
            *writable = match probe {
                Err(e) if e.status() == Some(403) => Some(false),
                Err(e) if matches!(e.status(), Some(400 | 404 | 422)) => Some(true),
                _ => None,
            };
        }
        *writable
    }

    /// The runbook's id or slug as given (its URL ends with its id).
    fn runbook_of(resource: Option<&str>) -> Result<String, Error> {
        let runbook = resource
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                Error::invalid_input("Name the runbook to run (its slug or rbk… id).")
            })?;
        Ok(runbook
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(runbook)
            .to_owned())
    }

    /// The session by id, with its prompt or outcome (`None`: Airplane does not know it).
    async fn fetch(&self, id: &str) -> Result<Option<Session>, Error> {
        match self
            .api
            .get_json::<serde_json::Value>("sessions/get", &[("id", id)], false)
            .await
        {
            Ok(raw) => match self.mapped(raw) {
                Some(s) => Ok(Some(self.enriched(s).await)),
                None => Ok(None),
            },
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(api_error(e, ErrorCode::SessionGone)),
        }
    }

    /// When the session began (its runs are read from then on).
    async fn began(&self, id: &str) -> Result<DateTime<Utc>, Error> {
        if let Some(s) = self.known.lock().await.sessions.get(id) {
            return Ok(s.created_at);
        }
        self.fetch(id).await?.map(|s| s.created_at).ok_or_else(|| {
            Error::new(
                ErrorCode::SessionGone,
                format!("Airplane has no session {id}."),
            )
        })
    }

    /// A prompt's answer or refusal, with Airplane's refusals in plain words.
    async fn answer_prompt(&self, path: &str, body: &serde_json::Value) -> Result<(), Error> {
        self.api
            .send_json::<_, serde_json::Value>(reqwest::Method::POST, path, Some(body), None)
            .await
            .map(|_| ())
            .map_err(|e| match e.status() {
                Some(409) => Error::invalid_input(format!(
                    "This prompt was already answered or refused: {}",
                    e.into_error(ErrorCode::InvalidInput).message
                )),
                Some(404) => Error::new(ErrorCode::SessionGone, "Airplane has no such prompt."),
                _ => api_error(e, ErrorCode::SessionGone),
            })
    }
}

/// Airplane's refusals in plain words (`{error, code}` bodies).
pub(crate) fn api_error(err: HttpError, not_found: ErrorCode) -> Error {
    let status = err.status();
    let e = err.into_error(not_found);
    match status {
        Some(403) => Error::new(
            ErrorCode::Unauthorized,
            format!(
                "This API key may not do that (it may be read-only): {}",
                e.message
            ),
        ),
        Some(409 | 423) => Error::invalid_input(format!(
            "Airplane is busy with another request on the same thing; try again in a moment: {}",
            e.message
        )),
        _ => e,
    }
}

#[async_trait::async_trait]
impl Provider for Airplane {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Airplane
    }

    /// The live sessions (Pending, Active, Waiting, Cancelling, and any status not known).
    async fn list(&self) -> Result<Vec<Session>, Error> {
        Ok(self
            .refresh()
            .await?
            .into_iter()
            .filter(|s| s.state.is_live())
            .collect())
    }

    async fn finished(&self) -> Result<Vec<Session>, Error> {
        let mut ended: Vec<Session> = self
            .refresh()
            .await?
            .into_iter()
            .filter(|s| !s.state.is_live())
            .collect();
        ended.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok(ended)
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, Error> {
        self.fetch(id).await
    }

    /// One cheap call: the first session, if any.
    async fn check_access(&self) -> Result<(), Error> {
        self.api
            .get_json::<SessionList>("sessions/list", &[("limit", "1")], false)
            .await
            .map(|_| ())
            .map_err(|e| api_error(e, ErrorCode::InvalidResponse))
    }

    /// Whether the key may launch and answer, or only read.
    async fn account_details(&self) -> Result<Vec<Detail>, Error> {
        Ok(match self.may_launch().await {
            Some(true) => vec![Detail::text("Access", "launch and answer")],
            Some(false) => vec![Detail::text(
                "Access",
                "read-only: launching and answering are refused",
            )],
            None => Vec::new(),
        })
    }

    /// Executes the runbook (its id `rbk…` or its slug), with its values as strings, under an
    /// `Idempotency-Key`: a retried request starts no second session.
    async fn launch(&self, request: &LaunchRequest) -> Result<Session, Error> {
        ProviderKind::Airplane.descriptor().check_launch(request)?;
        let runbook = Self::runbook_of(request.resource.as_deref())?;
        let by_id = runbook.starts_with("rbk");
        let body = Execute {
            id: by_id.then(|| runbook.clone()),
            slug: (!by_id).then(|| runbook.clone()),
            param_values: request.params.clone(),
        };
        let key = uuid::Uuid::new_v4().to_string();
        let executed: Executed = self
            .api
            .clone()
            .with_headers(&[("idempotency-key", key.as_str())])?
            .send_idempotent("runbooks/execute", &body)
            .await
            .map_err(|e| match e.status() {
                Some(404) => Error::invalid_input(format!(
                    "Airplane has no runbook {runbook:?} (give its slug, its rbk… id or its URL)."
                )),
                _ => api_error(e, ErrorCode::InvalidInput),
            })?;
        let id = executed
            .session_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidResponse,
                    "Airplane started the runbook but named no session.",
                )
            })?;
        let session = self.fetch(&id).await?.ok_or_else(|| {
            Error::new(
                ErrorCode::SessionGone,
                format!("Airplane started session {id} but does not know it."),
            )
        })?;
        self.known
            .lock()
            .await
            .sessions
            .insert(session.id.clone(), session.clone());
        Ok(session)
    }

    async fn extend(&self, _id: &str, _minutes: u32) -> Result<(), Error> {
        Err(Error::invalid_input(
            "Airplane sessions have no time limit to extend.",
        ))
    }

    async fn stop(&self, _id: &str) -> Result<(), Error> {
        Err(Error::invalid_input(
            "Airplane sessions cannot be stopped through its API: a session ends when its \
             runbook does (answer or refuse its prompt to move it on).",
        ))
    }

    /// The runbooks this account has run (the API has no runbook list), the latest first.
    async fn resources(&self) -> Result<Vec<Resource>, Error> {
        let sessions = self.refresh().await?;
        let mut latest: BTreeMap<String, (DateTime<Utc>, String)> = BTreeMap::new();
        for s in &sessions {
            if let Some(rb) = &s.resource {
                let entry = latest
                    .entry(rb.clone())
                    .or_insert((s.created_at, s.name.clone()));
                if s.created_at > entry.0 {
                    *entry = (s.created_at, s.name.clone());
                }
            }
        }
        let mut runbooks: Vec<(String, (DateTime<Utc>, String))> = latest.into_iter().collect();
        runbooks.sort_by_key(|(_, (at, _))| std::cmp::Reverse(*at));
        Ok(runbooks
            .into_iter()
            .map(|(id, (_, name))| Resource::runbook(id.clone(), format!("{id} (last: {name})")))
            .collect())
    }

    async fn machines(&self) -> Result<Vec<Machine>, Error> {
        Ok(Vec::new())
    }

    async fn logs(&self, _id: &str) -> Result<LogStream, Error> {
        Err(Error::invalid_input(
            "Airplane sessions have no log in its API; their runs show as jobs.",
        ))
    }

    async fn parameters(&self, resource: &str) -> Result<Vec<Parameter>, Error> {
        Ok(self.schema(resource).await?.unwrap_or_default())
    }

    /// The runbook's parameters: from `runbooks/get` where the server has it (an internal
    /// call of Airplane's CLI), else from its newest session. `None` when neither tells.
    async fn schema(&self, resource: &str) -> Result<Option<Vec<Parameter>>, Error> {
        let runbook = Self::runbook_of(Some(resource))?;
        let by = if runbook.starts_with("rbk") {
            "runbookID"
        } else {
            "runbookSlug"
        };
        match self
            .api
            .get_json::<WireRunbook>("runbooks/get", &[(by, runbook.as_str())], false)
            .await
        {
            Ok(got) => {
                let mut got = got;
                let inner = match got.runbook.take() {
                    Some(runbook) => *runbook,
                    None => got,
                };
                if let Some(params) = inner.params {
                    return Ok(Some(map::parameters(&params)));
                }
            }
            Err(e) if matches!(e.status(), Some(400 | 404 | 405 | 501)) => {}
            Err(e) => return Err(api_error(e, ErrorCode::InvalidResponse)),
        }
        let list: SessionList = self
            .api
            .get_json(
                "sessions/list",
                &[("runbookID", runbook.as_str()), ("limit", "1")],
                false,
            )
            .await
            .map_err(|e| api_error(e, ErrorCode::InvalidResponse))?;
        Ok(list
            .sessions
            .into_iter()
            .next()
            .and_then(|raw| serde_json::from_value::<WireSession>(raw).ok())
            .and_then(|s| s.params)
            .map(|params| map::parameters(&params)))
    }

    async fn jobs(&self, id: &str) -> Result<Vec<Job>, Error> {
        let began = self.began(id).await?;
        self.work(id, began).await
    }

    async fn prompts(&self, id: &str) -> Result<Vec<Prompt>, Error> {
        let began = self.began(id).await?;
        self.open_prompts(id, began).await
    }

    /// Submits the answer, checked against the prompt's fields first (a missing one is named),
    /// its values as strings.
    async fn respond(
        &self,
        id: &str,
        prompt_id: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let got: PromptGot = self
            .api
            .get_json("prompts/get", &[("id", prompt_id)], false)
            .await
            .map_err(|e| api_error(e, ErrorCode::SessionGone))?;
        let prompt = got.prompt.ok_or_else(|| {
            Error::new(
                ErrorCode::SessionGone,
                format!("Airplane has no prompt {prompt_id}."),
            )
        })?;
        if !prompt.is_open() {
            return Err(Error::invalid_input(format!(
                "Prompt {prompt_id} of {id} was already answered or refused."
            )));
        }
        let values = porthole_core::inputs::check_values(&map::prompt(&prompt).parameters, values)?;
        let body = serde_json::to_value(Submit {
            id: prompt_id,
            values: &values,
        })
        .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
        self.answer_prompt("prompts/submit", &body).await
    }

    async fn reject(&self, _id: &str, prompt_id: &str) -> Result<(), Error> {
        self.answer_prompt("prompts/cancel", &serde_json::json!({ "id": prompt_id }))
            .await
    }
}
