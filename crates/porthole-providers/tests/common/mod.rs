//! A fake ComfyDeploy API on 127.0.0.1:0 that reproduces the quirks of
//! docs/providers/comfydeploy.md §8 (naive `timeout_end`, `org_id: "None"`, `status` always
//! "running", 404 after the end, legacy sessions, org-wide lists, FastAPI error shapes…), plus a
//! fault script to inject 5xx bursts, 429s, slow answers and truncated bodies.
#![allow(dead_code, clippy::unwrap_used, clippy::result_large_err)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Duration as Minutes, NaiveDateTime, Utc};
use futures::StreamExt;
use porthole_core::model::ProviderKind;
use porthole_providers::http::RetryPolicy;
use porthole_providers::{ComfyDeploy, ComfyDeployConfig};
use porthole_secrets::Sensitive;
use serde_json::{json, Value};

#[path = "../support/policy.rs"]
mod policy;
pub use policy::fast_policy;

pub const ME: &str = "user_me";

/// A key shaped like ComfyDeploy's: an unverified HS256 JWT `{user_id, org_id, iat}`.
pub fn jwt_for(user: &str) -> String {
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(&json!({"alg": "HS256", "typ": "JWT"})),
        b64(&json!({"user_id": user, "org_id": null, "iat": 1_700_000_000}))
    )
}

/// One injected answer, consumed by the next matching request.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Status(u16, &'static str),
    /// 429 with this Retry-After (seconds).
    RetryAfter(u64),
    /// Answer only after this long.
    Delay(Duration),
    /// 200 with a JSON body cut in half.
    Truncated,
    /// 200 with a whole body that is not the JSON asked for.
    NotJson,
    /// 307 to this URL.
    Redirect(&'static str),
    /// 200, its headers and the start of its body, then nothing, ever.
    StallBody,
}

#[derive(Debug, Clone)]
pub struct FakeSession {
    pub id: String,
    pub user_id: String,
    pub gpu: String,
    pub url: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The original minutes (never changed by extensions, as upstream).
    pub timeout: i64,
    /// None: a legacy runner without a Redis deadline.
    pub timeout_end: Option<NaiveDateTime>,
    /// Left out of S3 (a just-created session before its Redis deadline exists).
    pub hidden_from_list: bool,
    /// S4 answers 400 "Modal function id not found" (and ends it anyway).
    pub no_function: bool,
}

impl FakeSession {
    pub fn new(id: &str, user: &str, gpu: &str, minutes: i64) -> Self {
        let now = Utc::now();
        Self {
            id: id.to_owned(),
            user_id: user.to_owned(),
            gpu: gpu.to_owned(),
            url: None,
            created_at: now,
            timeout: minutes,
            timeout_end: Some((now + Minutes::minutes(minutes)).naive_utc()),
            hidden_from_list: false,
            no_function: false,
        }
    }

    fn wire(&self) -> Value {
        json!({
            "id": self.id,
            "session_id": self.id,
            "gpu_event_id": format!("evt-{}", self.id),
            "url": self.url,
            "gpu": self.gpu,
            "created_at": self.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "timeout": self.timeout,
            // Naive UTC, no `Z`, as `datetime.utcnow().isoformat()` writes it.
            "timeout_end": self.timeout_end.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
            "machine_id": "m-ready",
            "machine_version_id": null,
            "status": "running",
            "user_id": self.user_id,
            "org_id": "None",
        })
    }
}

#[derive(Default)]
pub struct FakeState {
    pub sessions: Vec<FakeSession>,
    /// Faults by route ("GET /sessions"), consumed in order.
    pub faults: BTreeMap<String, VecDeque<Fault>>,
    /// Every request seen: route, arrival time, query string.
    pub hits: Vec<(String, Instant, String)>,
    pub free_plan: bool,
    pub low_balance: bool,
    pub log_lines: Vec<Value>,
    pub log_end: Value,
    pub created: usize,
}

pub struct Fake {
    pub base: String,
    pub state: Arc<Mutex<FakeState>>,
    _server: tokio::task::JoinHandle<()>,
}

type Shared = Arc<Mutex<FakeState>>;

