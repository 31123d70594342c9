//! `https` upstreams (Modal tunnels terminate TLS): verified with rustls, WebSockets included, and
//! an untrusted certificate is an unreachable upstream, never a silent downgrade.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::upstream::Upstream;
use common::{open_with, text, within};
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_tungstenite::tungstenite::Message;
use url::Url;

async fn tls_upstream() -> (Upstream, CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    (Upstream::start_on(0, Some(acceptor)).await, cert)
}

#[tokio::test]
async fn https_upstreams_are_verified_and_proxied() {
    let (up, cert) = tls_upstream().await;
    let url = Url::parse(&format!("https://localhost:{}/", up.port())).unwrap();
    let mut config = common::config(url, "s1");
    config.extra_roots = vec![cert];
    let w = open_with(config).await;
    let response = w.send(w.get("/echo/x%2Fy")).await;
    assert_eq!(response.status(), 200);
    let body = text(response).await;
    assert!(body.contains("target /echo/x%2Fy\n"), "{body}");
    assert!(
        body.contains(&format!("header host: localhost:{}\n", up.port())),
        "{body}"
    );

    let mut ws = w.websocket("/ws").await;
    ws.send(Message::text("over tls")).await.unwrap();
    assert_eq!(
        within(ws.next()).await.unwrap().unwrap(),
        Message::text("over tls")
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_an_unreachable_upstream() {
    let (up, _cert) = tls_upstream().await;
    let url = Url::parse(&format!("https://localhost:{}/", up.port())).unwrap();
    let w = open_with(common::config(url, "s1")).await;
    let response = w.send(w.get("/echo")).await;
    assert_eq!(response.status(), 502);
    assert!(
        up.seen().is_empty(),
        "nothing may be sent over an unverified connection"
    );
}
