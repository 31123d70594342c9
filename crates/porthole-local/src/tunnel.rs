//! The client side of portholed's session tunnel: TLS to the paired server (pinned), then
//! `GET /api/session/{id}/tunnel` with the key and `Upgrade: porthole-tunnel`; after `101` the
//! connection carries bytes to and from the session's own port on that server. The desktop's
//! per-window proxy and `porthole sessions forward` open one per upstream connection, and speak
//! HTTP (or WebSocket) to the session through it as if it were local.

use std::sync::Arc;
use std::time::Duration;

use porthole_core::error::{Error, ErrorCode};
use porthole_secrets::Sensitive;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::pairing::Fingerprint;
use crate::pinned::Pin;

/// The `Upgrade` protocol name of a tunnel.
pub const PROTOCOL: &str = "porthole-tunnel";

/// The most a tunnel's answer head may take.
const MAX_HEAD: usize = 16 * 1024;

/// How a connection across the network notices that the other side is gone (a laptop asleep,
/// a link down, a new network): TCP keepalive probes after this much silence, then every
/// [`KEEPALIVE_INTERVAL`], [`KEEPALIVE_PROBES`] times; about half a minute in all. Without it a
/// dead tunnel would hold a window's WebSocket open forever.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(15);
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
pub const KEEPALIVE_PROBES: u32 = 3;

/// Turns on [`KEEPALIVE_IDLE`]-style keepalive on `stream` (both ends of a tunnel do); `idle`
/// replaces the idle time (tests shorten it).
pub fn keep_alive(stream: &TcpStream, idle: Duration) {
    let interval = KEEPALIVE_INTERVAL.min(idle);
    let params = socket2::TcpKeepalive::new()
        .with_time(idle)
        .with_interval(interval)
        .with_retries(KEEPALIVE_PROBES);
    if let Err(e) = socket2::SockRef::from(stream).set_tcp_keepalive(&params) {
        tracing::debug!(error = %e, "TCP keepalive not set");
    }
}

/// How to open tunnels to one paired portholed's sessions.
#[derive(Clone)]
pub struct Tunnel {
    /// `host:port`, as the `Host` header and the TCP connection name it.
    authority: String,
    host: String,
    port: u16,
    /// The API's path (`/api`).
    prefix: String,
    pin: Pin,
    connector: TlsConnector,
    key: Sensitive<String>,
    keepalive_idle: Duration,
}

impl std::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tunnel")
            .field("authority", &self.authority)
            .field("pin", &self.pin.expected())
            .finish_non_exhaustive()
    }
}

