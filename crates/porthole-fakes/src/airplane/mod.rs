//! A fake Airplane (airplane.dev) API on 127.0.0.1, built from docs/providers/airplane.md (the
//! service itself is shut down): RPC verbs under `/v0` (GET with query strings, POST with JSON),
//! `X-Airplane-API-Key` checked on every call (401 without), `X-Team-ID` accepted but never
//! required, a read-only key whose every POST is refused (403), `{error, code}` bodies,
//! `sessions/get` unwrapped and `sessions/list` wrapped with no total and no cursor (`limit`
//! 0–50, 0 meaning 50; `page` an index or an offset), `updatedAfter`/`updatedBefore` only in RFC
//! 3339 while bodies carry Postgres-style timestamps (or RFC 3339, or both), no status filter,
//! `runbooks/execute` by id or slug with string-only `paramValues` and `Idempotency-Key`
//! replays, `updatedBy` holding a session id (sic), nested `params` against `parameters` in
//! prompt schemas, runs that cannot be listed by session, run end times that are empty strings,
//! rows of the test's choosing (a bare `{"id"}`, an unknown status), and a fault script (5xx
//! bursts, Retry-After, a hanging answer, a truncated body).

// Handlers answer refusals as whole responses (`Result<_, Response>`), as axum has them; a
// test-only server has no reason to box them.
#![allow(clippy::result_large_err)]

pub mod model;
mod records;
mod runbooks;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

pub use crate::common::Fault;
use crate::common::{apply_fault, header_of, lock, take_fault};
use model::Instance;
pub use model::{Config, Paging, Timestamps};
pub use runbooks::{Block, Runbook};

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    /// `X-Airplane-API-Key`.
    pub api_key: Option<String>,
    /// `X-Team-ID`.
    pub team_id: Option<String>,
    /// `X-Airplane-Env-Slug`, else the `envSlug` query parameter.
    pub env_slug: Option<String>,
    pub idempotency_key: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct Shared {
    config: Mutex<Config>,
    instance: Mutex<Instance>,
    faults: Mutex<VecDeque<(String, Fault)>>,
    seen: Mutex<Vec<Seen>>,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeAirplane {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FakeAirplane {
    /// Serves on 127.0.0.1 (any free port) until the runtime stops.
    pub async fn start(config: Config) -> std::io::Result<FakeAirplane> {
        let shared = Arc::new(Shared {
            config: Mutex::new(config),
            ..Shared::default()
        });
        let addr = crate::common::serve(router(shared.clone())).await?;
        Ok(FakeAirplane { addr, shared })
    }

    pub fn root(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API base, `/v0` included.
    pub fn base_url(&self) -> String {
        format!("{}/v0", self.root())
    }

    pub fn config(&self) -> Config {
        lock(&self.shared.config).clone()
    }

    pub fn set_config(&self, change: impl FnOnce(&mut Config)) {
        change(&mut lock(&self.shared.config));
    }

    /// A fault for the next request whose full path starts with `path_prefix` (`/v0/sessions/list`).
    pub fn inject(&self, path_prefix: &str, fault: Fault) {
        lock(&self.shared.faults).push_back((path_prefix.to_owned(), fault));
    }

    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.shared.seen).clone()
    }

    /// `n` finished sessions (Succeeded) of the first runbook, created and updated one second
    /// apart, older than any launched one; their ids, newest first.
    pub fn seed_history(&self, n: usize) -> Vec<String> {
        let (config, mut instance) = advanced(&self.shared);
        instance.seed(&config, n, model::now())
    }

    /// The session as `sessions/get` answers now (lifecycle advanced), None if unknown.
    pub fn session(&self, id: &str) -> Option<Value> {
        let (config, instance) = advanced(&self.shared);
        session_json(&config, &instance, id)
    }

    /// How many sessions `runbooks/execute` has created.
    pub fn executions(&self) -> usize {
        lock(&self.shared.instance).executions
    }

    /// Holds a session in `status` (no more lifecycle), last updated at `updated_at`: one stuck
    /// in Cancelling, or in a status the fake would not reach.
    pub fn freeze(&self, id: &str, status: &str, updated_at: DateTime<Utc>) {
        let (_, mut instance) = advanced(&self.shared);
        instance.freeze(id, status, updated_at);
    }

    /// The id of a session's open prompt, if it has one.
    pub fn open_prompt(&self, session_id: &str) -> Option<String> {
        let (_, instance) = advanced(&self.shared);
        instance.open_prompt(session_id)
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/sessions/get", get(sessions_get))
        .route("/sessions/list", get(sessions_list))
        .route("/sessions/listBlocks", get(sessions_list_blocks))
        .route("/runbooks/execute", post(runbooks_execute))
        .route("/runbooks/get", get(runbooks_get))
        .route("/prompts/list", get(prompts_list))
        .route("/prompts/get", get(prompts_get))
        .route("/prompts/submit", post(prompts_submit))
        .route("/prompts/cancel", post(prompts_cancel))
        .route("/runs/get", get(runs_get))
        .route("/runs/list", get(runs_list))
        .route("/runs/getOutputs", get(runs_get_outputs))
        .layer(middleware::from_fn_with_state(shared.clone(), authorize));
    Router::new()
        .nest("/v0", api)
        .fallback(unknown_path)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            record_and_fault,
        ))
        .with_state(shared)
}

