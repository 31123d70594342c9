//! Porthole's loopback tunnel proxy: one authenticated reverse proxy per open session, so a session
//! window has a stable local address across tunnel URL changes, and traffic can be observed for
//! keep-alive and the UI. Never depends on tauri. See docs/ARCHITECTURE.md (security model).
//!
//! # Use
//!
//! ```no_run
//! # async fn open() -> Result<(), porthole_core::Error> {
//! use porthole_proxy::{Proxy, ProxyConfig};
//!
//! let upstream = url::Url::parse("https://abc.modal.host/").expect("a URL");
//! let proxy = Proxy::start(ProxyConfig::new(upstream, "session-id")).await?;
//! // Open the window on this URL: it sets the session's cookie and redirects to the page.
//! let entry = proxy.new_entry_url()?;
//! # let _ = entry;
//! // Later, when the provider reports a new tunnel URL, the window keeps its address:
//! proxy.retarget(url::Url::parse("https://def.modal.host/").expect("a URL"))?;
//! // Traffic, for keep-alive and the UI:
//! let mut activity = proxy.activity();
//! activity.changed().await.ok();
//! println!("{} requests, {} WebSockets", activity.borrow().requests, activity.borrow().websockets_open);
//! drop(proxy); // stops the listener and every connection
//! # Ok(()) }
//! ```
//!
//! # Public API
//!
//! - [`Proxy::start`]`(ProxyConfig) -> Result<ProxyHandle, Error>` binds `127.0.0.1:0` (or the
//!   [`ProxyConfig::listen_ip`] and port it is given) and serves
//!   on [`ProxyConfig::workers`] threads of its own (a single-threaded tokio runtime each, like
//!   nginx's workers), so it works the same whatever runtime the caller uses.
//! - [`ProxyHandle`]: [`port`](ProxyHandle::port), [`local_origin`](ProxyHandle::local_origin)
//!   (`http://IP:PORT`), [`new_entry_url`](ProxyHandle::new_entry_url) (the one-time
//!   handshake URL, a [`Sensitive`] string; call it each time a window opens),
//!   [`retarget`](ProxyHandle::retarget), [`activity`](ProxyHandle::activity) (a `watch` of
//!   [`Activity`]). Dropping the handle stops everything.
//! - [`ProxyConfig`]: upstream URL, session id, connect timeout (≤ 10 s), header timeout, an
//!   optional [`HeaderHook`] (or [`StaticHeaders`]) for tunnels that need auth, extra TLS roots,
//!   worker threads. `ProxyHandle` is `Send + Sync`: keep it in the session's handle and drop it
//!   with the session.
//!
//! # What the proxy does
//!
//! - **Gate** (403 otherwise): the listener rules of [`access`] (exactly one `Host`, ours; `Origin`
//!   absent or ours; `Sec-Fetch-Site` not `cross-site`/`same-site`); the request carries the
//!   session's cookie. At most [`ProxyConfig::max_unverified`] connections without that cookie are
//!   held at once ([`admission`]); past that the oldest of them is closed. `GET /__porthole/auth?token=T[&next=/path]` with a pending single-use token (valid
//!   5 minutes) sets that cookie (`HttpOnly; SameSite=Strict; Path=/`, value a separate secret)
//!   and redirects to `next` (same-origin paths only) or to the upstream URL's path and query.
//!   Absolute-form targets and `CONNECT` get 400: this is not a forward proxy.
//! - **Requests upstream**: HTTP/1.1; path and query byte for byte; `Host` = the upstream's;
//!   `Origin`, `Referer`, `Expect`, hop-by-hop headers, this proxy's cookie and every
//!   `porthole_*` cookie the upstream did not set through this proxy removed;
//!   then the [`HeaderHook`]. A request with both `Content-Length` and `Transfer-Encoding` is
//!   refused with 400 before it is forwarded (see `guard.rs`); slow headers are cut off after
//!   [`ProxyConfig::header_timeout`].
//! - **Responses**: streamed; `X-Frame-Options`, CSP `frame-ancestors`,
//!   `Access-Control-Allow-Origin`/`-Credentials` removed; absolute redirects to the upstream's
//!   origin become paths; `Set-Cookie` loses `Domain` and `Secure` (`SameSite=None` becomes `Lax`)
//!   so the window keeps the upstream's cookies; none may be named `porthole_proxy_*`.
//! - **WebSockets**: handshake forwarded; after `101` the bytes are spliced both ways. A retarget
//!   to a different URL ends the WebSockets spliced to the old upstream (pages reconnect, through
//!   the same port, to the new one); retargeting to the same URL changes nothing.
//! - **Upstream down** (refused, timed out, TLS failed, dropped): 502 with a small page that polls
//!   `/__porthole/health` and reloads when the upstream answers. It never gives up and never says
//!   "unauthorized" for a network error.