impl Fake {
    pub async fn start() -> Fake {
        let state: Shared = Arc::new(Mutex::new(FakeState {
            log_end: json!({"type": "stream_complete", "source": "sentinel"}),
            ..Default::default()
        }));
        let api = Router::new()
            .route("/sessions", get(list))
            .route("/session", post(create))
            .route("/session/{id}", get(show).delete(stop))
            .route("/session/{id}/increase-timeout", post(extend))
            .route("/machines", get(machines))
            .route("/platform/gpu-pricing", get(pricing))
            .route("/v2/stream-logs", get(logs))
            .layer(middleware::from_fn_with_state(state.clone(), faults))
            .with_state(state.clone());
        let app = Router::new().nest("/api", api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fake {
            base: format!("http://{addr}/api"),
            state,
            _server: server,
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut FakeState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    pub fn add(&self, session: FakeSession) {
        self.with(|s| s.sessions.push(session));
    }

    pub fn fault(&self, route: &str, faults: &[Fault]) {
        self.with(|s| {
            s.faults
                .entry(route.to_owned())
                .or_default()
                .extend(faults.iter().cloned())
        });
    }

    /// How many requests reached this route ("GET /sessions").
    pub fn hits(&self, route: &str) -> usize {
        self.with(|s| s.hits.iter().filter(|(r, _, _)| r == route).count())
    }

    pub fn arrivals(&self, route: &str) -> Vec<Instant> {
        self.with(|s| {
            s.hits
                .iter()
                .filter(|(r, _, _)| r == route)
                .map(|(_, t, _)| *t)
                .collect()
        })
    }

    pub fn queries(&self, route: &str) -> Vec<String> {
        self.with(|s| {
            s.hits
                .iter()
                .filter(|(r, _, _)| r == route)
                .map(|(_, _, q)| q.clone())
                .collect()
        })
    }

    pub fn client(&self, key: &str) -> ComfyDeploy {
        client_for(&self.base, key, fast_policy())
    }
}

pub fn client_for(base: &str, key: &str, policy: RetryPolicy) -> ComfyDeploy {
    ComfyDeploy::new(ComfyDeployConfig {
        account_id: "acct-test".to_owned(),
        kind: ProviderKind::ComfyDeploy,
        base_url: base.to_owned(),
        key: Sensitive::new(key.to_owned()),
        policy,
        pin: None,
    })
    .unwrap()
}

/// The route name used for faults and hit counts: the method and the path under /api, with a
/// session id replaced by `{id}`.
fn route_of(method: &str, path: &str) -> String {
    let path = path.trim_start_matches("/api");
    let parts: Vec<&str> = path.split('/').collect();
    let normalised = match parts.as_slice() {
        ["", "session", id, rest @ ..] if *id != "increase-timeout" && !id.is_empty() => {
            let mut p = String::from("/session/{id}");
            for r in rest {
                p.push('/');
                p.push_str(r);
            }
            p
        }
        _ => path.to_owned(),
    };
    format!("{method} {normalised}")
}

async fn faults(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let route = route_of(req.method().as_str(), req.uri().path());
    let query = req.uri().query().unwrap_or("").to_owned();
    let fault = {
        let mut s = state.lock().unwrap();
        s.hits.push((route.clone(), Instant::now(), query));
        s.faults.get_mut(&route).and_then(VecDeque::pop_front)
    };
    match fault {
        None => next.run(req).await,
        Some(Fault::Status(code, detail)) => (
            StatusCode::from_u16(code).unwrap(),
            Json(json!({ "detail": detail })),
        )
            .into_response(),
        Some(Fault::RetryAfter(secs)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            Json(json!({"detail": "Too many requests"})),
        )
            .into_response(),
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(Fault::Truncated) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            r#"[{"id": "abc", "session_id": "ab"#,
        )
            .into_response(),
        Some(Fault::NotJson) => (
            StatusCode::OK,
            [("content-type", "text/html")],
            "<html><body>Sign in</body></html>",
        )
            .into_response(),
        Some(Fault::StallBody) => {
            let start = futures::stream::once(async {
                Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"[{\"id\": \"a"))
            });
            let body = axum::body::Body::from_stream(start.chain(futures::stream::pending()));
            (StatusCode::OK, [("content-type", "application/json")], body).into_response()
        }
        Some(Fault::Redirect(to)) => {
            (StatusCode::TEMPORARY_REDIRECT, [("location", to)], "").into_response()
        }
    }
}

fn detail(status: StatusCode, detail: &str) -> Response {
    (status, Json(json!({ "detail": detail }))).into_response()
}

/// The upstream's auth: a Bearer JWT; anything else is 401 with one of its messages.
fn authorised(headers: &HeaderMap) -> Result<String, Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let user = token.and_then(|t| {
        let payload = t.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        v.get("user_id")?.as_str().map(str::to_owned)
    });
    match user {
        Some(u) if u != "revoked" => Ok(u),
        Some(_) => Err(detail(StatusCode::UNAUTHORIZED, "Revoked token")),
        None => Err(detail(StatusCode::UNAUTHORIZED, "Invalid or expired token")),
    }
}

async fn list(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorised(&headers) {
        return r;
    }
    let s = state.lock().unwrap();
    // Org-wide, newest first, and without sessions that have no Redis deadline.
    let mut items: Vec<&FakeSession> = s
        .sessions
        .iter()
        .filter(|x| x.timeout_end.is_some() && !x.hidden_from_list)
        .collect();
    items.sort_by_key(|x| std::cmp::Reverse(x.created_at));
    Json(items.iter().map(|x| x.wire()).collect::<Vec<_>>()).into_response()
}

async fn show(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = authorised(&headers) {
        return r;
    }
    let s = state.lock().unwrap();
    match s.sessions.iter().find(|x| x.id == id) {
        Some(x) => Json(x.wire()).into_response(),
        None => detail(StatusCode::NOT_FOUND, "GPUEvent not found"),
    }
}

