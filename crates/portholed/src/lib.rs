//! portholed: Porthole's self-hosted session server. It speaks the ComfyDeploy sessions API
//! (docs/providers/comfydeploy.md) over local processes (or Slurm jobs: `slurm`), so Porthole's
//! ComfyDeploy client drives it unchanged.
//!
//! Embedding (the desktop app's "Local" account):
//!
//! ```no_run
//! # async fn demo() -> porthole_core::error::Result<()> {
//! let server = portholed::Server::start(portholed::ServerConfig::new("/tmp/portholed")).await?;
//! let base = server.base_url(); // http://127.0.0.1:PORT/api
//! let key = server.api_key();   // Sensitive<String>: Bearer key for every route
//! # let _ = (base, key);
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The terminal template runs the embedding executable again with a hidden subcommand: call
//! [`run_helper_if_requested`] first thing in `main`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod adopt;
pub mod api;
mod before_end;
pub mod config;
mod end_reason;
pub mod error;
pub mod front;
pub mod gpu;
pub mod key;
mod logs;
pub mod machines;
pub mod pairing;
pub mod process;
mod server;
mod sessions;
pub mod slurm;
pub mod store;
pub mod terminal;
pub mod tls;
pub mod wire;

pub use adopt::Adoption;
pub use config::{ConfigSource, FileConfig, KeyStorage, ServerConfig};
pub use key::KeyLocation;
pub use machines::{FRONT_SUBCOMMAND, TERMINAL_SUBCOMMAND};
pub use server::{RunningServer, Server, DB_FILE};

/// If this process was started as a session helper (`EXE __portholed-terminal …` or
/// `EXE __portholed-front …`), runs it to the end and returns the exit code; otherwise returns
/// `None` at once. Call it before anything else in the `main` of a program that embeds portholed.
pub fn run_helper_if_requested() -> Option<std::process::ExitCode> {
    use std::process::ExitCode;
    let args: Vec<String> = std::env::args().collect();
    let rest = args.get(2..).unwrap_or_default();
    match args.get(1).map(String::as_str) {
        Some(TERMINAL_SUBCOMMAND) => Some(run_helper(
            "terminal",
            terminal::parse_args(rest, std::env::var(process::TOKEN_ENV).ok()),
            |a| async move { terminal::serve(a).await.map(|()| ExitCode::SUCCESS) },
        )),
        Some(FRONT_SUBCOMMAND) => Some(run_helper(
            "front",
            front::parse_args(rest, std::env::var(process::TOKEN_ENV).ok()),
            |a| async move {
                let status = front::serve(a).await?;
                Ok(ExitCode::from(
                    status.code().map_or(1, |c| c.clamp(0, 255) as u8),
                ))
            },
        )),
        Some(slurm::JOB_SUBCOMMAND) => Some(match slurm::node::run(rest) {
            Ok(never) => match never {},
            Err(e) => {
                eprintln!("portholed slurm job: {e}");
                ExitCode::FAILURE
            }
        }),
        _ => None,
    }
}

fn run_helper<A, F, Fut>(
    name: &str,
    parsed: porthole_core::error::Result<A>,
    serve: F,
) -> std::process::ExitCode
where
    F: FnOnce(A) -> Fut,
    Fut: std::future::Future<Output = porthole_core::error::Result<std::process::ExitCode>>,
{
    let parsed = match parsed {
        Ok(a) => a,
        Err(e) => {
            eprintln!("portholed {name}: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("portholed {name}: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(parsed)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("portholed {name}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
