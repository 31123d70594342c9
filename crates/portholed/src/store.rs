//! The session table in SQLite: the truth a restarted portholed re-adopts from.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use porthole_core::error::Result;
use porthole_core::{Error, ErrorCode};
use rusqlite::{params, Connection, OptionalExtension, Row};

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub id: String,
    pub gpu_event_id: String,
    pub machine_id: String,
    pub machine_name: String,
    pub gpu: String,
    pub gpu_index: Option<u32>,
    pub created_at: DateTime<Utc>,
    /// The minutes asked for at creation (`timeout` in the API; never changes).
    pub timeout_min: i64,
    /// The real moment the session is stopped (`timeout_end`).
    pub deadline: DateTime<Utc>,
    pub port: u16,
    pub token: String,
    pub url: Option<String>,
    pub pid: Option<i32>,
    /// The process's start time as the OS reports it, to tell a reused pid apart.
    pub pid_start: Option<u64>,
    pub end_time: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    /// The process group is known to be gone.
    pub reaped: bool,
}

pub struct Store {
    conn: Mutex<Connection>,
}

/// SQLite's name for a database that lives in memory only (tests).
const IN_MEMORY: &str = ":memory:";

/// Creates `path` empty and owner-only if it is missing; makes it owner-only if it is not.
fn create_private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|e| Error::io(&format!("cannot open {}", path.display()), &e))?;
    porthole_core::paths::make_private(path)
}

fn db_err(e: rusqlite::Error) -> Error {
    Error::new(ErrorCode::Io, format!("session database: {e}"))
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

const COLUMNS: &str = "id, gpu_event_id, machine_id, machine_name, gpu, gpu_index, created_us, \
    timeout_min, deadline_us, port, token, url, pid, pid_start, end_us, end_reason, reaped";

fn row(r: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        gpu_event_id: r.get(1)?,
        machine_id: r.get(2)?,
        machine_name: r.get(3)?,
        gpu: r.get(4)?,
        gpu_index: r.get(5)?,
        created_at: from_micros(r.get(6)?),
        timeout_min: r.get(7)?,
        deadline: from_micros(r.get(8)?),
        port: r.get(9)?,
        token: r.get(10)?,
        url: r.get(11)?,
        pid: r.get(12)?,
        pid_start: r.get::<_, Option<i64>>(13)?.map(|v| v as u64),
        end_time: r.get::<_, Option<i64>>(14)?.map(from_micros),
        end_reason: r.get(15)?,
        reaped: r.get(16)?,
    })
}

impl Store {
    pub fn open(path: &Path) -> Result<Self> {
        // It holds session tokens: private before SQLite opens it, since SQLite gives its WAL and
        // shared-memory files the database file's mode (and earlier versions left it 0644).
        if path != Path::new(IN_MEMORY) {
            create_private_file(path)?;
            for journal in ["-wal", "-shm", "-journal"] {
                let mut name = path.as_os_str().to_owned();
                name.push(journal);
                porthole_core::paths::make_private(Path::new(&name))?;
            }
        }
        let conn = Connection::open(path).map_err(db_err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS sessions (
                 id TEXT PRIMARY KEY,
                 gpu_event_id TEXT NOT NULL,
                 machine_id TEXT NOT NULL,
                 machine_name TEXT NOT NULL,
                 gpu TEXT NOT NULL,
                 gpu_index INTEGER,
                 created_us INTEGER NOT NULL,
                 timeout_min INTEGER NOT NULL,
                 deadline_us INTEGER NOT NULL,
                 port INTEGER NOT NULL,
                 token TEXT NOT NULL,
                 url TEXT,
                 pid INTEGER,
                 pid_start INTEGER,
                 end_us INTEGER,
                 end_reason TEXT,
                 reaped INTEGER NOT NULL DEFAULT 0
             );
             CREATE INDEX IF NOT EXISTS sessions_active ON sessions (end_us, machine_id);
             CREATE TABLE IF NOT EXISTS slurm_jobs (
                 session_id TEXT PRIMARY KEY,
                 job_id TEXT NOT NULL
             );",
        )
        .map_err(db_err)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (every write is one statement
        // or one transaction), so a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Inserts `s` unless its machine already has `limit` active sessions; `false` then.
    pub fn insert_within_limit(&self, s: &SessionRow, limit: u32) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_err)?;
        let active: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM sessions WHERE end_us IS NULL AND machine_id = ?1",
                params![s.machine_id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if active >= i64::from(limit) {
            return Ok(false);
        }
        tx.execute(
            &format!("INSERT INTO sessions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"),
            params![
                s.id,
                s.gpu_event_id,
                s.machine_id,
                s.machine_name,
                s.gpu,
                s.gpu_index,
                micros(s.created_at),
                s.timeout_min,
                micros(s.deadline),
                s.port,
                s.token,
                s.url,
                s.pid,
                s.pid_start.map(|v| v as i64),
                s.end_time.map(micros),
                s.end_reason,
                s.reaped,
            ],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(true)
    }

    pub fn set_process(&self, id: &str, pid: i32, pid_start: Option<u64>) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE sessions SET pid = ?2, pid_start = ?3 WHERE id = ?1",
                params![id, pid, pid_start.map(|v| v as i64)],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// Records the URL of an active session; `false` when it has ended meanwhile.
    pub fn set_url(&self, id: &str, url: &str) -> Result<bool> {
        let n = self
            .conn()
            .execute(
                "UPDATE sessions SET url = ?2 WHERE id = ?1 AND end_us IS NULL",
                params![id, url],
            )
            .map_err(db_err)?;
        Ok(n == 1)
    }

    pub fn get(&self, id: &str) -> Result<Option<SessionRow>> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM sessions WHERE id = ?1"),
                params![id],
                row,
            )
            .optional()
            .map_err(db_err)
    }