/// The code Airplane's errors carry with each status.
fn code_for(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        423 => "locked",
        429 => "rate_limited",
        _ => "internal",
    }
}

/// Airplane's error body: `{"error": message, "code": code}`.
fn error(status: u16, message: &str) -> Response {
    let code = code_for(status);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!({ "error": message, "code": code }))).into_response()
}

/// An injected fault's body: the code that goes with its status.
fn injected(status: u16, _code: &str, message: &str) -> Response {
    error(status, message)
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
    let env_query = Query::<BTreeMap<String, String>>::try_from_uri(&parts.uri)
        .ok()
        .and_then(|Query(query)| query.get("envSlug").cloned());
    lock(&shared.seen).push(Seen {
        method: parts.method.to_string(),
        path: path.clone(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        api_key: header_of(&parts.headers, "x-airplane-api-key"),
        team_id: header_of(&parts.headers, "x-team-id"),
        env_slug: header_of(&parts.headers, "x-airplane-env-slug").or(env_query),
        idempotency_key: header_of(&parts.headers, "idempotency-key"),
        content_type: header_of(&parts.headers, "content-type"),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    let fault = take_fault(&shared.faults, &path);
    let request = Request::from_parts(parts, axum::body::Body::from(bytes));
    apply_fault(fault, request, next, injected).await
}

/// Every API call: a key of this team (401), no other team named (403), and no write with the
/// read-only key (403).
async fn authorize(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let config = lock(&shared.config).clone();
    let headers = request.headers();
    let read_only = match header_of(headers, "x-airplane-api-key") {
        Some(key) if key == config.api_key => false,
        Some(key) if key == config.read_only_key => true,
        _ => return error(401, "invalid API key"),
    };
    if let (Some(team), Some(sent)) = (&config.team_id, header_of(headers, "x-team-id")) {
        if &sent != team {
            return error(403, "team not found");
        }
    }
    if read_only && request.method() == Method::POST {
        // The path inside /v0: runbooks/execute → runbooks.execute.
        let path = request.uri().path();
        let action = path.trim_start_matches("/v0").trim_start_matches('/');
        let message = format!("API key lacks permission {}", action.replace('/', "."));
        return error(403, &message);
    }
    next.run(request).await
}

async fn unknown_path() -> Response {
    error(404, "not found")
}

type Answer = Result<Response, Response>;
type Params = Query<BTreeMap<String, String>>;

fn advanced(shared: &Shared) -> (Config, MutexGuard<'_, Instance>) {
    let config = lock(&shared.config).clone();
    let mut instance = lock(&shared.instance);
    instance.advance(&config, model::now());
    (config, instance)
}

/// A query parameter that must be there (and not empty): 400 without.
fn required<'a>(query: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, Response> {
    query
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| error(400, &format!("{name} is required")))
}

/// `limit` (absent or 0: 50; more than 50 or not a number: 400) and `page` (absent: 0): how
/// many rows to skip and take, and the page asked for.
fn paging(
    query: &BTreeMap<String, String>,
    paging: Paging,
) -> Result<(usize, usize, usize), Response> {
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None | Some(Ok(0)) => 50,
        Some(Ok(n)) if n <= 50 => n,
        Some(_) => return Err(error(400, "limit must be between 0 and 50")),
    };
    let page = match query.get("page").map(|p| p.parse::<usize>()) {
        None => 0,
        Some(Ok(p)) => p,
        Some(Err(_)) => return Err(error(400, "page must be a non-negative integer")),
    };
    let skip = match paging {
        Paging::Index => page.saturating_mul(limit),
        Paging::Offset => page,
    };
    Ok((skip, limit, page))
}

