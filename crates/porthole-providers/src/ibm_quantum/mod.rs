//! The IBM Quantum Runtime client (docs/providers/ibm-quantum.md): sessions on QPU backends,
//! listed through `/workloads`, each read from `/sessions/{id}`; launched with a mode and a
//! lifetime; closed (draining) or cancelled; never extended (IBM has no such call). Every call
//! carries an IAM access token (`auth.rs`), the instance CRN (`Service-CRN`) and the API version.

mod auth;
mod map;
#[cfg(test)]
mod watch_tests;
pub mod wire;

use chrono::Utc;
use porthole_core::model::{Detail, Job, LaunchRequest, Machine, ProviderKind, Resource, Session};
use porthole_core::provider::{LogStream, Provider};
use porthole_core::{Error, ErrorCode};
use porthole_secrets::Sensitive;
use reqwest::Method;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Serialize;

use crate::http::{HttpClient, HttpError, RetryPolicy};
pub use auth::DEFAULT_IAM_URL;
pub use map::UNUSED_LIMIT;
use wire::{CreateSession, Devices, JobsPage, UpdateSession, Usage, WireSession, WorkloadsPage};

/// The API version every call names: backends come as `devices[]` from 2025-01-01 on; this is
/// the one IBM's Python client pins.
pub const API_VERSION: &str = "2026-04-15";

/// The workload modes that are sessions.
const SESSION_MODES: [&str; 2] = ["session", "batch"];

/// At most this many pages of workloads per mode (a server whose cursor loops stops here).
const MAX_PAGES: usize = 50;

#[derive(Debug, Clone)]
pub struct IbmQuantumConfig {
    pub account_id: String,
    /// The API base, `/v1` included (`https://quantum.cloud.ibm.com/api/v1`).
    pub base_url: String,
    /// The instance CRN.
    pub instance: String,
    /// Where the key is exchanged (`DEFAULT_IAM_URL` unless the account says otherwise).
    pub iam_url: String,
    pub key: Sensitive<String>,
    pub policy: RetryPolicy,
}

pub struct IbmQuantum {
    account_id: String,
    api: HttpClient,
    iam: auth::Iam,
}

/// The CRN's region (its sixth field), checked to be an IBM Quantum instance's CRN.
pub fn crn_region(crn: &str) -> Result<&str, Error> {
    let fields: Vec<&str> = crn.trim().split(':').collect();
    match fields.as_slice() {
        // A region is a name (`us-east`, `eu-de`): it becomes part of a host name.
        ["crn", "v1", _, _, "quantum-computing", region, ..]
            if !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') =>
        {
            Ok(region)
        }
        _ => Err(Error::invalid_input(format!(
            "{crn:?} is not an IBM Quantum instance CRN (crn:v1:bluemix:public:quantum-computing:\
             <region>:a/<account>:<instance>::). Copy it from the instance's page."
        ))),
    }
}

/// The API base of the us-east region, which the descriptor offers new accounts.
pub const US_EAST_BASE_URL: &str = "https://quantum.cloud.ibm.com/api/v1";

/// The API base for the CRN's region: us-east on the plain host, any other on its own.
pub fn regional_base_url(crn: &str) -> Result<String, Error> {
    Ok(match crn_region(crn)? {
        "us-east" => US_EAST_BASE_URL.to_owned(),
        region => format!("https://{region}.quantum.cloud.ibm.com/api/v1"),
    })
}

impl IbmQuantum {
    pub fn new(config: IbmQuantumConfig) -> Result<Self, Error> {
        crn_region(&config.instance)?;
        // The key goes to IAM and the token to the API.
        let credentials = "IBM Cloud credentials are";
        crate::secure::over_https(&config.base_url, "API base URL", credentials)?;
        crate::secure::over_https(&config.iam_url, "IAM URL", credentials)?;
        let api = HttpClient::new(&config.base_url, None, config.policy)?.with_headers(&[
            ("service-crn", config.instance.trim()),
            ("ibm-api-version", API_VERSION),
            ("accept", "application/json"),
        ])?;
        Ok(Self {
            account_id: config.account_id,
            api,
            iam: auth::Iam::new(&config.iam_url, config.key, config.policy)?,
        })
    }

    /// Runs one API call with a token, exchanging the key again once if the API refuses it.
    async fn call<T, F, Fut>(&self, not_found: ErrorCode, run: F) -> Result<T, Error>
    where
        F: Fn(HttpClient) -> Fut,
        Fut: std::future::Future<Output = Result<T, HttpError>>,
    {
        let token = self.iam.token().await?;
        match run(self.api.with_key(token.clone())).await {
            Err(e) if e.status() == Some(401) => {
                self.iam.forget(&token).await;
                let again = self.iam.token().await?;
                run(self.api.with_key(again))
                    .await
                    .map_err(|e| api_error(e, not_found))
            }
            other => other.map_err(|e| api_error(e, not_found)),
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        not_found: ErrorCode,
    ) -> Result<T, Error> {
        self.call(not_found, |http| async move {
            http.get_json(path, query, true).await
        })
        .await
    }

    async fn send<B: Serialize + Sync + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        not_found: ErrorCode,
    ) -> Result<T, Error> {
        self.call(not_found, |http| {
            let method = method.clone();
            async move { http.send_json(method, path, body, None).await }
        })
        .await
    }

