//! A proxy with a standing token (portholed in front of ComfyUI): `?token=T` works on any path,
//! any number of times, its cookie never reaches the upstream, and a desktop proxy (single-use
//! entry URLs) in front of it works end to end.

#![allow(clippy::unwrap_used)]

mod common;

use common::upstream::Upstream;
use common::{config, get, open, send, text};
use porthole_proxy::{Proxy, ProxyHandle};
use porthole_secrets::Sensitive;

const TOKEN: &str = "standing-token-0123456789";

async fn standing(up: &Upstream) -> ProxyHandle {
    let mut c = config(up.url(), "portholed-session");
    c.standing_token = Some(Sensitive::new(TOKEN.to_owned()));
    Proxy::start(c).await.unwrap()
}

/// `name=value` of a response's `Set-Cookie`.
fn cookie_of(response: &http::Response<hyper::body::Incoming>) -> String {
    let set = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_standing_token_opens_any_path_again_and_again() {
    let up = Upstream::start().await;
    let proxy = standing(&up).await;
    let port = proxy.port();
    assert_eq!(send(port, get(port, "/small", None)).await.status(), 403);
    let wrong = send(port, get(port, "/small?token=wrong", None)).await;
    assert_eq!(wrong.status(), 403);

    for _ in 0..2 {
        let r = send(
            port,
            get(port, &format!("/view?a=1&token={TOKEN}&b=2"), None),
        )
        .await;
        assert_eq!(r.status(), 302);
        assert_eq!(
            r.headers()["location"],
            "/view?a=1&b=2",
            "the token is taken out"
        );
        let cookie = cookie_of(&r);
        assert!(cookie.starts_with("porthole_gate_"), "{cookie}");
        let page = send(port, get(port, "/small", Some(&cookie))).await;
        assert_eq!(page.status(), 200);
        assert_eq!(text(page).await, "hello, world\n");
    }
    // A POST with the token is not a handshake: without the cookie it is refused.
    let post = http::Request::post(format!("/echo?token={TOKEN}"))
        .header("host", format!("127.0.0.1:{port}"))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    assert_eq!(send(port, post).await.status(), 403);
    assert!(
        up.seen().iter().all(|s| !s.target.contains(TOKEN)),
        "the token never reaches the upstream"
    );
}

#[tokio::test]
async fn its_cookie_stays_home_and_so_do_other_sessions_cookies() {
    let up = Upstream::start().await;
    let proxy = standing(&up).await;
    let port = proxy.port();
    let r = send(port, get(port, &format!("/?token={TOKEN}"), None)).await;
    let cookie = cookie_of(&r);
    let both = format!("app=1; {cookie}; porthole_gate_other=x");
    assert_eq!(
        send(port, get(port, "/echo", Some(&both))).await.status(),
        200
    );
    let seen = up.seen();
    let echo = seen.iter().rev().find(|s| s.target == "/echo").unwrap();
    // Another session's gate cookie is not this upstream's business either.
    assert_eq!(echo.headers["cookie"], "app=1");
}

#[tokio::test]
async fn a_desktop_proxy_in_front_of_it_works() {
    let up = Upstream::start().await;
    let inner = standing(&up).await;
    // The session URL portholed reports: the inner proxy with its token.
    let session_url = format!("http://127.0.0.1:{}/?token={TOKEN}", inner.port());
    let outer = open(url::Url::parse(&session_url).unwrap(), "s1").await;
    // The outer handshake landed the window on `/?token=…`: that request goes through to the inner
    // proxy, which answers with its cookie and a redirect to `/`.
    let landing = outer.send(outer.get(&format!("/?token={TOKEN}"))).await;
    assert_eq!(landing.status(), 302);
    assert_eq!(landing.headers()["location"], "/");
    let inner_cookie = cookie_of(&landing);
    let both = format!("{}; {inner_cookie}", outer.cookie);
    let page = outer.send(get(outer.port(), "/small", Some(&both))).await;
    assert_eq!(page.status(), 200);
    assert_eq!(text(page).await, "hello, world\n");
    // Without the inner cookie the inner proxy still refuses, even through the outer one.
    assert_eq!(outer.send(outer.get("/small")).await.status(), 403);
    let seen = up.seen();
    assert!(seen.iter().all(|s| s
        .headers
        .get("cookie")
        .is_none_or(|c| !c.to_str().unwrap().contains("porthole_"))));
}

#[tokio::test]
async fn it_listens_on_the_port_it_is_given() {
    let up = Upstream::start().await;
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let mut c = config(up.url(), "s1");
    c.listen_port = port;
    let proxy = Proxy::start(c).await.unwrap();
    assert_eq!(proxy.port(), port);
    // Taken: a clear error, not a different port.
    let mut again = config(up.url(), "s2");
    again.listen_port = port;
    let err = Proxy::start(again).await.err().unwrap();
    assert_eq!(err.code, porthole_core::ErrorCode::Io, "{}", err.message);
}
