//! `porthole-fakes ibm-quantum|airplane [CONFIG_JSON]`: serves a fake provider on 127.0.0.1 (a
//! free port) and prints, on one line of JSON, where (`root`, `base_url`) and how to sign in:
//! `crn` and `api_key` for IBM Quantum Runtime (with its IAM), `api_key` and `read_only_key` for
//! Airplane. It stops when its standard input closes, so a test that dies leaves no server
//! behind. Tests drive it through its HTTP API, as a user's own code would.

use std::future::Future;
use std::io::BufRead;

use porthole_fakes::{airplane, ibm_quantum};
use serde_json::{json, Value};

const USAGE: &str = "usage: porthole-fakes ibm-quantum|airplane [CONFIG_JSON]";

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let json = args.next();
    match which.as_str() {
        "ibm-quantum" => {
            let config: ibm_quantum::Config = config_from(json);
            serve(async move {
                let fake = ibm_quantum::FakeIbm::start(config.clone()).await?;
                Ok::<Value, std::io::Error>(json!({
                    "root": fake.root(), "base_url": fake.base_url(),
                    "crn": config.crn, "api_key": config.api_key,
                }))
            });
        }
        "airplane" => {
            let config: airplane::Config = config_from(json);
            serve(async move {
                let fake = airplane::FakeAirplane::start(config.clone()).await?;
                Ok::<Value, std::io::Error>(json!({
                    "root": fake.root(), "base_url": fake.base_url(),
                    "api_key": config.api_key, "read_only_key": config.read_only_key,
                }))
            });
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

/// The configuration given on the command line, or the default one.
fn config_from<T: serde::de::DeserializeOwned + Default>(json: Option<String>) -> T {
    match json {
        Some(json) => match serde_json::from_str(&json) {
            Ok(config) => config,
            Err(e) => {
                eprintln!("porthole-fakes: the configuration is not valid: {e}");
                std::process::exit(2);
            }
        },
        None => T::default(),
    }
}

/// Starts a fake, prints where it is, and serves until standard input closes.
fn serve(start: impl Future<Output = std::io::Result<Value>>) {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("porthole-fakes: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(async {
        match start.await {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("porthole-fakes: cannot listen: {e}");
                std::process::exit(1);
            }
        }
        // Until standard input closes.
        let _ = tokio::task::spawn_blocking(|| {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                if line.is_err() {
                    break;
                }
            }
        })
        .await;
    });
}
