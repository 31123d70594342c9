//! S10: `GET /v2/stream-logs?session_id=…` — server-sent events with the process's output and
//! portholed's lifecycle lines, replayed from the start, ending with `stream_complete`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::logs;

pub async fn stream(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let id = q
        .get("session_id")
        .filter(|s| !s.is_empty())
        .cloned()
        .ok_or_else(|| ApiError::invalid(&["query", "session_id"], "Field required", "missing"))?;
    let level = q.get("log_level").cloned();
    if state.sessions.store.get(&id)?.is_none() {
        return Err(ApiError::not_found("Session not found"));
    }
    let (tx, mut rx) = mpsc::channel::<Event>(64);
    tokio::spawn(follow(state, id, level, tx));
    let events = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|e| e.map(Ok)));
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Sends the log from the start, then what is appended, until the session has ended and the
/// file is read to its end.
async fn follow(state: Arc<AppState>, id: String, level: Option<String>, tx: mpsc::Sender<Event>) {
    let path = logs::path(&state.sessions.logs_dir, &id);
    let mut pos = 0u64;
    let mut pending = Vec::new();
    let mut archive = None;
    loop {
        let ended = matches!(state.sessions.store.get(&id), Ok(Some(r)) if r.end_time.is_some());
        archive.get_or_insert(ended);
        if let Ok(mut f) = tokio::fs::File::open(&path).await {
            if f.seek(std::io::SeekFrom::Start(pos)).await.is_ok() {
                if let Ok(n) = f.read_to_end(&mut pending).await {
                    pos += n as u64;
                }
            }
        }
        let mut lines = logs::take_lines(&mut pending);
        if ended && !pending.is_empty() {
            lines.push(String::from_utf8_lossy(&std::mem::take(&mut pending)).into_owned());
        }
        for raw in lines {
            let Some(line) = logs::parse_line(&raw) else {
                continue;
            };
            if level.as_deref().is_some_and(|l| l != line.level) {
                continue;
            }
            let Ok(data) = serde_json::to_string(&line) else {
                continue;
            };
            if tx.send(Event::default().data(data)).await.is_err() {
                return;
            }
        }
        if ended {
            let source = if archive == Some(true) {
                "archive"
            } else {
                "sentinel"
            };
            let done = json!({ "type": "stream_complete", "source": source }).to_string();
            let _ = tx.send(Event::default().data(done)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
