//! The scripted provider through its `Provider` face, on a real folder.

use std::time::Duration as StdDuration;

use futures::StreamExt;
use porthole_core::model::{LaunchRequest, SessionState};
use porthole_core::provider::Provider;
use porthole_core::ErrorCode;

use super::{Script, ScriptResource, Scripted, Step};

fn folder(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "porthole-scripted-unit-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("folder");
    let step = |after_ms, state| Step {
        after_ms,
        state,
        prompt: None,
        fields: Vec::new(),
    };
    let script = Script {
        resources: vec![ScriptResource {
            id: "runner".into(),
            label: "Runner".into(),
        }],
        steps: vec![
            step(0, SessionState::Queued),
            step(400, SessionState::Ready),
        ],
        ..Script::default()
    };
    std::fs::write(
        dir.join("script.json"),
        serde_json::to_vec(&script).expect("json"),
    )
    .expect("script");
    dir
}

async fn next(log: &mut porthole_core::provider::LogStream) -> Option<String> {
    tokio::time::timeout(StdDuration::from_secs(10), log.next())
        .await
        .expect("a line within 10 s")
        .map(|l| l.expect("line").message)
}

#[tokio::test]
async fn its_log_follows_the_session_until_it_is_over() {
    let dir = folder("logs");
    let provider = Scripted::new("acct", &format!("file://{}", dir.display())).expect("provider");
    let err = provider.logs("nope").await.err().expect("unknown id");
    assert_eq!(err.code, ErrorCode::SessionGone);

    let session = provider
        .launch(&LaunchRequest {
            machine_id: String::new(),
            resource: None,
            timeout_minutes: None,
            mode: None,
            params: Default::default(),
        })
        .await
        .expect("launched");
    let mut log = provider.logs(&session.id).await.expect("log");
    assert_eq!(
        next(&mut log).await.as_deref(),
        Some("Waiting for first work")
    );
    assert_eq!(
        next(&mut log).await.as_deref(),
        Some("Ready"),
        "a change is told"
    );
    provider.cancel(&session.id).await.expect("cancelled");
    assert_eq!(next(&mut log).await.as_deref(), Some("Ended: cancelled"));
    assert_eq!(next(&mut log).await, None, "the log ends with the session");
    let _ = std::fs::remove_dir_all(&dir);
}