    pub fn get_active(&self, id: &str) -> Result<Option<SessionRow>> {
        Ok(self.get(id)?.filter(|s| s.end_time.is_none()))
    }

    /// Active sessions, newest first, optionally on one machine.
    pub fn list_active(&self, machine_id: Option<&str>) -> Result<Vec<SessionRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM sessions WHERE end_us IS NULL \
                 AND (?1 IS NULL OR machine_id = ?1) ORDER BY created_us DESC"
            ))
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![machine_id], row)
            .map_err(db_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_err)?;
        Ok(rows)
    }

    /// Moves an active session's deadline by `delta`; the new deadline, or `None` if not active.
    pub fn extend(&self, id: &str, delta: chrono::Duration) -> Result<Option<DateTime<Utc>>> {
        let conn = self.conn();
        let us = delta.num_microseconds().unwrap_or(i64::MAX);
        let n = conn
            .execute(
                "UPDATE sessions SET deadline_us = deadline_us + ?2 WHERE id = ?1 AND end_us IS NULL",
                params![id, us],
            )
            .map_err(db_err)?;
        if n == 0 {
            return Ok(None);
        }
        let deadline: i64 = conn
            .query_row(
                "SELECT deadline_us FROM sessions WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        Ok(Some(from_micros(deadline)))
    }

    /// Ends an active session; `false` when it had already ended (the first reason wins).
    pub fn end(&self, id: &str, reason: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn()
            .execute(
                "UPDATE sessions SET end_us = ?2, end_reason = ?3 WHERE id = ?1 AND end_us IS NULL",
                params![id, micros(now), reason],
            )
            .map_err(db_err)?;
        Ok(n == 1)
    }

    /// Active sessions whose deadline has passed.
    pub fn expired(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id FROM sessions WHERE end_us IS NULL AND deadline_us <= ?1")
            .map_err(db_err)?;
        let ids = stmt
            .query_map(params![micros(now)], |r| r.get(0))
            .map_err(db_err)?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(db_err)?;
        Ok(ids)
    }

    pub fn mark_reaped(&self, id: &str) -> Result<()> {
        self.conn()
            .execute("UPDATE sessions SET reaped = 1 WHERE id = ?1", params![id])
            .map_err(db_err)?;
        Ok(())
    }

    /// Records the Slurm job that runs session `id`.
    pub fn set_job(&self, id: &str, job: &str) -> Result<()> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO slurm_jobs (session_id, job_id) VALUES (?1, ?2)",
                params![id, job],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// The Slurm job of session `id`, once submitted.
    pub fn job_of(&self, id: &str) -> Result<Option<String>> {
        self.conn()
            .query_row(
                "SELECT job_id FROM slurm_jobs WHERE session_id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)
    }

    /// Sets an active session's deadline (the end time its scheduler reports).
    pub fn set_deadline(&self, id: &str, deadline: DateTime<Utc>) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE sessions SET deadline_us = ?2 WHERE id = ?1 AND end_us IS NULL",
                params![id, micros(deadline)],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// Sessions whose process may still be alive: active, or ended without confirmation.
    pub fn unreaped(&self) -> Result<Vec<SessionRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM sessions WHERE reaped = 0 ORDER BY created_us"
            ))
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], row)
            .map_err(db_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_err)?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample(id: &str, machine: &str) -> SessionRow {
        let now = Utc::now();
        SessionRow {
            id: id.to_owned(),
            gpu_event_id: format!("ev-{id}"),
            machine_id: machine.to_owned(),
            machine_name: "m".to_owned(),
            gpu: "CPU".to_owned(),
            gpu_index: None,
            created_at: now,
            timeout_min: 15,
            deadline: now + chrono::Duration::minutes(15),
            port: 1234,
            token: "t".to_owned(),
            url: None,
            pid: None,
            pid_start: None,
            end_time: None,
            end_reason: None,
            reaped: false,
        }
    }

    fn store() -> Store {
        Store::open(Path::new(IN_MEMORY)).expect("open")
    }

    #[test]
    fn limit_is_per_machine() {
        let s = store();
        assert!(s.insert_within_limit(&sample("a", "m1"), 2).expect("a"));
        assert!(s.insert_within_limit(&sample("b", "m1"), 2).expect("b"));
        assert!(!s.insert_within_limit(&sample("c", "m1"), 2).expect("c"));
        assert!(s.insert_within_limit(&sample("d", "m2"), 2).expect("d"));
        assert!(s.end("a", "stopped", Utc::now()).expect("end"));
        assert!(s
            .insert_within_limit(&sample("c", "m1"), 2)
            .expect("c again"));
        assert_eq!(s.list_active(Some("m1")).expect("list").len(), 2);
        assert_eq!(s.list_active(None).expect("list").len(), 3);
    }

    #[test]
    fn round_trip_extend_and_end() {
        let s = store();
        let mut row = sample("a", "m");
        row.gpu_index = Some(3);
        s.insert_within_limit(&row, 5).expect("insert");
        s.set_process("a", 42, Some(99)).expect("pid");
        let back = s.get_active("a").expect("get").expect("some");
        assert_eq!(back.pid, Some(42));
        assert_eq!(back.pid_start, Some(99));
        assert_eq!(back.gpu_index, Some(3));
        assert_eq!(
            back.deadline.timestamp_micros(),
            row.deadline.timestamp_micros()
        );
        let new = s
            .extend("a", chrono::Duration::minutes(5))
            .expect("extend")
            .expect("active");
        assert_eq!(
            (new - back.deadline).num_seconds(),
            300,
            "adds to the old deadline"
        );
        assert!(s.set_url("a", "http://x").expect("url"));
        assert!(s.end("a", "timeout", Utc::now()).expect("end"));
        assert!(!s.end("a", "again", Utc::now()).expect("end twice"));
        assert!(s.get_active("a").expect("get").is_none());
        assert_eq!(
            s.get("a").expect("get").and_then(|r| r.end_reason),
            Some("timeout".to_owned())
        );
        assert!(!s.set_url("a", "http://y").expect("url after end"));
        assert!(s
            .extend("a", chrono::Duration::minutes(1))
            .expect("x")
            .is_none());
        assert_eq!(s.unreaped().expect("unreaped").len(), 1);
        s.mark_reaped("a").expect("reap");
        assert!(s.unreaped().expect("unreaped").is_empty());
    }

    #[test]
    fn expired_finds_only_past_deadlines() {
        let s = store();
        let mut past = sample("p", "m");
        past.deadline = Utc::now() - chrono::Duration::seconds(1);
        s.insert_within_limit(&past, 5).expect("p");
        s.insert_within_limit(&sample("f", "m"), 5).expect("f");
        assert_eq!(s.expired(Utc::now()).expect("expired"), ["p"]);
    }
}