impl Tunnel {
    /// Tunnels to the portholed at `base_url` (`https://HOST:PORT/api`), pinned to `fingerprint`,
    /// with its key.
    pub fn new(
        base_url: &str,
        fingerprint: Fingerprint,
        key: Sensitive<String>,
    ) -> Result<Self, Error> {
        let refuse = || {
            Error::invalid_input(format!(
                "A tunnel needs the server's https://HOST:PORT/api address, not {base_url:?}."
            ))
        };
        let rest = base_url
            .trim()
            .strip_prefix("https://")
            .ok_or_else(refuse)?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && (!h.contains(':') || h.ends_with(']')) => {
                (h, p.parse::<u16>().map_err(|_| refuse())?)
            }
            _ if !authority.is_empty() => (authority, 443),
            _ => return Err(refuse()),
        };
        let pin = Pin::new(fingerprint);
        Ok(Self {
            authority: authority.to_owned(),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            prefix: format!("/{}", path.trim_matches('/')),
            connector: TlsConnector::from(Arc::new(pin.client_config()?)),
            pin,
            key,
            keepalive_idle: KEEPALIVE_IDLE,
        })
    }

    /// The same, noticing a dead connection after `idle` of silence (and a few probes).
    pub fn with_keepalive(mut self, idle: Duration) -> Self {
        self.keepalive_idle = idle;
        self
    }

    /// `host:port` of the server.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// A connection to session `session_id`'s port, within `timeout` (connect, TLS and the
    /// upgrade together). Refusals are coded: `certificate_mismatch`, `unauthorized` (the key),
    /// `session_gone`, `upstream_unavailable` (unreachable, or the session does not answer).
    pub async fn open(
        &self,
        session_id: &str,
        timeout: Duration,
    ) -> Result<TlsStream<TcpStream>, Error> {
        match tokio::time::timeout(timeout, self.open_now(session_id)).await {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorCode::UpstreamUnavailable,
                format!(
                    "{} did not open the session's tunnel within {} s.",
                    self.authority,
                    timeout.as_secs()
                ),
            )),
        }
    }

    /// Whether session `session_id`'s page at `url` (its address on the server) answers through
    /// the tunnel, as the readiness probe asks it of a local page: any HTTP answer but a 404 or a
    /// server error.
    pub async fn page_answers(&self, session_id: &str, url: &str, timeout: Duration) -> bool {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .unwrap_or(url);
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        let asked = async {
            let mut stream = self.open(session_id, timeout).await.ok()?;
            let request =
                format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.ok()?;
            let mut head = [0u8; 12];
            stream.read_exact(&mut head).await.ok()?;
            std::str::from_utf8(&head[9..12]).ok()?.parse::<u16>().ok()
        };
        match tokio::time::timeout(timeout, asked).await {
            Ok(Some(status)) => status != 404 && !(500..600).contains(&status),
            _ => false,
        }
    }

    async fn open_now(&self, session_id: &str) -> Result<TlsStream<TcpStream>, Error> {
        let unreachable = |e: &dyn std::fmt::Display| {
            Error::new(
                ErrorCode::UpstreamUnavailable,
                format!("Cannot reach {}: {e}.", self.authority),
            )
        };
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| unreachable(&e))?;
        let _ = tcp.set_nodelay(true);
        keep_alive(&tcp, self.keepalive_idle);
        let name = ServerName::try_from(self.host.clone()).map_err(|e| unreachable(&e))?;
        let mut tls = match self.connector.connect(name, tcp).await {
            Ok(tls) => tls,
            Err(e) => {
                return Err(self
                    .pin
                    .mismatch(&self.authority)
                    .unwrap_or_else(|| unreachable(&e)))
            }
        };
        let request = format!(
            "GET {}/session/{session_id}/tunnel HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Connection: Upgrade\r\nUpgrade: {PROTOCOL}\r\nUser-Agent: porthole/{}\r\n\r\n",
            self.prefix.trim_end_matches('/'),
            self.authority,
            self.key.expose(),
            env!("CARGO_PKG_VERSION"),
        );
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| unreachable(&e))?;
        let head = read_head(&mut tls).await.map_err(|e| unreachable(&e))?;
        let status = head
            .strip_prefix("HTTP/1.1 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse::<u16>().ok())
            .unwrap_or(0);
        match status {
            101 => Ok(tls),
            401 => Err(Error::new(
                ErrorCode::Unauthorized,
                format!(
                    "{} rejected the account's key (it may have been rotated: pair again).",
                    self.authority
                ),
            )),
            403 => Err(Error::new(
                ErrorCode::Unauthorized,
                format!(
                    "{} refused the tunnel for the name {:?}: pair again with `portholed pair \
                     --address {}` on the server.",
                    self.authority, self.host, self.host
                ),
            )),
            404 => Err(Error::new(
                ErrorCode::SessionGone,
                format!(
                    "Session {session_id} is no longer running on {}.",
                    self.authority
                ),
            )),
            other => Err(Error::new(
                ErrorCode::UpstreamUnavailable,
                format!(
                    "{} could not open the session's tunnel ({}).",
                    self.authority,
                    if other == 0 {
                        "no answer".to_owned()
                    } else {
                        format!("HTTP {other}")
                    }
                ),
            )),
        }
    }
}

/// Reads an answer's head, byte by byte: what follows belongs to the session.
async fn read_head(stream: &mut TlsStream<TcpStream>) -> std::io::Result<String> {
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD || stream.read(&mut byte).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the tunnel's answer was cut off",
            ));
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_debug_hides_the_key() {
        let fp = Fingerprint::of_der(b"c");
        let key = || Sensitive::new("k-secret".to_owned());
        let t = Tunnel::new("https://10.0.0.2:7788/api", fp, key()).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.prefix.as_str()),
            ("10.0.0.2", 7788, "/api")
        );
        let t = Tunnel::new("https://[fd00::2]:7788/api/", fp, key()).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.authority()),
            ("fd00::2", 7788, "[fd00::2]:7788")
        );
        let t = Tunnel::new("https://gpu-box/api", fp, key()).unwrap();
        assert_eq!(t.port, 443);
        assert!(!format!("{t:?}").contains("k-secret"));
        for bad in ["http://10.0.0.2:7788/api", "https://", "https://h:port/api"] {
            assert!(Tunnel::new(bad, fp, key()).is_err(), "{bad}");
        }
    }
}
