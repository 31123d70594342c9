//! One request: the gate, the proxy's own routes, then forwarding with the header rules of
//! docs/ARCHITECTURE.md (security model). Bodies are passed along as streams in both directions; nothing here reads a
//! body into memory.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, CONNECTION, CONTENT_LENGTH,
    CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY, EXPECT, HOST, LOCATION, ORIGIN,
    PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, REFERER, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
    X_FRAME_OPTIONS,
};
use http::uri::PathAndQuery;
use http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version,
};
use http_body::Body as _;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use tokio::sync::watch;

use crate::activity::{Counted, Direction, Meter, Tally};
use crate::admission::Unverified;
use crate::config::{HeaderHook, Target};
use crate::connect::BoxError;
use crate::gate::{self, Gate};
use crate::pages::{self, AUTH_PATH, HEALTH_PATH, RESERVED_PREFIX};
use crate::upgrade;
use crate::upstream::Upstream;

/// Every body the proxy sends, in either direction.
pub(crate) type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the old
/// `Proxy-Connection`.
/// Named as `HeaderName`s, not strings: a string is parsed into a name on every lookup, and these
/// are looked up twice per request.
const HOP_BY_HOP: [HeaderName; 7] = [
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
];

/// The response headers `fix_response_headers` removes or rewrites.
const RESPONSE_FIXED: [HeaderName; 6] = [
    X_FRAME_OPTIONS,
    ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_ALLOW_CREDENTIALS,
    CONTENT_SECURITY_POLICY,
    CONTENT_SECURITY_POLICY_REPORT_ONLY,
    LOCATION,
];

/// What every connection of one proxy shares, across its worker threads.
pub(crate) struct Common {
    pub(crate) gate: Gate,
    target: RwLock<Arc<Target>>,
    /// Bumped with every new target; worker threads compare it with their copy's.
    generation: AtomicU64,
    pub(crate) meter: Arc<Meter>,
    hook: Option<Arc<dyn HeaderHook>>,
    pub(crate) health_timeout: Duration,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Bumped when the upstream URL really changes: spliced WebSockets to the old one end then, so
    /// the page reconnects (through the same port) to the new one.
    pub(crate) retargeted: watch::Sender<u64>,
    /// Once the session has ended: the page every request gets instead of the upstream's.
    ended: RwLock<Option<bytes::Bytes>>,
}

/// What the connections of one worker thread share: the common state, and the worker's own pool
/// of upstream connections (so a request and its upstream connection stay on one thread), its
/// own counters and its own copy of the target. A request touches no memory another thread
/// writes to, so threads do not slow each other down.
pub(crate) struct Shared {
    common: Arc<Common>,
    pub(crate) upstream: Arc<Upstream>,
    pub(crate) tally: Tally,
    /// This thread's copy of the target, with the generation it was copied at.
    target: Mutex<(u64, Arc<Target>)>,
}

impl Shared {
    /// Worker thread `index`'s state.
    pub(crate) fn new(common: Arc<Common>, upstream: Arc<Upstream>, index: usize) -> Self {
        let tally = common.meter.tally(index);
        let target = Mutex::new(common.current_target());
        Self {
            common,
            upstream,
            tally,
            target,
        }
    }

    /// The upstream requests go to now: this thread's copy, refreshed after a retarget.
    pub(crate) fn target(&self) -> Arc<Target> {
        let mut copy = self.target.lock().unwrap_or_else(|p| p.into_inner());
        if copy.0 != self.common.generation.load(Ordering::Acquire) {
            *copy = self.common.current_target();
        }
        copy.1.clone()
    }

    /// The upstream's response as the window gets it: body streamed and counted, headers fixed.
    pub(crate) fn respond(
        &self,
        target: &Target,
        response: Response<Incoming>,
    ) -> Response<ProxyBody> {
        let (mut parts, body) = response.into_parts();
        let switching = parts.status == StatusCode::SWITCHING_PROTOCOLS;
        strip_hop_by_hop(&mut parts.headers, switching);
        fix_response_headers(&mut parts.headers, target);
        crate::cookies::rewrite_set_cookies(&mut parts.headers, &self.gate);
        parts.version = Version::HTTP_11;
        let body = Counted::new(body, self.tally.clone(), Direction::Down)
            .map_err(BoxError::from)
            .boxed_unsync();
        Response::from_parts(parts, body)
    }
}

