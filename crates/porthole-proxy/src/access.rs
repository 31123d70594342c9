//! Who may talk to a loopback listener that serves a session: the Host and Origin rules, in one
//! place, for this crate's proxies and for portholed's session endpoints (the terminal, the token
//! front). Every local process and every web page can reach a loopback port, so a request passes
//! only if:
//!
//! - it has exactly one `Host`, and it names this listener (`IP:PORT`, or `localhost:PORT` when
//!   the listener is on 127.0.0.1): DNS rebinding gets nothing;
//! - its `Origin` is absent (a top-level navigation) or this listener's own; `null` and every
//!   other origin are refused;
//! - `Sec-Fetch-Site`, when a browser sends it, is not `cross-site` or `same-site`: every port of
//!   127.0.0.1 is the same site to a browser, so "same-site" is another loopback page.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, HeaderName};

/// Fetch metadata: where the browser says a request came from.
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// The Host and Origin rules of one listener.
#[derive(Debug, Clone)]
pub struct Access {
    hosts: Vec<String>,
    origins: Vec<String>,
}

impl Access {
    /// The rules for a listener on `addr` (a loopback address).
    pub fn for_listener(addr: SocketAddr) -> Self {
        let port = addr.port();
        let ip = match addr.ip() {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        let mut hosts = vec![format!("{ip}:{port}")];
        if addr.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST) {
            hosts.push(format!("localhost:{port}"));
        }
        let origins = hosts.iter().map(|h| format!("http://{h}")).collect();
        Self { hosts, origins }
    }

    /// `http://IP:PORT`: the listener's own origin.
    pub fn origin(&self) -> &str {
        &self.origins[0]
    }

    /// Exactly one `Host`, and it is ours (no other name, no other port).
    pub fn host_ok(&self, headers: &HeaderMap) -> bool {
        let mut values = headers.get_all(HOST).iter();
        match (values.next(), values.next()) {
            (Some(host), None) => self
                .hosts
                .iter()
                .any(|h| h.as_bytes().eq_ignore_ascii_case(host.as_bytes())),
            _ => false,
        }
    }

    /// `Origin` is absent or ours, and the browser does not say the request came from elsewhere.
    pub fn origin_ok(&self, headers: &HeaderMap) -> bool {
        let mut values = headers.get_all(ORIGIN).iter();
        let origin_ok = match (values.next(), values.next()) {
            (None, _) => true,
            (Some(origin), None) => self
                .origins
                .iter()
                .any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes())),
            _ => false,
        };
        let site_ok = headers
            .get_all(SEC_FETCH_SITE)
            .iter()
            .all(|v| !matches!(v.as_bytes(), b"cross-site" | b"same-site"));
        origin_ok && site_ok
    }

    /// Both rules: what every request and every WebSocket upgrade must pass.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        self.host_ok(headers) && self.origin_ok(headers)
    }
}

/// A loopback address of its own for a session proxy, `127.A.B.C` at random outside 127.0.0.0/24:
/// browsers keep cookies per host (not per port), and every port of one address is the same site,
/// so sessions on distinct addresses cannot see each other's cookies and are cross-site to each
/// other. Linux routes all of 127.0.0.0/8 to the loopback device; where a bind on it fails
/// (macOS), [`crate::Proxy::start`] falls back to 127.0.0.1.
pub fn own_loopback_address() -> Ipv4Addr {
    let mut bytes = [0u8; 3];
    if getrandom::fill(&mut bytes).is_err() {
        return Ipv4Addr::LOCALHOST;
    }
    Ipv4Addr::new(127, bytes[0].max(1), bytes[1], bytes[2].clamp(1, 254))
}

/// A header map from `(name, value)` pairs, for the unit tests.
#[cfg(test)]
pub(crate) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        #[allow(clippy::unwrap_used)]
        map.append(*name, http::HeaderValue::from_str(value).unwrap());
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_hosts_and_origins_pass() {
        let access = Access::for_listener("127.0.0.1:4000".parse().unwrap());
        assert!(access.host_ok(&headers(&[("host", "127.0.0.1:4000")])));
        assert!(access.host_ok(&headers(&[("host", "LOCALHOST:4000")])));
        assert!(!access.host_ok(&headers(&[("host", "evil.example:4000")])));
        assert!(!access.host_ok(&headers(&[("host", "127.0.0.1:4001")])));
        assert!(!access.host_ok(&headers(&[("host", "127.0.0.1")])));
        assert!(!access.host_ok(&HeaderMap::new()));
        assert!(!access.host_ok(&headers(&[
            ("host", "127.0.0.1:4000"),
            ("host", "127.0.0.1:4000")
        ])));
        assert!(access.origin_ok(&HeaderMap::new()));
        assert!(access.origin_ok(&headers(&[("origin", "http://localhost:4000")])));
        assert!(!access.origin_ok(&headers(&[("origin", "null")])));
        assert!(!access.origin_ok(&headers(&[("origin", "http://127.0.0.1:4001")])));
        assert!(!access.origin_ok(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(access.origin_ok(&headers(&[("sec-fetch-site", "same-origin")])));
        assert_eq!(access.origin(), "http://127.0.0.1:4000");
    }

    #[test]
    fn an_own_address_has_no_localhost_name() {
        let access = Access::for_listener("127.9.8.7:4000".parse().unwrap());
        assert!(access.host_ok(&headers(&[("host", "127.9.8.7:4000")])));
        assert!(!access.host_ok(&headers(&[("host", "localhost:4000")])));
        assert!(!access.host_ok(&headers(&[("host", "127.0.0.1:4000")])));
        assert!(access.origin_ok(&headers(&[("origin", "http://127.9.8.7:4000")])));
        assert!(!access.origin_ok(&headers(&[("origin", "http://127.0.0.1:4000")])));
    }

    #[test]
    fn own_addresses_are_loopback_and_not_the_usual_one() {
        for _ in 0..100 {
            let ip = own_loopback_address();
            assert!(ip.is_loopback());
            assert_ne!(ip.octets()[1], 0);
            assert!(!matches!(ip.octets()[3], 0 | 255));
        }
    }
}
