//! Who may use a proxy (shared/DESIGN.md §5). Every local process and every web page can reach a
//! loopback port, so a request passes only if:
//!
//! - `Host` is exactly `127.0.0.1:PORT` or `localhost:PORT` (DNS rebinding);
//! - `Origin` is absent or one of our own two origins, and `Sec-Fetch-Site`, when a browser sends
//!   it, is not `cross-site` or `same-site` (another port of 127.0.0.1 is "same site");
//! - it carries the session's cookie, which only the one-time handshake
//!   `/__porthole/auth?token=T` hands out (`HttpOnly; SameSite=Strict`).
//!
//! The cookie's value is a secret of its own, never the token. Tokens are single-use and expire.
//!
//! A proxy may also have a *standing* token (the way Jupyter's token works): `?token=T` on any
//! `GET` hands out the cookie and redirects to the same URL without the token. portholed fronts
//! ComfyUI, which has no token of its own, with such a proxy. Its cookie is named
//! `porthole_gate_*`, which other proxies forward (so a desktop proxy in front of it works), and
//! which it removes itself before forwarding.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::header::{COOKIE, HOST, ORIGIN};
use http::{HeaderMap, HeaderName, HeaderValue};
use porthole_core::{Error, ErrorCode};
use sha2::{Digest, Sha256};

/// Every cookie this crate sets starts with this; all of them are removed before forwarding, so
/// one session's secret never reaches another session's upstream.
pub(crate) const COOKIE_PREFIX: &str = "porthole_proxy_";

/// The cookie of a proxy with a standing token (see the module documentation).
pub(crate) const STANDING_COOKIE_PREFIX: &str = "porthole_gate_";

/// How long an entry URL stays usable.
pub(crate) const TOKEN_TTL: Duration = Duration::from_secs(300);

/// At most this many entry URLs are pending at once; minting more forgets the oldest.
const MAX_PENDING: usize = 16;

/// Fetch metadata: where the browser says a request came from.
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// 32 random bytes, base64url without padding.
pub(crate) fn random_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::new(
            ErrorCode::Internal,
            format!("The system's random number generator failed: {e}"),
        )
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Compares two secrets in time that depends on their lengths only.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

struct Pending {
    token: String,
    minted: Instant,
}

pub(crate) struct Gate {
    hosts: [String; 2],
    origins: [String; 2],
    cookie_name: String,
    cookie_secret: String,
    pending: Mutex<Vec<Pending>>,
    standing: Option<String>,
}

impl Gate {
    pub(crate) fn new(
        port: u16,
        session_id: &str,
        standing: Option<String>,
    ) -> Result<Self, Error> {
        let digest = Sha256::digest(session_id.as_bytes());
        let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let prefix = if standing.is_some() {
            STANDING_COOKIE_PREFIX
        } else {
            COOKIE_PREFIX
        };
        Ok(Self {
            hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
            origins: [
                format!("http://127.0.0.1:{port}"),
                format!("http://localhost:{port}"),
            ],
            cookie_name: format!("{prefix}{hash}"),
            cookie_secret: random_secret()?,
            pending: Mutex::new(Vec::new()),
            standing,
        })
    }

    /// Whether `query` carries this proxy's standing token as `token=`; if so, also the query
    /// without it (where to send the window once it has the cookie).
    pub(crate) fn standing_token_in(&self, query: &str) -> Option<String> {
        let standing = self.standing.as_deref()?;
        let mut found = false;
        let mut rest = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if key == "token" {
                found |= same_secret(value.as_bytes(), standing.as_bytes());
            } else {
                rest.append_pair(&key, &value);
            }
        }
        found.then(|| rest.finish())
    }

    /// A new single-use token for the handshake.
    pub(crate) fn mint(&self) -> Result<String, Error> {
        let token = random_secret()?;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|p| p.minted.elapsed() < TOKEN_TTL);
        if pending.len() >= MAX_PENDING {
            pending.remove(0);
        }
        pending.push(Pending {
            token: token.clone(),
            minted: Instant::now(),
        });
        Ok(token)
    }

    /// Whether `token` is a pending, unexpired token; it is used up either way it matches.
    pub(crate) fn redeem(&self, token: &str) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|p| p.minted.elapsed() < TOKEN_TTL);
        let found = pending
            .iter()
            .position(|p| same_secret(p.token.as_bytes(), token.as_bytes()));
        match found {
            Some(i) => {
                pending.remove(i);
                true
            }
            None => false,
        }
    }

    /// `Host` is exactly one of ours (one header, no other port, no other name).
    pub(crate) fn host_ok(&self, headers: &HeaderMap) -> bool {
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
    pub(crate) fn origin_ok(&self, headers: &HeaderMap) -> bool {
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

    /// The request carries this proxy's cookie with its secret.
    pub(crate) fn has_cookie(&self, headers: &HeaderMap) -> bool {
        cookie_pairs(headers).any(|(name, value)| {
            name == self.cookie_name && same_secret(value.as_bytes(), self.cookie_secret.as_bytes())
        })
    }

    /// This proxy's cookie's name.
    pub(crate) fn cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// The `Set-Cookie` the handshake answers with.
    pub(crate) fn set_cookie(&self) -> Result<HeaderValue, Error> {
        HeaderValue::try_from(format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/",
            self.cookie_name, self.cookie_secret
        ))
        .map_err(|e| Error::new(ErrorCode::Internal, format!("bad cookie header: {e}")))
    }
}

fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(name, value)| (name.trim(), value.trim()))
}

/// Removes every `porthole_proxy_*` cookie, and `own` (a standing gate's cookie), keeping the
/// upstream's own cookies as they were.
pub(crate) fn strip_own_cookies(headers: &mut HeaderMap, own: &str) {
    let ours = headers.get_all(COOKIE).iter().any(|v| {
        memmem(v.as_bytes(), COOKIE_PREFIX.as_bytes()) || memmem(v.as_bytes(), own.as_bytes())
    });
    if !ours {
        return;
    }
    // Every request from the window carries our cookie: one string, no list of pairs.
    let mut kept = String::new();
    for pair in headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| {
            !pair.is_empty()
                && !pair.starts_with(COOKIE_PREFIX)
                && pair.split_once('=').map(|(n, _)| n.trim()) != Some(own)
        })
    {
        if !kept.is_empty() {
            kept.push_str("; ");
        }
        kept.push_str(pair);
    }
    headers.remove(COOKIE);
    if !kept.is_empty() {
        if let Ok(value) = HeaderValue::try_from(kept) {
            headers.insert(COOKIE, value);
        }
    }
}

fn memmem(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn tokens_are_single_use() {
        let gate = Gate::new(4000, "s1", None).unwrap();
        let token = gate.mint().unwrap();
        assert!(!gate.redeem("nope"));
        assert!(gate.redeem(&token));
        assert!(!gate.redeem(&token));
    }

    #[test]
    fn only_our_hosts_and_origins_pass() {
        let gate = Gate::new(4000, "s1", None).unwrap();
        assert!(gate.host_ok(&headers(&[("host", "127.0.0.1:4000")])));
        assert!(gate.host_ok(&headers(&[("host", "LOCALHOST:4000")])));
        assert!(!gate.host_ok(&headers(&[("host", "evil.example:4000")])));
        assert!(!gate.host_ok(&headers(&[("host", "127.0.0.1:4001")])));
        assert!(!gate.host_ok(&headers(&[("host", "127.0.0.1")])));
        assert!(!gate.host_ok(&HeaderMap::new()));
        assert!(gate.origin_ok(&HeaderMap::new()));
        assert!(gate.origin_ok(&headers(&[("origin", "http://localhost:4000")])));
        assert!(!gate.origin_ok(&headers(&[("origin", "null")])));
        assert!(!gate.origin_ok(&headers(&[("origin", "http://127.0.0.1:4001")])));
        assert!(!gate.origin_ok(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(gate.origin_ok(&headers(&[("sec-fetch-site", "same-origin")])));
    }

    #[test]
    fn the_cookie_is_named_for_the_session_and_checked_by_value() {
        let gate = Gate::new(4000, "s1", None).unwrap();
        let set = gate.set_cookie().unwrap();
        let set = set.to_str().unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        let pair = set.split(';').next().unwrap();
        assert!(gate.has_cookie(&headers(&[("cookie", &format!("a=b; {pair}"))])));
        let (name, _) = pair.split_once('=').unwrap();
        assert!(!gate.has_cookie(&headers(&[("cookie", &format!("{name}=wrong"))])));
        let other = Gate::new(4000, "s2", None).unwrap();
        assert!(!other.has_cookie(&headers(&[("cookie", pair)])));
    }

    #[test]
    fn our_cookies_never_go_upstream() {
        let mut map = headers(&[(
            "cookie",
            "a=1; porthole_proxy_abc=secret; porthole_terminal_9=t",
        )]);
        strip_own_cookies(&mut map, "porthole_proxy_abc");
        assert_eq!(map.get(COOKIE).unwrap(), "a=1; porthole_terminal_9=t");
        let mut only = headers(&[("cookie", "porthole_proxy_abc=secret")]);
        strip_own_cookies(&mut only, "porthole_proxy_abc");
        assert!(only.get(COOKIE).is_none());
        // A standing gate's cookie goes on through other proxies, but never past its own.
        let mut gates = headers(&[("cookie", "porthole_gate_1=x; porthole_gate_2=y")]);
        strip_own_cookies(&mut gates, "porthole_proxy_abc");
        assert_eq!(
            gates.get(COOKIE).unwrap(),
            "porthole_gate_1=x; porthole_gate_2=y"
        );
        strip_own_cookies(&mut gates, "porthole_gate_2");
        assert_eq!(gates.get(COOKIE).unwrap(), "porthole_gate_1=x");
    }

    #[test]
    fn a_standing_token_is_found_and_taken_out_of_the_query() {
        let gate = Gate::new(4000, "s1", Some("tok".into())).unwrap();
        assert_eq!(gate.standing_token_in("token=tok").as_deref(), Some(""));
        assert_eq!(
            gate.standing_token_in("a=1&token=tok&b=x+y").as_deref(),
            Some("a=1&b=x+y")
        );
        assert_eq!(gate.standing_token_in("token=other"), None);
        assert_eq!(gate.standing_token_in("a=1"), None);
        assert!(gate.cookie_name().starts_with(STANDING_COOKIE_PREFIX));
        let plain = Gate::new(4000, "s1", None).unwrap();
        assert_eq!(plain.standing_token_in("token=tok"), None);
        assert!(plain.cookie_name().starts_with(COOKIE_PREFIX));
    }
}
