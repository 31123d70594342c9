//! A fake IBM Quantum Runtime (with its IAM) on 127.0.0.1, built from docs/providers/ibm-quantum.md:
//! JWT-shaped tokens that expire, `Service-CRN` checked on every call, `devices[]` only for an
//! `IBM-API-Version` of 2025-01-01 or later, sessions created `open` with a null `backend_name`,
//! `max_ttl` clamped to the plan, dedicated refused on the Open Plan, empty 204 bodies for close
//! and cancel, closed sessions still readable, workloads paged through `next.href`, both error
//! shapes, and a fault script (5xx bursts, Retry-After, a hanging answer, a truncated body).

pub mod model;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

pub use crate::common::Fault;
use crate::common::{apply_fault, header_of, lock, take_fault};
pub use model::Config;
use model::Instance;

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    /// `Bearer`, `apikey` or empty.
    pub auth_scheme: String,
    pub service_crn: Option<String>,
    pub api_version: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct Shared {
    config: Mutex<Config>,
    instance: Mutex<Instance>,
    /// Token → when it expires.
    tokens: Mutex<BTreeMap<String, DateTime<Utc>>>,
    faults: Mutex<VecDeque<(String, Fault)>>,
    seen: Mutex<Vec<Seen>>,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeIbm {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FakeIbm {
    /// Serves on 127.0.0.1 (any free port) until the runtime stops.
    pub async fn start(config: Config) -> std::io::Result<FakeIbm> {
        let shared = Arc::new(Shared {
            config: Mutex::new(config),
            ..Shared::default()
        });
        let addr = crate::common::serve(router(shared.clone())).await?;
        Ok(FakeIbm { addr, shared })
    }

    pub fn root(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API base, `/v1` included.
    pub fn base_url(&self) -> String {
        format!("{}/api/v1", self.root())
    }

    pub fn config(&self) -> Config {
        lock(&self.shared.config).clone()
    }

    pub fn set_config(&self, change: impl FnOnce(&mut Config)) {
        change(&mut lock(&self.shared.config));
    }

    pub fn inject(&self, path_prefix: &str, fault: Fault) {
        lock(&self.shared.faults).push_back((path_prefix.to_owned(), fault));
    }

    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.shared.seen).clone()
    }

    /// Every token handed out so far expires now (as after an hour).
    pub fn expire_tokens(&self) {
        for at in lock(&self.shared.tokens).values_mut() {
            *at = Utc::now() - Duration::seconds(1);
        }
    }

    /// A job into the session, as the user's own code would submit it.
    pub fn submit_job(&self, session_id: &str) -> Result<String, &'static str> {
        let config = self.config();
        let mut instance = lock(&self.shared.instance);
        instance.advance(&config, Utc::now());
        instance.submit(session_id, Utc::now()).map(|j| j.id)
    }

    /// The session as IBM would answer S2 now.
    pub fn session(&self, id: &str) -> Option<Value> {
        let config = self.config();
        let mut instance = lock(&self.shared.instance);
        instance.advance(&config, Utc::now());
        instance
            .sessions
            .get(id)
            .map(|s| s.json(config.interactive_ttl, Utc::now()))
    }

    /// Changes a session directly (a state the lifecycle would take long to reach).
    pub fn edit_session(&self, id: &str, change: impl FnOnce(&mut model::FakeSession)) {
        if let Some(s) = lock(&self.shared.instance).sessions.get_mut(id) {
            change(s);
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/backends", get(backends))
        .route("/backends/{name}/status", get(backend_status))
        .route("/sessions", post(create_session))
        .route("/sessions/{id}", get(get_session).patch(update_session))
        .route("/sessions/{id}/close", delete(cancel_session))
        .route("/workloads", get(workloads))
        .route("/jobs", get(list_jobs).post(create_job))
        .route("/instances/usage", get(usage))
        .layer(middleware::from_fn_with_state(shared.clone(), authorize));
    Router::new()
        .route("/identity/token", post(token))
        .nest("/api/v1", api)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            record_and_fault,
        ))
        .with_state(shared)
}

/// IBM's error body: `{errors: [{code, message, more_info}], trace}`.
fn error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "errors": [{ "code": code, "message": message,
                     "more_info": "https://cloud.ibm.com/apidocs/quantum-computing#error-handling" }],
        "trace": "fake-trace-0001"
    });
    (status, Json(body)).into_response()
}

