//! `porthole-fakes ibm-quantum [CONFIG_JSON]`: serves a fake IBM Quantum Runtime and its IAM on
//! 127.0.0.1 (a free port) and prints, on one line of JSON, where (`root`, `base_url`) and how
//! to sign in (`crn`, `api_key`). It stops when its standard input closes, so a test that dies
//! leaves no server behind. Tests drive it through its HTTP API, as a user's own code would.

use std::io::BufRead;

use porthole_fakes::ibm_quantum::{Config, FakeIbm};

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    if which != "ibm-quantum" {
        eprintln!("usage: porthole-fakes ibm-quantum [CONFIG_JSON]");
        std::process::exit(2);
    }
    let config: Config = match args.next() {
        Some(json) => match serde_json::from_str(&json) {
            Ok(config) => config,
            Err(e) => {
                eprintln!("porthole-fakes: the configuration is not valid: {e}");
                std::process::exit(2);
            }
        },
        None => Config::default(),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("porthole-fakes: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(async {
        let fake = match FakeIbm::start(config.clone()).await {
            Ok(fake) => fake,
            Err(e) => {
                eprintln!("porthole-fakes: cannot listen: {e}");
                std::process::exit(1);
            }
        };
        println!(
            "{}",
            serde_json::json!({
                "root": fake.root(), "base_url": fake.base_url(),
                "crn": config.crn, "api_key": config.api_key,
            })
        );
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
