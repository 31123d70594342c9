//! Sessions that have ended, kept across restarts of the app so that a row saying why a session
//! ended (and its history) is still there after a restart, until the user dismisses it or
//! clears them all. At most [`KEEP`] of them, none older than [`KEEP_FOR`].
//!
//! Kept in a private file (0600) in the data folder. Sessions serialize without their URL or
//! the provider's raw fields (see `Session::url`), so nothing secret reaches the file. A file
//! that cannot be read is set aside (`.unreadable`) rather than overwritten, and the app goes on
//! with none.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::history::HistoryEntry;
use crate::model::Session;

/// The most ended sessions kept (the oldest go first).
pub const KEEP: usize = 200;
/// How long an ended session is kept.
pub const KEEP_FOR: Duration = Duration::days(7);

/// An ended session as it was last seen, and when it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct EndedSession {
    pub session: Session,
    pub ended_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    #[serde(flatten)]
    ended: EndedSession,
    #[serde(default)]
    history: Vec<HistoryEntry>,
}

#[derive(Serialize, Deserialize, Default)]
struct EndedFile {
    ended: Vec<Record>,
}

/// The ended sessions, newest last; in memory only when it has no file.
#[derive(Debug, Default)]
pub struct EndedStore {
    path: Option<PathBuf>,
    records: Mutex<Vec<Record>>,
}

impl EndedStore {
    /// The store kept in `path`, with what it holds now.
    pub fn open(path: &Path) -> Self {
        let records = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<EndedFile>(&bytes) {
                Ok(file) => file.ended,
                Err(e) => {
                    let aside = path.with_extension("json.unreadable");
                    tracing::warn!(
                        "{} could not be read ({e}); set aside as {}",
                        path.display(),
                        aside.display()
                    );
                    let _ = std::fs::rename(path, aside);
                    Vec::new()
                }
            },
            Err(_) => Vec::new(),
        };
        Self {
            path: Some(path.to_owned()),
            records: Mutex::new(records),
        }
    }

    fn records(&self) -> MutexGuard<'_, Vec<Record>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a session that ended at `at` (replacing an older record of it), with its history.
    pub fn add(&self, session: Session, at: DateTime<Utc>, history: Vec<HistoryEntry>) {
        let mut records = self.records();
        records.retain(|r| !same(&r.ended.session, &session.account_id, &session.id));
        records.push(Record {
            ended: EndedSession {
                session,
                ended_at: at,
            },
            history,
        });
        records.retain(|r| at - r.ended.ended_at <= KEEP_FOR);
        let over = records.len().saturating_sub(KEEP);
        records.drain(..over);
        self.save(&records);
    }

    /// Every ended session kept, oldest first.
    pub fn list(&self) -> Vec<EndedSession> {
        self.records().iter().map(|r| r.ended.clone()).collect()
    }

    /// What this app did to an ended session, as kept with it.
    pub fn history(&self, account_id: &str, session_id: &str) -> Option<Vec<HistoryEntry>> {
        self.records()
            .iter()
            .find(|r| same(&r.ended.session, account_id, session_id))
            .map(|r| r.history.clone())
    }

    /// Forgets one ended session (nothing happens if it is not kept).
    pub fn dismiss(&self, account_id: &str, session_id: &str) -> Result<()> {
        let mut records = self.records();
        let before = records.len();
        records.retain(|r| !same(&r.ended.session, account_id, session_id));
        if records.len() == before {
            return Ok(());
        }
        self.save_checked(&records)
    }

    /// Forgets every ended session.
    pub fn clear(&self) -> Result<()> {
        let mut records = self.records();
        records.clear();
        self.save_checked(&records)
    }

    fn save_checked(&self, records: &[Record]) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = EndedFile {
            ended: records.to_vec(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| {
            crate::Error::new(crate::ErrorCode::Internal, format!("ended sessions: {e}"))
        })?;
        crate::paths::write_private(path, &bytes)
    }

    /// Saving a new record is best effort: the row is shown all the same.
    fn save(&self, records: &[Record]) {
        if let Err(e) = self.save_checked(records) {
            tracing::warn!("ended sessions not kept: {}", e.message);
        }
    }
}

fn same(session: &Session, account_id: &str, session_id: &str) -> bool {
    session.account_id == account_id && session.id == session_id
}

#[cfg(test)]
#[path = "ended_tests.rs"]
mod tests;
