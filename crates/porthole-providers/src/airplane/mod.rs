//! The Airplane client (docs/providers/airplane.md): runbook sessions over an RPC-style API
//! (`/v0/sessions/get`, `/v0/sessions/list`, `/v0/runbooks/execute`, prompts and runs). The
//! hosted service has closed; compatible servers keep the API, so the base URL is the account's
//! and has no default. Sessions have no deadline, no stop and no extend. The list is read once
//! in full, then incrementally (`updatedAfter`, written with `Z`).

mod labels;
mod map;
mod paging;
mod prompts;
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
use wire::{Execute, Executed, SessionList, WireRunbook, WireSession};

/// An incremental read asks for what changed since this long before the newest change seen.
const OVERLAP: Duration = Duration::seconds(30);

/// The list is read whole again this often (sessions that vanished are dropped then).
const FULL_EVERY: Duration = Duration::minutes(10);

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

/// What the client knows of the sessions: read in full now and then, what changed in between.
#[derive(Default)]
struct Known {
    sessions: BTreeMap<String, Session>,
    /// The newest `updatedAt` read (the server's clock, not ours); `None`: read in full next.
    newest: Option<DateTime<Utc>>,
    /// When the last full read was (our clock).
    full_at: Option<DateTime<Utc>>,
}

pub struct Airplane {
    account_id: String,
    api: HttpClient,
    web: Option<String>,
    known: Mutex<Known>,
    /// Held through a whole read of the list, so reads do not overlap; `known` is locked only
    /// to merge what was read.
    reading: Mutex<()>,
    /// Ended runs' outputs (they no longer change).
    outputs: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
    labels: labels::Labels,
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
            reading: Mutex::new(()),
            outputs: Mutex::new(BTreeMap::new()),
            labels: labels::Labels::default(),
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

    /// Brings what is known up to date: in full now and then (sessions gone from the server
    /// are dropped), otherwise what changed since shortly before the newest change read.
    async fn refresh(&self) -> Result<Vec<Session>, Error> {
        let _one = self.reading.lock().await;
        let now = Utc::now();
        let newest = {
            let known = self.known.lock().await;
            known
                .newest
                .filter(|_| known.full_at.is_some_and(|at| now - at < FULL_EVERY))
        };
        let since = newest.map(|t| (t - OVERLAP).to_rfc3339_opts(SecondsFormat::Secs, true));
        let filters: Vec<(&str, &str)> = since
            .as_deref()
            .map(|s| vec![("updatedAfter", s)])
            .unwrap_or_default();
        let rows = paging::read_all(&self.api, "sessions/list", "sessions", &filters).await?;
        let mut read = Vec::new();
        for session in rows.into_iter().filter_map(|row| self.mapped(row)) {
            read.push(if session.state == SessionState::WaitingForInput {
                self.enriched(session).await
            } else {
                session
            });
        }
        let mut known = self.known.lock().await;
        if newest.is_none() {
            known.sessions.clear();
            known.full_at = Some(now);
        }
        for session in read {
            let updated = labels::updated_at(&session);
            known.newest = known.newest.max(updated);
            known.sessions.insert(session.id.clone(), session);
        }
        Ok(known.sessions.values().map(|s| self.as_of_now(s)).collect())
    }

