//! What a session's job does on its compute node: `portholed __portholed-slurm-job DIR`.
//!
//! DIR is the session's job folder on the shared filesystem (0700, portholed's user, who is
//! also the job's). The job finds the node's address as Slurm knows it (`NodeAddr`), takes a
//! free port there, writes both to `DIR/connection.json` (portholed probes and tunnels to it)
//! and becomes the template's program, with the session's token from `DIR/token` in its
//! environment, never in argv.

use std::net::{IpAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};

use porthole_core::error::Result;
use porthole_core::Error;
use serde::{Deserialize, Serialize};

use crate::machines::LaunchSpec;
use crate::process;

pub const SPEC_FILE: &str = "spec.json";
pub const TOKEN_FILE: &str = "token";
pub const CONNECTION_FILE: &str = "connection.json";
pub const SCRIPT_FILE: &str = "job.sh";

/// What portholed leaves in the job folder for the node: the template, not yet rendered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobSpec {
    pub session_id: String,
    pub program: String,
    pub args: Vec<String>,
    pub env: std::collections::BTreeMap<String, String>,
    pub cwd: Option<PathBuf>,
}

impl JobSpec {
    pub fn new(session_id: &str, spec: &LaunchSpec) -> Self {
        Self {
            session_id: session_id.to_owned(),
            program: spec.program.clone(),
            args: spec.args.clone(),
            env: spec.env.clone(),
            cwd: spec.cwd.clone(),
        }
    }
}

/// Where the session listens, as the node wrote it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Connection {
    pub node: String,
    pub host: String,
    pub port: u16,
}

/// The batch script: nothing but the helper, so `scontrol write batch_script` shows no secret.
pub fn script(helper: &Path, dir: &Path) -> String {
    format!(
        "#!/bin/sh\n# A Porthole session (portholed's Slurm backend).\nexec {} {} {}\n",
        shell_quote(&helper.display().to_string()),
        super::JOB_SUBCOMMAND,
        shell_quote(&dir.display().to_string()),
    )
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Reads what a node wrote, if it has.
pub fn connection(dir: &Path) -> Option<Connection> {
    let text = std::fs::read(dir.join(CONNECTION_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The node side, to the end: returns only when the program could not be started.
pub fn run(args: &[String]) -> Result<std::convert::Infallible> {
    let dir = PathBuf::from(
        args.first()
            .ok_or_else(|| Error::invalid_input("usage: __portholed-slurm-job DIR"))?,
    );
    let spec: JobSpec = serde_json::from_slice(
        &std::fs::read(dir.join(SPEC_FILE))
            .map_err(|e| Error::io("cannot read the session's spec", &e))?,
    )
    .map_err(|e| Error::invalid_input(format!("the session's spec is not valid: {e}")))?;
    let token = std::fs::read_to_string(dir.join(TOKEN_FILE))
        .map_err(|e| Error::io("cannot read the session's token", &e))?;
    let token = token.trim();
    let node = std::env::var("SLURMD_NODENAME").unwrap_or_else(|_| "localhost".to_owned());
    let host = node_address(&node)?;
    let port = free_port(host)?;
    let host_text = host.to_string();
    let rendered = LaunchSpec {
        program: spec.program,
        args: spec.args,
        env: spec.env,
        cwd: spec.cwd,
        url: String::new(),
        probe_path: String::new(),
    }
    .render_at(&host_text, port, token);
    let connection = Connection {
        node,
        host: host_text.clone(),
        port,
    };
    let json = serde_json::to_vec(&connection)
        .map_err(|e| Error::invalid_input(format!("connection: {e}")))?;
    let tmp = dir.join(format!("{CONNECTION_FILE}.tmp"));
    std::fs::write(&tmp, json).map_err(|e| Error::io("cannot write the connection", &e))?;
    std::fs::rename(&tmp, dir.join(CONNECTION_FILE))
        .map_err(|e| Error::io("cannot write the connection", &e))?;
    println!(
        "Porthole session {} on {} ({host_text}:{port})",
        spec.session_id, connection.node
    );
    exec(&rendered, &spec.session_id, &host_text, port, token)
}

/// Becomes the session's program (the job's exit status is its own).
fn exec(
    spec: &LaunchSpec,
    id: &str,
    host: &str,
    port: u16,
    token: &str,
) -> Result<std::convert::Infallible> {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(&spec.program);
    cmd.args(&spec.args)
        .envs(&spec.env)
        .env(process::SESSION_ENV, id)
        .env("PORTHOLE_HOST", host)
        .env("PORTHOLE_PORT", port.to_string())
        .env(process::TOKEN_ENV, token);
    if let Some(dir) = &spec.cwd {
        cmd.current_dir(dir);
    }
    let err = cmd.exec();
    Err(Error::io(&format!("cannot start {}", spec.program), &err))
}

/// The node's address as Slurm knows it (its NodeAddr, an address or a name, resolved; what the
/// controller and portholed reach it by), else what the node's name resolves to.
fn node_address(node: &str) -> Result<IpAddr> {
    let from_slurm = std::process::Command::new("scontrol")
        .args(["--oneliner", "show", "node", node])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix("NodeAddr=").map(str::to_owned))
        });
    let resolve = |name: &str| -> Option<IpAddr> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Some(ip);
        }
        let found: Vec<IpAddr> = (name, 0).to_socket_addrs().ok()?.map(|a| a.ip()).collect();
        found
            .iter()
            .copied()
            .find(IpAddr::is_ipv4)
            .or(found.first().copied())
    };
    from_slurm
        .as_deref()
        .and_then(resolve)
        .or_else(|| resolve(node))
        .ok_or_else(|| Error::invalid_input(format!("cannot find the address of node {node}")))
}

fn free_port(host: IpAddr) -> Result<u16> {
    let listener = TcpListener::bind((host, 0))
        .map_err(|e| Error::io(&format!("cannot find a free port on {host}"), &e))?;
    Ok(listener
        .local_addr()
        .map_err(|e| Error::io("cannot find a free port", &e))?
        .port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_script_only_starts_the_helper_with_its_folder_quoted() {
        let text = script(Path::new("/usr/bin/portholed"), Path::new("/shared/it's"));
        assert_eq!(
            text.lines().last(),
            Some("exec '/usr/bin/portholed' __portholed-slurm-job '/shared/it'\\''s'")
        );
    }
}