pub mod access;
mod activity;
pub mod admission;
#[cfg(feature = "attack-set")]
pub mod attack_set;
mod config;
mod connect;
mod cookies;
mod forward;
mod gate;
mod guard;
pub mod listen;
mod pages;
mod server;
mod upgrade;
mod upstream;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use porthole_core::{Error, ErrorCode};
use porthole_secrets::Sensitive;
use tokio::net::TcpListener;
use tokio::sync::watch;
use url::Url;

pub use access::{own_loopback_address, Access};
pub use activity::{Activity, PUBLISH_INTERVAL};
pub use config::{HeaderHook, ProxyConfig, StaticHeaders, MAX_CONNECT_TIMEOUT};

use config::Target;
use connect::Connector;
use forward::{Common, Shared};
use gate::Gate;
use upstream::Upstream;

/// How long idle upstream connections are kept for reuse.
const POOL_IDLE: Duration = Duration::from_secs(60);

/// The most threads one proxy may use.
pub const MAX_WORKERS: usize = 8;

/// Starts proxies. See the crate documentation.
pub struct Proxy;

impl Proxy {
    /// Binds [`ProxyConfig::listen_ip`] and [`ProxyConfig::listen_port`] and starts serving on [`ProxyConfig::workers`] threads of its own,
    /// each with a single-threaded tokio runtime: the proxy does not compete with the app's
    /// runtime, and a request never wakes another thread. Dropping the returned handle stops those
    /// runtimes, which closes the port and every connection. Can be awaited from any runtime.
    pub async fn start(config: ProxyConfig) -> Result<ProxyHandle, Error> {
        let target = Target::parse(&config.upstream)?;
        let listener = bind(config.listen_ip, config.listen_port)
            .map_err(|e| Error::io("Cannot open a local port for the session", &e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("Cannot read the session's local port", &e))?;
        let port = addr.port();
        let connect_timeout = config.connect_timeout.min(MAX_CONNECT_TIMEOUT);
        let header_timeout = config.header_timeout;
        let workers = config.workers.clamp(1, MAX_WORKERS);
        let max_unverified = config.max_unverified;
        let (stop, shutdown) = watch::channel(false);
        let common = Arc::new(Common::new(
            Gate::new(
                addr,
                &config.session_id,
                config.standing_token.map(|t| t.expose().clone()),
            )?,
            target,
            config.headers,
            connect_timeout + Duration::from_secs(5),
            shutdown.clone(),
            workers,
        ));
        let mut connector = Connector::new(connect_timeout, config.extra_roots);
        if let Some(tunnel) = config.tunnel {
            connector = connector.through(tunnel, &config.session_id);
        }
        let thread_error = |e: std::io::Error| Error::io("Cannot start the proxy's threads", &e);

        let mut handoffs = Vec::new();
        for index in 1..workers {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let (common, connector, shutdown) =
                (common.clone(), connector.clone(), shutdown.clone());
            server::thread(index, move || async move {
                let shared = Arc::new(Shared::new(
                    common,
                    Upstream::new(connector, POOL_IDLE),
                    index,
                ));
                server::receive(shared, header_timeout, rx, shutdown).await;
            })
            .map_err(thread_error)?;
            handoffs.push(tx);
        }

        let (activity_tx, activity) = watch::channel(Activity::default());
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let first = common.clone();
        server::thread(0, move || async move {
            let listener = match TcpListener::from_std(listener) {
                Ok(listener) => listener,
                Err(e) => {
                    let _ =
                        ready_tx.send(Err(Error::io("Cannot listen on the session's port", &e)));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            tokio::spawn(activity::publish(
                first.meter.clone(),
                activity_tx,
                shutdown.clone(),
            ));
            let shared = Arc::new(Shared::new(first, Upstream::new(connector, POOL_IDLE), 0));
            server::accept(
                listener,
                shared,
                header_timeout,
                admission::Admission::new(max_unverified),
                handoffs,
                shutdown,
            )
            .await;
        })
        .map_err(thread_error)?;
        ready_rx.await.map_err(|_| {
            Error::new(ErrorCode::Internal, "The proxy's thread stopped at start")
        })??;
        Ok(ProxyHandle {
            addr,
            port,
            session_id: config.session_id,
            common,
            activity,
            stop,
        })
    }
}

/// Binds `ip:port`, or 127.0.0.1 when `ip` cannot be bound (systems that route only 127.0.0.1 to
/// the loopback device).
fn bind(ip: Ipv4Addr, port: u16) -> std::io::Result<std::net::TcpListener> {
    let listener = match std::net::TcpListener::bind(SocketAddr::from((ip, port))) {
        Err(e) if ip != Ipv4Addr::LOCALHOST && e.kind() == std::io::ErrorKind::AddrNotAvailable => {
            tracing::debug!(%ip, "cannot listen on a loopback address of its own");
            std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?
        }
        other => other?,
    };
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// An open proxy. Dropping it closes the port and every connection, WebSockets included.
pub struct ProxyHandle {
    addr: SocketAddr,
    port: u16,
    session_id: String,
    common: Arc<Common>,
    activity: watch::Receiver<Activity>,
    stop: watch::Sender<bool>,
}

impl ProxyHandle {
    /// The local port (stable for the handle's life, across [`retarget`](Self::retarget)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://IP:PORT`, the origin a session window's navigation must stay on.
    pub fn local_origin(&self) -> String {
        self.common.gate.access.origin().to_owned()
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The session id the proxy was started for.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// A fresh one-time handshake URL, `http://IP:PORT/__porthole/auth?token=…`: open a
    /// window on it. Each URL works once, within 5 minutes; ask for a new one per window.
    pub fn new_entry_url(&self) -> Result<Sensitive<String>, Error> {
        let token = self.common.gate.mint()?;
        Ok(Sensitive::new(format!(
            "{}/__porthole/auth?token={token}",
            self.local_origin()
        )))
    }

    /// Same as [`new_entry_url`](Self::new_entry_url): every call mints a new single-use URL.
    pub fn entry_url(&self) -> Result<Sensitive<String>, Error> {
        self.new_entry_url()
    }

    /// Points the proxy at a new upstream URL; the port, the cookie and open windows stay. New
    /// requests go to the new upstream; WebSockets already spliced stay on the old one until they
    /// close.
    pub fn retarget(&self, upstream: Url) -> Result<(), Error> {
        self.common.retarget(Target::parse(&upstream)?);
        Ok(())
    }

    /// The session has ended: from now on every request of its window (the cookie still
    /// checked) gets a page saying `headline` and `lines` instead of the upstream's, and spliced
    /// WebSockets end. The window stays usable for what its own menu offers (relaunch, close).
    pub fn end(&self, headline: &str, lines: &[&str]) {
        self.common.end(pages::ended_page(headline, lines));
    }

    /// Requests, bytes each way, last activity and open WebSockets, updated at most every
    /// [`PUBLISH_INTERVAL`].
    pub fn activity(&self) -> watch::Receiver<Activity> {
        self.activity.clone()
    }

    /// Stops the proxy now (the same as dropping the handle).
    pub fn shutdown(self) {}
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

impl fmt::Debug for ProxyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyHandle")
            .field("port", &self.port)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn handles_can_live_in_the_shells_registry() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<super::ProxyHandle>();
        send_sync::<super::ProxyConfig>();
    }
}
