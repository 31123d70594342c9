//! Shared by the Airplane tests: the fake (porthole-fakes) and a client for it.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use porthole_core::model::{LaunchRequest, Session, SessionState};
use porthole_core::provider::Provider;
use porthole_fakes::airplane::{Config, FakeAirplane, Seen};
use porthole_providers::{Airplane, AirplaneConfig};
use porthole_secrets::Sensitive;

#[path = "../support/policy.rs"]
mod policy;
pub use policy::fast_policy;

pub async fn fake(change: impl FnOnce(&mut Config)) -> FakeAirplane {
    let mut config = Config::default();
    change(&mut config);
    FakeAirplane::start(config).await.unwrap()
}

pub fn client_with(
    fake: &FakeAirplane,
    key: &str,
    team: Option<&str>,
    env: Option<&str>,
) -> Airplane {
    Airplane::new(AirplaneConfig {
        account_id: "ap".into(),
        base_url: fake.base_url(),
        key: Sensitive::new(key.into()),
        team_id: team.map(str::to_owned),
        env: env.map(str::to_owned),
        policy: fast_policy(),
    })
    .unwrap()
}

pub fn client(fake: &FakeAirplane) -> Airplane {
    client_with(fake, &fake.config().api_key, None, None)
}

pub fn runbook(runbook: &str, params: &[(&str, &str)]) -> LaunchRequest {
    LaunchRequest {
        machine_id: String::new(),
        resource: Some(runbook.into()),
        timeout_minutes: None,
        mode: None,
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// The requests to paths ending with `suffix`, by method.
pub fn seen(fake: &FakeAirplane, method: &str, suffix: &str) -> Vec<Seen> {
    fake.seen()
        .into_iter()
        .filter(|s| s.method == method && s.path.ends_with(suffix))
        .collect()
}

/// Polls `get` until the session is in a state `done` accepts (10 s at most).
pub async fn until(client: &Airplane, id: &str, done: impl Fn(&SessionState) -> bool) -> Session {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let session = client.get(id).await.unwrap().expect("known");
        if done(&session.state) {
            return session;
        }
        assert!(Instant::now() < deadline, "{id} stayed {:?}", session.state);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A deploy of `service` launched and waiting for its approval; its id and the open prompt's.
pub async fn waiting_deploy(
    fake: &FakeAirplane,
    client: &Airplane,
    service: &str,
) -> (String, String) {
    let s = client
        .launch(&runbook("deploy", &[("service", service)]))
        .await
        .unwrap();
    until(client, &s.id, |st| *st == SessionState::WaitingForInput).await;
    let prompt = fake.open_prompt(&s.id).expect("an open prompt");
    (s.id, prompt)
}
