//! What a session's row says besides its state: a waiting session's question (its open
//! prompt), an ended one's outcome (its last run's first outputs). Asked once per change of the
//! session (its `updatedAt`); only answers are kept, so a failed or empty read is asked again.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use porthole_core::model::{Session, SessionState};
use tokio::sync::Mutex;

use super::{wire, Airplane};

/// At most this many are kept; past it all are forgotten (each is asked again once).
const KEEP: usize = 4096;

/// Labels by session and its `updatedAt`.
#[derive(Default)]
pub(super) struct Labels(Mutex<BTreeMap<(String, DateTime<Utc>), String>>);

/// When the session last changed, as Airplane says.
pub(super) fn updated_at(session: &Session) -> Option<DateTime<Utc>> {
    session
        .raw
        .get("updatedAt")
        .and_then(|v| v.as_str())
        .and_then(wire::parse_time)
}

impl Airplane {
    /// A waiting session with what it asks, an ended one with how it came out; a failure to
    /// ask leaves the session as it is.
    pub(super) async fn enriched(&self, mut session: Session) -> Session {
        let key = updated_at(&session).map(|at| (session.id.clone(), at));
        if let Some(key) = &key {
            if let Some(label) = self.labels.0.lock().await.get(key) {
                session.status_label = Some(label.clone());
                return session;
            }
        }
        let label = match &session.state {
            SessionState::WaitingForInput => self
                .open_prompts(&session.id, session.created_at)
                .await
                .map(|prompts| prompts.first().map(|p| p.message.clone())),
            SessionState::Ended(_) => self.outcome(&session.id, session.created_at).await,
            _ => return session,
        };
        match label {
            Ok(Some(label)) => {
                if let Some(key) = key {
                    let mut labels = self.labels.0.lock().await;
                    if labels.len() >= KEEP {
                        labels.clear();
                    }
                    labels.insert(key, label.clone());
                }
                session.status_label = Some(label);
            }
            Ok(None) => {}
            Err(e) => tracing::debug!("what {} says cannot be read: {}", session.id, e.message),
        }
        session
    }
}
