//! `portholed`: run the session server on its own (`portholed --help`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};
use porthole_core::error::Result;
use porthole_core::Error;
use porthole_local::pairing::Pairing;
use portholed::tls::Tls;
use portholed::{ConfigSource, KeyStorage, Server, ServerConfig};

const ENV_HELP: &str = "\
Every option can also be set in the environment: PORTHOLED_LISTEN, PORTHOLED_CONFIG,
PORTHOLED_DATA_DIR, PORTHOLED_KEY_FILE=1, PORTHOLED_MINUTE_SECONDS, PORTHOLED_KEEP_SESSIONS=1,
PORTHOLED_TLS=1, PORTHOLED_TLS_CERT, PORTHOLED_TLS_KEY, PORTHOLED_INSECURE_PLAIN_HTTP=1,
PORTHOLED_PAIR_ADDRESS. RUST_LOG sets the log filter (default info).

To use this server from Porthole on another computer: listen beyond loopback
(--listen 0.0.0.0:7788: TLS with a certificate made on first start), then run
`portholed pair` here and paste what it prints into Porthole's Add account.";

/// Porthole's self-hosted session server (the ComfyDeploy sessions API over local processes or
/// Slurm jobs).
#[derive(Debug, Parser)]
#[command(name = "portholed", version, after_help = ENV_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
    /// Database, logs, key file and TLS certificate [default: portholed/ in Porthole's data folder]
    #[arg(long, global = true, env = "PORTHOLED_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Keep the key in DIR/api-key (0600) instead of the OS keychain
    #[arg(long, global = true, env = "PORTHOLED_KEY_FILE", value_parser = BoolishValueParser::new())]
    key_file: bool,
    /// TOML settings [default: portholed.toml in Porthole's config folder, if any]
    #[arg(long, global = true, env = "PORTHOLED_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Where to listen; beyond loopback it serves TLS
    #[arg(
        long,
        env = "PORTHOLED_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:7788"
    )]
    listen: SocketAddr,
    /// Time scale for tests and demos: one API minute lasts N seconds
    #[arg(long, env = "PORTHOLED_MINUTE_SECONDS", value_name = "N")]
    minute_seconds: Option<f64>,
    /// On exit, leave sessions running for the next start to re-adopt
    #[arg(long, env = "PORTHOLED_KEEP_SESSIONS", value_parser = BoolishValueParser::new())]
    keep_sessions: bool,
    /// Serve TLS on loopback too
    #[arg(long, env = "PORTHOLED_TLS", value_parser = BoolishValueParser::new())]
    tls: bool,
    /// Serve TLS with this certificate chain (PEM) instead of the one made on first start
    #[arg(
        long,
        env = "PORTHOLED_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// The key of --tls-cert (PEM)
    #[arg(
        long,
        env = "PORTHOLED_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP beyond loopback: the API key and all session traffic cross the network
    /// readable. Only on a network you trust entirely.
    #[arg(long, env = "PORTHOLED_INSECURE_PLAIN_HTTP", value_parser = BoolishValueParser::new(), conflicts_with_all = ["tls", "tls_cert"])]
    insecure_plain_http: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the API key (Bearer) and exit; `key rotate` replaces it
    Key {
        #[command(subcommand)]
        action: Option<KeyAction>,
    },
    /// Print a pairing string for Porthole on another computer (works once, for 10 minutes)
    Pair {
        /// The address the other computer reaches this one at [default: this computer's address
        /// on its default route, with the port this server listens on]
        #[arg(long, env = "PORTHOLED_PAIR_ADDRESS", value_name = "HOST[:PORT]")]
        address: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum KeyAction {
    /// Replace the key with a new one: the old one stops working at once (pair again after)
    Rotate,
}

impl ServeArgs {
    fn tls(&self) -> Tls {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Tls::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ if self.insecure_plain_http => Tls::InsecurePlain,
            _ if self.tls => Tls::Always,
            _ => Tls::Auto,
        }
    }
}

