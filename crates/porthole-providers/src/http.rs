//! The HTTP layer every provider shares: timeouts, bounded retries with jitter, Retry-After, and
//! turning statuses and network failures into coded errors. A network error is never reported as
//! "unauthorized"; POST and DELETE are retried only when the request certainly did not reach the
//! server (connection refused) or the server said to come back (429). A GET whose answer is cut
//! off (a truncated JSON body) is retried like a 5xx. Retries never take a request past its
//! timeout: a server that accepts and never answers costs [`RetryPolicy::request_timeout`] in
//! all. Redirects are followed on the same origin only; one to another host is an error that
//! names it (the key is never sent there).

use std::time::Duration;

use tokio::time::{timeout_at, Instant};

use crate::error_body::{detail_of, fallback_detail};
use crate::redirects::{refused_redirect, same_origin_redirects};

use porthole_core::{Error, ErrorCode};
use porthole_local::pinned::Pin;
use porthole_secrets::Sensitive;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest Retry-After we honour before giving up with `rate_limited`.
    pub max_retry_after: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(300),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A failure before it is given its meaning by the endpoint that saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpError {
    /// The server answered with an error status; `detail` is its `{"detail"}` text, `ended`
    /// portholed's reason beside it for a session that ended (`error_body::ended_of`).
    Status {
        status: u16,
        detail: String,
        ended: Option<crate::error_body::Ended>,
    },
    /// The server could not be reached or did not answer in time.
    Network(String),
    /// The server answered 2xx with a body we could not read.
    Decode(String),
    /// The server redirected the request to another host, which is not followed.
    Redirected(String),
    /// A paired server presented another certificate (`porthole_local::pinned`).
    Certificate(String),
}

impl HttpError {
    /// The coded error for a person. `not_found` says what a 404 means at this endpoint.
    pub fn into_error(self, not_found: ErrorCode) -> Error {
        match self {
            HttpError::Network(msg) => Error::new(ErrorCode::UpstreamUnavailable, msg),
            HttpError::Redirected(msg) => Error::new(ErrorCode::InvalidResponse, msg),
            HttpError::Certificate(msg) => Error::new(ErrorCode::CertificateMismatch, msg),
            HttpError::Decode(msg) => Error::new(
                ErrorCode::InvalidResponse,
                format!("The provider sent a response Porthole cannot read: {msg}"),
            ),
            HttpError::Status { status, detail, .. } => {
                let code = match status {
                    401 => ErrorCode::Unauthorized,
                    403 if mentions_credit(&detail) => ErrorCode::QuotaExceeded,
                    403 => ErrorCode::Unauthorized,
                    404 => not_found,
                    400 if mentions_limit(&detail) => ErrorCode::QuotaExceeded,
                    400 | 405 | 409 | 413 | 422 => ErrorCode::InvalidInput,
                    429 => ErrorCode::RateLimited,
                    500..=599 => ErrorCode::UpstreamUnavailable,
                    _ => ErrorCode::InvalidResponse,
                };
                let message = match code {
                    ErrorCode::Unauthorized => {
                        format!("The provider rejected the API key ({status}): {detail}")
                    }
                    ErrorCode::RateLimited => {
                        format!("The provider asks us to slow down (429): {detail}")
                    }
                    ErrorCode::UpstreamUnavailable => {
                        format!("The provider is having trouble ({status}): {detail}")
                    }
                    _ => detail,
                };
                Error::new(code, message)
            }
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn mentions_credit(detail: &str) -> bool {
    mentions(detail, &["balance", "credit", "suspended"])
}

fn mentions_limit(detail: &str) -> bool {
    mentions(detail, &["concurrent", "free plan", "limited to"])
}

fn mentions(detail: &str, words: &[&str]) -> bool {
    let d = detail.to_ascii_lowercase();
    words.iter().any(|w| d.contains(w))
}

/// Parses an account's base URL: http or https only, with a clear coded error otherwise.
pub fn parse_base_url(base_url: &str) -> Result<url::Url, Error> {
    let parsed = url::Url::parse(base_url.trim()).map_err(|e| {
        Error::invalid_input(format!("The base URL {base_url:?} is not a URL: {e}"))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::invalid_input(format!(
            "The base URL must start with http:// or https://, not {}://",
            parsed.scheme()
        )));
    }
    Ok(parsed)
}

/// An HTTP client bound to one base URL and, optionally, one Bearer key.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    base: String,
    host: String,
    key: Option<Sensitive<String>>,
    /// Sent on every request besides the key (IBM's instance CRN and API version).
    headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
    policy: RetryPolicy,
    /// The certificate a paired server must present, if this is one.
    pin: Option<Pin>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("base", &self.base)
            .field("key", &self.key)
            .finish()
    }
}

static CLIENT_NAME: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Names this program in every request's User-Agent (`porthole-cli/0.1.0`); the desktop app
/// keeps the default, `porthole`. portholed says from it who stopped a session ("stopped from
/// the CLI"). Set once, before the first client is made; later calls change nothing.
pub fn set_client_name(name: &'static str) {
    let _ = CLIENT_NAME.set(name);
}

fn client_name() -> &'static str {
    CLIENT_NAME.get().copied().unwrap_or("porthole")
}

