//! `porthole sessions forward ID [--port LOCAL]`: the session on this computer's loopback, for a
//! browser or other tools, until Ctrl-C or the session's end. It is the same proxy a session
//! window uses (porthole_proxy): its listener rules, its one-time entry URL that sets a cookie,
//! the session's own token inside, and for a paired portholed its tunnel. Enter prints another
//! entry URL (each works once, within 5 minutes).

use std::time::Duration;

use porthole_core::model::Session;
use porthole_core::{Error, ErrorCode};
use porthole_proxy::{Proxy, ProxyConfig};
use serde_json::json;
use tokio::io::AsyncBufReadExt;

use crate::output::{print, print_json_line};
use crate::target::Connected;

/// How often the session is looked at, to stop forwarding once it has ended.
const LOOK_EVERY: Duration = Duration::from_secs(5);

pub async fn run(
    connected: &Connected,
    session: Session,
    port: Option<u16>,
    json: bool,
) -> Result<(), Error> {
    let Some(url) = session.url.as_deref().filter(|u| !u.is_empty()) else {
        return Err(Error::invalid_input(format!(
            "Session {} has no URL yet; try again when it is ready.",
            session.id
        )));
    };
    let upstream = url::Url::parse(url).map_err(|e| {
        Error::new(
            ErrorCode::InvalidResponse,
            format!("The session's URL cannot be forwarded: {e}"),
        )
    })?;
    let mut config = ProxyConfig::new(upstream, &session.id);
    config.listen_port = port.unwrap_or(0);
    config.tunnel = connected.tunnel.clone();
    let proxy = Proxy::start(config).await.map_err(|e| match port {
        Some(port) if e.code == ErrorCode::Io => Error::new(
            ErrorCode::Io,
            format!("Cannot listen on 127.0.0.1:{port} (in use?): {}", e.message),
        ),
        _ => e,
    })?;
    // Listening for Ctrl-C (and a polite kill) from before the address is printed: a signal that
    // comes while the loop below is busy waits for it instead of being lost.
    let signal = |kind| {
        tokio::signal::unix::signal(kind).map_err(|e| Error::io("cannot listen for Ctrl-C", &e))
    };
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let origin = proxy.local_origin();
    let entry = proxy.new_entry_url()?;
    if json {
        print_json_line(&json!({
            "id": session.id,
            "local_url": origin,
            "open_url": entry.expose(),
        }))?;
    } else {
        print(&format!(
            "Forwarding {} on {origin} until Ctrl-C.\nOpen (works once, within 5 minutes; \
             Enter prints another):\n  {}\n",
            session.name,
            entry.expose()
        ))?;
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut look = tokio::time::interval(LOOK_EVERY);
    look.tick().await;
    loop {
        tokio::select! {
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(_)) => {
                    let entry = proxy.new_entry_url()?;
                    if json {
                        print_json_line(&json!({ "open_url": entry.expose() }))?;
                    } else {
                        print(&format!("  {}\n", entry.expose()))?;
                    }
                }
                _ => stdin_open = false,
            },
            _ = look.tick() => {
                let ended = match connected.provider.get(&session.id).await {
                    Ok(Some(now)) => !now.state.is_live(),
                    Ok(None) => true,
                    // Unreachable for a moment: keep forwarding (the proxy says so meanwhile).
                    Err(_) => false,
                };
                if ended {
                    return Err(Error::new(
                        ErrorCode::SessionGone,
                        format!("Session {} has ended: forwarding stopped.", session.id),
                    ));
                }
            }
        }
    }
    if !json {
        print("Stopped forwarding.\n")?;
    }
    Ok(())
}
