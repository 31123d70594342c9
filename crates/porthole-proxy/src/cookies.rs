//! Upstream cookies, made keepable by the window. The window talks to `http://127.0.0.1:PORT`, not
//! to the tunnel's host, so a `Domain` naming the tunnel or a `Secure` flag would make the browser
//! drop the cookie (and the session's own login with it); `SameSite=None` needs `Secure`, so it
//! becomes `Lax`. An upstream may never set a `porthole_proxy_*` cookie or this proxy's own (it
//! would log the window out). Other `porthole_*` cookies pass, and the proxy notes their names:
//! that is how portholed's token front and terminal, behind a desktop proxy, hand the window their
//! cookie, and only cookies noted so go back upstream ([`crate::gate::strip_foreign_cookies`]).

use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue};

use crate::gate::{Gate, COOKIE_PREFIX, RESERVED_PREFIX};

pub(crate) fn rewrite_set_cookies(headers: &mut HeaderMap, gate: &Gate) {
    let own = gate.cookie_name();
    if !headers.contains_key(SET_COOKIE) {
        return;
    }
    let rewritten: Vec<HeaderValue> = headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| rewrite(value.to_str().ok()?, own))
        .inspect(|(name, _)| {
            if name.starts_with(RESERVED_PREFIX) {
                gate.learn_upstream_cookie(name);
            }
        })
        .map(|(_, value)| value)
        .filter_map(|value| HeaderValue::try_from(value).ok())
        .collect();
    headers.remove(SET_COOKIE);
    for value in rewritten {
        headers.append(SET_COOKIE, value);
    }
}

/// The cookie's name and its rewritten `Set-Cookie`, or `None` when it may not be set.
fn rewrite(cookie: &str, own: &str) -> Option<(String, String)> {
    let mut parts = cookie.split(';').map(str::trim);
    let pair = parts.next()?;
    let name = pair.split_once('=').map_or(pair, |(n, _)| n).trim();
    if name.starts_with(COOKIE_PREFIX) || name == own {
        return None;
    }
    let mut out = vec![pair.to_owned()];
    for attribute in parts {
        let key = attribute
            .split_once('=')
            .map_or(attribute, |(k, _)| k)
            .trim()
            .to_ascii_lowercase();
        match key.as_str() {
            "domain" | "secure" | "partitioned" | "" => {}
            "samesite" if attribute.to_ascii_lowercase().ends_with("none") => {
                out.push("SameSite=Lax".to_owned());
            }
            _ => out.push(attribute.to_owned()),
        }
    }
    Some((name.to_owned(), out.join("; ")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn gate() -> Gate {
        Gate::new(([127, 0, 0, 1], 4000).into(), "s", Some("t".into())).unwrap()
    }

    fn after(cookies: &[&str]) -> Vec<String> {
        after_through(&gate(), cookies)
    }

    fn after_through(gate: &Gate, cookies: &[&str]) -> Vec<String> {
        let mut headers = HeaderMap::new();
        for c in cookies {
            headers.append(SET_COOKIE, HeaderValue::from_str(c).unwrap());
        }
        headers.insert("x-other", HeaderValue::from_static("kept"));
        rewrite_set_cookies(&mut headers, gate);
        assert_eq!(headers["x-other"], "kept");
        headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn tunnel_domains_and_secure_flags_go_so_the_window_keeps_the_cookie() {
        assert_eq!(
            after(&[
                "sid=abc; Domain=x.modal.host; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=60"
            ]),
            ["sid=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"]
        );
        assert_eq!(
            after(&["a=1", "b=2; SameSite=Strict; secure; Partitioned"]),
            ["a=1", "b=2; SameSite=Strict"]
        );
    }

    #[test]
    fn nobody_upstream_may_set_our_cookies() {
        let gate = gate();
        let mine = format!("{}=evil", gate.cookie_name());
        assert_eq!(
            after_through(
                &gate,
                &[
                    "porthole_proxy_0123=evil; Path=/",
                    "porthole_gate_other=from-a-token-front",
                    &mine,
                    "app=ok",
                ]
            ),
            ["porthole_gate_other=from-a-token-front", "app=ok"]
        );
        // What the upstream set is what may go back to it.
        let mut request = HeaderMap::new();
        request.insert(
            http::header::COOKIE,
            HeaderValue::from_static("porthole_gate_other=x; porthole_terminal_1=y; app=ok"),
        );
        crate::gate::strip_foreign_cookies(&mut request, &gate);
        assert_eq!(
            request[http::header::COOKIE],
            "porthole_gate_other=x; app=ok"
        );
    }
}
