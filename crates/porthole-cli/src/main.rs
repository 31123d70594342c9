//! `porthole`: list, launch, extend, stop and open remote compute sessions from a shell.
//! Tables for people, `--json` for scripts, and exit codes that say what went wrong
//! (see `porthole --help`).

mod accounts;
mod args;
mod browser;
mod commands;
mod forward;
mod output;
mod resolve;
mod table;
mod target;
mod wait;

use std::process::ExitCode;

use clap::Parser;
use porthole_core::{Error, ErrorCode};

fn main() -> ExitCode {
    // Usage errors exit 2 and --help/--version exit 0, as clap does.
    let cli = args::Cli::parse();
    init_logging();
    // portholed tells "stopped from the CLI" by it.
    porthole_providers::http::set_client_name("porthole-cli");
    let json = cli.global.json;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&Error::io("cannot start", &e), json),
    };
    let outcome = runtime.block_on(commands::run(cli));
    // A read of stdin that cannot be cancelled (`sessions forward` waits for Enter) must not hold
    // the exit: the command is done.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e, json),
    }
}

/// `PORTHOLE_LOG` (as in the app: `debug`, `porthole_providers=debug`, …) turns on logs on
/// stderr: retries, redirects refused, timeouts. Quiet (warnings only) by default. Keys are
/// `Sensitive` and never printed.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTHOLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Says what went wrong on stderr (with `--json`, as one object `{"code", "message"}`; stdout
/// stays empty) and exits by its code.
fn fail(err: &Error, json: bool) -> ExitCode {
    if json {
        eprintln!(
            "{}",
            serde_json::json!({ "code": err.code, "message": err.message })
        );
    } else {
        eprintln!("porthole: {} [{}]", err.message, err.code);
    }
    ExitCode::from(exit_code(err.code))
}

/// The exit status for an error: what a script can branch on (documented in `--help`).
pub fn exit_code(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::Unauthorized => 3,
        ErrorCode::SessionGone => 4,
        ErrorCode::UpstreamUnavailable | ErrorCode::RateLimited => 5,
        ErrorCode::InvalidInput | ErrorCode::QuotaExceeded => 6,
        ErrorCode::InvalidResponse => 7,
        ErrorCode::SessionFailed => 8,
        ErrorCode::CertificateMismatch => 9,
        ErrorCode::KeychainUnavailable | ErrorCode::Io | ErrorCode::Internal => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_documented_exit_status() {
        for (code, status) in [
            (ErrorCode::Unauthorized, 3),
            (ErrorCode::KeychainUnavailable, 1),
            (ErrorCode::SessionGone, 4),
            (ErrorCode::QuotaExceeded, 6),
            (ErrorCode::RateLimited, 5),
            (ErrorCode::UpstreamUnavailable, 5),
            (ErrorCode::InvalidInput, 6),
            (ErrorCode::InvalidResponse, 7),
            (ErrorCode::Io, 1),
            (ErrorCode::Internal, 1),
            (ErrorCode::SessionFailed, 8),
            (ErrorCode::CertificateMismatch, 9),
        ] {
            assert_eq!(exit_code(code), status, "{code}");
            assert!(
                args::EXIT_CODES_HELP.contains(&format!("  {status}  ")),
                "{status} is not documented"
            );
        }
    }
}
