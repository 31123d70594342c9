//! Starting and stopping a server: what the desktop app embeds and the binary runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use porthole_core::error::Result;
use porthole_core::paths::create_private_dir;
use porthole_core::Error;
use porthole_local::pairing::Fingerprint;
use porthole_proxy::listen;
use porthole_secrets::Sensitive;
use tokio::sync::oneshot;
use tokio::task::{AbortHandle, JoinHandle};

use crate::adopt::Adoption;
use crate::api::{self, AppState};
use crate::config::{BackendKind, ServerConfig, DEFAULT_GRACE_SECONDS};
use crate::key::{self, KeyCell, KeyLocation};
use crate::sessions::Sessions;
use crate::slurm::Slurm;
use crate::store::Store;
use crate::{gpu, machines};
use porthole_local::address;

pub const DB_FILE: &str = "portholed.sqlite";

pub struct Server;

impl Server {
    /// Loads the config, finds or creates the key, re-adopts the sessions of a previous run,
    /// and starts serving. Must be called inside a tokio runtime.
    pub async fn start(config: ServerConfig) -> Result<RunningServer> {
        create_private_dir(&config.data_dir)?;
        let file = config.config.load()?;
        let (api_key, key_location) = key::load_or_create(&config.key, &config.data_dir)?;

        let helper = config
            .helper_exe
            .clone()
            .or_else(|| std::env::current_exe().ok());
        let slurm = match file.backend.unwrap_or_default() {
            BackendKind::Local => None,
            BackendKind::Slurm => Some(Arc::new(slurm_backend(&file, &config, helper.as_deref())?)),
        };
        // Slurm's jobs write their output from the compute node: the logs are in the shared folder.
        let logs_dir = match &slurm {
            Some(s) => s.shared_dir.join("logs"),
            None => config.data_dir.join("logs"),
        };
        create_private_dir(&logs_dir)?;
        // Slurm keeps real time: the time scale is for local sessions only.
        let minute_seconds = match slurm {
            Some(_) => 60.0,
            None => config
                .minute_seconds
                .or(file.minute_seconds)
                .unwrap_or(60.0),
        };
        if !(minute_seconds.is_finite() && minute_seconds > 0.0) {
            return Err(Error::invalid_input(
                "minute_seconds must be a positive number",
            ));
        }
        let scale = minute_seconds / 60.0;
        let grace =
            Duration::from_secs_f64(file.grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS) * scale)
                .max(Duration::from_millis(50));

        let gpus = match slurm {
            Some(_) => Vec::new(),
            None => gpu::discover(file.nvidia_smi.as_deref().unwrap_or("nvidia-smi")).await,
        };
        let path_var = std::env::var("PATH").unwrap_or_default();
        let machines = machines::resolve(&file, helper.as_deref(), &path_var);
        let store = Store::open(&config.data_dir.join(DB_FILE))?;

        let sessions = Arc::new(Sessions {
            store,
            machines,
            gpus,
            prices: file.prices.clone(),
            minute: Duration::from_secs_f64(minute_seconds),
            grace,
            logs_dir,
            live: Mutex::new(Default::default()),
            slurm: slurm.clone(),
        });
        // Local sessions are ended by portholed at their deadline; Slurm ends its jobs itself.
        let (adoption, deadlines) = match &slurm {
            Some(slurm) => (
                sessions.readopt_slurm(slurm)?,
                tokio::spawn(Arc::clone(&sessions).watch_slurm(Arc::clone(slurm))),
            ),
            None => (
                sessions.readopt()?,
                tokio::spawn(Arc::clone(&sessions).enforce_deadlines()),
            ),
        };
        let deadlines = deadlines.abort_handle();

        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| Error::io(&format!("cannot listen on {}", config.listen), &e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the listening address", &e))?;
        let tls = config.tls.setup(addr, &config.data_dir)?;
        if tls.is_none() && !addr.ip().is_loopback() {
            tracing::warn!(
                %addr,
                "portholed serves PLAIN HTTP beyond loopback (--insecure-plain-http): the API key \
                 and every session's traffic cross the network readable by anyone on the path"
            );
        }
        let base_url = match &tls {
            Some(_) => format!("https://{addr}/api"),
            None => address::base_url(addr),
        };
        address::publish_url(&config.data_dir, &base_url);
        let state = Arc::new(AppState {
            sessions: Arc::clone(&sessions),
            key: KeyCell::new(api_key, &config.key, &config.data_dir),
            data_dir: config.data_dir.clone(),
            started: chrono::Utc::now(),
        });
        let app = api::router(Arc::clone(&state));
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let stopped = async move {
            let _ = stop_rx.await;
        };
        let serve = tokio::spawn(listen::serve(
            listener,
            tls.as_ref().map(|t| Arc::clone(&t.config)),
            app,
            listen::Limits::default(),
            stopped,
        ));
        tracing::info!(
            %addr,
            machines = sessions.machines.len(),
            gpus = sessions.gpus.len(),
            adopted = adoption.adopted,
            ended = adoption.ended,
            "portholed started"
        );
        Ok(RunningServer {
            addr,
            base_url,
            fingerprint: tls.map(|t| t.fingerprint),
            data_dir: config.data_dir.clone(),
            state,
            key_location,
            adoption,
            sessions,
            stop_sessions: config.stop_sessions_on_shutdown,
            stop_tx: Some(stop_tx),
            serve: Some(serve),
            deadlines,
        })
    }
}