    /// One session as IBM has it now (closed ones too); `None` when IBM does not know it.
    /// `backend`: where it runs, when known from elsewhere (IBM leaves `backend_name` null
    /// while a session is open).
    async fn read(&self, id: &str, backend: Option<&str>) -> Result<Option<Session>, Error> {
        let path = format!("sessions/{}", segment(id)?);
        match self
            .get::<serde_json::Value>(&path, &[], ErrorCode::SessionGone)
            .await
        {
            Ok(raw) => Ok(Some(self.mapped(raw, backend)?)),
            Err(e) if e.code == ErrorCode::SessionGone => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn mapped(&self, raw: serde_json::Value, backend: Option<&str>) -> Result<Session, Error> {
        let wire: WireSession = serde_json::from_value(raw.clone()).map_err(|e| {
            Error::new(
                ErrorCode::InvalidResponse,
                format!("IBM Quantum sent a session Porthole cannot read: {e}"),
            )
        })?;
        let mut session = map::session(&self.account_id, &wire, raw, Utc::now());
        if session.resource.is_none() {
            session.resource = backend.map(str::to_owned);
        }
        Ok(session)
    }

    /// The instance's live session workloads (id and backend), every page, both modes.
    async fn live_ids(&self) -> Result<Vec<(String, Option<String>)>, Error> {
        let mut ids = Vec::new();
        for mode in SESSION_MODES {
            let mut page: WorkloadsPage = self
                .get(
                    "workloads",
                    &[
                        ("mode", mode),
                        ("status", "pending"),
                        ("status", "in_progress"),
                        ("sort", "-createdAt"),
                        ("limit", "50"),
                    ],
                    ErrorCode::InvalidResponse,
                )
                .await?;
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..MAX_PAGES {
                ids.extend(
                    page.workloads
                        .iter()
                        .map(|w| (w.id.clone(), w.backend.clone())),
                );
                let Some(href) = page.next.and_then(|n| n.href).filter(|h| !h.is_empty()) else {
                    break;
                };
                let path = self
                    .api
                    .same_origin_path(&href)
                    .map_err(|e| e.into_error(ErrorCode::InvalidResponse))?;
                if !seen.insert(path.clone()) {
                    break;
                }
                page = self.get(&path, &[], ErrorCode::InvalidResponse).await?;
            }
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// The backend, refused with IBM's reason unless it is online.
    async fn launchable(&self, backend: &str) -> Result<(), Error> {
        let devices: Devices = self
            .get("backends", &[], ErrorCode::InvalidResponse)
            .await?;
        let device = devices
            .devices
            .iter()
            .find(|d| d.name == backend)
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "There is no backend {backend:?} on this instance: `porthole resources` \
                     lists them."
                ))
            })?;
        match map::resource(device).availability {
            porthole_core::model::Availability::Unavailable { reason } => {
                Err(Error::invalid_input(format!(
                    "{backend} cannot take a session now ({reason}): choose an online backend."
                )))
            }
            _ => Ok(()),
        }
    }
}

/// A path segment that cannot step outside `sessions/`.
fn segment(id: &str) -> Result<&str, Error> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::new(
            ErrorCode::SessionGone,
            format!("{id:?} is not an IBM Quantum session id."),
        ));
    }
    Ok(id)
}

/// The API's refusals: after IAM accepted the key, a 401 or 403 means this key may not use the
/// instance (an unknown or foreign CRN), never that the key is wrong.
fn api_error(err: HttpError, not_found: ErrorCode) -> Error {
    match err.status() {
        Some(401 | 403) => Error::new(
            ErrorCode::Unauthorized,
            format!(
                "The instance (its CRN) is not authorized for this IBM Cloud API key: {}",
                err.into_error(ErrorCode::Unauthorized).message
            ),
        ),
        Some(503) => {
            let e = err.into_error(not_found);
            Error::new(
                ErrorCode::UpstreamUnavailable,
                format!("IBM Quantum is under maintenance: {}", e.message),
            )
        }
        _ => err.into_error(not_found),
    }
}

#[async_trait::async_trait]
impl Provider for IbmQuantum {
    fn kind(&self) -> ProviderKind {
        ProviderKind::IbmQuantum
    }