impl HttpClient {
    pub fn new(
        base_url: &str,
        key: Option<Sensitive<String>>,
        policy: RetryPolicy,
    ) -> Result<Self, Error> {
        let parsed = parse_base_url(base_url)?;
        let host = match parsed.port() {
            Some(port) => format!("{}:{port}", parsed.host_str().unwrap_or("?")),
            None => parsed.host_str().unwrap_or("?").to_owned(),
        };
        Ok(Self {
            client: build_client(&parsed, &policy, None)?,
            base: parsed.as_str().trim_end_matches('/').to_owned(),
            host,
            key,
            headers: Vec::new(),
            policy,
            pin: None,
        })
    }

    /// The same client, for a paired server: TLS accepts only the certificate `pin` names,
    /// whatever the system trusts, and a refusal is the coded `certificate_mismatch`.
    pub fn with_pin(mut self, pin: Pin) -> Result<Self, Error> {
        let parsed = parse_base_url(&self.base)?;
        self.client = build_client(&parsed, &self.policy, Some(pin.client_config()?))?;
        self.pin = Some(pin);
        Ok(self)
    }

    /// The same client, sending these headers on every request too.
    pub fn with_headers(self, headers: &[(&str, &str)]) -> Result<Self, Error> {
        headers.iter().try_fold(self, |client, (name, value)| {
            client.with_header(name, value, false)
        })
    }

    /// The same client, sending a key in this header (Airplane's `X-Airplane-API-Key`), marked
    /// sensitive so no debug output shows it.
    pub fn with_secret_header(self, name: &str, key: &Sensitive<String>) -> Result<Self, Error> {
        self.with_header(name, key.expose(), true)
    }

