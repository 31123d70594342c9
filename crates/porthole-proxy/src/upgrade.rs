//! WebSockets: the handshake goes upstream over HTTP/1.1; on `101` both connections are taken over
//! from hyper and spliced as raw bytes (frames are never parsed or re-framed, so extensions such as
//! permessage-deflate pass through).

use std::sync::Arc;
use std::time::Duration;

use http::header::{CONNECTION, UPGRADE};
use http::{HeaderMap, HeaderName, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::watch;

use crate::activity::{CountedIo, Tally};
use crate::forward::{empty, strip_hop_by_hop, ProxyBody, Shared};
use crate::pages;

/// Read buffer per direction: large frames move in few syscalls.
const SPLICE_BUFFER: usize = 64 * 1024;

/// Once one side has closed, how long the other may take to close too.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

pub(crate) fn is_websocket(request: &Request<Incoming>) -> bool {
    request.method() == Method::GET
        && has_token(request.headers(), UPGRADE, "websocket")
        && has_token(request.headers(), CONNECTION, "upgrade")
}

pub(crate) async fn websocket(
    shared: &Arc<Shared>,
    mut request: Request<Incoming>,
) -> Response<ProxyBody> {
    // Subscribed before the target is read: a retarget during the handshake ends this WebSocket
    // instead of leaving it spliced to the old upstream.
    let retargeted = shared.retargeted.subscribe();
    let target = shared.target();
    let from_window = hyper::upgrade::on(&mut request);
    let (parts, _no_body) = request.into_parts();
    let Some(upstream) = shared.upstream_request(
        &target,
        Method::GET,
        &parts.uri,
        parts.headers,
        empty(),
        true,
    ) else {
        return pages::bad_request("Unsupported request target.\n");
    };
    let mut response = match shared.upstream.request(upstream).await {
        Ok(response) => response,
        Err(err) => {
            tracing::debug!(error = %err, "WebSocket upstream failed");
            return pages::unreachable();
        }
    };
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return shared.respond(&target, response);
    }
    let from_upstream = hyper::upgrade::on(&mut response);
    tokio::spawn(splice(
        from_window,
        from_upstream,
        shared.tally.clone(),
        shared.shutdown.clone(),
        retargeted,
    ));
    let (mut parts, _) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers, true);
    Response::from_parts(parts, empty())
}

async fn splice(
    window: OnUpgrade,
    upstream: OnUpgrade,
    tally: Tally,
    mut shutdown: watch::Receiver<bool>,
    mut retargeted: watch::Receiver<u64>,
) {
    let (window, upstream) = match tokio::try_join!(window, upstream) {
        Ok(both) => both,
        Err(err) => {
            tracing::debug!(error = %err, "WebSocket upgrade did not complete");
            return;
        }
    };
    let _open = tally.websocket_opened();
    let window = CountedIo::new(TokioIo::new(window), tally);
    let upstream = TokioIo::new(upstream);
    tokio::select! {
        _ = pump(window, upstream) => {}
        _ = shutdown.wait_for(|stop| *stop) => {}
        // The session moved to another upstream: this one's WebSocket ends, the page reconnects.
        _ = retargeted.changed() => {}
    }
}

/// Copies both ways; when one side ends, the other gets `CLOSE_GRACE` to end too, then both are
/// dropped (a WebSocket whose peer vanished must not count as open forever).
async fn pump<A, B>(a: A, b: B)
where
    A: AsyncRead + AsyncWrite + Send + 'static,
    B: AsyncRead + AsyncWrite + Send + 'static,
{
    let (a_read, mut a_write) = tokio::io::split(a);
    let (b_read, mut b_write) = tokio::io::split(b);
    let mut a_read = BufReader::with_capacity(SPLICE_BUFFER, a_read);
    let mut b_read = BufReader::with_capacity(SPLICE_BUFFER, b_read);
    let a_to_b = async {
        let _ = tokio::io::copy_buf(&mut a_read, &mut b_write).await;
        let _ = b_write.shutdown().await;
    };
    let b_to_a = async {
        let _ = tokio::io::copy_buf(&mut b_read, &mut a_write).await;
        let _ = a_write.shutdown().await;
    };
    tokio::pin!(a_to_b, b_to_a);
    tokio::select! {
        _ = &mut a_to_b => { let _ = tokio::time::timeout(CLOSE_GRACE, b_to_a).await; }
        _ = &mut b_to_a => { let _ = tokio::time::timeout(CLOSE_GRACE, a_to_b).await; }
    }
}
