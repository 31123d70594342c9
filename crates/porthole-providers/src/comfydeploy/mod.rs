//! The ComfyDeploy sessions API client (docs/providers/comfydeploy.md). portholed speaks the same
//! dialect, so the Local account uses this client too, tagged [`ProviderKind::Portholed`].

mod map;
pub mod wire;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use porthole_core::model::{
    LaunchRequest, LogLine, Machine, ProviderKind, Resource, Session, SessionState,
};
use porthole_core::provider::{LogStream, Provider};
use porthole_core::{Error, ErrorCode};
use porthole_local::pinned::Pin;
use porthole_secrets::Sensitive;
use reqwest::Method;
use tokio::sync::Mutex;

use crate::http::{HttpClient, HttpError, RetryPolicy};
use wire::{
    CreateSessionBody, CreateSessionResponse, DeleteSessionResponse, IncreaseTimeoutBody, LogEvent,
    MachineListItem, MessageResponse, SessionResponse,
};

/// How long GPU prices are reused before being fetched again.
const PRICING_TTL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
pub struct ComfyDeployConfig {
    pub account_id: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub key: Sensitive<String>,
    pub policy: RetryPolicy,
    /// A paired portholed's certificate: TLS accepts that one only.
    pub pin: Option<Pin>,
}

pub struct ComfyDeploy {
    account_id: String,
    kind: ProviderKind,
    http: HttpClient,
    /// The key's own user, decoded from the JWT: S3 is org-wide and we list only ours.
    user_id: Option<String>,
    pricing: Mutex<Option<(Instant, BTreeMap<String, f64>)>>,
}

impl ComfyDeploy {
    pub fn new(config: ComfyDeployConfig) -> Result<Self, Error> {
        let user_id = map::jwt_user_id(config.key.expose());
        let mut http = HttpClient::new(&config.base_url, Some(config.key), config.policy)?;
        if let Some(pin) = config.pin {
            http = http.with_pin(pin)?;
        }
        Ok(Self {
            account_id: config.account_id,
            kind: config.kind,
            http,
            user_id,
            pricing: Mutex::new(None),
        })
    }

    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }

    /// USD per second by GPU name (P1, no auth), cached. Prices are decoration: a failure to
    /// fetch them leaves sessions unpriced rather than failing the call.
    async fn prices(&self) -> BTreeMap<String, f64> {
        let mut cache = self.pricing.lock().await;
        if let Some((at, prices)) = cache.as_ref() {
            if at.elapsed() < PRICING_TTL {
                return prices.clone();
            }
        }
        match self.fetch_prices().await {
            Ok(prices) => {
                *cache = Some((Instant::now(), prices.clone()));
                prices
            }
            Err(err) => {
                tracing::debug!("GPU prices unavailable: {}", err.message);
                BTreeMap::new()
            }
        }
    }

    async fn fetch_prices(&self) -> Result<BTreeMap<String, f64>, Error> {
        self.http
            .get_json("platform/gpu-pricing", &[], false)
            .await
            .map_err(|e| e.into_error(ErrorCode::InvalidResponse))
    }

    async fn machine_items(&self) -> Result<Vec<MachineListItem>, Error> {
        // §5.14: the docker (non-workspace) machines, then the workspace ones; deleted excluded.
        let mut items: Vec<MachineListItem> = self
            .http
            .get_json(
                "machines",
                &[("is_docker", "true"), ("is_deleted", "false")],
                true,
            )
            .await
            .map_err(|e| e.into_error(ErrorCode::InvalidResponse))?;
        let workspace: Vec<MachineListItem> = self
            .http
            .get_json(
                "machines",
                &[("is_workspace", "true"), ("is_deleted", "false")],
                true,
            )
            .await
            .map_err(|e| e.into_error(ErrorCode::InvalidResponse))?;
        for item in workspace {
            if !items.iter().any(|m| m.id == item.id) {
                items.push(item);
            }
        }
        Ok(items)
    }

    fn session(&self, wire: SessionResponse, prices: &BTreeMap<String, f64>) -> Session {
        map::session(&self.account_id, self.kind, wire, prices, Utc::now())
    }
}

