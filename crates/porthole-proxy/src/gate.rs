//! Who may use a proxy. Every local process and every web page can reach a loopback port, so a
//! request passes only if:
//!
//! - it passes the listener rules of [`crate::access`] (one `Host`, ours; `Origin` absent or ours);
//! - it carries the session's cookie, which only the one-time handshake
//!   `/__porthole/auth?token=T` hands out (`HttpOnly; SameSite=Strict`).
//!
//! The cookie's value is a secret of its own, never the token. Tokens are single-use and expire.
//!
//! A proxy may also have a *standing* token (the way Jupyter's token works): `?token=T` on any
//! `GET` hands out the cookie and redirects to the same URL without the token. portholed fronts
//! ComfyUI, which has no token of its own, with such a proxy. Its cookie is named
//! `porthole_gate_*`; a desktop proxy in front of it forwards it because that proxy's upstream
//! set it ([`strip_foreign_cookies`]), and the standing proxy removes it itself before forwarding.

use std::net::SocketAddr;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use porthole_core::{Error, ErrorCode};
use sha2::{Digest, Sha256};

use crate::access::Access;

/// Every cookie this crate sets starts with this; all of them are removed before forwarding, so
/// one session's secret never reaches another session's upstream.
pub(crate) const COOKIE_PREFIX: &str = "porthole_proxy_";

/// The cookie of a proxy with a standing token (see the module documentation).
pub(crate) const STANDING_COOKIE_PREFIX: &str = "porthole_gate_";

/// How long an entry URL stays usable.
pub(crate) const TOKEN_TTL: Duration = Duration::from_secs(300);

/// At most this many entry URLs are pending at once; minting more forgets the oldest.
const MAX_PENDING: usize = 16;

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
    pub(crate) access: Access,
    cookie_name: String,
    cookie_secret: String,
    pending: Mutex<Vec<Pending>>,
    standing: Option<String>,
    /// The `porthole_*` cookies the upstream set through this proxy (portholed's terminal or
    /// token front behind a desktop proxy): only those go back upstream.
    upstream_cookies: RwLock<Vec<String>>,
}

impl Gate {
    pub(crate) fn new(
        addr: SocketAddr,
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
            access: Access::for_listener(addr),
            cookie_name: format!("{prefix}{hash}"),
            cookie_secret: random_secret()?,
            pending: Mutex::new(Vec::new()),
            standing,
            upstream_cookies: RwLock::new(Vec::new()),
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

    /// The request carries this proxy's cookie with its secret.
    pub(crate) fn has_cookie(&self, headers: &HeaderMap) -> bool {
        cookie_pairs(headers).any(|(name, value)| {
            name == self.cookie_name && same_secret(value.as_bytes(), self.cookie_secret.as_bytes())
        })
    }

    /// Notes that the upstream set a `porthole_*` cookie named `name` through this proxy.
    pub(crate) fn learn_upstream_cookie(&self, name: &str) {
        if self.set_upstream(name) {
            return;
        }
        let mut names = self
            .upstream_cookies
            .write()
            .unwrap_or_else(|p| p.into_inner());
        // A handful in practice; bounded so an upstream cannot grow it without end.
        if names.len() < 64 {
            names.push(name.to_owned());
        }
    }

    /// Whether the upstream set a cookie named `name` through this proxy.
    fn set_upstream(&self, name: &str) -> bool {
        self.upstream_cookies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|n| n == name)
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

/// Every cookie name Porthole's listeners use (this crate's, portholed's terminal and token
/// front) starts with this.
pub(crate) const RESERVED_PREFIX: &str = "porthole_";

/// Removes the cookies that do not belong to this proxy's session before a request goes upstream:
/// this proxy's own (`own`), and every `porthole_*` cookie its upstream did not set through it
/// (another session's gate or terminal cookie, which a browser that keeps cookies per host
/// would send to every port). The upstream's own cookies stay as they were.
pub(crate) fn strip_foreign_cookies(headers: &mut HeaderMap, gate: &Gate) {
    let ours = headers
        .get_all(COOKIE)
        .iter()
        .any(|v| memmem(v.as_bytes(), RESERVED_PREFIX.as_bytes()));
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
            let name = pair.split_once('=').map_or(*pair, |(n, _)| n).trim();
            !pair.is_empty()
                && (!name.starts_with(RESERVED_PREFIX)
                    || (name != gate.cookie_name && gate.set_upstream(name)))
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

    const ADDR: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 4000);

    use crate::access::headers;

    #[test]
    fn tokens_are_single_use() {
        let gate = Gate::new(ADDR, "s1", None).unwrap();
        let token = gate.mint().unwrap();
        assert!(!gate.redeem("nope"));
        assert!(gate.redeem(&token));
        assert!(!gate.redeem(&token));
    }

    #[test]
    fn the_cookie_is_named_for_the_session_and_checked_by_value() {
        let gate = Gate::new(ADDR, "s1", None).unwrap();
        let set = gate.set_cookie().unwrap();
        let set = set.to_str().unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        let pair = set.split(';').next().unwrap();
        assert!(gate.has_cookie(&headers(&[("cookie", &format!("a=b; {pair}"))])));
        let (name, _) = pair.split_once('=').unwrap();
        assert!(!gate.has_cookie(&headers(&[("cookie", &format!("{name}=wrong"))])));
        let other = Gate::new(ADDR, "s2", None).unwrap();
        assert!(!other.has_cookie(&headers(&[("cookie", pair)])));
    }

    #[test]
    fn only_the_sessions_own_cookies_go_upstream() {
        let gate = Gate::new(ADDR, "s1", None).unwrap();
        let own = gate.cookie_name().to_owned();
        let mut map = headers(&[(
            "cookie",
            &format!("a=1; {own}=secret; porthole_terminal_9=t; porthole_gate_b=x; b=2"),
        )]);
        strip_foreign_cookies(&mut map, &gate);
        assert_eq!(map.get(COOKIE).unwrap(), "a=1; b=2");
        let mut only = headers(&[("cookie", &format!("{own}=secret"))]);
        strip_foreign_cookies(&mut only, &gate);
        assert!(only.get(COOKIE).is_none());
        // A cookie the upstream set through this proxy (a token front's, a terminal's) goes back.
        gate.learn_upstream_cookie("porthole_gate_a");
        gate.learn_upstream_cookie(&own);
        let mut gates = headers(&[(
            "cookie",
            &format!("porthole_gate_a=x; porthole_gate_b=y; {own}=s"),
        )]);
        strip_foreign_cookies(&mut gates, &gate);
        assert_eq!(gates.get(COOKIE).unwrap(), "porthole_gate_a=x");
    }

    #[test]
    fn a_standing_token_is_found_and_taken_out_of_the_query() {
        let gate = Gate::new(ADDR, "s1", Some("tok".into())).unwrap();
        assert_eq!(gate.standing_token_in("token=tok").as_deref(), Some(""));
        assert_eq!(
            gate.standing_token_in("a=1&token=tok&b=x+y").as_deref(),
            Some("a=1&b=x+y")
        );
        assert_eq!(gate.standing_token_in("token=other"), None);
        assert_eq!(gate.standing_token_in("a=1"), None);
        assert!(gate.cookie_name().starts_with(STANDING_COOKIE_PREFIX));
        let plain = Gate::new(ADDR, "s1", None).unwrap();
        assert_eq!(plain.standing_token_in("token=tok"), None);
        assert!(plain.cookie_name().starts_with(COOKIE_PREFIX));
    }
}
