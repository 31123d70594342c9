//! `GET /api/session/{id}/tunnel` with `Upgrade: porthole-tunnel`: a byte stream to one session's
//! own port, for a client on another computer (the sessions listen on this machine's loopback
//! only). The key is checked as for every route; the session is the only thing a client names,
//! and where its bytes go is this server's record of that session (never an address from the
//! request). Web pages get nowhere: a request with an `Origin` is refused, and so is a `Host`
//! that is not a name of this server (DNS rebinding). Inside the tunnel the session's own token
//! still applies.

use std::net::{IpAddr, SocketAddr};
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use porthole_proxy::listen::LocalAddr;
use tokio::net::TcpStream;

use super::AppState;
use crate::error::ApiError;

/// The `Upgrade` protocol name a tunnel asks for.
pub const PROTOCOL: &str = porthole_local::tunnel::PROTOCOL;

/// Names given to `portholed pair --address`, one per line: `Host` values this server accepts
/// besides the address a client reached, `localhost` and the machine's host name.
pub const NAMES_FILE: &str = "pair-names";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn open(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    mut request: Request,
) -> Response {
    let headers = request.headers();
    if headers.contains_key(header::ORIGIN) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "A tunnel is not for web pages: requests with an Origin are refused",
        )
        .into_response();
    }
    let local = request.extensions().get::<LocalAddr>().map(|l| l.0);
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if !host.is_some_and(|h| host_allowed(h, local, &state.data_dir)) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "The Host is not a name of this server (pair with `portholed pair --address NAME` to \
             add one)",
        )
        .into_response();
    }
    let asks_tunnel = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case(PROTOCOL));
    if !asks_tunnel {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("A tunnel needs Connection: Upgrade and Upgrade: {PROTOCOL}"),
        )
        .into_response();
    }
    let target = match session_address(&state, &id) {
        Ok(target) => target,
        Err(refused) => return refused.into_response(),
    };
    let upstream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
        Ok(Ok(stream)) => stream,
        _ => {
            return ApiError::new(
                StatusCode::BAD_GATEWAY,
                "The session does not answer on its port",
            )
            .into_response()
        }
    };
    let _ = upstream.set_nodelay(true);
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let (mut client, mut upstream) = (TokioIo::new(upgraded), upstream);
        if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
            tracing::debug!(error = %e, "a tunnel ended");
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static(PROTOCOL));
    response
}

/// Where the live session `id` answers, from this server's own record (its URL's address, on
/// this machine's loopback).
fn session_address(state: &AppState, id: &str) -> Result<SocketAddr, ApiError> {
    let row = state
        .sessions
        .store
        .get_active(id)
        .map_err(|e| ApiError::internal(e.message))?
        .ok_or_else(|| ApiError::not_found("GPUEvent not found"))?;
    let not_ready = || ApiError::new(StatusCode::CONFLICT, "The session is not ready yet");
    let url =
        url::Url::parse(row.url.as_deref().ok_or_else(not_ready)?).map_err(|_| not_ready())?;
    let addr = url
        .socket_addrs(|| None)
        .ok()
        .and_then(|addrs| addrs.into_iter().next())
        .ok_or_else(not_ready)?;
    // A Slurm session listens on its compute node, at the address Slurm gives for it.
    if !addr.ip().is_loopback() && state.sessions.slurm.is_none() {
        return Err(ApiError::internal(
            "The session does not listen on loopback",
        ));
    }
    Ok(addr)
}

/// Whether `host` (a `Host` header) names this server: the address the client reached (and its
/// port), `localhost`, this machine's host name, or a name given to `portholed pair --address`.
pub fn host_allowed(host: &str, local: Option<SocketAddr>, data_dir: &FsPath) -> bool {
    let (name, port) = split_host(host);
    if let (Some(port), Some(local)) = (port, local) {
        if port != local.port() {
            return false;
        }
    }
    let name = name.to_ascii_lowercase();
    let recorded = || {
        std::fs::read_to_string(data_dir.join(NAMES_FILE))
            .unwrap_or_default()
            .lines()
            .any(|line| line.trim().eq_ignore_ascii_case(&name))
    };
    if let Ok(ip) = name.parse::<IpAddr>() {
        return local.is_some_and(|l| l.ip() == ip) || recorded();
    }
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    name == "localhost"
        || (!hostname.is_empty() && (name == hostname || name == format!("{hostname}.local")))
        || recorded()
}

/// `name` and port of a `Host` value (`[v6]:port` included).
fn split_host(host: &str) -> (&str, Option<u16>) {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        let (name, after) = rest.split_once(']').unwrap_or((rest, ""));
        return (name, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, port.parse().ok()),
        _ => (host, None),
    }
}

/// Records `name` (from `portholed pair --address`) as one this server answers to.
pub fn record_name(data_dir: &FsPath, name: &str) -> porthole_core::error::Result<()> {
    let file = data_dir.join(NAMES_FILE);
    let mut names = std::fs::read_to_string(&file).unwrap_or_default();
    if names.lines().any(|l| l.trim().eq_ignore_ascii_case(name)) {
        return Ok(());
    }
    names.push_str(name);
    names.push('\n');
    porthole_core::paths::write_private(&file, names.as_bytes())?;
    crate::key::hand_to_owner(&file, data_dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_this_servers_names_only() {
        let dir = std::env::temp_dir().join(format!("portholed-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let local: SocketAddr = "10.0.0.2:7788".parse().unwrap();
        let ok = |h: &str| host_allowed(h, Some(local), &dir);
        assert!(ok("10.0.0.2:7788") && ok("10.0.0.2") && ok("localhost:7788"));
        assert!(!ok("10.0.0.3:7788"), "another address");
        assert!(!ok("10.0.0.2:9999"), "another port");
        assert!(!ok("evil.example:7788"), "a rebinding name");
        record_name(&dir, "gpu-box.lan").unwrap();
        record_name(&dir, "gpu-box.lan").unwrap();
        assert!(ok("GPU-box.lan:7788"));
        assert_eq!(
            std::fs::read_to_string(dir.join(NAMES_FILE)).unwrap(),
            "gpu-box.lan\n"
        );
        assert_eq!(split_host("[::1]:9"), ("::1", Some(9)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
