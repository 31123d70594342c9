//! The ComfyDeploy client driving a real portholed, unchanged: the Local account's path. Real
//! processes, a real PTY, real HTTP. This file has its own `main` because portholed's terminal
//! template runs the current executable again as its helper.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use porthole_core::model::{
    Availability, EndReason, LaunchRequest, ProviderKind, ResourceKind, Session, SessionState,
};
use porthole_core::provider::Provider;
use porthole_core::ErrorCode;
use porthole_providers::http::RetryPolicy;
use porthole_providers::{probe, ComfyDeploy, ComfyDeployConfig};
use porthole_secrets::Sensitive;
use portholed::{ConfigSource, KeyStorage, RunningServer, Server, ServerConfig};

const KEY: &str = "local-test-key-4242";

type TestFn = fn() -> Pin<Box<dyn Future<Output = ()>>>;

fn main() -> ExitCode {
    if let Some(code) = portholed::run_helper_if_requested() {
        return code;
    }
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let tests: [(&str, TestFn); 6] = [
        ("the_watcher_sees_a_session_become_ready_and_end", || {
            Box::pin(the_watcher_sees_a_session_become_ready_and_end())
        }),
        ("machines_and_resources_describe_this_host", || {
            Box::pin(machines_and_resources_describe_this_host())
        }),
        (
            "a_terminal_session_launches_answers_extends_and_stops",
            || Box::pin(a_terminal_session_launches_answers_extends_and_stops()),
        ),
        ("a_wrong_key_is_unauthorized", || {
            Box::pin(a_wrong_key_is_unauthorized())
        }),
        ("unknown_sessions_and_gpus_are_clear_errors", || {
            Box::pin(unknown_sessions_and_gpus_are_clear_errors())
        }),
        ("an_ended_session_says_why", || {
            Box::pin(an_ended_session_says_why())
        }),
    ];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, test) in tests {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            skipped += 1;
            continue;
        }
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(|| runtime.block_on(test()));
        let verdict = if outcome.is_ok() { "ok" } else { "FAILED" };
        println!("test {name} ... {verdict} ({:.2?})", started.elapsed());
        if outcome.is_ok() {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!(
        "\ntest result: against_portholed {passed} passed; {failed} failed; {skipped} filtered out"
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

struct Local {
    server: RunningServer,
    client: ComfyDeploy,
    _dir: PathBuf,
}

async fn local(name: &str) -> Local {
    let dir =
        std::env::temp_dir().join(format!("porthole-providers-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = ServerConfig::new(&dir);
    // `brief` exits with code 2 once it has started.
    config.config = ConfigSource::Inline(
        "nvidia_smi = \"\"\n[machines.brief]\ncommand = [\"sh\", \"-c\", \"sleep 0.3; exit 2 # {port}\"]\n"
            .to_owned(),
    );
    config.key = KeyStorage::Explicit(Sensitive::new(KEY.to_owned()));
    config.helper_exe = Some(std::env::current_exe().unwrap());
    let server = Server::start(config).await.unwrap();
    let client = client(&server.base_url(), KEY);
    Local {
        server,
        client,
        _dir: dir,
    }
}

fn client(base: &str, key: &str) -> ComfyDeploy {
    ComfyDeploy::new(ComfyDeployConfig {
        account_id: "local".to_owned(),
        kind: ProviderKind::Portholed,
        base_url: base.to_owned(),
        key: Sensitive::new(key.to_owned()),
        policy: RetryPolicy {
            base_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        pin: None,
    })
    .unwrap()
}

/// Polls `get` until `ok` holds, with a deadline.
async fn wait_for(
    client: &ComfyDeploy,
    id: &str,
    ok: impl Fn(&Option<Session>) -> bool,
) -> Option<Session> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = client.get(id).await.unwrap();
        if ok(&got) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting on {id}: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn machines_and_resources_describe_this_host() {
    let local = local("machines").await;
    let machines = local.client.machines().await.unwrap();
    let terminal = machines.iter().find(|m| m.name == "terminal").unwrap();
    assert!(terminal.can_launch, "{terminal:?}");
    // Listed once although portholed answers both the docker and the workspace query.
    assert_eq!(machines.iter().filter(|m| m.name == "terminal").count(), 1);
    let resources = local.client.resources().await.unwrap();
    let cpu = resources.iter().find(|r| r.id == "CPU").unwrap();
    assert_eq!(cpu.kind, ResourceKind::Cpu);
    assert_eq!(cpu.availability, Availability::Available);
    // Discovery is off here: any GPU in the price list is one this host lacks.
    for gpu in resources.iter().filter(|r| r.kind == ResourceKind::Gpu) {
        assert!(
            matches!(gpu.availability, Availability::Unavailable { .. }),
            "{gpu:?}"
        );
    }
    local.server.shutdown().await;
}

async fn a_terminal_session_launches_answers_extends_and_stops() {
    let local = local("lifecycle").await;
    let c = &local.client;
    let machines = c.machines().await.unwrap();
    let terminal = machines.iter().find(|m| m.name == "terminal").unwrap();
    let launched = c
        .launch(&LaunchRequest {
            machine_id: terminal.id.clone(),
            resource: None,
            timeout_minutes: Some(20),
            mode: None,
            params: Default::default(),
        })
        .await
        .unwrap();
    assert_eq!(launched.provider, ProviderKind::Portholed);
    let id = launched.id.clone();
    assert!(c.list().await.unwrap().iter().any(|s| s.id == id));

    let with_url = wait_for(c, &id, |s| s.as_ref().is_some_and(|s| s.url.is_some()))
        .await
        .unwrap();
    let url = with_url.url.clone().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(probe::url_answers(&probe::probe_client(), &url, Duration::from_secs(5)).await);
    // Without its token the session process refuses to serve its page.
    let bare = url.split('?').next().unwrap();
    let status = reqwest::get(bare).await.unwrap().status();
    assert!(status.is_client_error(), "{bare} answered {status}");

    let before = with_url.deadline.unwrap();
    c.extend(&id, 7).await.unwrap();
    let after = c.get(&id).await.unwrap().unwrap().deadline.unwrap();
    assert_eq!(after - before, chrono::Duration::minutes(7));

    let mut logs = c.logs(&id).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), logs.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!first.message.is_empty());

    c.stop(&id).await.unwrap();
    // portholed says why it ended: stopped.
    let ended = SessionState::Ended(EndReason::Stopped);
    wait_for(c, &id, |s| s.as_ref().is_some_and(|s| s.state == ended)).await;
    // The stream ends (stream_complete) once the session has ended.
    let rest = tokio::time::timeout(Duration::from_secs(15), logs.collect::<Vec<_>>())
        .await
        .unwrap();
    assert!(rest.iter().all(Result::is_ok), "{rest:?}");
    // Stopping again is not an error.
    c.stop(&id).await.unwrap();
    local.server.shutdown().await;
}

async fn a_wrong_key_is_unauthorized() {
    let local = local("wrongkey").await;
    let wrong = client(&local.server.base_url(), "not-the-key");
    let err = wrong.list().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized);
    assert!(!err.message.contains(KEY));
    local.server.shutdown().await;
}

async fn unknown_sessions_and_gpus_are_clear_errors() {
    let local = local("errors").await;
    let c = &local.client;
    assert_eq!(c.get("no-such-session").await.unwrap(), None);
    assert_eq!(
        c.extend("no-such-session", 5).await.unwrap_err().code,
        ErrorCode::SessionGone
    );
    let err = c
        .launch(&LaunchRequest {
            machine_id: "terminal".to_owned(),
            resource: Some("H100".to_owned()),
            timeout_minutes: None,
            mode: None,
            params: Default::default(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput, "{err:?}");
    assert!(err.message.contains("H100"), "{}", err.message);
    local.server.shutdown().await;
}

async fn the_watcher_sees_a_session_become_ready_and_end() {
    use porthole_core::clock::SystemClock;
    use porthole_core::watcher::{self, WatchConfig, WatchEvent};

    let local = local("watcher").await;
    let provider: std::sync::Arc<dyn Provider> =
        std::sync::Arc::new(client(&local.server.base_url(), KEY));
    let config = WatchConfig {
        fast_poll: Duration::from_millis(50),
        tick: Duration::from_millis(100),
        ..WatchConfig::default()
    };
    let (handle, mut events) = watcher::spawn(
        "local",
        provider.clone(),
        std::sync::Arc::new(probe::HttpProbe::default()),
        std::sync::Arc::new(SystemClock),
        config,
    );
    let machines = provider.machines().await.unwrap();
    let terminal = machines.iter().find(|m| m.name == "terminal").unwrap();
    let launched = provider
        .launch(&LaunchRequest {
            machine_id: terminal.id.clone(),
            resource: None,
            timeout_minutes: Some(30),
            mode: None,
            params: Default::default(),
        })
        .await
        .unwrap();
    handle.track(launched.clone());
    let mut seen = Vec::new();
    let ready = loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .unwrap()
            .unwrap();
        seen.push(format!("{event:?}").chars().take(40).collect::<String>());
        if let WatchEvent::Ready { session } = event {
            break session;
        }
    };
    assert_eq!(ready.id, launched.id, "{seen:?}");
    assert_eq!(ready.state, SessionState::Ready);
    assert!(
        probe::url_answers(
            &probe::probe_client(),
            ready.url.as_deref().unwrap(),
            Duration::from_secs(5)
        )
        .await
    );

    provider.stop(&launched.id).await.unwrap();
    handle.stopping(&launched.id);
    let (reason, outcome) = loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .unwrap()
            .unwrap();
        if let WatchEvent::Ended {
            reason, outcome, ..
        } = event
        {
            break (reason, outcome);
        }
    };
    assert_eq!(reason, EndReason::Stopped);
    // portholed knew who asked (this client's User-Agent is the app's).
    assert_eq!(outcome.as_deref(), Some("Stopped from the app."));
    assert!(handle.sessions().is_empty());
    drop(handle);
    local.server.shutdown().await;
}

async fn an_ended_session_says_why() {
    let local = local("why").await;
    let c = &local.client;
    let launched = c
        .launch(&LaunchRequest {
            machine_id: "brief".to_owned(),
            resource: None,
            timeout_minutes: Some(20),
            mode: None,
            params: Default::default(),
        })
        .await
        .unwrap();
    let ended = wait_for(c, &launched.id, |s| {
        s.as_ref()
            .is_some_and(|s| matches!(s.state, SessionState::Ended(_)))
    })
    .await
    .unwrap();
    assert_eq!(
        ended.state,
        SessionState::Ended(EndReason::Failed("exited with code 2".into()))
    );
    // Unknown ids are still unknown.
    assert!(c.get("no-such-session").await.unwrap().is_none());
    local.server.shutdown().await;
}