    fn with_header(mut self, name: &str, value: &str, sensitive: bool) -> Result<Self, Error> {
        let refused = |e: &dyn std::fmt::Display| {
            Error::invalid_input(format!("The {name} header cannot be sent: {e}"))
        };
        let mut value = reqwest::header::HeaderValue::from_str(value).map_err(|e| refused(&e))?;
        value.set_sensitive(sensitive);
        self.headers.push((
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|e| refused(&e))?,
            value,
        ));
        Ok(self)
    }

    /// The same client with another Bearer key (a token that changes: IBM's IAM tokens).
    pub fn with_key(&self, key: Sensitive<String>) -> Self {
        Self {
            key: Some(key),
            ..self.clone()
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A link the server gave (a next page), as a path under the base URL; one to another
    /// origin, or outside the base, is refused (the key is never sent there).
    pub fn same_origin_path(&self, href: &str) -> Result<String, HttpError> {
        crate::redirects::path_under(&self.base, &self.host, href)
    }

    fn request(&self, method: Method, path: &str, auth: bool) -> RequestBuilder {
        let mut req = self.client.request(
            method,
            format!("{}/{}", self.base, path.trim_start_matches('/')),
        );
        if auth {
            if let Some(key) = &self.key {
                req = req.bearer_auth(key.expose());
            }
        }
        for (name, value) in &self.headers {
            req = req.header(name.clone(), value.clone());
        }
        req
    }

    /// The time and the attempts of one request.
    fn budget(&self, timeout: Duration) -> Budget {
        Budget {
            deadline: Instant::now() + timeout,
            timeout,
            attempt: 0,
        }
    }

    /// GET and decode JSON, retrying network errors, 5xx, 429 and answers cut off.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        auth: bool,
    ) -> Result<T, HttpError> {
        let mut budget = self.budget(self.policy.request_timeout);
        loop {
            let response = self
                .execute(&mut budget, true, || {
                    self.request(Method::GET, path, auth).query(query)
                })
                .await?;
            let err = match timeout_at(budget.deadline, decode(response, false)).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(Whole(err))) => return Err(err),
                Ok(Err(Cut(err))) => err,
                // A body that stalls is cut off too, and there is no time left to ask again.
                Err(_) => return Err(self.timed_out(&budget, true)),
            };
            let delay = self.backoff(budget.attempt);
            if budget.attempt >= self.policy.max_attempts
                || Instant::now() + delay >= budget.deadline
            {
                return Err(err);
            }
            tracing::debug!(attempt = budget.attempt, ?delay, host = %self.host, "answer cut off: retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// POST/DELETE/PATCH with an optional JSON body; never retried once it may have reached the
    /// server.
    pub async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        timeout: Option<Duration>,
    ) -> Result<T, HttpError> {
        self.send(method, path, body, timeout, false).await
    }

    /// A POST the server makes safe to repeat (it carries an `Idempotency-Key`): retried like
    /// a GET.
    pub async fn send_idempotent<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, HttpError> {
        self.send(Method::POST, path, Some(body), None, true).await
    }

    async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        timeout: Option<Duration>,
        idempotent: bool,
    ) -> Result<T, HttpError> {
        let mut budget = self.budget(timeout.unwrap_or(self.policy.request_timeout));
        let response = self
            .execute(&mut budget, idempotent, || {
                let req = self.request(method.clone(), path, true);
                match body {
                    Some(b) => req.json(b),
                    None => req,
                }
            })
            .await?;
        match timeout_at(budget.deadline, decode(response, true)).await {
            Ok(decoded) => decoded.map_err(Decoded::into_inner),
            Err(_) => Err(self.timed_out(&budget, false)),
        }
    }

    /// POST a form (`application/x-www-form-urlencoded`) without the key: an exchange of a
    /// credential for a token, which is safe to repeat, so it is retried like a GET.
    pub async fn post_form<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<T, HttpError> {
        let mut budget = self.budget(self.policy.request_timeout);
        let response = self
            .execute(&mut budget, true, || {
                self.request(Method::POST, path, false).form(form)
            })
            .await?;
        match timeout_at(budget.deadline, decode(response, false)).await {
            Ok(decoded) => decoded.map_err(Decoded::into_inner),
            Err(_) => Err(self.timed_out(&budget, true)),
        }
    }

    /// A GET whose body is read as a stream (server-sent events): its head within the request
    /// timeout, the stream itself without one.
    pub async fn get_stream(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Response, HttpError> {
        let mut budget = self.budget(self.policy.request_timeout);
        self.execute(&mut budget, true, || {
            self.request(Method::GET, path, true)
                .query(query)
                .header("accept", "text/event-stream")
        })
        .await
    }

    /// Sends the request, retrying what is safe to retry, within `budget`: each attempt gets the
    /// time left, no retry starts that could not finish in it, and the attempts are counted
    /// across the whole request (a retried body read included).
    async fn execute(
        &self,
        budget: &mut Budget,
        idempotent: bool,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, HttpError> {
        loop {
            budget.attempt += 1;
            let last = budget.attempt >= self.policy.max_attempts;
            let sent = timeout_at(budget.deadline, build().send()).await;
            let (delay, err) = match sent {
                Err(_elapsed) => return Err(self.timed_out(budget, idempotent)),
                Ok(Ok(resp)) if resp.status().is_success() => return Ok(resp),
                Ok(Ok(resp)) => {
                    let status = resp.status();
                    let retry_after = retry_after(&resp);
                    let Ok(err) = timeout_at(budget.deadline, status_error(resp)).await else {
                        return Err(self.timed_out(budget, idempotent));
                    };
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS
                        || (idempotent && status.is_server_error());
                    if last || !retryable {
                        return Err(err);
                    }
                    match retry_after {
                        Some(wait) if wait > self.policy.max_retry_after => return Err(err),
                        Some(wait) => (wait, err),
                        None => (self.backoff(budget.attempt), err),
                    }
                }
                Ok(Err(err)) => {
                    if let Some(refused) = refused_redirect(&err) {
                        return Err(HttpError::Redirected(refused.message(&self.host)));
                    }
                    if let Some(refused) = self.pin.as_ref().and_then(|p| p.mismatch(&self.host)) {
                        return Err(HttpError::Certificate(refused.message));
                    }
                    // A refused connection never reached the server: safe to repeat any method.
                    if last || !(idempotent || err.is_connect()) {
                        return Err(self.network_error(&err));
                    }
                    (self.backoff(budget.attempt), self.network_error(&err))
                }
            };
            // No retry that could not finish in time: the last answer is the one to report.
            if Instant::now() + delay >= budget.deadline {
                return Err(err);
            }
            tracing::debug!(attempt = budget.attempt, ?delay, host = %self.host, "retrying request");
            tokio::time::sleep(delay).await;
        }
    }

    /// The request's time ran out. A request that is not safe to repeat may have reached the
    /// server: the message says so.
    fn timed_out(&self, budget: &Budget, idempotent: bool) -> HttpError {
        let within = if budget.timeout < Duration::from_secs(1) {
            format!("{} ms", budget.timeout.as_millis())
        } else {
            format!("{} s", budget.timeout.as_secs())
        };
        HttpError::Network(if idempotent {
            format!(
                "Cannot reach {}: it did not answer within {within}. Check the network, or the \
                 account's base URL.",
                self.host
            )
        } else {
            format!(
                "{} did not answer within {within}. The request may have reached it: check \
                 before trying again.",
                self.host
            )
        })
    }

    /// Exponential backoff with equal jitter: half fixed, half random.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .policy
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.policy.max_delay);
        exp / 2 + exp.mul_f64(fastrand::f64() / 2.0)
    }

    fn network_error(&self, err: &reqwest::Error) -> HttpError {
        let what = if err.is_timeout() {
            "did not answer in time".to_owned()
        } else if err.is_connect() {
            "refused the connection or could not be reached".to_owned()
        } else {
            // reqwest's Display includes the URL; keep only the cause chain.
            let mut cause = String::new();
            let mut source = std::error::Error::source(err);
            while let Some(s) = source {
                cause = s.to_string();
                source = s.source();
            }
            if cause.is_empty() {
                "the connection failed".to_owned()
            } else {
                format!("the connection failed ({cause})")
            }
        };
        HttpError::Network(format!(
            "Cannot reach {}: it {what}. Check the network, or the account's base URL.",
            self.host
        ))
    }
}

