//! A real upstream for the proxy's tests and benchmark, shaped like ComfyUI: it answers 403 when
//! `Origin` and `Host` disagree (aiohttp's origin check), sends `Access-Control-Allow-Origin: *`,
//! and serves a WebSocket. Bodies are generated and consumed on the fly, never held whole.
//!
//! Routes: `/` (landing page), `/plain` (frame-blocking and CORS headers), `/echo` (what arrived,
//! as text), `/chunked`, `/sse` (one event now, the next when the test releases it),
//! `/download?bytes=N`, `POST /upload` (counts and sums the body), `/redirect`, `/ws` (echo).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type UpBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// Size of each generated download chunk.
pub const BLOCK: usize = 64 * 1024;

/// The byte at `offset` of every `/download` body.
pub fn pattern_byte(offset: u64) -> u8 {
    ((offset % BLOCK as u64) % 251) as u8
}

fn block() -> Bytes {
    static BLOCK_BYTES: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    BLOCK_BYTES
        .get_or_init(|| {
            (0..BLOCK as u64)
                .map(pattern_byte)
                .collect::<Vec<u8>>()
                .into()
        })
        .clone()
}

/// What the upstream saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: http::HeaderMap,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct State {
    seen: Mutex<VecDeque<Seen>>,
    sse_release: Notify,
    block: Bytes,
}

/// A running upstream. Dropping it (or [`Upstream::stop`]) closes the port and every connection.
pub struct Upstream {
    pub addr: SocketAddr,
    state: Arc<State>,
    stop: watch::Sender<bool>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        Self::start_on(0, None).await
    }

    /// Binds `127.0.0.1:port` (0 for any), plain or with TLS.
    pub async fn start_on(port: u16, tls: Option<tokio_rustls::TlsAcceptor>) -> Upstream {
        let listener = bind_retrying(port).await;
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State {
            seen: Mutex::new(VecDeque::new()),
            sse_release: Notify::new(),
            block: block(),
        });
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(accept(listener, state.clone(), tls, stopped));
        Upstream { addr, state, stop }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.addr)).expect("url")
    }

    /// Requests seen so far (the last 1000).
    pub fn seen(&self) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .expect("lock")
            .iter()
            .cloned()
            .collect()
    }

    /// Lets `/sse` send its second event and finish.
    pub fn release_sse(&self) {
        self.state.sse_release.notify_one();
    }

    pub fn stop(self) {}
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// Rebinding a port that was just closed can race the old listener's teardown.
async fn bind_retrying(port: u16) -> TcpListener {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => return listener,
            Err(err) if tokio::time::Instant::now() < deadline => {
                let _ = err;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(err) => panic!("cannot bind 127.0.0.1:{port}: {err}"),
        }
    }
}

async fn accept(
    listener: TcpListener,
    state: Arc<State>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let (tcp, _) = tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(_) => continue,
            },
        };
        let _ = tcp.set_nodelay(true);
        let state = state.clone();
        let tls = tls.clone();
        let mut stop = stopped.clone();
        tokio::spawn(async move {
            let io: Box<dyn Io> = match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => Box::new(stream),
                    Err(_) => return,
                },
                None => Box::new(tcp),
            };
            let stop_ws = stop.clone();
            let service = service_fn(move |req| route(state.clone(), stop_ws.clone(), req));
            let conn = http1::Builder::new()
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            tokio::select! {
                _ = conn => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        });
    }
}