/// An RFC 3339 time filter, if given (an unencoded `+` arrives as a space, and is refused).
fn time_filter(
    query: &BTreeMap<String, String>,
    name: &str,
) -> Result<Option<DateTime<Utc>>, Response> {
    match query.get(name) {
        None => Ok(None),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| error(400, &format!("{name} must be RFC 3339"))),
    }
}

/// A POST's JSON object (an empty body reads as `{}`).
fn json_body(bytes: &[u8]) -> Result<Value, Response> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(body) if body.is_object() => Ok(body),
        _ => Err(error(400, "the body must be a JSON object")),
    }
}

fn ok(body: Value) -> Answer {
    Ok(Json(body).into_response())
}

/// A session, or a row of the test's as written.
fn session_json(config: &Config, instance: &Instance, id: &str) -> Option<Value> {
    match instance.sessions.get(id) {
        Some(s) => Some(s.json(config.timestamps)),
        None => config.extra_rows.iter().find(|r| r["id"] == id).cloned(),
    }
}

async fn sessions_get(State(shared): State<Arc<Shared>>, Query(query): Params) -> Answer {
    let id = required(&query, "id")?;
    let (config, instance) = advanced(&shared);
    match session_json(&config, &instance, id) {
        Some(session) => ok(session),
        None => Err(error(404, "session not found")),
    }
}

async fn sessions_list(State(shared): State<Arc<Shared>>, Query(query): Params) -> Answer {
    let (config, instance) = advanced(&shared);
    let (skip, limit, page) = paging(&query, config.paging)?;
    let after = time_filter(&query, "updatedAfter")?;
    let before = time_filter(&query, "updatedBefore")?;
    let runbook = query.get("runbookID").filter(|r| !r.is_empty());
    let mut sessions: Vec<&model::Session> = instance
        .sessions
        .values()
        .filter(|s| runbook.is_none_or(|r| s.runbook.id == *r))
        .filter(|s| after.is_none_or(|a| s.updated > a))
        .filter(|s| before.is_none_or(|b| s.updated < b))
        .collect();
    // Newest first; ties by id.
    sessions.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)));
    let mut rows: Vec<Value> = sessions
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|s| s.json(config.timestamps))
        .collect();
    if page == 0 {
        rows.extend(config.extra_rows.iter().cloned());
    }
    ok(json!({ "sessions": rows }))
}

async fn sessions_list_blocks(State(shared): State<Arc<Shared>>, Query(query): Params) -> Answer {
    let id = required(&query, "sessionID")?;
    if !lock(&shared.config).internal_calls {
        return Err(unknown_path().await);
    }
    let (config, instance) = advanced(&shared);
    match instance.sessions.get(id) {
        Some(s) => ok(s.blocks_json()),
        None if config.extra_rows.iter().any(|r| r["id"] == id) => ok(json!({ "blocks": [] })),
        None => Err(error(404, "session not found")),
    }
}

/// The CLI's internal runbook call: `{runbook: {id, slug, name, params}}` by `runbookSlug` or
/// `runbookID`.
async fn runbooks_get(State(shared): State<Arc<Shared>>, Query(query): Params) -> Answer {
    let config = lock(&shared.config).clone();
    if !config.internal_calls {
        return Err(unknown_path().await);
    }
    let by_slug = query.get("runbookSlug").filter(|s| !s.is_empty());
    let by_id = query.get("runbookID").filter(|s| !s.is_empty());
    let runbook = config
        .runbooks
        .iter()
        .find(|r| by_slug.is_some_and(|s| *s == r.slug) || by_id.is_some_and(|i| *i == r.id));
    match (by_slug.or(by_id), runbook) {
        (None, _) => Err(error(400, "runbookSlug is required")),
        (Some(_), None) => Err(error(404, "runbook not found")),
        (Some(_), Some(r)) => ok(json!({
            "runbook": { "id": r.id, "slug": r.slug, "name": r.name, "params": r.params }
        })),
    }
}