async fn record_and_fault(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let auth = header_of(&parts.headers, "authorization").unwrap_or_default();
    lock(&shared.seen).push(Seen {
        method: parts.method.to_string(),
        path: path.clone(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        auth_scheme: auth.split(' ').next().unwrap_or("").to_owned(),
        service_crn: header_of(&parts.headers, "service-crn"),
        api_version: header_of(&parts.headers, "ibm-api-version"),
        content_type: header_of(&parts.headers, "content-type"),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    let fault = take_fault(&shared.faults, &path);
    let request = Request::from_parts(parts, axum::body::Body::from(bytes));
    apply_fault(fault, request, next, error).await
}

/// Every API call: a live Bearer token from this IAM, and this instance's CRN.
async fn authorize(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let token = header_of(headers, "authorization")
        .and_then(|a| a.strip_prefix("Bearer ").map(str::to_owned));
    let live = token
        .as_ref()
        .and_then(|t| lock(&shared.tokens).get(t).copied())
        .is_some_and(|expires| expires > Utc::now());
    if !live {
        // The workloads endpoint's 401 has a numeric code and a solution.
        if request.uri().path().ends_with("/workloads") {
            let body = json!({"errors": [{"code": 1000, "message": "Unauthorized",
                "solution": "Get a new access token from IAM.", "more_info": "https://cloud.ibm.com"}]});
            return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        }
        return error(
            401,
            "unauthorized",
            "The access token is missing, invalid or expired.",
        );
    }
    let crn = lock(&shared.config).crn.clone();
    if header_of(headers, "service-crn").as_deref() != Some(crn.as_str()) {
        return error(
            403,
            "forbidden",
            "The instance CRN is not authorized for this token.",
        );
    }
    next.run(request).await
}

async fn token(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let config = lock(&shared.config).clone();
    let grant = form.get("grant_type").map(String::as_str);
    if grant != Some("urn:ibm:params:oauth:grant-type:apikey") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errorCode": "BXNIM0103E",
            "errorMessage": "Unsupported grant type."})),
        )
            .into_response();
    }
    if form.get("apikey") != Some(&config.api_key) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errorCode": "BXNIM0415E",
            "errorMessage": "Provided API key could not be found.",
            "context": {"requestId": "fake"}})),
        )
            .into_response();
    }
    let now = Utc::now();
    let expires = now + Duration::seconds(config.token_seconds);
    let b64 = |v: Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&v).unwrap_or_default())
    };
    let serial = lock(&shared.tokens).len();
    let token = format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(json!({"alg": "RS256", "kid": "fake"})),
        b64(json!({"iat": now.timestamp(), "exp": expires.timestamp(), "n": serial}))
    );
    lock(&shared.tokens).insert(token.clone(), expires);
    Json(json!({
        "access_token": token, "refresh_token": "not_supported", "token_type": "Bearer",
        "expires_in": config.token_seconds, "expiration": expires.timestamp(), "scope": "ibm openid"
    }))
    .into_response()
}

async fn backends(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let config = lock(&shared.config).clone();
    let version = header_of(&headers, "ibm-api-version").unwrap_or_default();
    if version.as_str() < "2025-01-01" {
        // The old shape, for old or missing versions.
        let names: Vec<&String> = config.backends.iter().map(|b| &b.0).collect();
        return Json(json!({ "backends": names })).into_response();
    }
    let devices: Vec<Value> = config
        .backends
        .iter()
        .map(|(name, qubits, status, reason, queue)| {
            json!({ "name": name, "status": { "name": status, "reason": reason },
                    "is_simulator": false, "qubits": qubits,
                    "processor_type": { "family": "Heron", "revision": 2 },
                    "queue_length": queue, "clops": { "type": "hardware", "value": 250000 } })
        })
        .collect();
    Json(json!({ "devices": devices })).into_response()
}

async fn backend_status(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let config = lock(&shared.config).clone();
    match config.backends.iter().find(|b| b.0 == name) {
        Some((_, _, status, reason, queue)) => Json(json!({
            "state": status == "online", "status": if status == "online" { "active" } else { status },
            "message": reason.clone().unwrap_or_default(), "length_queue": queue,
            "backend_version": "1.2.3"
        }))
        .into_response(),
        None => error(404, "not_found", "Backend not found"),
    }
}

async fn create_session(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    let config = lock(&shared.config).clone();
    let mode = body["mode"].as_str().unwrap_or("");
    if mode != "batch" && mode != "dedicated" {
        return error(400, "invalid_mode", "mode must be batch or dedicated");
    }
    if mode == "dedicated" && config.open_plan {
        return error(
            400,
            "plan",
            "Dedicated sessions are not available with the Open Plan.",
        );
    }
    let backend = body["backend"]
        .as_str()
        .or(body["backend_name"].as_str())
        .unwrap_or("");
    let Some(device) = config.backends.iter().find(|b| b.0 == backend) else {
        return error(
            400,
            "backend_not_found",
            &format!("Backend {backend} not found"),
        );
    };
    if device.2 != "online" {
        return error(
            400,
            "backend_unavailable",
            &format!("Backend {backend} is {}", device.2),
        );
    }
    let max_ttl = body["max_ttl"]
        .as_i64()
        .unwrap_or(28_800)
        .min(config.max_ttl_limit);
    let now = Utc::now();
    let mut instance = lock(&shared.instance);
    let id = instance.open(backend, mode, max_ttl, now);
    let session = instance
        .sessions
        .get(&id)
        .map(|s| s.json(config.interactive_ttl, now));
    Json(session.unwrap_or(Value::Null)).into_response()
}

