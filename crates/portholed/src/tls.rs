//! TLS for a portholed other machines reach. Off loopback it serves TLS unless told loudly not
//! to ([`Tls::InsecurePlain`]): with a certificate the user gives (`--tls-cert`, `--tls-key`), or
//! one it generates on first start and keeps in its data folder (`tls/cert.pem`, `tls/key.pem`,
//! the key 0600). Clients pin that certificate by its fingerprint (pairing), so a self-signed
//! one is as good as any. The fingerprint of the certificate in use is written beside it
//! (`tls/fingerprint`, not secret) for `portholed pair`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use porthole_core::error::Result;
use porthole_core::paths::{create_private_dir, write_private};
use porthole_core::Error;
use porthole_local::pairing::Fingerprint;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// The folder, in the data folder, of the generated certificate and the fingerprint record.
pub const DIR: &str = "tls";
const CERT: &str = "cert.pem";
const KEY: &str = "key.pem";
const FINGERPRINT: &str = "fingerprint";

/// How the API is served.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Tls {
    /// TLS off loopback (a generated certificate unless files are given), plain on loopback.
    #[default]
    Auto,
    /// TLS wherever it listens, loopback included.
    Always,
    /// TLS with the user's certificate chain and key (PEM), wherever it listens.
    Files { cert: PathBuf, key: PathBuf },
    /// Plain HTTP even off loopback: the key and every session's traffic travel readable.
    InsecurePlain,
}

/// A certificate ready to serve, and its fingerprint.
pub struct Served {
    pub config: Arc<ServerConfig>,
    pub fingerprint: Fingerprint,
}

impl Tls {
    /// The TLS to serve on `addr` with, or none (plain HTTP).
    pub fn setup(&self, addr: SocketAddr, data_dir: &Path) -> Result<Option<Served>> {
        let dir = data_dir.join(DIR);
        let (chain, key) = match self {
            Tls::InsecurePlain => {
                forget_fingerprint(&dir);
                return Ok(None);
            }
            Tls::Auto if addr.ip().is_loopback() => {
                forget_fingerprint(&dir);
                return Ok(None);
            }
            Tls::Auto | Tls::Always => generated(&dir, addr.ip())?,
            Tls::Files { cert, key } => given(cert, key)?,
        };
        let fingerprint = Fingerprint::of_der(chain.first().map_or(&[][..], |c| c.as_ref()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| {
                Error::invalid_input(format!("The TLS certificate cannot be used: {e}"))
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        create_private_dir(&dir)?;
        std::fs::write(dir.join(FINGERPRINT), format!("{fingerprint}\n"))
            .map_err(|e| Error::io("cannot record the certificate's fingerprint", &e))?;
        Ok(Some(Served {
            config: Arc::new(config),
            fingerprint,
        }))
    }
}

/// The fingerprint of the certificate the server in `data_dir` serves (recorded at its start),
/// or none if it serves plain HTTP or never started.
pub fn recorded_fingerprint(data_dir: &Path) -> Option<Fingerprint> {
    let text = std::fs::read_to_string(data_dir.join(DIR).join(FINGERPRINT)).ok()?;
    Fingerprint::parse(&text).ok()
}

fn forget_fingerprint(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(FINGERPRINT));
}

type Pair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// The certificate generated on first start (for this host's name, `localhost`, loopback and
/// the address it listens on), kept for the next.
fn generated(dir: &Path, ip: IpAddr) -> Result<Pair> {
    let (cert_file, key_file) = (dir.join(CERT), dir.join(KEY));
    if cert_file.exists() && key_file.exists() {
        return given(&cert_file, &key_file);
    }
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        names.push(host.trim().to_owned());
    }
    if !ip.is_unspecified() && !ip.is_loopback() {
        names.push(ip.to_string());
    }
    names.retain(|n| !n.is_empty());
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| Error::invalid_input(format!("cannot make a TLS certificate: {e}")))?;
    create_private_dir(dir)?;
    write_private(&key_file, made.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(&cert_file, made.cert.pem())
        .map_err(|e| Error::io("cannot keep the TLS certificate", &e))?;
    tracing::info!(cert = %cert_file.display(), "made a TLS certificate for this server");
    given(&cert_file, &key_file)
}

/// A PEM certificate chain and key from files.
fn given(cert: &Path, key: &Path) -> Result<Pair> {
    let unreadable = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        Error::invalid_input(format!(
            "Cannot read the TLS {what} {}: {e}",
            path.display()
        ))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| unreadable("certificate", cert, &e))?;
    if chain.is_empty() {
        return Err(unreadable("certificate", cert, &"no certificate in it"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| unreadable("key", key, &e))?;
    Ok((chain, key_der))
}