#[async_trait::async_trait]
impl Provider for ComfyDeploy {
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    async fn list(&self) -> Result<Vec<Session>, Error> {
        let sessions: Vec<SessionResponse> = self
            .http
            .get_json("sessions", &[], true)
            .await
            .map_err(|e| e.into_error(ErrorCode::InvalidResponse))?;
        let prices = self.prices().await;
        Ok(sessions
            .into_iter()
            .filter(|s| match (&self.user_id, &s.user_id) {
                (Some(me), Some(owner)) => me == owner,
                _ => true,
            })
            .map(|s| self.session(s, &prices))
            .collect())
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, Error> {
        match self
            .http
            .get_json::<SessionResponse>(&format!("session/{}", map::path_segment(id)), &[], true)
            .await
        {
            Ok(wire) => {
                let prices = self.prices().await;
                Ok(Some(self.session(wire, &prices)))
            }
            // portholed says why it ended (a day long): an ended session, not a vanished one.
            Err(HttpError::Status {
                status: 404,
                ended: Some(ended),
                ..
            }) => Ok(map::ended_wire(id).map(|wire| {
                let mut session = self.session(wire, &BTreeMap::new());
                session.state = SessionState::Ended(map::end_reason(&ended));
                session.status_label = map::end_note(&ended);
                session
            })),
            Err(HttpError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e.into_error(ErrorCode::SessionGone)),
        }
    }

    async fn launch(&self, request: &LaunchRequest) -> Result<Session, Error> {
        if request.machine_id.trim().is_empty() {
            return Err(Error::invalid_input("Choose a machine to launch on."));
        }
        let body = CreateSessionBody {
            machine_id: &request.machine_id,
            gpu: request.resource.as_deref(),
            timeout: request.timeout_minutes,
            wait_for_server: false,
        };
        let created: CreateSessionResponse = self
            .http
            .send_json(Method::POST, "session", Some(&body), None)
            .await
            .map_err(|e| e.into_error(ErrorCode::InvalidInput))?;
        // S3 can miss a just-created session, but S2 knows it; if even S2 does not yet, describe
        // it from what we asked for.
        if let Some(session) = self.get(&created.session_id).await? {
            return Ok(session);
        }
        let prices = self.prices().await;
        Ok(map::just_launched(
            &self.account_id,
            self.kind,
            &created,
            request,
            &prices,
            Utc::now(),
        ))
    }

    async fn extend(&self, id: &str, minutes: u32) -> Result<(), Error> {
        if minutes == 0 {
            return Err(Error::invalid_input("Extend by at least one minute."));
        }
        let path = format!("session/{}/increase-timeout", map::path_segment(id));
        let result: Result<MessageResponse, HttpError> = self
            .http
            .send_json(
                Method::POST,
                &path,
                Some(&IncreaseTimeoutBody { minutes }),
                None,
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(HttpError::Status {
                status: 404,
                detail,
                ..
            }) if detail.contains("Timeout end") => Err(Error::invalid_input(
                "This session has no server deadline (a legacy runner) and cannot be \
                     extended.",
            )),
            Err(e) => Err(e.into_error(ErrorCode::SessionGone)),
        }
    }

    async fn stop(&self, id: &str) -> Result<(), Error> {
        let path = format!("session/{}", map::path_segment(id));
        let result: Result<DeleteSessionResponse, HttpError> = self
            .http
            .send_json::<(), _>(Method::DELETE, &path, None, None)
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already ended: stopped is what the user wanted.
            Err(HttpError::Status { status: 404, .. }) => Ok(()),
            // §4.5: the server marks the session ended anyway.
            Err(HttpError::Status {
                status: 400,
                detail,
                ..
            }) if detail.contains("Modal function id not found") => Ok(()),
            Err(e) => Err(e.into_error(ErrorCode::SessionGone)),
        }
    }

    async fn resources(&self) -> Result<Vec<Resource>, Error> {
        let prices = self.fetch_prices().await?;
        let host_gpus = if self.kind == ProviderKind::Portholed {
            let items = self.machine_items().await?;
            Some(items.into_iter().flat_map(|m| m.gpus).collect::<Vec<_>>())
        } else {
            None
        };
        Ok(map::resources(&prices, host_gpus.as_deref()))
    }

    async fn machines(&self) -> Result<Vec<Machine>, Error> {
        // §5.14: classic, workspace-builder or pre-v4 machines can never host a session.
        Ok(self
            .machine_items()
            .await?
            .iter()
            .filter(|m| m.can_ever_host().is_ok())
            .map(map::machine)
            .collect())
    }

    async fn logs(&self, id: &str) -> Result<LogStream, Error> {
        // No `log_level` filter: it is an exact match and would hide error lines (§4.10).
        let response = self
            .http
            .get_stream("v2/stream-logs", &[("session_id", id)])
            .await
            .map_err(|e| e.into_error(ErrorCode::SessionGone))?;
        let events = crate::sse::data_events(response);
        // Each event becomes (what to yield, whether the stream ends with it).
        let lines = events
            .map(|item| match item {
                Ok(data) => match serde_json::from_str::<LogEvent>(&data) {
                    Ok(LogEvent::Line {
                        message,
                        level,
                        timestamp,
                    }) => (
                        Some(Ok(LogLine {
                            message,
                            level: level.unwrap_or_else(|| "info".to_owned()),
                            timestamp: timestamp.as_deref().and_then(wire::parse_time),
                        })),
                        false,
                    ),
                    Ok(LogEvent::Control { kind, .. }) if kind == "stream_unavailable" => (
                        Some(Err(Error::new(
                            ErrorCode::UpstreamUnavailable,
                            "The provider has no log stream for this session right now.",
                        ))),
                        true,
                    ),
                    // stream_complete (or a control event we do not know): the log is over.
                    Ok(LogEvent::Control { .. }) => (None, true),
                    Err(e) => (
                        Some(Err(Error::new(
                            ErrorCode::InvalidResponse,
                            format!("A log event could not be read: {e}"),
                        ))),
                        false,
                    ),
                },
                Err(msg) => (
                    Some(Err(Error::new(ErrorCode::UpstreamUnavailable, msg))),
                    true,
                ),
            })
            .scan(false, |ended, (item, ends)| {
                if *ended {
                    return futures::future::ready(None);
                }
                *ended = ends;
                futures::future::ready(Some(item))
            })
            .filter_map(futures::future::ready);
        Ok(lines.boxed())
    }
}
