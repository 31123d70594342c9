//! One worker thread's connections to the upstream: HTTP/1.1 over [`Connector`], kept open and
//! reused. This stands in for hyper-util's pooled client, which for every request hashed a pool
//! key, took its map's lock, built a connect future it rarely used and spawned a task to hand the
//! connection back. Here a request takes the first idle connection from its thread's short list
//! (a handful: one per request in flight at once), or opens one, and puts it back as soon as the
//! response's head has arrived: a connection still streaming a body is not idle, and is skipped
//! until it is.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, StatusCode, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};

use crate::connect::{BoxError, Connector};
use crate::forward::ProxyBody;

/// An upstream connection and the origin it talks to.
struct Conn {
    scheme: Scheme,
    authority: Authority,
    sender: SendRequest<ProxyBody>,
    last_used: Instant,
}

impl Conn {
    fn stale(&self, now: Instant, idle_timeout: Duration) -> bool {
        now.saturating_duration_since(self.last_used) > idle_timeout
    }
}

pub(crate) struct Upstream {
    connector: Connector,
    idle_timeout: Duration,
    conns: Mutex<Vec<Conn>>,
}

impl Upstream {
    /// A thread's connections; they close after `idle_timeout` unused. Call from inside the
    /// thread's runtime (a sweeper task closes idle connections there).
    pub(crate) fn new(connector: Connector, idle_timeout: Duration) -> Arc<Self> {
        let upstream = Arc::new(Self {
            connector,
            idle_timeout,
            conns: Mutex::new(Vec::new()),
        });
        tokio::spawn(sweep(Arc::downgrade(&upstream)));
        upstream
    }

