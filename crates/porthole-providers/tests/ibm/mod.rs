//! Shared by the IBM Quantum tests: the fake (porthole-fakes) and a client for it.
#![allow(dead_code, clippy::unwrap_used)]

use porthole_core::model::LaunchRequest;
use porthole_fakes::ibm_quantum::{Config, FakeIbm, Seen};
use porthole_providers::{IbmQuantum, IbmQuantumConfig};
use porthole_secrets::Sensitive;

#[path = "../support/policy.rs"]
mod policy;
pub use policy::fast_policy;

pub async fn fake(change: impl FnOnce(&mut Config)) -> FakeIbm {
    let mut config = Config::default();
    change(&mut config);
    FakeIbm::start(config).await.unwrap()
}

pub fn client_with(fake: &FakeIbm, key: &str, crn: &str) -> IbmQuantum {
    IbmQuantum::new(IbmQuantumConfig {
        account_id: "ibm".into(),
        base_url: fake.base_url(),
        instance: crn.into(),
        iam_url: fake.root(),
        key: Sensitive::new(key.into()),
        policy: fast_policy(),
    })
    .unwrap()
}

pub fn client(fake: &FakeIbm) -> IbmQuantum {
    let config = fake.config();
    client_with(fake, &config.api_key, &config.crn)
}

pub fn launch(backend: &str, mode: Option<&str>, minutes: Option<u32>) -> LaunchRequest {
    LaunchRequest {
        machine_id: String::new(),
        resource: Some(backend.into()),
        timeout_minutes: minutes,
        mode: mode.map(str::to_owned),
        params: Default::default(),
    }
}

/// The requests to paths ending with `suffix`, by method.
pub fn seen(fake: &FakeIbm, method: &str, suffix: &str) -> Vec<Seen> {
    fake.seen()
        .into_iter()
        .filter(|s| s.method == method && s.path.ends_with(suffix))
        .collect()
}
