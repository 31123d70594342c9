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

/// Records `url` (`http://ADDR/api`, or `https://…` for a server that serves TLS) as where this
/// server answers. A failure only costs the CLI its way here, so it is logged, not returned.
pub fn publish_url(data_dir: &Path, url: &str) {
    let record = format!("{url}\n");
    if let Err(e) = porthole_core::paths::write_private(&data_dir.join(FILE), record.as_bytes()) {
        tracing::warn!(error = %e.message, "cannot record the server's address for the CLI");
    }
}

/// Removes the record, if it is still this server's (another may have started since).
pub fn withdraw_url(data_dir: &Path, url: &str) {
    let file = data_dir.join(FILE);
    if std::fs::read_to_string(&file).is_ok_and(|text| text.trim() == url) {
        let _ = std::fs::remove_file(file);
    }
}

/// The base URL recorded in `data_dir`, whether or not its server runs now.
pub fn recorded(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join(FILE)).ok()?;
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// `http://ADDR/api`: the base URL a ComfyDeploy client is given.
pub fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}/api")
}

/// The base URL of the portholed keeping its state in `data_dir`, when one is recorded there, is on
/// this computer and accepts a connection now. A record left by a crash is ignored, and so is one
/// whose port another user's program has taken since (the CLI would send it the key).
pub fn find(data_dir: &Path) -> Option<String> {
    let url = recorded(data_dir)?;
    let addr: SocketAddr = url
        .strip_prefix("http://")?
        .strip_suffix("/api")?
        .parse()
        .ok()?;
    if !addr.ip().is_loopback() {
        return None;
    }
    TcpStream::connect_timeout(&addr, PROBE).ok()?;
    (!foreign_listener(addr.port())).then_some(url)
}

/// Whether another user's program listens on `port` (on any address, so whichever socket a
/// loopback connection lands on), so that a key must not be sent there: any local user can listen
/// on a free loopback port, 7788 included. Read from /proc/net/tcp and tcp6 on Linux; elsewhere
/// it cannot be told, and is taken as no. A port nobody listens on is not foreign (a request to it
/// just fails).
pub fn foreign_listener(port: u16) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let owners = listener_uids(port);
        match std::fs::metadata("/proc/self") {
            Ok(me) => owners.iter().any(|&owner| owner != me.uid()),
            Err(_) => !owners.is_empty(),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = port;
        false
    }
}

/// Who owns the sockets listening on `port`, on any address (Linux: /proc/net/tcp and tcp6).
#[cfg(target_os = "linux")]
fn listener_uids(port: u16) -> Vec<u32> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| listener_uids_in(&text, port))
        .collect()
}

/// The uids of the sockets listening on `port` in a /proc/net/tcp-style table.
#[cfg(any(target_os = "linux", test))]
fn listener_uids_in(table: &str, port: u16) -> Vec<u32> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, uid) = (fields.get(1)?, fields.get(3)?, fields.get(7)?);
            let local_port = u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()?;
            (*state == LISTEN && local_port == port)
                .then(|| uid.parse().ok())
                .flatten()
        })
        .collect()
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
        publish_url(&dir, &base_url(addr));
        assert_eq!(find(&dir), Some(format!("http://{addr}/api")));
        withdraw_url(&dir, &base_url(addr));
        assert!(!dir.join(FILE).exists());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_listening_sockets_owner_is_read_from_the_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1E6C 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1659 1
   1: 0100007F:9C40 0100007F:1E6C 01 00000000:00000000 00:00000000 00000000     0        0 1660 1
   2: 0100007F:9C41 00000000:0000 01 00000000:00000000 00:00000000 00000000    33        0 1661 1
   3: 0501A8C0:1E6C 00000000:0000 0A 00000000:00000000 00:00000000 00000000    33        0 1662 1
";
        // Two listeners on 7788, on different addresses: both owners count.
        assert_eq!(listener_uids_in(table, 7788), vec![1000, 33]);
        // An established connection on the port is not a listener; an unknown port has none.
        assert!(listener_uids_in(table, 0x9C40).is_empty());
        assert!(listener_uids_in(table, 0x9C41).is_empty());
        assert!(listener_uids_in(table, 1).is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_port_another_user_listens_on_is_not_trusted() {
        use std::io::BufRead;
        use std::os::unix::fs::MetadataExt;
        // Starting a listener as another user needs root (CI runs as root).
        if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
            eprintln!("skipped: needs root to listen as another user");
            return;
        }
        let listen = "import socket, time\n\
                      s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n\
                      print(s.getsockname()[1], flush=True); time.sleep(60)";
        let mut child = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(["/usr/bin/python3", "-c", listen])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("setpriv");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().expect("the listener's port");
        let dir = scratch("foreign-user");
        publish_url(&dir, &base_url(SocketAddr::from(([127, 0, 0, 1], port))));
        let found = find(&dir);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(found, None, "a port nobody's program holds was trusted");
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
        publish_url(&dir, &base_url(addr));
        assert_eq!(find(&dir), None);
        // Another server's record is not withdrawn by this one.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other = listener.local_addr().unwrap();
        publish_url(&dir, &base_url(other));
        withdraw_url(&dir, &base_url(addr));
        assert_eq!(find(&dir), Some(format!("http://{other}/api")));
        // Not loopback, or not a base URL: ignored.
        std::fs::write(dir.join(FILE), "http://192.0.2.1:7788/api\n").unwrap();
        assert_eq!(find(&dir), None);
        std::fs::write(dir.join(FILE), format!("https://{other}/api")).unwrap();
        assert_eq!(find(&dir), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