fn advanced(shared: &Shared) -> (Config, MutexGuard<'_, Instance>) {
    let config = lock(&shared.config).clone();
    let mut instance = lock(&shared.instance);
    instance.advance(&config, Utc::now());
    (config, instance)
}

async fn get_session(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let (config, instance) = advanced(&shared);
    match instance.sessions.get(&id) {
        Some(s) => Json(s.json(config.interactive_ttl, Utc::now())).into_response(),
        None => error(404, "session_not_found", "Session not found"),
    }
}

async fn update_session(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let only_accepting = body
        .as_object()
        .is_some_and(|o| o.len() == 1 && o.contains_key("accepting_jobs"));
    let Some(accepting) = body["accepting_jobs"].as_bool().filter(|_| only_accepting) else {
        return error(400, "invalid_request", "Only accepting_jobs can be changed");
    };
    let (_, mut instance) = advanced(&shared);
    match instance.sessions.get_mut(&id) {
        Some(s) => {
            s.accepting_jobs = accepting && s.state != "closed";
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(404, "session_not_found", "Session not found"),
    }
}

async fn cancel_session(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let (_, mut instance) = advanced(&shared);
    if !instance.sessions.contains_key(&id) {
        return error(404, "session_not_found", "Session not found");
    }
    instance.cancel(&id, Utc::now());
    StatusCode::NO_CONTENT.into_response()
}

async fn workloads(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let (config, instance) = advanced(&shared);
    let one = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let statuses: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "status")
        .map(|(_, v)| v.as_str())
        .collect();
    let limit: usize = one("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10)
        .max(1);
    let offset: usize = one("next")
        .and_then(|n| n.strip_prefix("cur").and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    let mode = one("mode");
    let mut rows: Vec<Value> = instance
        .sessions
        .values()
        .map(|s| {
            let status = match (s.state, s.state_reason.as_deref()) {
                ("open", _) => "pending",
                ("closed", Some(r)) if r.contains("cancel") => "canceled",
                ("closed", _) => "completed",
                _ => "in_progress",
            };
            let mode = if s.mode == "batch" {
                "batch"
            } else {
                "session"
            };
            json!({ "id": s.id, "created": s.created, "ended": s.closed_at, "backend": s.backend,
                    "instance": "hub/group/project", "user_id": "fake-user",
                    "accepting_jobs": s.accepting_jobs, "mode": mode, "status": status,
                    "tags": [], "usage_seconds": 0 })
        })
        .filter(|w| mode.as_deref().is_none_or(|m| w["mode"] == m))
        .filter(|w| statuses.is_empty() || statuses.iter().any(|s| w["status"] == *s))
        .collect();
    if one("sort").as_deref() == Some("-createdAt") {
        rows.reverse();
    }
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(offset).take(limit).collect();
    let next = (offset + limit < total).then(|| {
        let kept: Vec<String> = query
            .iter()
            .filter(|(k, _)| k != "next")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let host = if config.foreign_next { "http://elsewhere.example" } else { "" };
        json!({ "href": format!("{host}/api/v1/workloads?{}&next=cur{}", kept.join("&"), offset + limit) })
    });
    Json(json!({ "workloads": page, "total_count": total, "limit": limit, "next": next }))
        .into_response()
}

async fn list_jobs(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let (_, instance) = advanced(&shared);
    let pending = query.get("pending").map(|p| p == "true");
    let jobs: Vec<Value> = instance
        .jobs
        .iter()
        .rev()
        .filter(|j| query.get("session_id").is_none_or(|s| &j.session_id == s))
        .filter(|j| pending.is_none_or(|p| p == j.ended.is_none()))
        .map(model::Job::json)
        .collect();
    let count = jobs.len();
    Json(json!({ "jobs": jobs, "count": count, "offset": 0, "limit": 200 })).into_response()
}

async fn create_job(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    let session = body["session_id"].as_str().unwrap_or("").to_owned();
    let (_, mut instance) = advanced(&shared);
    match instance.submit(&session, Utc::now()) {
        Ok(job) => Json(json!({ "id": job.id, "backend": job.backend, "session_id": session }))
            .into_response(),
        Err(why) => error(400, "job_refused", why),
    }
}

async fn usage() -> Response {
    Json(
        json!({ "usage_consumed_seconds": 120.0, "usage_limit_seconds": 600.0,
                 "usage_allocation_seconds": 600.0, "usage_limit_reached": false }),
    )
    .into_response()
}