async fn create(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let user = match authorised(&headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let Some(machine) = body.get("machine_id").and_then(Value::as_str) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"detail": [{"loc": ["body", "machine_id"], "msg": "Field required", "type": "missing"}]})),
        )
            .into_response();
    };
    let mut s = state.lock().unwrap();
    if s.free_plan && s.low_balance {
        return detail(
            StatusCode::FORBIDDEN,
            "Insufficient balance for requested operation",
        );
    }
    let timeout = body.get("timeout").and_then(Value::as_i64).unwrap_or(0);
    let timeout = if timeout == 0 { 15 } else { timeout };
    if s.free_plan && timeout > 30 {
        return detail(
            StatusCode::BAD_REQUEST,
            "Free plan users are limited to 30 minutes timeout",
        );
    }
    if s.sessions.len() >= 5 {
        return detail(
            StatusCode::BAD_REQUEST,
            "You have reached the maximum number of concurrent sessions. Please close some sessions and try again.",
        );
    }
    if machine != "m-ready" {
        return detail(StatusCode::NOT_FOUND, "Machine not found");
    }
    s.created += 1;
    let id = format!("00000000-0000-4000-8000-{:012}", s.created);
    let gpu = body.get("gpu").and_then(Value::as_str).unwrap_or("A10G");
    let mut session = FakeSession::new(&id, &user, gpu, timeout);
    session.hidden_from_list = true;
    s.sessions.push(session);
    Json(json!({"session_id": id, "url": null})).into_response()
}

async fn stop(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = authorised(&headers) {
        return r;
    }
    let mut s = state.lock().unwrap();
    let Some(pos) = s.sessions.iter().position(|x| x.id == id) else {
        return detail(
            StatusCode::NOT_FOUND,
            &format!("GPUEvent not found session_id: {id}, the event might be already closed"),
        );
    };
    let removed = s.sessions.remove(pos);
    if removed.no_function {
        return detail(StatusCode::BAD_REQUEST, "Modal function id not found");
    }
    Json(json!({"success": true})).into_response()
}

async fn extend(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = authorised(&headers) {
        return r;
    }
    let minutes = body.get("minutes").and_then(Value::as_i64).unwrap_or(0);
    let mut s = state.lock().unwrap();
    let Some(x) = s.sessions.iter_mut().find(|x| x.id == id) else {
        return detail(StatusCode::NOT_FOUND, "GPU event not found");
    };
    match x.timeout_end.as_mut() {
        // The old deadline plus the minutes, not now plus the minutes; `timeout` is untouched.
        Some(end) => *end += Minutes::minutes(minutes),
        None => return detail(StatusCode::NOT_FOUND, "Timeout end not found for session"),
    }
    Json(json!({"message": "Timeout increased successfully"})).into_response()
}

fn machine(id: &str, kind: &str, builder: &str, status: &str, workspace: bool) -> Value {
    json!({
        "id": id, "user_id": ME, "name": format!("{id} name"), "type": kind,
        "created_at": "2025-05-01T10:00:00.123456+00:00", "updated_at": "2025-05-01T10:00:00+00:00",
        "org_id": null, "status": status, "gpu": "A10G", "machine_version": "v7",
        "machine_builder_version": builder, "comfyui_version": "abc123",
        "import_failed_logs": null, "machine_version_id": null,
        "is_workspace": workspace, "has_workflows": true,
    })
}

async fn machines(headers: HeaderMap, Query(q): Query<BTreeMap<String, String>>) -> Response {
    if let Err(r) = authorised(&headers) {
        return r;
    }
    if q.get("is_workspace").map(String::as_str) == Some("true") {
        return Json(vec![machine(
            "m-snapshot",
            "comfy-deploy-serverless",
            "4",
            "ready",
            true,
        )])
        .into_response();
    }
    Json(vec![
        machine("m-ready", "comfy-deploy-serverless", "4", "ready", false),
        machine(
            "m-building",
            "comfy-deploy-serverless",
            "4",
            "building",
            false,
        ),
        machine("m-old", "comfy-deploy-serverless", "3", "ready", false),
        machine("m-classic", "classic", "2", "ready", false),
    ])
    .into_response()
}

/// P1: no auth at all, USD per second keyed by GPU (an unknown GPU name included).
async fn pricing() -> Response {
    Json(json!({
        "T4": 0.00018, "A10G": 0.000337, "H100": 0.002338, "B200": 0.002604,
        "X9000": 0.01, "CPU": 0.000042
    }))
    .into_response()
}

async fn logs(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorised(&headers) {
        return r;
    }
    let (lines, end) = {
        let s = state.lock().unwrap();
        (s.log_lines.clone(), s.log_end.clone())
    };
    let mut body = String::new();
    for line in lines.iter().chain(std::iter::once(&end)) {
        body.push_str(&format!("data: {line}\n\n"));
    }
    // Anything after the terminal event must never be read.
    body.push_str("data: {\"message\": \"after the end\", \"level\": \"info\"}\n\n");
    (
        StatusCode::OK,
        [("content-type", "text/event-stream")],
        body,
    )
        .into_response()
}
