//! A second machine on this one: a network namespace with its own loopback, joined to this one by
//! a veth pair on 10.231.N.0/30, and portholed (the real binary) serving there. Needs root and
//! `ip`; everything is removed on drop, failures included. Used by tests/network.rs and
//! benches/tunnel.rs.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use porthole_local::pairing::Fingerprint;

pub struct Namespace {
    pub name: String,
    pub host_if: String,
    /// This side's address and the namespace's.
    pub here: String,
    pub there: String,
    children: Vec<Child>,
}

/// A portholed serving in a [`Namespace`].
pub struct Served {
    pub base: String,
    pub fingerprint: Fingerprint,
    pub key: String,
    pub pid: u32,
}

impl Served {
    /// Launches `machine` there as a client here does (over the pinned API, waiting for its
    /// URL); the session's JSON.
    pub async fn launch(&self, machine: &str) -> serde_json::Value {
        let pin = porthole_local::pinned::Pin::new(self.fingerprint);
        reqwest::Client::builder()
            .use_preconfigured_tls(pin.client_config().unwrap())
            .build()
            .unwrap()
            .post(format!("{}/session", self.base))
            .bearer_auth(&self.key)
            .json(&serde_json::json!({"machine_id": machine, "wait_for_server": true}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn ip(args: &[&str]) -> std::io::Result<std::process::ExitStatus> {
    Command::new("ip").args(args).stderr(Stdio::null()).status()
}

fn must(args: &[&str]) {
    assert!(ip(args).unwrap().success(), "ip {}", args.join(" "));
}

impl Namespace {
    /// Root, and `ip netns` works; else says the caller is skipped.
    pub fn available() -> bool {
        let root = std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
        let ok = root && ip(&["netns", "list"]).is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: needs root and `ip netns` (make test runs it as root)");
        }
        ok
    }

    /// A namespace named after `tag`, on 10.231.`subnet`.0/30 (each user its own subnet).
    pub fn create(tag: &str, subnet: u8) -> Self {
        let id = std::process::id() % 100_000;
        let ns = Self {
            name: format!("porthole-{tag}-{id}"),
            host_if: format!("p{}h{id}", &tag[..1]),
            here: format!("10.231.{subnet}.1"),
            there: format!("10.231.{subnet}.2"),
            children: Vec::new(),
        };
        let ns_if = format!("p{}n{id}", &tag[..1]);
        must(&["netns", "add", &ns.name]);
        must(&[
            "link",
            "add",
            &ns.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &ns_if,
        ]);
        must(&["link", "set", &ns_if, "netns", &ns.name]);
        must(&[
            "addr",
            "add",
            &format!("{}/30", ns.here),
            "dev",
            &ns.host_if,
        ]);
        must(&["link", "set", &ns.host_if, "up"]);
        let inside = |args: &[&str]| {
            let mut all = vec!["netns", "exec", ns.name.as_str(), "ip"];
            all.extend_from_slice(args);
            must(&all);
        };
        inside(&["addr", "add", &format!("{}/30", ns.there), "dev", &ns_if]);
        inside(&["link", "set", &ns_if, "up"]);
        inside(&["link", "set", "lo", "up"]);
        ns
    }

    /// This side's end of the link up or down (a network drop).
    pub fn link(&self, up: bool) {
        must(&["link", "set", &self.host_if, if up { "up" } else { "down" }]);
    }

    /// Runs `program args` inside the namespace (killed on drop).
    pub fn spawn(&mut self, program: &Path, args: &[&str]) -> &mut Child {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .arg(program)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.children.push(child);
        self.children.last_mut().unwrap()
    }

    /// The `portholed` binary serving on the namespace's address (TLS, as beyond loopback),
    /// its state in `dir`, its settings `toml`.
    pub fn portholed(&mut self, exe: &str, dir: &Path, toml: &str) -> Served {
        std::fs::create_dir_all(dir).unwrap();
        let config: PathBuf = dir.join("portholed.toml");
        std::fs::write(&config, toml).unwrap();
        let listen = format!("{}:7788", self.there);
        let args = [
            "--listen",
            &listen,
            "--key-file",
            "--data-dir",
            dir.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ];
        let child = self.spawn(Path::new(exe), &args);
        let pid = child.id();
        let line = BufReader::new(child.stderr.take().unwrap())
            .lines()
            .map(Result::unwrap)
            .find(|l| l.starts_with("portholed listening on "))
            .expect("portholed announced itself");
        let fingerprint = line
            .split_whitespace()
            .find_map(|w| Fingerprint::parse(w.trim_end_matches(';')).ok())
            .unwrap();
        Served {
            base: format!("https://{listen}/api"),
            fingerprint,
            key: std::fs::read_to_string(dir.join("api-key"))
                .unwrap()
                .trim()
                .to_owned(),
            pid,
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // SIGTERM first: portholed stops its sessions then (a SIGKILL would leave them running,
        // holding the test's output open), and is killed if it has not gone in 10 s.
        for child in &mut self.children {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        for child in &mut self.children {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && std::time::Instant::now() < deadline
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = ip(&["link", "del", &self.host_if]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}