    /// A session as it reads now: a cancel's time stuck is counted from its last change.
    fn as_of_now(&self, session: &Session) -> Session {
        match session.state {
            SessionState::Stopping => self
                .mapped(session.raw.clone())
                .unwrap_or_else(|| session.clone()),
            _ => session.clone(),
        }
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

    /// The runbook's id or slug as given; a runbook's URL ends with its id (a query or a
    /// fragment after it is not part of it).
    fn runbook_of(resource: Option<&str>) -> Result<String, Error> {
        let runbook = resource
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                Error::invalid_input("Name the runbook to run (its slug or rbk… id).")
            })?;
        let path = match url::Url::parse(runbook) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url.path().to_owned(),
            _ => runbook.to_owned(),
        };
        Ok(path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|last| !last.is_empty())
            .unwrap_or(runbook)
            .to_owned())
    }

    /// The session by id as Airplane has it (`None`: it does not know it).
    async fn plain(&self, id: &str) -> Result<Option<Session>, Error> {
        match self
            .api
            .get_json::<serde_json::Value>("sessions/get", &[("id", id)], false)
            .await
        {
            Ok(raw) => Ok(self.mapped(raw)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(api_error(e, ErrorCode::SessionGone)),
        }
    }

    /// The session by id, with its prompt or outcome.
    async fn fetch(&self, id: &str) -> Result<Option<Session>, Error> {
        match self.plain(id).await? {
            Some(s) => Ok(Some(self.enriched(s).await)),
            None => Ok(None),
        }
    }

    /// When the session began (its runs are read from then on).
    async fn began(&self, id: &str) -> Result<DateTime<Utc>, Error> {
        if let Some(s) = self.known.lock().await.sessions.get(id) {
            return Ok(s.created_at);
        }
        self.plain(id).await?.map(|s| s.created_at).ok_or_else(|| {
            Error::new(
                ErrorCode::SessionGone,
                format!("Airplane has no session {id}."),
            )
        })
    }
}

/// Airplane's refusals in plain words (`{error, code}` bodies).
pub(crate) fn api_error(err: HttpError, not_found: ErrorCode) -> Error {
    if let HttpError::Status {
        status: 403,
        detail,
        ..
    } = &err
    {
        // A key that may read but not do this: said in Airplane's words, not as a wrong key.
        return Error::new(
            ErrorCode::Unauthorized,
            format!("This API key may not do that (it may be read-only): {detail}"),
        );
    }
    let status = err.status();
    let e = err.into_error(not_found);
    match status {
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
        let by_id = is_runbook_id(&runbook);
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
        // Started: a read that fails now must not say otherwise (a retry would start another).
        let session = match self.fetch(&id).await {
            Ok(Some(session)) => session,
            outcome => {
                if let Err(e) = outcome {
                    tracing::debug!("session {id} started but cannot be read yet: {}", e.message);
                }
                let pending = wire::WireSession {
                    id: id.clone(),
                    runbook_id: by_id.then(|| runbook.clone()),
                    status: Some(wire::Status::Pending),
                    ..wire::WireSession::default()
                };
                let raw = serde_json::json!({ "id": id });
                map::session(
                    &self.account_id,
                    &pending,
                    raw,
                    self.web.as_deref(),
                    Utc::now(),
                )
            }
        };
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
        let by_id = is_runbook_id(&runbook);
        let by = if by_id { "runbookID" } else { "runbookSlug" };
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
        // Sessions name their runbook by id only: a slug's newest session cannot be found.
        if !by_id {
            return Ok(None);
        }
        let list: SessionList = match self
            .api
            .get_json(
                "sessions/list",
                &[("runbookID", runbook.as_str()), ("limit", "1")],
                false,
            )
            .await
        {
            Ok(list) => list,
            Err(e) if e.status() == Some(400) => return Ok(None),
            Err(e) => return Err(api_error(e, ErrorCode::InvalidResponse)),
        };
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
        self.submit(id, prompt_id, values).await
    }

    async fn reject(&self, id: &str, prompt_id: &str) -> Result<(), Error> {
        self.refuse(id, prompt_id).await
    }
}

/// A runbook's id (`rbk` and its date), not a slug that happens to start so (`rbk-cleanup`).
fn is_runbook_id(runbook: &str) -> bool {
    runbook
        .strip_prefix("rbk")
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runbook_is_its_slug_its_id_or_the_last_segment_of_its_url() {
        let of = |r: &str| Airplane::runbook_of(Some(r)).unwrap();
        assert_eq!(of(" deploy "), "deploy");
        assert_eq!(
            of("https://app.airplane.dev/runbooks/rbk20220120z15kl79/"),
            "rbk20220120z15kl79"
        );
        assert_eq!(
            of("https://app.airplane.dev/runbooks/rbk20220120z15kl79?__env=prod#top"),
            "rbk20220120z15kl79"
        );
        assert!(Airplane::runbook_of(Some("  ")).is_err());
        assert!(is_runbook_id("rbk20220120z15kl79"));
        assert!(!is_runbook_id("rbk-cleanup"), "a slug that starts so");
        assert!(!is_runbook_id("deploy"));
    }
}