fn main() -> ExitCode {
    if let Some(code) = portholed::run_helper_if_requested() {
        return code;
    }
    let cli = Cli::parse();
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
    match cli.command {
        Some(Command::Key { action: None }) => {
            porthole_core::paths::create_private_dir(&data_dir)?;
            let (key, _) = portholed::key::load_or_create(&storage, &data_dir)?;
            // Asked for explicitly: the one place the key is printed.
            println!("{}", key.expose());
            return Ok(());
        }
        Some(Command::Key {
            action: Some(KeyAction::Rotate),
        }) => {
            porthole_core::paths::create_private_dir(&data_dir)?;
            let location = portholed::key::rotate(&storage, &data_dir)?;
            eprintln!(
                "portholed: a new API key is in place ({location:?}); the old one no longer works. \
                 Pair again from each computer that used it (`portholed pair`)."
            );
            return Ok(());
        }
        Some(Command::Pair { address }) => return pair(&data_dir, address.as_deref()),
        None => {}
    }
    let config = match cli.config {
        Some(path) => ConfigSource::File(path),
        None => ConfigSource::from_config_dir(&dirs.config),
    };
    let server = Server::start(ServerConfig {
        listen: cli.serve.listen,
        config,
        data_dir,
        key: storage,
        minute_seconds: cli.serve.minute_seconds,
        helper_exe: None,
        stop_sessions_on_shutdown: !cli.serve.keep_sessions,
        tls: cli.serve.tls(),
    })
    .await?;
    match server.fingerprint() {
        Some(fp) => eprintln!(
            "portholed listening on {} (TLS, certificate {fp}; key: {:?}). Pair another computer \
             with `portholed pair`.",
            server.base_url(),
            server.key_location()
        ),
        None => eprintln!(
            "portholed listening on {} (key: {:?}; print it with `portholed key`)",
            server.base_url(),
            server.key_location()
        ),
    }
    wait_for_signal().await;
    eprintln!("portholed: shutting down");
    server.shutdown().await;
    Ok(())
}

/// `portholed pair`: a one-time pairing string for the server keeping its state in `data_dir`.
fn pair(data_dir: &Path, address: Option<&str>) -> Result<()> {
    let not_served = || {
        Error::invalid_input(
            "This server does not serve TLS, and pairing needs it: start portholed listening \
             beyond loopback (--listen 0.0.0.0:7788), or with --tls, then pair.",
        )
    };
    let fingerprint = portholed::tls::recorded_fingerprint(data_dir).ok_or_else(not_served)?;
    let recorded = porthole_local::address::recorded(data_dir).ok_or_else(not_served)?;
    let listening: SocketAddr = recorded
        .strip_prefix("https://")
        .and_then(|r| r.strip_suffix("/api"))
        .and_then(|a| a.parse().ok())
        .ok_or_else(not_served)?;
    let host_port = pair_address(listening, address)?;
    if address.is_some() {
        // The name the other computer uses is one this server answers its tunnels to.
        let host = host_port
            .rsplit_once(':')
            .map_or(host_port.as_str(), |(h, _)| h)
            .trim_start_matches('[')
            .trim_end_matches(']');
        portholed::api::tunnel::record_name(data_dir, host)?;
    }
    let token = portholed::pairing::issue(data_dir, chrono::Utc::now())?;
    let pairing = Pairing {
        base_url: format!("https://{host_port}/api"),
        fingerprint,
        token,
    };
    // `portholed pair | head -1` closes the pipe after the first line: not an error.
    let mut out = std::io::stdout().lock();
    let _ =
        writeln!(out, "{}", pairing.encode()).and_then(|()| writeln!(out, "{}", pairing.link()));
    drop(out);
    eprintln!(
        "portholed: paste the first line into Porthole's Add account on the other computer (or \
         open the link there, or run `porthole accounts add NAME --pair` and paste it). It works \
         once, within {} minutes, and pins this certificate ({}…).",
        portholed::pairing::VALID_FOR.num_minutes(),
        fingerprint.short()
    );
    Ok(())
}

/// Where the other computer reaches this server: `--address` (its port defaulting to the one
/// listened on), else the listening address, or this computer's address on its default route
/// when it listens on all of them.
fn pair_address(listening: SocketAddr, address: Option<&str>) -> Result<String> {
    if let Some(given) = address {
        let given = given.trim();
        if given.parse::<SocketAddr>().is_ok() {
            return Ok(given.to_owned());
        }
        let bracketed = given.starts_with('[') && given.ends_with(']');
        let has_port = !bracketed
            && given
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.contains(':') && p.parse::<u16>().is_ok());
        return Ok(if has_port {
            given.to_owned()
        } else if given.contains(':') && !bracketed {
            format!("[{given}]:{}", listening.port())
        } else {
            format!("{given}:{}", listening.port())
        });
    }
    if !listening.ip().is_unspecified() {
        return Ok(listening.to_string());
    }
    // The address the default route leaves from (connecting a UDP socket sends nothing).
    let socket = std::net::UdpSocket::bind(("0.0.0.0", 0))
        .and_then(|s| s.connect(("192.0.2.1", 9)).map(|()| s))
        .and_then(|s| s.local_addr());
    match socket {
        Ok(local) if !local.ip().is_unspecified() => {
            Ok(SocketAddr::new(local.ip(), listening.port()).to_string())
        }
        _ => Err(Error::invalid_input(
            "Cannot tell this computer's address: give it with --address HOST.",
        )),
    }
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