impl std::ops::Deref for Shared {
    type Target = Common;
    fn deref(&self) -> &Common {
        &self.common
    }
}

impl Common {
    pub(crate) fn new(
        gate: Gate,
        target: Target,
        hook: Option<Arc<dyn HeaderHook>>,
        health_timeout: Duration,
        shutdown: watch::Receiver<bool>,
        threads: usize,
    ) -> Self {
        Self {
            gate,
            target: RwLock::new(Arc::new(target)),
            generation: AtomicU64::new(0),
            meter: Meter::new(threads),
            hook,
            health_timeout,
            shutdown,
            retargeted: watch::Sender::new(0),
            ended: RwLock::new(None),
        }
    }

    /// The session has ended: every request of the window gets `page` from now on, and
    /// spliced WebSockets end.
    pub(crate) fn end(&self, page: bytes::Bytes) {
        *self.ended.write().unwrap_or_else(|p| p.into_inner()) = Some(page);
        self.retargeted.send_modify(|generation| *generation += 1);
    }

    fn ended_page(&self) -> Option<bytes::Bytes> {
        self.ended.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A copy of the target of its own (so its reference count is not shared with other
    /// threads), and the generation it belongs to.
    fn current_target(&self) -> (u64, Arc<Target>) {
        let current = self.target.read().unwrap_or_else(|p| p.into_inner());
        let generation = self.generation.load(Ordering::Acquire);
        (generation, Arc::new(Target::clone(&current)))
    }

    pub(crate) fn retarget(&self, target: Target) {
        let mut current = self.target.write().unwrap_or_else(|p| p.into_inner());
        if current.url == target.url {
            return;
        }
        *current = Arc::new(target);
        self.generation.fetch_add(1, Ordering::AcqRel);
        drop(current);
        self.retargeted.send_modify(|generation| *generation += 1);
    }

    /// The upstream request for `uri`'s path and query (byte for byte) with `headers` rewritten.
    pub(crate) fn upstream_request(
        &self,
        target: &Target,
        method: Method,
        uri: &Uri,
        mut headers: HeaderMap,
        body: ProxyBody,
        websocket: bool,
    ) -> Option<Request<ProxyBody>> {
        let path = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        if !path.as_str().starts_with('/') {
            return None;
        }
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(target.scheme.clone());
        parts.authority = Some(target.authority.clone());
        parts.path_and_query = Some(path);
        let uri = Uri::from_parts(parts).ok()?;

        strip_hop_by_hop(&mut headers, websocket);
        headers.insert(HOST, target.host.clone());
        headers.remove(ORIGIN);
        headers.remove(REFERER);
        // hyper answers `100-continue` to the window itself, when the body is first read.
        headers.remove(EXPECT);
        gate::strip_foreign_cookies(&mut headers, &self.gate);
        if let Some(hook) = &self.hook {
            hook.apply(&target.url, &mut headers);
        }

        let mut request = Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_11;
        *request.headers_mut() = headers;
        Some(request)
    }
}

pub(crate) fn empty() -> ProxyBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// hyper's service function.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    place: Unverified,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    shared.tally.request();
    let upgrade_attempt = request.headers().contains_key(UPGRADE);
    let mut response = route(&shared, &place, request).await;
    if upgrade_attempt && response.status() != StatusCode::SWITCHING_PROTOCOLS {
        // The smuggling guard stopped following this connection at the upgrade request.
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response)
}

async fn route(
    shared: &Arc<Shared>,
    place: &Unverified,
    request: Request<Incoming>,
) -> Response<ProxyBody> {
    let headers = request.headers();
    if request.uri().authority().is_some() || request.method() == Method::CONNECT {
        return pages::bad_request("This is not a forward proxy.\n");
    }
    if !shared.gate.access.allows(headers) {
        return pages::forbidden();
    }
    if headers.contains_key(TRANSFER_ENCODING) && headers.contains_key(CONTENT_LENGTH) {
        return pages::bad_request("Content-Length and Transfer-Encoding together.\n");
    }
    let path = request.uri().path();
    if path == AUTH_PATH {
        return handshake(shared, place, &request);
    }
    if request.method() == Method::GET {
        let query = request.uri().query().unwrap_or("");
        if let Some(rest) = shared.gate.standing_token_in(query) {
            place.verified();
            return standing_handshake(shared, path, &rest);
        }
    }
    if !shared.gate.has_cookie(headers) {
        return pages::forbidden();
    }
    place.verified();
    if let Some(page) = shared.ended_page() {
        return pages::ended(page);
    }
    if path == HEALTH_PATH {
        return pages::health(upstream_answers(shared).await);
    }
    if path.starts_with(RESERVED_PREFIX) {
        return pages::not_found();
    }
    if upgrade::is_websocket(&request) {
        return upgrade::websocket(shared, request).await;
    }
    forward(shared, request).await
}

async fn forward(shared: &Arc<Shared>, request: Request<Incoming>) -> Response<ProxyBody> {
    let target = shared.target();
    let (parts, body) = request.into_parts();
    // Most requests have no body: nothing to count, and nothing to allocate (the empty body is a
    // zero-sized box).
    let body = if body.is_end_stream() {
        empty()
    } else {
        Counted::new(body, shared.tally.clone(), Direction::Up)
            .map_err(BoxError::from)
            .boxed_unsync()
    };
    let Some(upstream) = shared.upstream_request(
        &target,
        parts.method,
        &parts.uri,
        parts.headers,
        body,
        false,
    ) else {
        return pages::bad_request("Unsupported request target.\n");
    };
    match shared.upstream.request(upstream).await {
        Ok(response) => shared.respond(&target, response),
        Err(err) => {
            tracing::debug!(error = %err, source = ?err.source(), "upstream failed");
            pages::unreachable()
        }
    }
}

/// `GET /__porthole/auth?token=T[&next=/path]`: a pending token (or the cookie already) gets the
/// cookie and a redirect to `next` when it is a same-origin path, else to the session's landing.
fn handshake(
    shared: &Shared,
    place: &Unverified,
    request: &Request<Incoming>,
) -> Response<ProxyBody> {
    if request.method() != Method::GET {
        return pages::forbidden();
    }
    let mut token = None;
    let mut next = None;
    let query = request.uri().query().unwrap_or("");
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "token" => token = Some(value.into_owned()),
            "next" => next = Some(value.into_owned()),
            _ => {}
        }
    }
    let allowed =
        token.is_some_and(|t| shared.gate.redeem(&t)) || shared.gate.has_cookie(request.headers());
    if !allowed {
        return pages::forbidden();
    }
    place.verified();
    let location = next
        .filter(|n| is_local_path(n))
        .unwrap_or_else(|| shared.target().landing.clone());
    with_cookie_to(shared, location)
}