/// The reqwest client: connect timeout, same-origin redirects, our User-Agent, and `tls` when
/// the server's certificate is pinned.
fn build_client(
    parsed: &url::Url,
    policy: &RetryPolicy,
    tls: Option<rustls::ClientConfig>,
) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(policy.connect_timeout)
        .redirect(same_origin_redirects(parsed))
        .user_agent(format!("{}/{}", client_name(), env!("CARGO_PKG_VERSION")));
    if let Some(tls) = tls {
        builder = builder.use_preconfigured_tls(tls);
    }
    builder
        .build()
        .map_err(|e| Error::new(ErrorCode::Internal, format!("HTTP client: {e}")))
}

fn retry_after(resp: &Response) -> Option<Duration> {
    let value = resp.headers().get("retry-after")?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

async fn status_error(resp: Response) -> HttpError {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    HttpError::Status {
        status,
        detail: detail_of(&text).unwrap_or_else(|| fallback_detail(status, &text)),
        ended: crate::error_body::ended_of(&text),
    }
}

/// Why a body could not be decoded: it was cut off (worth asking again), or it is whole and wrong.
enum Decoded {
    Cut(HttpError),
    Whole(HttpError),
}
use Decoded::{Cut, Whole};

impl Decoded {
    fn into_inner(self) -> HttpError {
        match self {
            Cut(e) | Whole(e) => e,
        }
    }
}

/// `empty_ok`: an empty body is success where nothing is expected (a POST, PATCH or DELETE:
/// IBM's close and cancel answer 204); a GET's empty answer is cut off and asked again.
async fn decode<T: DeserializeOwned>(response: Response, empty_ok: bool) -> Result<T, Decoded> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Cut(HttpError::Network(format!("The response was cut off: {e}"))))?;
    if empty_ok && bytes.iter().all(u8::is_ascii_whitespace) {
        if let Ok(nothing) = serde_json::from_slice(b"null") {
            return Ok(nothing);
        }
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        if e.is_eof() {
            Cut(HttpError::Network(format!(
                "The response was cut off after {} bytes: {e}",
                bytes.len()
            )))
        } else {
            Whole(HttpError::Decode(e.to_string()))
        }
    })
}

/// One request's time and attempts: every try, every retry and the body's read come out of it.
struct Budget {
    deadline: Instant,
    timeout: Duration,
    attempt: u32,
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
