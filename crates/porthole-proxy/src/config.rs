//! What a proxy is started with, and the parsed upstream it forwards to.

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use porthole_core::Error;
use porthole_secrets::Sensitive;
use rustls::pki_types::CertificateDer;
use url::Url;

/// The longest connect timeout allowed (a window must learn fast that its tunnel is down).
pub const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Adds headers to every request sent upstream, for providers whose tunnels need auth. It runs
/// after the proxy's own rewriting (so it may set `Authorization`, or even `Host`) and is called
/// per request, so a hook can hand out a refreshed credential. Mark secret values with
/// [`HeaderValue::set_sensitive`].
pub trait HeaderHook: Send + Sync + 'static {
    fn apply(&self, upstream: &Url, headers: &mut HeaderMap);
}

/// A [`HeaderHook`] that inserts fixed headers (replacing any the window sent).
#[derive(Clone, Default)]
pub struct StaticHeaders(pub Vec<(HeaderName, HeaderValue)>);

impl HeaderHook for StaticHeaders {
    fn apply(&self, _upstream: &Url, headers: &mut HeaderMap) {
        for (name, value) in &self.0 {
            headers.insert(name.clone(), value.clone());
        }
    }
}

impl fmt::Debug for StaticHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_tuple("StaticHeaders").field(&names).finish()
    }
}

/// How to start a [`crate::Proxy`].
#[derive(Clone)]
pub struct ProxyConfig {
    /// The session's URL (`http` or `https`). Its path and query are where the window lands after
    /// the handshake (e.g. `/?token=…` for portholed sessions, `/lab?token=…` for Jupyter);
    /// request paths are forwarded unchanged. It is a bearer secret: it is never logged.
    pub upstream: Url,
    /// The provider's session id: names the cookie, so windows of two sessions never mix.
    pub session_id: String,
    /// TCP connect plus TLS handshake; at most [`MAX_CONNECT_TIMEOUT`] (longer is clamped).
    pub connect_timeout: Duration,
    /// How long a client may take to send a request's headers (slow-header attacks). The same
    /// timer closes keep-alive connections left idle that long.
    pub header_timeout: Duration,
    /// Headers to add upstream, for tunnels that need auth.
    pub headers: Option<Arc<dyn HeaderHook>>,
    /// Roots trusted on top of the system's, for `https` upstreams with a private CA.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Threads serving this proxy (1 to [`crate::MAX_WORKERS`]); by default 2, or 1 on a
    /// single-core machine. One is plenty for one window; two keep up with nginx under load.
    pub workers: usize,
    /// The loopback port to listen on; 0 (the default) lets the system choose.
    pub listen_port: u16,
    /// The loopback address to listen on: 127.0.0.1 by default; a session window's proxy takes
    /// one of its own ([`crate::own_loopback_address`]) so that sessions share no cookies.
    pub listen_ip: Ipv4Addr,
    /// Connections that have not authenticated, at once ([`crate::admission`]).
    pub max_unverified: usize,
    /// A token that stays valid, the way Jupyter's does: `?token=T` on any `GET` sets the cookie
    /// and redirects to the same URL without it. For servers that front a session process with
    /// no token of its own (portholed's `comfyui`). `None` (the default): single-use entry URLs
    /// only.
    pub standing_token: Option<Sensitive<String>>,
    /// A paired portholed's tunnel: every upstream connection is opened through it to this
    /// session (the URL then names the session's address on that server). `None`: direct.
    pub tunnel: Option<porthole_local::tunnel::Tunnel>,
}

impl ProxyConfig {
    /// A config with the default timeouts (5 s connect, 15 s headers) and no extra headers.
    pub fn new(upstream: Url, session_id: impl Into<String>) -> Self {
        Self {
            upstream,
            session_id: session_id.into(),
            connect_timeout: Duration::from_secs(5),
            header_timeout: crate::admission::DEFAULT_HEADER_TIMEOUT,
            headers: None,
            extra_roots: Vec::new(),
            workers: std::thread::available_parallelism()
                .map(|n| n.get().min(2))
                .unwrap_or(1),
            listen_port: 0,
            listen_ip: Ipv4Addr::LOCALHOST,
            max_unverified: crate::admission::DEFAULT_MAX_UNVERIFIED,
            standing_token: None,
            tunnel: None,
        }
    }
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("upstream", &"<redacted>")
            .field("session_id", &self.session_id)
            .field("connect_timeout", &self.connect_timeout)
            .field("header_timeout", &self.header_timeout)
            .field("headers", &self.headers.is_some())
            .field("extra_roots", &self.extra_roots.len())
            .field("workers", &self.workers)
            .field("listen_port", &self.listen_port)
            .field("listen_ip", &self.listen_ip)
            .field("max_unverified", &self.max_unverified)
            .field("standing_token", &self.standing_token.is_some())
            .field("tunnel", &self.tunnel)
            .finish()
    }
}

/// The upstream, parsed once per (re)target.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) url: Url,
    pub(crate) scheme: http::uri::Scheme,
    pub(crate) authority: http::uri::Authority,
    /// `scheme://authority`, as upstream redirects spell it.
    pub(crate) origin: String,
    /// The `Host` header sent upstream.
    pub(crate) host: HeaderValue,
    /// Path and query of the session's URL: where the handshake lands.
    pub(crate) landing: String,
}

impl Target {
    pub(crate) fn parse(url: &Url) -> Result<Self, Error> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::invalid_input(
                "The session's URL must start with http:// or https://.",
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::invalid_input("The session's URL has no host."))?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let origin = format!("{}://{authority}", url.scheme());
        let mut landing = url.path().to_owned();
        if let Some(query) = url.query() {
            landing.push('?');
            landing.push_str(query);
        }
        let invalid = || Error::invalid_input("The session's URL cannot be proxied.");
        let uri = http::Uri::try_from(format!("{origin}{landing}")).map_err(|_| invalid())?;
        let (Some(scheme), Some(authority_part)) = (uri.scheme(), uri.authority()) else {
            return Err(invalid());
        };
        Ok(Self {
            url: url.clone(),
            scheme: scheme.clone(),
            authority: authority_part.clone(),
            host: HeaderValue::try_from(authority).map_err(|_| invalid())?,
            origin,
            landing,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn targets_keep_ports_and_landing_pages() {
        let t = Target::parse(&Url::parse("http://127.0.0.1:8188/lab?token=abc").unwrap()).unwrap();
        assert_eq!(t.origin, "http://127.0.0.1:8188");
        assert_eq!(t.host, "127.0.0.1:8188");
        assert_eq!(t.landing, "/lab?token=abc");
        let t = Target::parse(&Url::parse("https://x.modal.host").unwrap()).unwrap();
        assert_eq!(t.origin, "https://x.modal.host");
        assert_eq!(t.host, "x.modal.host");
        assert_eq!(t.landing, "/");
        let t = Target::parse(&Url::parse("http://[::1]:9/").unwrap()).unwrap();
        assert_eq!(t.host, "[::1]:9");
    }

    #[test]
    fn other_schemes_are_refused() {
        for bad in ["ftp://x/", "file:///etc/passwd", "ws://x/"] {
            assert!(Target::parse(&Url::parse(bad).unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_upstream() {
        let config = ProxyConfig::new(Url::parse("https://secret.modal.host/").unwrap(), "s");
        assert!(!format!("{config:?}").contains("secret"));
    }
}