    /// Sends `request`, whose URI is absolute (its scheme and authority say where), as origin-form
    /// on a connection to that origin. A request that a reused connection refused before sending
    /// anything (the upstream had just closed it) goes again on another.
    pub(crate) async fn request(
        &self,
        mut request: Request<ProxyBody>,
    ) -> Result<Response<Incoming>, BoxError> {
        let uri = request.uri();
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned())
        else {
            return Err("the upstream request names no origin".into());
        };
        let path = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        *request.uri_mut() = Uri::from(path);
        loop {
            let (mut sender, reused) = match self.take(&scheme, &authority) {
                Some(sender) => (sender, true),
                None => (self.open(&scheme, &authority).await?, false),
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    // After a 101 the connection belongs to the WebSocket.
                    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
                        self.put_back(Conn {
                            scheme,
                            authority,
                            sender,
                            last_used: Instant::now(),
                        });
                    }
                    return Ok(response);
                }
                Err(mut err) => match err.take_message() {
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(err.into_error().into()),
                },
            }
        }
    }

    /// The most recently used idle connection to this origin; closed, stale and other origins'
    /// idle connections are dropped on the way.
    fn take(&self, scheme: &Scheme, authority: &Authority) -> Option<SendRequest<ProxyBody>> {
        let now = Instant::now();
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        let mut i = conns.len();
        while i > 0 {
            i -= 1;
            let conn = &conns[i];
            if conn.sender.is_closed() {
                conns.swap_remove(i);
            } else if !conn.sender.is_ready() {
                // Still streaming a response body: in use until now.
                conns[i].last_used = now;
            } else if conn.scheme != *scheme
                || conn.authority != *authority
                || conn.stale(now, self.idle_timeout)
            {
                conns.swap_remove(i);
            } else {
                return Some(conns.swap_remove(i).sender);
            }
        }
        None
    }

    fn put_back(&self, conn: Conn) {
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }

    async fn open(
        &self,
        scheme: &Scheme,
        authority: &Authority,
    ) -> Result<SendRequest<ProxyBody>, BoxError> {
        let uri = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query("/")
            .build()?;
        let io = self.connector.clone().connect(uri).await?;
        let (sender, connection) = http1::handshake(io).await?;
        tokio::spawn(async move {
            if let Err(err) = connection.with_upgrades().await {
                tracing::debug!(error = %err, "upstream connection ended");
            }
        });
        Ok(sender)
    }

    /// Drops idle connections unused for longer than the idle timeout. One still streaming a body
    /// counts as used now, so a long stream (server-sent events, a download) does not leave its
    /// connection stale the moment it ends.
    fn sweep_once(&self) {
        let now = Instant::now();
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain_mut(|conn| {
                if conn.sender.is_closed() {
                    return false;
                }
                if !conn.sender.is_ready() {
                    conn.last_used = now;
                    return true;
                }
                !conn.stale(now, self.idle_timeout)
            });
    }

    #[cfg(test)]
    fn open_count(&self) -> usize {
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Runs on the thread's runtime until its [`Upstream`] is gone.
async fn sweep(upstream: Weak<Upstream>) {
    let Some(every) = upstream.upgrade().map(|u| u.idle_timeout / 2) else {
        return;
    };
    let mut ticks = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match upstream.upgrade() {
            Some(upstream) => upstream.sweep_once(),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::forward::empty;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// How long `/slow`'s body takes: several idle timeouts of the test that uses it.
    const SLOW_BODY: Duration = Duration::from_millis(1500);

    /// A keep-alive upstream that answers `ok`, to `/stream` a body that never ends, and to
    /// `/slow` one that ends after [`SLOW_BODY`]; it counts its connections.
    async fn counting_upstream() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut seen = Vec::new();
                    loop {
                        let Ok(n) = stream.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            let stream_forever = seen.starts_with(b"GET /stream");
                            let then_close = seen.starts_with(b"GET /once");
                            let slow = seen.starts_with(b"GET /slow");
                            seen.drain(..end + 4);
                            if slow {
                                // A body that takes SLOW_BODY to end.
                                let head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n";
                                if stream.write_all(head).await.is_err() {
                                    return;
                                }
                                tokio::time::sleep(SLOW_BODY).await;
                                if stream.write_all(b"4\r\nlast\r\n0\r\n\r\n").await.is_err() {
                                    return;
                                }
                                continue;
                            }
                            let reply: &[u8] = if stream_forever {
                                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n"
                            } else {
                                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
                            };
                            if stream.write_all(reply).await.is_err() || then_close {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (port, accepted)
    }

    fn get(port: u16, path: &str) -> Request<ProxyBody> {
        Request::builder()
            .uri(format!("http://127.0.0.1:{port}{path}"))
            .header(http::header::HOST, format!("127.0.0.1:{port}"))
            .body(empty())
            .unwrap()
    }

    fn with_idle_timeout(idle: Duration) -> Arc<Upstream> {
        Upstream::new(Connector::new(Duration::from_secs(2), vec![]), idle)
    }

    /// The body of `GET path`, through `upstream`.
    async fn body_of(upstream: &Upstream, port: u16, path: &str) -> Vec<u8> {
        read_all(upstream.request(get(port, path)).await.unwrap()).await
    }

    async fn read_all(response: Response<Incoming>) -> Vec<u8> {
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    #[tokio::test]
    async fn sequential_requests_share_one_connection() {
        let (port, accepted) = counting_upstream().await;
        let upstream = with_idle_timeout(Duration::from_secs(60));
        for _ in 0..5 {
            assert_eq!(body_of(&upstream, port, "/x?y=1").await, b"ok");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(upstream.open_count(), 1);
    }

    #[tokio::test]
    async fn a_connection_streaming_a_body_is_not_taken() {
        let (port, accepted) = counting_upstream().await;
        let upstream = with_idle_timeout(Duration::from_secs(60));
        let streaming = upstream.request(get(port, "/stream")).await.unwrap();
        // That body never ends: the next request needs a connection of its own, and gets it.
        let second = tokio::time::timeout(
            Duration::from_secs(5),
            upstream.request(get(port, "/x?y=1")),
        )
        .await
        .expect("the second request waited for the streaming connection")
        .unwrap();
        assert_eq!(read_all(second).await, b"ok");
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
        // Both are kept: the streaming one for when its body ends.
        assert_eq!(upstream.open_count(), 2);
        let first = streaming.into_body().frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "first");
    }

    #[tokio::test]
    async fn an_upstream_closing_after_each_answer_costs_no_request() {
        let (port, accepted) = counting_upstream().await;
        let upstream = with_idle_timeout(Duration::from_secs(60));
        for _ in 0..5 {
            assert_eq!(body_of(&upstream, port, "/once").await, b"ok");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn a_connection_that_streamed_longer_than_the_idle_timeout_is_reused_after() {
        let (port, accepted) = counting_upstream().await;
        let upstream = with_idle_timeout(Duration::from_millis(500));
        assert_eq!(body_of(&upstream, port, "/slow").await, b"firstlast");
        // Idle for far less than the timeout since its body ended: reused, not reopened.
        assert_eq!(body_of(&upstream, port, "/x?y=1").await, b"ok");
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn idle_connections_close_after_the_timeout() {
        let (port, _) = counting_upstream().await;
        let upstream = with_idle_timeout(Duration::from_millis(50));
        assert_eq!(body_of(&upstream, port, "/x?y=1").await, b"ok");
        let deadline = Instant::now() + Duration::from_secs(5);
        while upstream.open_count() > 0 {
            assert!(
                Instant::now() < deadline,
                "the idle connection was never closed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
