//! `portholed`: run the session server on its own.
//!
//! ```text
//! portholed [--listen 127.0.0.1:7788] [--config FILE] [--data-dir DIR] [--key-file]
//!           [--minute-seconds N] [--keep-sessions]
//! portholed key [--data-dir DIR] [--key-file]    print the API key (to add this server to Porthole)
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use porthole_core::error::Result;
use porthole_core::Error;
use portholed::{ConfigSource, KeyStorage, Server, ServerConfig};

const USAGE: &str = "\
portholed: Porthole's self-hosted session server (ComfyDeploy sessions API)

USAGE:
    portholed [OPTIONS]          serve
    portholed key [OPTIONS]      print the API key (Bearer) and exit

OPTIONS:
    --listen ADDR          where to listen (default 127.0.0.1:7788)
    --config FILE          TOML settings (default: portholed.toml in Porthole's config folder, if any)
    --data-dir DIR         database, logs and key file (default: portholed/ in Porthole's data folder)
    --key-file             keep the key in DIR/api-key (0600) instead of the OS keychain
    --minute-seconds N     time scale for tests and demos: one API minute lasts N seconds
    --keep-sessions        on exit, leave sessions running for the next start to re-adopt
    -h, --help             this text
    -V, --version          the version
";

struct Cli {
    key_command: bool,
    listen: SocketAddr,
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    key_file: bool,
    minute_seconds: Option<f64>,
    keep_sessions: bool,
}

fn parse(args: &[String]) -> Result<Option<Cli>> {
    let mut cli = Cli {
        key_command: false,
        listen: SocketAddr::from(([127, 0, 0, 1], 7788)),
        config: None,
        data_dir: None,
        key_file: false,
        minute_seconds: None,
        keep_sessions: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Error::invalid_input(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "key" => cli.key_command = true,
            "--listen" => {
                cli.listen = value("--listen")?.parse().map_err(|_| {
                    Error::invalid_input("--listen wants an address like 127.0.0.1:7788")
                })?
            }
            "--config" => cli.config = Some(PathBuf::from(value("--config")?)),
            "--data-dir" => cli.data_dir = Some(PathBuf::from(value("--data-dir")?)),
            "--key-file" => cli.key_file = true,
            "--minute-seconds" => {
                let v: f64 = value("--minute-seconds")?
                    .parse()
                    .map_err(|_| Error::invalid_input("--minute-seconds wants a number"))?;
                cli.minute_seconds = Some(v);
            }
            "--keep-sessions" => cli.keep_sessions = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("portholed {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            other => {
                return Err(Error::invalid_input(format!(
                    "unknown argument {other} (see portholed --help)"
                )))
            }
        }
    }
    Ok(Some(cli))
}

fn main() -> ExitCode {
    if let Some(code) = portholed::run_helper_if_requested() {
        return code;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match parse(&args) {
        Ok(Some(cli)) => cli,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portholed: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("portholed: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portholed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let dirs = porthole_core::paths::Dirs::from_env()?;
    let data_dir = cli
        .data_dir
        .unwrap_or_else(|| porthole_local::data_dir(&dirs));
    let storage = if cli.key_file {
        KeyStorage::File
    } else {
        KeyStorage::KeychainOrFile
    };
    if cli.key_command {
        porthole_core::paths::create_private_dir(&data_dir)?;
        let (key, _) = portholed::key::load_or_create(&storage, &data_dir)?;
        // Asked for explicitly: the one place the key is printed.
        println!("{}", key.expose());
        return Ok(());
    }
    let config = match cli.config {
        Some(path) => ConfigSource::File(path),
        None => ConfigSource::from_config_dir(&dirs.config),
    };
    let server = Server::start(ServerConfig {
        listen: cli.listen,
        config,
        data_dir,
        key: storage,
        minute_seconds: cli.minute_seconds,
        helper_exe: None,
        stop_sessions_on_shutdown: !cli.keep_sessions,
    })
    .await?;
    eprintln!(
        "portholed listening on {} (key: {:?}; print it with `portholed key`)",
        server.base_url(),
        server.key_location()
    );
    wait_for_signal().await;
    eprintln!("portholed: shutting down");
    server.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
