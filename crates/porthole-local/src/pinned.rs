//! TLS to a paired portholed: the server's certificate must be the one whose fingerprint was
//! paired, whatever the system trusts (a public CA's certificate for the same address is refused
//! as well). The handshake signature is still verified against that certificate's key, so a
//! copied certificate without its key gets nowhere.
//!
//! A refusal is remembered ([`Pin::mismatch`]) so the caller can say what happened in words
//! rather than as a connection failure.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};

use porthole_core::error::{Error, ErrorCode};

use crate::pairing::Fingerprint;

/// One pinned fingerprint and what the last refused server presented.
#[derive(Debug, Clone)]
pub struct Pin {
    expected: Fingerprint,
    refused: Arc<Mutex<Option<Fingerprint>>>,
}

impl Pin {
    pub fn new(expected: Fingerprint) -> Self {
        Self {
            expected,
            refused: Arc::default(),
        }
    }

    pub fn expected(&self) -> Fingerprint {
        self.expected
    }

    /// A rustls client configuration that accepts only this certificate (HTTP/1.1 by ALPN).
    pub fn client_config(&self) -> Result<ClientConfig, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::new(ErrorCode::Internal, format!("TLS setup: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier {
                pin: self.clone(),
                provider,
            }))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    /// The coded error for the last refusal, if the last handshake was refused for presenting
    /// another certificate (taken: asked once per failure). `host` names the server.
    pub fn mismatch(&self, host: &str) -> Option<Error> {
        let seen = self
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()?;
        Some(Error::new(
            ErrorCode::CertificateMismatch,
            format!(
                "{host} presented a certificate other than the one this account was paired with \
                 (paired {}…, presented {}…), so nothing was sent to it. Another server may be \
                 answering at that address. If the server was reinstalled or its certificate \
                 replaced, run `portholed pair` there and pair again.",
                self.expected.short(),
                seen.short()
            ),
        ))
    }
}

#[derive(Debug)]
struct Verifier {
    pin: Pin,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = Fingerprint::of_der(end_entity);
        if seen == self.pin.expected {
            return Ok(ServerCertVerified::assertion());
        }
        *self.pin.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(seen);
        Err(rustls::Error::InvalidCertificate(
            CertificateError::ApplicationVerificationFailure,
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
