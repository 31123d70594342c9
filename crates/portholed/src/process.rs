//! Session processes: spawning each in its own process group, telling a live process from a
//! reused pid, stopping a whole group (SIGTERM, then SIGKILL), and probing its port.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use porthole_core::error::Result;
use porthole_core::{Error, ErrorCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::machines::LaunchSpec;

/// Starts `spec` in a new process group with its output appended to `log`.
pub fn spawn(
    spec: &LaunchSpec,
    extra_env: &[(&str, String)],
    log: &Path,
) -> Result<tokio::process::Child> {
    let out = crate::logs::open(log).map_err(|e| Error::io("cannot open the session log", &e))?;
    let err = out
        .try_clone()
        .map_err(|e| Error::io("cannot open the session log", &e))?;
    let mut cmd = tokio::process::Command::new(&spec.program);
    cmd.args(&spec.args)
        .envs(&spec.env)
        .envs(extra_env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .kill_on_drop(false);
    if let Some(dir) = &spec.cwd {
        cmd.current_dir(dir);
    }
    cmd.spawn().map_err(|e| {
        Error::new(
            ErrorCode::Internal,
            format!("cannot start {}: {e}", spec.program),
        )
    })
}

/// The process's start time in clock ticks since boot (Linux `/proc/PID/stat` field 22), or
/// `None` when the process does not exist, is a zombie, or the OS has no `/proc`.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    // `after` starts at field 3 (state); field 22 is 19 further on.
    fields.nth(18)?.parse().ok()
}

/// Whether `pid` is the very process that was started at `started` (when known).
pub fn is_same_process(pid: i32, started: Option<u64>) -> bool {
    if pid <= 0 {
        return false;
    }
    if Path::new("/proc/self/stat").exists() {
        match (start_time(pid), started) {
            (Some(now), Some(then)) => now == then,
            (Some(_), None) => true,
            (None, _) => false,
        }
    } else {
        kill(Pid::from_raw(pid), None).is_ok()
    }
}

/// Whether any process is left in the group `pgid`.
pub fn group_alive(pgid: i32) -> bool {
    pgid > 0 && !matches!(killpg(Pid::from_raw(pgid), None), Err(Errno::ESRCH))
}

/// Sends `signal` to the group; a group already gone is not an error.
pub fn signal_group(pgid: i32, signal: Signal) {
    if pgid > 0 {
        let _ = killpg(Pid::from_raw(pgid), signal);
    }
}

/// Stops the whole group: SIGTERM, up to `grace` for it to leave, then SIGKILL. Returns once
/// the group is gone (or after 5 s more, which only a stuck uninterruptible process outlives).
pub async fn terminate_group(pgid: i32, grace: Duration) -> bool {
    if !group_alive(pgid) {
        return true;
    }
    signal_group(pgid, Signal::SIGTERM);
    if wait_group_gone(pgid, grace).await {
        return true;
    }
    signal_group(pgid, Signal::SIGKILL);
    wait_group_gone(pgid, Duration::from_secs(5)).await
}

async fn wait_group_gone(pgid: i32, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    let mut step = Duration::from_millis(2);
    loop {
        if !group_alive(pgid) {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(step).await;
        step = (step * 2).min(Duration::from_millis(50));
    }
}

/// The environment variable every session process carries (and passes on to what it starts).
pub const SESSION_ENV: &str = "PORTHOLE_SESSION_ID";

/// The session's token, in the session process's environment: only its user (and root) can read
/// a process's environment, while its argv is open to every local user.
pub const TOKEN_ENV: &str = "PORTHOLE_TOKEN";

/// Live processes whose environment carries `PORTHOLE_SESSION_ID=id`: whatever a session
/// started, even outside its process group (a shell's background jobs, a daemonised child).
/// Linux only (reads `/proc`); elsewhere empty.
pub fn tagged_processes(id: &str) -> Vec<i32> {
    let needle = format!("{SESSION_ENV}={id}");
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()))
        })
        .filter(|&pid| start_time(pid).is_some())
        .collect()
}

/// Stops every process tagged with the session: SIGTERM, up to `grace`, then SIGKILL.
pub async fn terminate_tagged(id: &str, grace: Duration) {
    let pids = tagged_processes(id);
    if pids.is_empty() {
        return;
    }
    for &pid in &pids {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let end = Instant::now() + grace;
    while Instant::now() < end && !tagged_processes(id).is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for pid in tagged_processes(id) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// A free loopback port not in `taken`. The caller passes it to the child, which binds it.
pub fn free_port(taken: &std::collections::HashSet<u16>) -> Result<u16> {
    free_port_on(std::net::Ipv4Addr::LOCALHOST, taken)
}

/// A free port on the loopback address `ip`, not in `taken`.
pub fn free_port_on(ip: std::net::Ipv4Addr, taken: &std::collections::HashSet<u16>) -> Result<u16> {
    for _ in 0..64 {
        let listener = std::net::TcpListener::bind((ip, 0))
            .map_err(|e| Error::io("cannot find a free port", &e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("cannot find a free port", &e))?
            .port();
        if !taken.contains(&port) {
            return Ok(port);
        }
    }
    Err(Error::new(ErrorCode::Internal, "no free loopback port"))
}

/// One HTTP GET of `path` on 127.0.0.1:`port`: true when something answers with an HTTP status
/// line, whatever the status.
pub async fn probe(port: u16, path: &str) -> bool {
    probe_at((std::net::Ipv4Addr::LOCALHOST, port).into(), path).await
}

/// [`probe`] on any address.
pub async fn probe_at(addr: std::net::SocketAddr, path: &str) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 5];
        stream.read_exact(&mut head).await.ok()?;
        Some(&head == b"HTTP/")
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(3), attempt).await,
        Ok(Some(true))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_identifies_this_process() {
        let me = std::process::id() as i32;
        let t = start_time(me).expect("own start time");
        assert!(is_same_process(me, Some(t)));
        assert!(!is_same_process(me, Some(t + 1)), "a reused pid differs");
        assert!(!is_same_process(i32::MAX - 1, None));
        assert!(!is_same_process(0, None));
    }

    #[tokio::test]
    async fn terminate_stops_the_whole_group_even_if_it_ignores_sigterm() {
        let dir = std::env::temp_dir().join(format!("portholed-proc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let spec = LaunchSpec {
            program: "/bin/sh".into(),
            args: vec![
                "-c".into(),
                "trap '' TERM; sleep 30 & sleep 30 & echo ready; wait".into(),
            ],
            env: Default::default(),
            cwd: None,
            url: String::new(),
            probe_path: String::new(),
        };
        let mut child = spawn(&spec, &[], &dir.join("log")).expect("spawn");
        let pid = child.id().expect("pid") as i32;
        let reaper = tokio::spawn(async move { child.wait().await });
        let ready = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(dir.join("log"))
            .unwrap_or_default()
            .trim()
            != "ready"
        {
            assert!(Instant::now() < ready, "the shell never got ready");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(group_alive(pid));
        let started = Instant::now();
        assert!(terminate_group(pid, Duration::from_millis(200)).await);
        assert!(!group_alive(pid));
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "waited the grace"
        );
        reaper.await.expect("join").expect("wait");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[tokio::test]
    async fn probe_sees_only_http() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = s.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
            }
        });
        assert!(probe(port, "/").await);
        let closed = free_port(&Default::default()).expect("port");
        assert!(!probe(closed, "/").await);
    }
}