async fn runbooks_execute(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Params,
    body: Bytes,
) -> Answer {
    let body = json_body(&body)?;
    let key = header_of(&headers, "idempotency-key").filter(|k| !k.is_empty());
    let env = header_of(&headers, "x-airplane-env-slug").or_else(|| query.get("envSlug").cloned());
    let (config, mut instance) = advanced(&shared);
    if let Some(session) = key.as_ref().and_then(|k| instance.idempotency.get(k)) {
        // A retry: the first answer again, and nothing new.
        return ok(json!({ "sessionID": session }));
    }
    let id = body["id"].as_str().filter(|s| !s.is_empty());
    let slug = body["slug"].as_str().filter(|s| !s.is_empty());
    let runbook = match (id, slug) {
        (Some(id), _) => config.runbooks.iter().find(|r| r.id == id),
        (None, Some(slug)) => config.runbooks.iter().find(|r| r.slug == slug),
        (None, None) => return Err(error(400, "either an ID or a slug must be provided")),
    };
    let Some(runbook) = runbook else {
        return Err(error(404, "runbook not found"));
    };
    let values =
        runbooks::param_values(runbook, &body["paramValues"]).map_err(|e| error(400, &e))?;
    let session = instance.launch(&config, runbook, values, env, model::now());
    if let Some(key) = key {
        instance.idempotency.insert(key, session.clone());
    }
    ok(json!({ "sessionID": session }))
}

async fn prompts_list(State(shared): State<Arc<Shared>>, Query(query): Params) -> Answer {
    let run = required(&query, "runID")?;
    let (config, instance) = advanced(&shared);
    let mut prompts: Vec<&model::Prompt> = instance
        .prompts
        .values()
        .filter(|p| p.run_id == run)
        .collect();
    prompts.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    let prompts: Vec<Value> = prompts
        .into_iter()
        .map(|p| p.json(config.timestamps))
        .collect();
    ok(json!({ "prompts": prompts }))
}

async fn prompts_get(State(shared): State<Arc<Shared>>, Query(query): Params) -> Answer {
    let id = required(&query, "id")?;
    let (config, instance) = advanced(&shared);
    match instance.prompts.get(id) {
        Some(p) => ok(json!({ "prompt": p.json(config.timestamps) })),
        None => Err(error(404, "prompt not found")),
    }
}

async fn prompts_submit(State(shared): State<Arc<Shared>>, body: Bytes) -> Answer {
    let body = json_body(&body)?;
    let Some(id) = body["id"].as_str().filter(|s| !s.is_empty()) else {
        return Err(error(400, "id is required"));
    };
    let (_, mut instance) = advanced(&shared);
    instance
        .submit(id, &body["values"], model::now())
        .map_err(|(status, message)| error(status, &message))?;
    ok(json!({ "id": id }))
}

async fn prompts_cancel(State(shared): State<Arc<Shared>>, body: Bytes) -> Answer {
    let body = json_body(&body)?;
    let Some(id) = body["id"].as_str().filter(|s| !s.is_empty()) else {
        return Err(error(400, "id is required"));
    };
    let (_, mut instance) = advanced(&shared);
    instance
        .cancel(id, model::now())
        .map_err(|(status, message)| error(status, &message))?;
    ok(json!({ "id": id }))
}

async fn runs_get(State(shared): State<Arc<Shared>>, Query(query): Params) -> Answer {
    let id = required(&query, "id")?;
    let (config, instance) = advanced(&shared);
    match instance.runs.get(id) {
        Some(run) => ok(run.json(config.timestamps)),
        None => Err(error(404, "run not found")),
    }
}

/// Newest first, by task and by updated time (`since` inclusive, `until` exclusive), never by
/// session (a `sessionID` is ignored, as Airplane's).
async fn runs_list(State(shared): State<Arc<Shared>>, Query(query): Params) -> Answer {
    let (config, instance) = advanced(&shared);
    let (skip, limit, _) = paging(&query, config.paging)?;
    let since = time_filter(&query, "since")?;
    let until = time_filter(&query, "until")?;
    let task_id = query.get("taskID").filter(|t| !t.is_empty());
    let task_slug = query.get("taskSlug").filter(|t| !t.is_empty());
    let mut runs: Vec<&model::Run> = instance
        .runs
        .values()
        .filter(|r| task_id.is_none_or(|t| r.task_id.as_ref() == Some(t)))
        .filter(|r| task_slug.is_none_or(|t| r.task_id.is_some() && r.task_slug == *t))
        .filter(|r| since.is_none_or(|s| r.updated() >= s))
        .filter(|r| until.is_none_or(|u| r.updated() < u))
        .collect();
    runs.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)));
    let rows: Vec<Value> = runs
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|r| r.json(config.timestamps))
        .collect();
    ok(json!({ "runs": rows }))
}

async fn runs_get_outputs(State(shared): State<Arc<Shared>>, Query(query): Params) -> Answer {
    let id = required(&query, "id")?;
    let (_, instance) = advanced(&shared);
    match instance.runs.get(id) {
        Some(run) => ok(json!({ "output": run.outputs })),
        None => Err(error(404, "run not found")),
    }
}
