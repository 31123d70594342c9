//! The few responses the proxy writes itself. They use no external resources and pass the proxy's
//! own rules: the "unreachable" page polls a same-origin endpoint with the window's cookie.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONNECTION, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full};

use crate::forward::ProxyBody;

/// Where the window's first navigation goes.
pub(crate) const AUTH_PATH: &str = "/__porthole/auth";
/// Answers 200 when the upstream answers, 503 when it does not. Needs the cookie.
pub(crate) const HEALTH_PATH: &str = "/__porthole/health";
/// Paths under this prefix are the proxy's own; they are never forwarded.
pub(crate) const RESERVED_PREFIX: &str = "/__porthole/";

const UNREACHABLE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tunnel unreachable</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="5"></noscript>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;
background:#111418;color:#d6dbe1}main{max-width:28rem;padding:2rem;text-align:center}
h1{font-size:1.2rem;font-weight:600;margin:0 0 .5rem}p{margin:.25rem 0;color:#9aa4ae}
</style></head>
<body><main><h1>Tunnel unreachable, retrying&hellip;</h1>
<p>The session's page does not answer right now. This window reloads by itself when it does.</p>
<p id="s"></p></main>
<script>
(function(){var n=0,s=document.getElementById("s");
function poll(){fetch("/__porthole/health",{cache:"no-store",credentials:"same-origin"})
.then(function(r){if(r.ok){location.reload();}else{later();}},later);}
function later(){n++;s.textContent="Attempt "+n;setTimeout(poll,Math.min(1000+n*500,5000));}
setTimeout(poll,1000);})();
</script></body></html>
"#;

/// The page's CSP allows only its own inline style and script, and fetches to itself.
const UNREACHABLE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; \
                               script-src 'unsafe-inline'; connect-src 'self'";

fn full(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<ProxyBody> {
    let mut response = Response::new(
        Full::new(body.into())
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 502 with the self-reloading page (the upstream refused, timed out or broke the connection).
pub(crate) fn unreachable() -> Response<ProxyBody> {
    let mut response = full(
        StatusCode::BAD_GATEWAY,
        "text/html; charset=utf-8",
        UNREACHABLE,
    );
    response.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static(UNREACHABLE_CSP),
    );
    response
}

/// The ended page's CSP: its own inline style, nothing else (no script at all).
const ENDED_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// The page a session window shows once its session has ended: a headline ("terminal on CPU
/// 3f2a91c0 timed out") and lines of detail, escaped; no script, nothing from elsewhere.
pub(crate) fn ended_page(headline: &str, lines: &[&str]) -> Bytes {
    let detail: String = lines
        .iter()
        .map(|line| format!("<p>{}</p>", escape(line)))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font:15px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;
background:#111418;color:#d6dbe1}}main{{max-width:32rem;padding:2rem;text-align:center}}
h1{{font-size:1.2rem;font-weight:600;margin:0 0 .5rem}}p{{margin:.25rem 0;color:#9aa4ae}}
</style></head>
<body><main id="porthole-ended"><h1>{title}</h1>{detail}</main></body></html>
"#,
        title = escape(headline),
    )
    .into()
}

/// 410 with the ended page (see [`ended_page`]).
pub(crate) fn ended(page: Bytes) -> Response<ProxyBody> {
    let mut response = full(StatusCode::GONE, "text/html; charset=utf-8", page);
    response.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static(ENDED_CSP),
    );
    response
}

/// Text made safe inside HTML elements and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// 403 for anything the gate refuses.
pub(crate) fn forbidden() -> Response<ProxyBody> {
    full(
        StatusCode::FORBIDDEN,
        "text/plain; charset=utf-8",
        "Forbidden: this address only serves the Porthole window it was opened for.\n",
    )
}

/// 400, closing the connection.
pub(crate) fn bad_request(why: &'static str) -> Response<ProxyBody> {
    let mut response = full(StatusCode::BAD_REQUEST, "text/plain; charset=utf-8", why);
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

pub(crate) fn not_found() -> Response<ProxyBody> {
    full(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        "Not found\n",
    )
}

/// The handshake's answer: the cookie, and a redirect to a same-origin path.
pub(crate) fn handshake(location: HeaderValue, cookie: HeaderValue) -> Response<ProxyBody> {
    let mut response = full(StatusCode::FOUND, "text/plain; charset=utf-8", "");
    let headers = response.headers_mut();
    headers.insert(LOCATION, location);
    headers.insert(SET_COOKIE, cookie);
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

pub(crate) fn health(up: bool) -> Response<ProxyBody> {
    if up {
        full(StatusCode::OK, "application/json", r#"{"upstream":"up"}"#)
    } else {
        full(
            StatusCode::SERVICE_UNAVAILABLE,
            "application/json",
            r#"{"upstream":"down"}"#,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ended_page_escapes_what_it_is_given() {
        let page = ended_page("<b>x</b> timed out", &["it's \"over\" & done"]);
        let text = std::str::from_utf8(&page).unwrap();
        assert!(
            text.contains("<h1>&lt;b&gt;x&lt;/b&gt; timed out</h1>"),
            "{text}"
        );
        assert!(
            text.contains("<p>it&#39;s &quot;over&quot; &amp; done</p>"),
            "{text}"
        );
        assert!(!text.contains("<script"), "{text}");
    }
}
