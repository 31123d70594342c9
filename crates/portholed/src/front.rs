//! The token front for session programs that have no token of their own (ComfyUI):
//! `portholed __portholed-front --port P -- PROGRAM ARGS…` (the token in `PORTHOLE_TOKEN`, never
//! in argv) starts the program on a
//! loopback port of its own (`{upstream_port}` in its arguments), waits until it answers, then
//! serves it on 127.0.0.1:P through porthole-proxy with a standing token, the way Jupyter's works:
//! `/?token=T` sets an `HttpOnly; SameSite=Strict` cookie; anything without it is 403, with the
//! proxy's Host and Origin checks (DNS rebinding, other pages) on top.
//!
//! Nothing listens on P before the program answers, so portholed's readiness probe (and so the
//! session's `url`) waits for the program itself. The front lives in the session's process group
//! with the program: portholed's SIGTERM reaches both, and the front exits when the program does.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::Duration;

use porthole_core::error::Result;
use porthole_core::{Error, ErrorCode};
use porthole_proxy::{Proxy, ProxyConfig};
use porthole_secrets::Sensitive;
use tokio::process::Child;

use crate::process;

/// The placeholder for the program's own port, replaced by the front (not by portholed).
pub const UPSTREAM_PORT: &str = "{upstream_port}";

/// The placeholder for the program's own address: a loopback address of its own (127.A.B.C at
/// random), so a local program or a rebinding page cannot find the program behind the front by
/// scanning 127.0.0.1's ports (the program itself has no token). 127.0.0.1 where the system
/// routes no other loopback address.
pub const UPSTREAM_HOST: &str = "{upstream_host}";

/// How long the program has to stop after the front is told to stop, before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct FrontArgs {
    pub port: u16,
    pub token: Sensitive<String>,
    pub program: String,
    pub args: Vec<String>,
}

/// Parses `--port P -- PROGRAM ARGS…`; `token` is the session's token, from the environment.
pub fn parse_args(args: &[String], token: Option<String>) -> Result<FrontArgs> {
    let mut port = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--" {
            break;
        }
        let value = it
            .next()
            .ok_or_else(|| Error::invalid_input(format!("{flag} needs a value")))?;
        match flag.as_str() {
            "--port" => {
                port = Some(
                    value
                        .parse()
                        .map_err(|_| Error::invalid_input("--port wants a number"))?,
                )
            }
            other => return Err(Error::invalid_input(format!("unknown flag {other}"))),
        }
    }
    let rest: Vec<String> = it.cloned().collect();
    let (program, args) = rest
        .split_first()
        .ok_or_else(|| Error::invalid_input("no program after --"))?;
    Ok(FrontArgs {
        port: port.ok_or_else(|| Error::invalid_input("--port is required"))?,
        token: token
            .filter(|t| !t.is_empty())
            .map(Sensitive::new)
            .ok_or_else(|| Error::invalid_input(format!("{} is not set", process::TOKEN_ENV)))?,
        program: program.clone(),
        args: args.to_vec(),
    })
}

/// Runs the program behind the front until it exits or SIGTERM arrives; the program's exit
/// status is the front's.
pub async fn serve(args: FrontArgs) -> Result<std::process::ExitStatus> {
    let taken = [args.port].into();
    let own = porthole_proxy::own_loopback_address();
    let (upstream_ip, upstream_port) = match process::free_port_on(own, &taken) {
        Ok(port) => (own, port),
        Err(_) => (Ipv4Addr::LOCALHOST, process::free_port(&taken)?),
    };
    let upstream_addr = SocketAddr::from((upstream_ip, upstream_port));
    let program_args: Vec<String> = args
        .args
        .iter()
        .map(|a| {
            a.replace(UPSTREAM_PORT, &upstream_port.to_string())
                .replace(UPSTREAM_HOST, &upstream_ip.to_string())
        })
        .collect();
    let mut child = tokio::process::Command::new(&args.program)
        .args(&program_args)
        .env_remove(process::TOKEN_ENV)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("cannot start {}: {e}", args.program),
            )
        })?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::io("cannot handle SIGTERM", &e))?;

    // Wait for the program to answer (or to exit, or to be stopped).
    loop {
        tokio::select! {
            status = child.wait() => return status.map_err(|e| Error::io("the program", &e)),
            _ = term.recv() => return stop(&mut child).await,
            answers = process::probe_at(upstream_addr, "/") => {
                if answers {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    let upstream = url::Url::parse(&format!("http://{upstream_addr}/"))
        .map_err(|e| Error::new(ErrorCode::Internal, format!("bad upstream URL: {e}")))?;
    let mut config = ProxyConfig::new(upstream, format!("portholed-{}", args.port));
    config.listen_port = args.port;
    config.standing_token = Some(args.token);
    config.workers = 1;
    let proxy = match Proxy::start(config).await {
        Ok(proxy) => proxy,
        Err(e) => {
            let _ = stop(&mut child).await;
            return Err(e);
        }
    };
    let status = tokio::select! {
        status = child.wait() => status.map_err(|e| Error::io("the program", &e)),
        _ = term.recv() => stop(&mut child).await,
    };
    drop(proxy);
    status
}

/// SIGTERM to the program (portholed's group signal usually got there first), SIGKILL after
/// [`GRACE`].
async fn stop(child: &mut Child) -> Result<std::process::ExitStatus> {
    if let Some(pid) = child.id() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    match tokio::time::timeout(GRACE, child.wait()).await {
        Ok(status) => status.map_err(|e| Error::io("the program", &e)),
        Err(_) => {
            let _ = child.kill().await;
            child.wait().await.map_err(|e| Error::io("the program", &e))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arguments_name_the_port_and_the_program_and_the_token_comes_from_the_environment() {
        let token = || Some("t".to_owned());
        let a = parse_args(
            &strings(&[
                "--port",
                "4000",
                "--",
                "python3",
                "main.py",
                "--port",
                "{upstream_port}",
            ]),
            token(),
        )
        .unwrap();
        assert_eq!(a.port, 4000);
        assert_eq!(a.token.expose(), "t");
        assert_eq!(a.program, "python3");
        assert_eq!(a.args, strings(&["main.py", "--port", "{upstream_port}"]));
        for bad in [
            &["--port", "4000"][..],
            &["--", "x"],
            &["--port", "x", "--", "y"],
            &["--port", "1", "--bogus", "1", "--", "y"],
            &["--port", "1", "--token", "t", "--", "y"],
        ] {
            assert!(parse_args(&strings(bad), token()).is_err(), "{bad:?}");
        }
        assert!(parse_args(&strings(&["--port", "1", "--", "y"]), None).is_err());
    }
}