/// The handshake's answer: the session's cookie, and a redirect to `location`.
fn with_cookie_to(shared: &Shared, location: String) -> Response<ProxyBody> {
    match (HeaderValue::try_from(location), shared.gate.set_cookie()) {
        (Ok(location), Ok(cookie)) => pages::handshake(location, cookie),
        _ => pages::bad_request("Unusable redirect target.\n"),
    }
}

/// `GET /path?token=T` with the standing token: the cookie, and the same URL without the token.
fn standing_handshake(shared: &Shared, path: &str, rest: &str) -> Response<ProxyBody> {
    let location = if rest.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{rest}")
    };
    if !is_local_path(&location) {
        return pages::bad_request("Unusable redirect target.\n");
    }
    with_cookie_to(shared, location)
}

/// A path on this origin: `/…`, but not `//host` or `/\host` (which browsers treat as another host).
fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

/// Whether the upstream answers its landing page without a server error.
async fn upstream_answers(shared: &Shared) -> bool {
    let target = shared.target();
    let Ok(uri) = target.landing.parse::<Uri>() else {
        return false;
    };
    let Some(probe) =
        shared.upstream_request(&target, Method::GET, &uri, HeaderMap::new(), empty(), false)
    else {
        return false;
    };
    match tokio::time::timeout(shared.health_timeout, shared.upstream.request(probe)).await {
        Ok(Ok(response)) => !response.status().is_server_error(),
        _ => false,
    }
}

/// Removes hop-by-hop headers, and those the `Connection` header names. With `upgrade`, keeps
/// `Upgrade` and sets `Connection: upgrade` (a WebSocket handshake or its `101`).
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    // Most messages carry none of these: one pass over the names that are there costs less than a
    // hashed lookup for each name that might be.
    let any = headers
        .keys()
        .any(|name| *name == CONNECTION || *name == UPGRADE || HOP_BY_HOP.contains(name));
    if !any {
        if upgrade {
            headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        }
        return;
    }
    if headers.contains_key(CONNECTION) {
        let listed: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in listed {
            if !(upgrade && name == UPGRADE) {
                headers.remove(name);
            }
        }
        headers.remove(CONNECTION);
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    if upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(UPGRADE);
    }
}