/// The Slurm backend as the config sets it up.
fn slurm_backend(
    file: &crate::config::FileConfig,
    config: &ServerConfig,
    helper: Option<&std::path::Path>,
) -> Result<Slurm> {
    let settings = file.slurm.clone().unwrap_or_default();
    let shared_dir = settings
        .shared_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("slurm"));
    create_private_dir(&shared_dir)?;
    let helper = settings
        .helper
        .clone()
        .or_else(|| helper.map(std::path::Path::to_path_buf))
        .ok_or_else(|| {
            Error::invalid_input("slurm.helper: the portholed executable is not known")
        })?;
    let tag = Slurm::tag_for(&config.data_dir)?;
    Ok(Slurm::new(settings, tag, shared_dir, helper))
}

/// A running server. Stopping it ([`RunningServer::shutdown`], or dropping it) stops the HTTP
/// server, and the session processes too when `stop_sessions_on_shutdown` is set.
pub struct RunningServer {
    addr: SocketAddr,
    /// `http://…/api`, or `https://…/api` when it serves TLS.
    base_url: String,
    /// The served certificate's, with TLS.
    fingerprint: Option<Fingerprint>,
    /// Where its state is, and [`address::FILE`] with it.
    data_dir: PathBuf,
    state: Arc<AppState>,
    key_location: KeyLocation,
    adoption: Adoption,
    sessions: Arc<Sessions>,
    stop_sessions: bool,
    stop_tx: Option<oneshot::Sender<()>>,
    serve: Option<JoinHandle<()>>,
    deadlines: AbortHandle,
}

impl RunningServer {
    /// `http://127.0.0.1:PORT/api` (`https://…` with TLS): the base URL a ComfyDeploy client
    /// is given.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The fingerprint of the certificate it serves, when it serves TLS (what clients pin).
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        self.fingerprint
    }

    /// The key now (a rotation replaces it).
    pub fn api_key(&self) -> Sensitive<String> {
        self.state.key.current()
    }

    pub fn key_location(&self) -> &KeyLocation {
        &self.key_location
    }

    /// Leave the sessions running at shutdown, for the next start to re-adopt (the user chose
    /// "keep sessions running" when quitting).
    pub fn keep_sessions_on_shutdown(&mut self) {
        self.stop_sessions = false;
    }

    /// Slurm commands run so far, with the Slurm backend (the cost of watching).
    pub fn slurm_queries(&self) -> Option<u64> {
        self.sessions.slurm.as_ref().map(|s| s.queries())
    }

    /// What the start did with the sessions of a previous run.
    pub fn adoption(&self) -> &Adoption {
        &self.adoption
    }

    /// Stops serving; then stops every session (or leaves them for the next start to
    /// re-adopt, as configured) and returns once that is done.
    pub async fn shutdown(mut self) {
        address::withdraw_url(&self.data_dir, &self.base_url);
        self.deadlines.abort();
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        if let Some(serve) = self.serve.take() {
            // Open connections (a log stream) get a moment to finish, then are cut.
            let abort = serve.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), serve)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        if self.stop_sessions {
            self.sessions.stop_all("portholed shut down").await;
        } else {
            self.sessions.detach_all();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if self.serve.is_none() {
            return; // shut down already
        }
        address::withdraw_url(&self.data_dir, &self.base_url);
        self.deadlines.abort();
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        if let Some(serve) = self.serve.take() {
            serve.abort();
        }
        if self.stop_sessions {
            self.sessions.kill_all_now("portholed shut down");
        } else {
            self.sessions.detach_all();
        }
    }
}
