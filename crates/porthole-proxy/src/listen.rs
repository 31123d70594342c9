//! One way to serve HTTP/1.1 (or HTTPS) on a listener we own, for services that
//! are not a proxy (portholed's API, its terminal): a header timeout that also closes idle keep-alive connections, a cap on
//! connections that have not authenticated ([`crate::admission`]), WebSocket upgrades, and a
//! graceful stop, behind the same smuggling guard as the proxies. Each request carries its connection's [`Unverified`] in its extensions: the
//! service calls [`Unverified::verified`] once a request shows a valid credential.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::header::{CONNECTION, UPGRADE};
use http::{HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::admission::{
    admit_next, Admission, Unverified, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_UNVERIFIED,
};
use crate::guard::Guarded;

/// The address a connection reached this listener at (in each request's extensions): a
/// service can tell which of the machine's addresses a client used (portholed's tunnel checks
/// `Host` against it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalAddr(pub std::net::SocketAddr);

/// What a listener tolerates.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client may take to send a request's headers, and how long a keep-alive
    /// connection may sit idle.
    pub header_timeout: Duration,
    /// Connections that have not authenticated, at once.
    pub max_unverified: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_unverified: DEFAULT_MAX_UNVERIFIED,
        }
    }
}

/// Serves `service` on `listener` until `shutdown` completes, then lets open requests finish and
/// returns when every connection has closed. Dropping the returned future closes every connection
/// at once. With `tls`, each connection's handshake must finish within the header timeout (it
/// holds its unauthenticated place meanwhile), and one that fails is closed before it reaches
/// `service`.
pub async fn serve<S, B>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    service: S,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tls = tls.map(TlsAcceptor::from);
    let admission = Admission::new(limits.max_unverified);
    let (closing, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, place) = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            admitted = admit_next(&listener, &admission) => admitted,
        };
        let (service, closing, timeout) =
            (service.clone(), closing_rx.clone(), limits.header_timeout);
        let local = stream.local_addr().ok().map(LocalAddr);
        // A client across the network may vanish without a word (asleep, a link down): keepalive
        // closes its connection (a tunnel's spliced bytes included) instead of holding it.
        if local.is_some_and(|l| !l.0.ip().is_loopback()) {
            porthole_local::tunnel::keep_alive(&stream, porthole_local::tunnel::KEEPALIVE_IDLE);
        }
        match tls.clone() {
            None => connections.spawn(connection(stream, local, service, place, timeout, closing)),
            Some(acceptor) => connections.spawn(async move {
                // The handshake counts against the header timeout, and the connection holds its
                // unauthenticated place meanwhile (a slow handshake is a slow client).
                let handshake = tokio::select! {
                    () = place.evicted() => return,
                    done = tokio::time::timeout(timeout, acceptor.accept(stream)) => done,
                };
                match handshake {
                    Ok(Ok(stream)) => {
                        connection(stream, local, service, place, timeout, closing).await
                    }
                    Ok(Err(err)) => tracing::debug!(error = %err, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake took too long"),
                }
            }),
        };
    }
    closing.send_replace(true);
    while connections.join_next().await.is_some() {}
}

async fn connection<S, B, T>(
    stream: T,
    local: Option<LocalAddr>,
    service: S,
    place: Unverified,
    header_timeout: Duration,
    mut closing: watch::Receiver<bool>,
) where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let watch_place = place.clone();
    let handler = service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(place.clone());
        if let Some(local) = local {
            request.extensions_mut().insert(local);
        }
        let upgrade_attempt = request.headers().contains_key(UPGRADE);
        let mut service = service.clone();
        async move {
            std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
            let mut response = service.call(request).await?;
            if upgrade_attempt && response.status() != StatusCode::SWITCHING_PROTOCOLS {
                // The smuggling guard stopped following this connection at the upgrade request.
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok::<_, Infallible>(response)
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(Guarded::new(stream)), handler)
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        // Closed to make room for a newer connection (see `admission`).
        () = watch_place.evicted() => return,
        result = connection.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(error = %err, "connection ended");
            }
            return;
        }
        _ = closing.wait_for(|c| *c) => connection.as_mut().graceful_shutdown(),
    }
    if let Err(err) = connection.await {
        tracing::debug!(error = %err, "connection ended");
    }
}
