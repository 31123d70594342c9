//! The upstream connector: TCP with a connect timeout, then TLS through rustls for `https`
//! upstreams (the system's roots, Mozilla's bundled roots when the system has none). ALPN offers
//! HTTP/1.1 only: WebSocket upgrades need it, and a tunnel is one user's traffic.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use porthole_local::tunnel::Tunnel;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tower_service::Service;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connection to the upstream, plain or TLS.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Connects to `http` and `https` upstreams within `timeout` (TCP and TLS handshake together),
/// or through a paired portholed's tunnel to one session (whatever the URL's address: that is
/// the session's address on the server).
#[derive(Clone)]
pub(crate) struct Connector {
    tcp: HttpConnector,
    timeout: Duration,
    extra_roots: Arc<Vec<CertificateDer<'static>>>,
    tls: Arc<OnceLock<TlsConnector>>,
    tunnel: Option<(Arc<Tunnel>, Arc<str>)>,
}

impl Connector {
    pub(crate) fn new(timeout: Duration, extra_roots: Vec<CertificateDer<'static>>) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(timeout));
        Self {
            tcp,
            timeout,
            extra_roots: Arc::new(extra_roots),
            tls: Arc::new(OnceLock::new()),
            tunnel: None,
        }
    }

    /// The same, reaching session `session_id` through `tunnel`.
    pub(crate) fn through(mut self, tunnel: Tunnel, session_id: &str) -> Self {
        self.tunnel = Some((Arc::new(tunnel), Arc::from(session_id)));
        self
    }

    async fn tls(&self) -> Result<TlsConnector, BoxError> {
        if let Some(tls) = self.tls.get() {
            return Ok(tls.clone());
        }
        let extra = self.extra_roots.clone();
        // Reading the system's certificate store is blocking file I/O: once per proxy.
        let config = tokio::task::spawn_blocking(move || client_config(&extra)).await??;
        Ok(self.tls.get_or_init(|| TlsConnector::from(config)).clone())
    }

    pub(crate) async fn connect(mut self, uri: Uri) -> Result<TokioIo<Stream>, BoxError> {
        if let Some((tunnel, session_id)) = &self.tunnel {
            let stream = tunnel.open(session_id, self.timeout).await?;
            return Ok(TokioIo::new(Stream::Tls(Box::new(stream))));
        }
        let https = uri.scheme_str() == Some("https");
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            .ok_or("the upstream URL has no host")?;
        let tcp = self.tcp.call(uri).await?.into_inner();
        if !https {
            return Ok(TokioIo::new(Stream::Plain(tcp)));
        }
        let name = ServerName::try_from(host)?;
        let tls = self.tls().await?.connect(name, tcp).await?;
        Ok(TokioIo::new(Stream::Tls(Box::new(tls))))
    }
}

impl Service<Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, this.connect(uri)).await {
                Ok(result) => result,
                Err(_) => Err(format!("connecting took longer than {timeout:?}").into()),
            }
        })
    }
}

/// The system's roots, loaded once per process.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let loaded = rustls_native_certs::load_native_certs();
        for err in &loaded.errors {
            tracing::debug!("skipping a system certificate source: {err}");
        }
        let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
        if added == 0 {
            tracing::warn!("no system root certificates found; using the bundled Mozilla roots");
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        roots
    })
}

fn client_config(extra: &[CertificateDer<'static>]) -> Result<Arc<ClientConfig>, BoxError> {
    let mut roots = system_roots().clone();
    for cert in extra {
        roots.add(cert.clone())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
