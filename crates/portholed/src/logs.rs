//! Per-session logs: one append-only file holding the process's own output and portholed's
//! lifecycle lines. A file (rather than a pipe) keeps a re-adopted process writing safely after
//! portholed restarts, and lets the S10 stream replay from the beginning.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::wire::{log_timestamp, LogLine};

/// Marks a line written by portholed (a JSON [`LogLine`] follows) among the process's output.
const MARK: char = '\u{1e}';

pub fn path(dir: &Path, session_id: &str) -> PathBuf {
    dir.join(format!("{session_id}.log"))
}

/// Opens a session's log for appending, creating it owner-only: a session's output can hold its
/// token (Jupyter prints its URL).
pub(crate) fn open(path: &Path) -> std::io::Result<std::fs::File> {
    porthole_core::paths::open_private_append(path)
}

/// Appends a lifecycle line. Failures are only logged: a log must never stop a session.
pub fn append(dir: &Path, session_id: &str, level: &str, message: &str) {
    let line = LogLine {
        message: message.to_owned(),
        level: level.to_owned(),
        timestamp: log_timestamp(Utc::now()),
    };
    let Ok(json) = serde_json::to_string(&line) else {
        return;
    };
    let result = open(&path(dir, session_id))
        // One write call per line, so it cannot interleave with the process's own writes.
        .and_then(|mut f| f.write_all(format!("\n{MARK}{json}\n").as_bytes()));
    if let Err(e) = result {
        tracing::warn!(session = session_id, error = %e, "cannot write the session log");
    }
}

/// Turns one line of the file into a stream line. Lines of the process's output get level
/// `info` and the time they are read; empty lines are skipped.
pub fn parse_line(raw: &str) -> Option<LogLine> {
    let raw = raw.trim_end_matches(['\r', '\n']);
    if let Some(json) = raw.strip_prefix(MARK) {
        return serde_json::from_str(json).ok();
    }
    if raw.trim().is_empty() {
        return None;
    }
    Some(LogLine {
        message: raw.to_owned(),
        level: "info".to_owned(),
        timestamp: log_timestamp(Utc::now()),
    })
}

/// Splits `buf` into complete lines, leaving an unfinished last line in `buf`.
pub fn take_lines(buf: &mut Vec<u8>) -> Vec<String> {
    let Some(last_newline) = buf.iter().rposition(|&b| b == b'\n') else {
        return Vec::new();
    };
    let rest = buf.split_off(last_newline + 1);
    let done = std::mem::replace(buf, rest);
    String::from_utf8_lossy(&done)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_and_output_lines_are_told_apart() {
        let dir = std::env::temp_dir().join(format!("portholed-logs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(path(&dir, "s"), "hello from the process").expect("write");
        append(&dir, "s", "error", "Session closed due to timeout");
        let mut bytes = std::fs::read(path(&dir, "s")).expect("read");
        let lines: Vec<LogLine> = take_lines(&mut bytes)
            .iter()
            .filter_map(|l| parse_line(l))
            .collect();
        assert!(bytes.is_empty());
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].message, "hello from the process");
        assert_eq!(lines[0].level, "info");
        assert_eq!(lines[1].message, "Session closed due to timeout");
        assert_eq!(lines[1].level, "error");
        assert!(lines[1].timestamp.ends_with('Z'));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn unfinished_lines_wait_for_their_end() {
        let mut buf = b"one\ntw".to_vec();
        assert_eq!(take_lines(&mut buf), ["one"]);
        assert_eq!(buf, b"tw");
        buf.extend_from_slice(b"o\n");
        assert_eq!(take_lines(&mut buf), ["two"]);
    }
}
