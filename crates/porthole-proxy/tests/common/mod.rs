//! Helpers for the proxy's integration tests: a window (a proxy plus the cookie its handshake
//! set), requests on fresh connections with exactly the headers a test wants, raw sockets for the
//! attacks, and polling with deadlines.

#![allow(dead_code, clippy::unwrap_used)]

pub mod upstream;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use porthole_proxy::{Proxy, ProxyConfig, ProxyHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;
use url::Url;

pub const DEADLINE: Duration = Duration::from_secs(20);

/// A started proxy and the `name=value` cookie its handshake set.
pub struct Window {
    pub proxy: ProxyHandle,
    pub cookie: String,
}

impl Window {
    pub fn port(&self) -> u16 {
        self.proxy.port()
    }

    /// `GET path` as the window would send it: our Host, our cookie.
    pub fn get(&self, path: &str) -> Request<Empty<Bytes>> {
        get(self.port(), path, Some(&self.cookie))
    }

    pub async fn send<B>(&self, request: Request<B>) -> Response<Incoming>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        send(self.port(), request).await
    }

    /// A WebSocket to `path` through the proxy, with the cookie.
    pub async fn websocket(&self, path: &str) -> WebSocketStream<TcpStream> {
        let mut request = format!("ws://127.0.0.1:{}{path}", self.port())
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("cookie", HeaderValue::from_str(&self.cookie).unwrap());
        request.headers_mut().insert(
            "origin",
            HeaderValue::from_str(&self.proxy.local_origin()).unwrap(),
        );
        let tcp = TcpStream::connect(("127.0.0.1", self.port()))
            .await
            .unwrap();
        let config = WebSocketConfig::default()
            .max_message_size(Some(64 << 20))
            .max_frame_size(Some(64 << 20));
        let (ws, response) =
            tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
                .await
                .unwrap();
        assert_eq!(response.status(), 101);
        ws
    }
}

pub fn config(upstream: Url, session: &str) -> ProxyConfig {
    let mut config = ProxyConfig::new(upstream, session);
    config.connect_timeout = Duration::from_secs(2);
    config
}

/// Starts a proxy for `upstream` and goes through the handshake.
pub async fn open(upstream: Url, session: &str) -> Window {
    open_with(config(upstream, session)).await
}

pub async fn open_with(config: ProxyConfig) -> Window {
    let proxy = Proxy::start(config).await.unwrap();
    let cookie = handshake(&proxy).await;
    Window { proxy, cookie }
}

/// Follows a fresh entry URL and returns the `name=value` of the cookie it sets.
pub async fn handshake(proxy: &ProxyHandle) -> String {
    let entry = proxy.new_entry_url().unwrap();
    let url = Url::parse(entry.expose()).unwrap();
    let path = format!("{}?{}", url.path(), url.query().unwrap());
    let response = send(proxy.port(), get(proxy.port(), &path, None)).await;
    assert_eq!(response.status(), 302);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    set_cookie.split(';').next().unwrap().to_owned()
}

pub fn get(port: u16, path: &str, cookie: Option<&str>) -> Request<Empty<Bytes>> {
    let mut builder = Request::get(path).header("host", format!("127.0.0.1:{port}"));
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", cookie);
    }
    builder.body(Empty::new()).unwrap()
}

/// Sends `request` on a new connection to the proxy, exactly as built (no header is added).
pub async fn send<B>(port: u16, request: Request<B>) -> Response<Incoming>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    within(sender.send_request(request)).await.unwrap()
}

pub async fn text(response: Response<Incoming>) -> String {
    let bytes = within(response.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Writes `bytes` on a raw connection and reads until the proxy closes it (or the deadline).
pub async fn raw(port: u16, bytes: &[u8]) -> String {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Awaits `future` or panics after [`DEADLINE`].
pub async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(DEADLINE, future)
        .await
        .expect("timed out")
}

/// Polls `check` every 20 ms until it returns `Some`, or panics after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The status of `GET path` through the window, or `None` if the connection failed.
pub async fn status(window: &Window, path: &str) -> Option<u16> {
    let tcp = TcpStream::connect(("127.0.0.1", window.port()))
        .await
        .ok()?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .ok()?;
    tokio::spawn(conn);
    let response = sender.send_request(window.get(path)).await.ok()?;
    Some(response.status().as_u16())
}
