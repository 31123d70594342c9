//! Where a running portholed answers, written to its data folder. The app's Local server takes
//! port 7788 when it is free and any port otherwise; the `porthole` CLI reads this file to find it
//! either way.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

/// The file, in the data folder: one line, the base URL (`http://127.0.0.1:PORT/api`).
pub const FILE: &str = "base-url";

/// How long [`find`] waits for the address to accept a connection.
const PROBE: Duration = Duration::from_millis(300);

/// Records `addr` as where this server answers. A failure only costs the CLI its way here, so it
/// is logged, not returned.
pub(crate) fn publish(data_dir: &Path, addr: SocketAddr) {
    if let Err(e) = std::fs::write(data_dir.join(FILE), format!("{}\n", base_url(addr))) {
        tracing::warn!(error = %e, "cannot record the server's address for the CLI");
    }
}

/// Removes the record, if it is still this server's (another may have started since).
pub(crate) fn withdraw(data_dir: &Path, addr: SocketAddr) {
    let file = data_dir.join(FILE);
    if std::fs::read_to_string(&file).is_ok_and(|text| text.trim() == base_url(addr)) {
        let _ = std::fs::remove_file(file);
    }
}

/// `http://ADDR/api`: the base URL a ComfyDeploy client is given.
pub(crate) fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}/api")
}

/// The base URL of the portholed keeping its state in `data_dir`, when one is recorded there, is on
/// this computer and accepts a connection now (a record left by a crash is ignored).
pub fn find(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join(FILE)).ok()?;
    let url = text.trim();
    let addr: SocketAddr = url
        .strip_prefix("http://")?
        .strip_suffix("/api")?
        .parse()
        .ok()?;
    if !addr.ip().is_loopback() {
        return None;
    }
    TcpStream::connect_timeout(&addr, PROBE).ok()?;
    Some(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("portholed-address-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_published_listening_address_is_found_and_withdrawn() {
        let dir = scratch("live");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert_eq!(find(&dir), None);
        publish(&dir, addr);
        assert_eq!(find(&dir), Some(format!("http://{addr}/api")));
        withdraw(&dir, addr);
        assert!(!dir.join(FILE).exists());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_record_left_behind_or_foreign_is_ignored() {
        let dir = scratch("stale");
        // Nothing listens there any more.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        publish(&dir, addr);
        assert_eq!(find(&dir), None);
        // Another server's record is not withdrawn by this one.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other = listener.local_addr().unwrap();
        publish(&dir, other);
        withdraw(&dir, addr);
        assert_eq!(find(&dir), Some(format!("http://{other}/api")));
        // Not loopback, or not a base URL: ignored.
        std::fs::write(dir.join(FILE), "http://192.0.2.1:7788/api\n").unwrap();
        assert_eq!(find(&dir), None);
        std::fs::write(dir.join(FILE), format!("https://{other}/api")).unwrap();
        assert_eq!(find(&dir), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