    async fn list(&self) -> Result<Vec<Session>, Error> {
        let mut sessions = Vec::new();
        for (id, backend) in self.live_ids().await? {
            if let Some(session) = self.read(&id, backend.as_deref()).await? {
                if session.state.is_live() {
                    sessions.push(session);
                }
            }
        }
        Ok(sessions)
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, Error> {
        self.read(id, None).await
    }

    /// The key is exchanged and the instance's backends listed: a wrong key and a CRN this key
    /// may not use fail differently, before anything is saved.
    async fn check_access(&self) -> Result<(), Error> {
        self.resources().await.map(|_| ())
    }

    async fn launch(&self, request: &LaunchRequest) -> Result<Session, Error> {
        let descriptor = ProviderKind::IbmQuantum.descriptor();
        descriptor.check_launch(request)?;
        let backend = request
            .resource
            .as_deref()
            .filter(|b| !b.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid_input("Choose a backend (a QPU) to open the session on.")
            })?;
        let mode = request
            .mode
            .as_deref()
            .or(descriptor.launch.modes.first().copied())
            .unwrap_or("dedicated");
        let minutes = request
            .timeout_minutes
            .unwrap_or(descriptor.lifetime.default_minutes);
        self.launchable(backend).await?;
        let body = CreateSession {
            mode,
            max_ttl: i64::from(minutes) * 60,
            backend,
            backend_name: backend,
        };
        let raw: serde_json::Value = self
            .send(
                Method::POST,
                "sessions",
                Some(&body),
                ErrorCode::InvalidInput,
            )
            .await
            .map_err(|e| plan_refusal(e, mode))?;
        self.mapped(raw, Some(backend))
    }

    async fn extend(&self, _id: &str, _minutes: u32) -> Result<(), Error> {
        Err(Error::invalid_input(
            "IBM Quantum sessions cannot be extended: relaunch with a longer limit.",
        ))
    }

    /// Close: no new jobs, queued ones finish, then it closes by itself. Already gone: closed.
    async fn stop(&self, id: &str) -> Result<(), Error> {
        let path = format!("sessions/{}", segment(id)?);
        let body = UpdateSession {
            accepting_jobs: false,
        };
        match self
            .send::<_, IgnoredAny>(Method::PATCH, &path, Some(&body), ErrorCode::SessionGone)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code == ErrorCode::SessionGone => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Cancel: queued jobs fail, the running one finishes, and it closes now.
    async fn cancel(&self, id: &str) -> Result<(), Error> {
        let path = format!("sessions/{}/close", segment(id)?);
        match self
            .send::<(), IgnoredAny>(Method::DELETE, &path, None, ErrorCode::SessionGone)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code == ErrorCode::SessionGone => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The instance's QPU usage against its limit (`GET /instances/usage`).
    async fn account_details(&self) -> Result<Vec<Detail>, Error> {
        let usage: Usage = self
            .get("instances/usage", &[], ErrorCode::InvalidResponse)
            .await?;
        Ok(vec![map::usage(&usage)])
    }

    /// The session's jobs, newest first (IBM's defaults: 200 at most, without their params).
    async fn jobs(&self, id: &str) -> Result<Vec<Job>, Error> {
        let page: JobsPage = self
            .get(
                "jobs",
                &[
                    ("session_id", segment(id)?),
                    ("limit", "200"),
                    ("exclude_params", "true"),
                    ("sort", "DESC"),
                ],
                ErrorCode::SessionGone,
            )
            .await?;
        let mut jobs: Vec<Job> = page.jobs.iter().map(map::job).collect();
        jobs.sort_by_key(|j| std::cmp::Reverse(j.created_at));
        Ok(jobs)
    }

    async fn resources(&self) -> Result<Vec<Resource>, Error> {
        let devices: Devices = self
            .get("backends", &[], ErrorCode::InvalidResponse)
            .await?;
        Ok(devices.devices.iter().map(map::resource).collect())
    }

    async fn machines(&self) -> Result<Vec<Machine>, Error> {
        Ok(Vec::new())
    }

    async fn logs(&self, _id: &str) -> Result<LogStream, Error> {
        Err(Error::invalid_input(
            "IBM Quantum sessions have no log: their jobs are listed instead.",
        ))
    }
}

/// An Open Plan instance refusing a dedicated session, in plain words.
fn plan_refusal(err: Error, mode: &str) -> Error {
    let message = err.message.to_ascii_lowercase();
    let about_plan = message.contains("plan") || message.contains("dedicated");
    if mode == "dedicated" && about_plan && err.code == ErrorCode::InvalidInput {
        return Error::invalid_input(format!(
            "This instance's plan cannot open dedicated sessions (the Open Plan runs jobs and \
             batches only): launch with --mode batch. IBM said: {}",
            err.message
        ));
    }
    err
}
