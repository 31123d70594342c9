//! The embedded portholed: the "Local" account, so Porthole works on a fresh machine with no
//! cloud account. Started with the app, stopped (with its sessions) when the app quits.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use porthole_core::app_info::LocalServerStatus;
use porthole_core::paths::Dirs;
use portholed::{ConfigSource, KeyLocation, RunningServer, Server, ServerConfig};

/// Where a standalone portholed and the `porthole` CLI look by default. The app takes it when it
/// is free; otherwise any free port, and the CLI finds it through portholed's `base-url` record.
pub const PREFERRED_PORT: u16 = 7788;

pub struct LocalServer {
    slot: Mutex<Slot>,
    /// True from [`LocalServer::starting`] until [`LocalServer::start`] has settled the slot.
    in_flight: tokio::sync::watch::Sender<bool>,
}

impl Default for LocalServer {
    fn default() -> Self {
        Self {
            slot: Mutex::default(),
            in_flight: tokio::sync::watch::channel(false).0,
        }
    }
}

#[derive(Default)]
enum Slot {
    #[default]
    Starting,
    Running(RunningServer),
    Failed(porthole_core::Error),
    Stopped,
}

impl LocalServer {
    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks a start as under way, before it is spawned, so that [`LocalServer::settled`] waits
    /// for it even when asked first.
    pub fn starting(&self) {
        self.in_flight.send_replace(true);
    }

    /// Waits (at most `limit`) for a start under way to succeed or fail. Returns at once when none
    /// is under way.
    pub async fn settled(&self, limit: Duration) {
        let mut in_flight = self.in_flight.subscribe();
        let _ = tokio::time::timeout(limit, in_flight.wait_for(|busy| !*busy)).await;
    }

    /// Starts the server; a failure is kept and reported through [`LocalServer::status`].
    pub async fn start(&self, dirs: &Dirs) {
        self.starting();
        self.start_inner(dirs).await;
        self.in_flight.send_replace(false);
    }

    async fn start_inner(&self, dirs: &Dirs) {
        let mut config = ServerConfig::new(porthole_local::data_dir(dirs));
        config.config = ConfigSource::from_config_dir(&dirs.config);
        config.listen = listen_address();
        // For demos and tests: one Local minute lasts this many seconds (portholed's time scale).
        if let Some(scale) = std::env::var("PORTHOLE_LOCAL_MINUTE_SECONDS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
        {
            config.minute_seconds = Some(scale);
        }
        let started = match Server::start(config.clone()).await {
            // Taken between the probe and the bind (another instance starting at that moment):
            // any free port will do.
            Err(e) if e.code == porthole_core::ErrorCode::Io && config.listen.port() != 0 => {
                tracing::info!(
                    "127.0.0.1:{PREFERRED_PORT} was taken meanwhile: {}",
                    e.message
                );
                config.listen.set_port(0);
                Server::start(config).await
            }
            other => other,
        };
        let mut slot = self.slot();
        *slot = match started {
            // The app quit while the server was starting: stop it again.
            Ok(server) if matches!(*slot, Slot::Stopped) => {
                drop(server);
                Slot::Stopped
            }
            Ok(server) => {
                tracing::info!(base_url = %server.base_url(), "Local account ready");
                Slot::Running(server)
            }
            Err(err) => {
                tracing::warn!(code = ?err.code, "the Local account could not start: {}", err.message);
                Slot::Failed(err)
            }
        };
    }

    pub fn status(&self) -> LocalServerStatus {
        match &*self.slot() {
            Slot::Starting => LocalServerStatus::Starting,
            Slot::Running(server) => LocalServerStatus::Running {
                base_url: server.base_url(),
                key_in_keychain: *server.key_location() == KeyLocation::Keychain,
            },
            Slot::Failed(err) => LocalServerStatus::Failed {
                error: err.clone().into(),
            },
            Slot::Stopped => LocalServerStatus::Failed {
                error: porthole_core::Error::new(
                    porthole_core::ErrorCode::UpstreamUnavailable,
                    "The Local server has been stopped because Porthole is quitting.",
                )
                .into(),
            },
        }
    }

    /// Where the running server answers.
    pub fn base_url(&self) -> Option<String> {
        match &*self.slot() {
            Slot::Running(server) => Some(server.base_url()),
            _ => None,
        }
    }

    /// The running server's key, for the Local account's client. Stays in Rust.
    pub fn key(&self) -> Option<porthole_secrets::Sensitive<String>> {
        match &*self.slot() {
            Slot::Running(server) => Some(server.api_key().clone()),
            _ => None,
        }
    }

    /// Stops serving, and stops the Local sessions' processes unless `keep_sessions` (then the
    /// next start re-adopts them and keeps enforcing their deadlines).
    pub async fn shutdown(&self, keep_sessions: bool) {
        let previous = std::mem::replace(&mut *self.slot(), Slot::Stopped);
        if let Slot::Running(mut server) = previous {
            if keep_sessions {
                server.keep_sessions_on_shutdown();
            }
            server.shutdown().await;
        }
    }
}

fn listen_address() -> SocketAddr {
    let preferred = SocketAddr::from((Ipv4Addr::LOCALHOST, PREFERRED_PORT));
    // A probe bind: a standalone portholed (or anything else) may already hold the port.
    if TcpListener::bind(preferred).is_ok() {
        preferred
    } else {
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn app_info_can_wait_for_a_start_under_way_and_no_longer() {
        let local = Arc::new(LocalServer::default());
        // No start under way: nothing to wait for.
        tokio::time::timeout(
            Duration::from_secs(5),
            local.settled(Duration::from_secs(600)),
        )
        .await
        .expect("returns at once when no start is under way");

        // Marked as starting before the start runs: a caller gives up at its limit, and finds it
        // still starting.
        local.starting();
        local.settled(Duration::from_millis(20)).await;
        assert!(matches!(local.status(), LocalServerStatus::Starting));

        let root = std::env::temp_dir().join(format!("porthole-local-test-{}", std::process::id()));
        let dirs = Dirs {
            config: root.join("config"),
            data: root.join("data"),
        };
        let starter = {
            let local = Arc::clone(&local);
            tokio::spawn(async move { local.start(&dirs).await })
        };
        local.settled(Duration::from_secs(600)).await;
        let status = local.status();
        assert!(
            matches!(status, LocalServerStatus::Running { .. }),
            "settled while {status:?}"
        );
        starter.await.expect("start");
        local.shutdown(false).await;
        let _ = std::fs::remove_dir_all(root);
    }
}