/// Framing and CORS fixes on the way back: the window may frame the page, and no other origin may
/// read it.
fn fix_response_headers(headers: &mut HeaderMap, target: &Target) {
    // As in `strip_hop_by_hop`: one pass first, since most responses have none of these.
    if !headers.keys().any(|name| RESPONSE_FIXED.contains(name)) {
        return;
    }
    headers.remove(X_FRAME_OPTIONS);
    headers.remove(ACCESS_CONTROL_ALLOW_ORIGIN);
    headers.remove(ACCESS_CONTROL_ALLOW_CREDENTIALS);
    drop_frame_ancestors(headers, CONTENT_SECURITY_POLICY);
    drop_frame_ancestors(headers, CONTENT_SECURITY_POLICY_REPORT_ONLY);
    rewrite_location(headers, target);
}

fn drop_frame_ancestors(headers: &mut HeaderMap, name: HeaderName) {
    if !headers.contains_key(&name) {
        return;
    }
    let kept: Vec<HeaderValue> = headers
        .get_all(&name)
        .iter()
        .filter_map(|value| {
            let policy = value.to_str().ok()?;
            let directives: Vec<&str> = policy
                .split(';')
                .filter(|d| {
                    !d.split_ascii_whitespace()
                        .next()
                        .is_some_and(|n| n.eq_ignore_ascii_case("frame-ancestors"))
                })
                .collect();
            let joined = directives.join(";");
            if joined.trim().is_empty() {
                None
            } else {
                HeaderValue::try_from(joined).ok()
            }
        })
        .collect();
    headers.remove(&name);
    for value in kept {
        headers.append(&name, value);
    }
}

/// An absolute redirect to the upstream's own origin becomes a path, so the window stays on the
/// proxy instead of leaving for the tunnel's address.
fn rewrite_location(headers: &mut HeaderMap, target: &Target) {
    let Some(location) = headers.get(LOCATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let Some(rest) = location.strip_prefix(target.origin.as_str()) else {
        return;
    };
    let path = if rest.is_empty() {
        "/".to_owned()
    } else if rest.starts_with('/') {
        rest.to_owned()
    } else if rest.starts_with('?') || rest.starts_with('#') {
        format!("/{rest}")
    } else {
        return; // e.g. `https://x.modal.host.evil/`: another host
    };
    if let Ok(value) = HeaderValue::try_from(path) {
        headers.insert(LOCATION, value);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn target() -> Target {
        Target::parse(&url::Url::parse("https://x.modal.host/").unwrap()).unwrap()
    }

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_go() {
        let mut h = HeaderMap::new();
        h.insert(CONNECTION, HeaderValue::from_static("keep-alive, x-secret"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(UPGRADE, HeaderValue::from_static("h2c"));
        h.insert("accept", HeaderValue::from_static("*/*"));
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("accept"));
    }

    #[test]
    fn frame_blocking_and_wildcard_cors_are_removed() {
        let mut h = HeaderMap::new();
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        h.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; img-src *"),
        );
        h.insert(
            LOCATION,
            HeaderValue::from_static("https://x.modal.host/next?a=1"),
        );
        fix_response_headers(&mut h, &target());
        assert!(!h.contains_key("x-frame-options"));
        assert!(!h.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert_eq!(
            h.get(CONTENT_SECURITY_POLICY).unwrap(),
            "default-src 'self'; img-src *"
        );
        assert_eq!(h.get(LOCATION).unwrap(), "/next?a=1");
    }

    #[test]
    fn a_csp_with_only_frame_ancestors_disappears() {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'self'"),
        );
        h.insert(
            LOCATION,
            HeaderValue::from_static("https://x.modal.host.evil/"),
        );
        fix_response_headers(&mut h, &target());
        assert!(!h.contains_key(CONTENT_SECURITY_POLICY));
        assert_eq!(h.get(LOCATION).unwrap(), "https://x.modal.host.evil/");
    }

    #[test]
    fn only_same_origin_paths_are_redirect_targets() {
        assert!(is_local_path("/"));
        assert!(is_local_path("/view?filename=a%2Fb.png"));
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "x",
            "",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}