fn full(status: StatusCode, body: impl Into<Bytes>) -> Response<UpBody> {
    let mut response = Response::new(
        Full::new(body.into())
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
}

fn query_u64(req: &Request<Incoming>, key: &str) -> Option<u64> {
    let query = req.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
}

/// aiohttp/ComfyUI: `Origin` present and its host:port differing from `Host` means 403.
fn origin_mismatch(req: &Request<Incoming>) -> bool {
    let (Some(origin), Some(host)) = (req.headers().get("origin"), req.headers().get("host"))
    else {
        return false;
    };
    let origin = origin.to_str().unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    origin_host != host.to_str().unwrap_or("")
}

async fn route(
    state: Arc<State>,
    stop: watch::Receiver<bool>,
    mut req: Request<Incoming>,
) -> Result<Response<UpBody>, Infallible> {
    {
        let mut seen = state.seen.lock().expect("lock");
        if seen.len() >= 1000 {
            seen.pop_front();
        }
        seen.push_back(Seen {
            method: req.method().to_string(),
            target: req.uri().to_string(),
            headers: req.headers().clone(),
        });
    }
    if origin_mismatch(&req) {
        return Ok(full(StatusCode::FORBIDDEN, "origin mismatch\n"));
    }
    let response = match req.uri().path() {
        "/" => {
            let mut r = full(StatusCode::OK, "<!doctype html><title>ComfyUI</title>");
            r.headers_mut()
                .insert("content-type", HeaderValue::from_static("text/html"));
            r
        }
        "/small" => full(StatusCode::OK, "hello, world\n"),
        // What portholed's terminal does behind a desktop proxy: a `porthole_*` cookie of its own.
        "/porthole-cookie" => {
            let mut r = full(StatusCode::OK, "cookie set\n");
            r.headers_mut().insert(
                "set-cookie",
                HeaderValue::from_static("porthole_terminal_up=t; HttpOnly; Path=/"),
            );
            r
        }
        "/plain" => {
            let mut r = full(StatusCode::OK, "hello from upstream\n");
            let h = r.headers_mut();
            h.insert("x-frame-options", HeaderValue::from_static("DENY"));
            h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
            h.insert(
                "content-security-policy",
                HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
            );
            r
        }
        "/redirect" => {
            let mut r = full(StatusCode::FOUND, "");
            let host = req.headers().get("host").cloned();
            let location = format!(
                "http://{}/plain",
                host.as_ref().and_then(|h| h.to_str().ok()).unwrap_or("")
            );
            r.headers_mut().insert(
                "location",
                HeaderValue::try_from(location).expect("location"),
            );
            r
        }
        "/chunked" => {
            let chunks: Vec<Bytes> = (0..5)
                .map(|i| Bytes::from(format!("chunk-{i}\n")))
                .collect();
            Response::new(Chunks(chunks.into()).boxed_unsync())
        }
        "/sse" => {
            let mut r = Response::new(Sse::new(state.clone()).boxed_unsync());
            r.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("text/event-stream"),
            );
            r
        }
        "/download" => {
            let bytes = query_u64(&req, "bytes").unwrap_or(1 << 20);
            Response::new(
                Generated {
                    left: bytes,
                    block: state.block.clone(),
                }
                .boxed_unsync(),
            )
        }
        "/upload" => {
            let mut body = req.into_body();
            let (mut count, mut sum) = (0u64, 0u64);
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else {
                    return Ok(full(StatusCode::BAD_REQUEST, "body failed\n"));
                };
                if let Some(data) = frame.data_ref() {
                    count += data.len() as u64;
                    sum = data.iter().fold(sum, |s, b| s.wrapping_add(*b as u64));
                }
            }
            full(StatusCode::OK, format!("received {count} {sum}\n"))
        }
        "/ws" => websocket(&mut req, stop),
        _ => echo(&req),
    };
    Ok(response)
}

fn echo(req: &Request<Incoming>) -> Response<UpBody> {
    let mut text = format!("method {}\ntarget {}\n", req.method(), req.uri());
    for (name, value) in req.headers() {
        text.push_str(&format!(
            "header {}: {}\n",
            name,
            value.to_str().unwrap_or("?")
        ));
    }
    full(StatusCode::OK, text)
}

fn websocket(req: &mut Request<Incoming>, mut stop: watch::Receiver<bool>) -> Response<UpBody> {
    let Some(key) = req.headers().get("sec-websocket-key") else {
        return full(StatusCode::BAD_REQUEST, "not a websocket\n");
    };
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let config = WebSocketConfig::default()
            .max_message_size(Some(64 << 20))
            .max_frame_size(Some(64 << 20));
        let mut ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        loop {
            let message = tokio::select! {
                m = ws.next() => m,
                _ = stop.wait_for(|s| *s) => return,
            };
            match message {
                Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => {
                    if ws.send(m).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            }
        }
    });
    let mut r = full(StatusCode::SWITCHING_PROTOCOLS, "");
    let h = r.headers_mut();
    h.insert("upgrade", HeaderValue::from_static("websocket"));
    h.insert("connection", HeaderValue::from_static("Upgrade"));
    h.insert(
        "sec-websocket-accept",
        HeaderValue::try_from(accept).expect("accept"),
    );
    r
}

/// Fixed chunks, sent as a chunked body.
struct Chunks(VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

/// One event at once, the next only when the test calls [`Upstream::release_sse`].
struct Sse {
    step: u8,
    wait: Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
}

impl Sse {
    fn new(state: Arc<State>) -> Self {
        Self {
            step: 0,
            wait: Box::pin(async move { state.sse_release.notified().await }),
        }
    }
}

impl Body for Sse {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.step {
            0 => {
                self.step = 1;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                    b"data: first\n\n",
                )))))
            }
            1 => match self.wait.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.step = 2;
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"data: last\n\n")))))
                }
                Poll::Pending => Poll::Pending,
            },
            _ => Poll::Ready(None),
        }
    }
}

/// `left` bytes of the pattern, produced one block at a time as the reader asks for them.
pub struct Generated {
    left: u64,
    block: Bytes,
}

impl Generated {
    pub fn new(bytes: u64) -> Self {
        Self {
            left: bytes,
            block: block(),
        }
    }
}

/// The sum of the bytes of the first `bytes` bytes of the pattern.
pub fn pattern_sum(bytes: u64) -> u64 {
    let block_sum: u64 = (0..BLOCK as u64).map(|i| pattern_byte(i) as u64).sum();
    let tail: u64 = (0..bytes % BLOCK as u64)
        .map(|i| pattern_byte(i) as u64)
        .sum();
    bytes / BLOCK as u64 * block_sum + tail
}

/// Checks that `data`, found at `offset` of a download, is the pattern.
pub fn is_pattern(offset: u64, data: &[u8]) -> bool {
    let block = block();
    let mut at = (offset % BLOCK as u64) as usize;
    let mut rest = data;
    while !rest.is_empty() {
        let n = rest.len().min(BLOCK - at);
        if rest[..n] != block[at..at + n] {
            return false;
        }
        rest = &rest[n..];
        at = 0;
    }
    true
}

impl Body for Generated {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(BLOCK as u64) as usize;
        self.left -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(self.block.slice(..n)))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}
