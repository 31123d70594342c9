//! One-time pairing tokens: `portholed pair` issues one (kept as its SHA-256 with an expiry in
//! `pairing-tokens`, 0600, in the data folder); `POST /api/pair {"token"}` exchanges it, once and
//! within [`VALID_FOR`], for the API key. The token travels in the pairing string, so a string
//! seen later (in a shell history, a chat) is worth nothing.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use porthole_core::error::Result;
use porthole_core::paths::write_private;
use porthole_local::pairing::Fingerprint;
use porthole_secrets::Sensitive;
use serde::{Deserialize, Serialize};

use crate::key;

/// The file of pending tokens, in the data folder.
pub const FILE: &str = "pairing-tokens";

/// How long a pairing string works.
pub const VALID_FOR: Duration = Duration::minutes(10);

#[derive(Serialize, Deserialize, Default)]
struct Pending {
    tokens: Vec<Token>,
}

#[derive(Serialize, Deserialize)]
struct Token {
    /// The SHA-256 of the token (the token itself is never stored).
    sha256: String,
    expires: DateTime<Utc>,
}

fn hash(token: &str) -> String {
    Fingerprint::of_der(token.as_bytes()).to_string()
}

fn load(data_dir: &Path) -> Pending {
    std::fs::read(data_dir.join(FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save(data_dir: &Path, pending: &Pending) -> Result<()> {
    let bytes = serde_json::to_vec(pending).unwrap_or_default();
    let file = data_dir.join(FILE);
    write_private(&file, &bytes)?;
    key::hand_to_owner(&file, data_dir);
    Ok(())
}

/// A new token, good once for [`VALID_FOR`] from `now`.
pub fn issue(data_dir: &Path, now: DateTime<Utc>) -> Result<Sensitive<String>> {
    let token = key::random_token()?;
    let mut pending = load(data_dir);
    pending.tokens.retain(|t| t.expires > now);
    pending.tokens.push(Token {
        sha256: hash(&token),
        expires: now + VALID_FOR,
    });
    save(data_dir, &pending)?;
    Ok(Sensitive::new(token))
}

/// Whether `token` is pending and unexpired at `now`; it is spent either way it matched.
pub fn redeem(data_dir: &Path, token: &str, now: DateTime<Utc>) -> Result<bool> {
    let mut pending = load(data_dir);
    let before = pending.tokens.len();
    let wanted = hash(token);
    let mut valid = false;
    pending.tokens.retain(|t| {
        // Hashes compare in constant time all the same (their length is fixed).
        let matches = key::matches(&Sensitive::new(t.sha256.clone()), &wanted);
        valid |= matches && t.expires > now;
        !matches && t.expires > now
    });
    if pending.tokens.len() != before {
        save(data_dir, &pending)?;
    }
    Ok(valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("portholed-pair-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_token_works_once_and_only_in_time() {
        let d = dir("once");
        let now = Utc::now();
        let a = issue(&d, now).unwrap();
        let b = issue(&d, now).unwrap();
        assert!(!redeem(&d, "not-a-token", now).unwrap());
        assert!(redeem(&d, a.expose(), now).unwrap());
        assert!(!redeem(&d, a.expose(), now).unwrap(), "spent");
        assert!(
            !redeem(&d, b.expose(), now + VALID_FOR + Duration::seconds(1)).unwrap(),
            "expired"
        );
        let stored = std::fs::read_to_string(d.join(FILE)).unwrap();
        assert!(!stored.contains(a.expose()) && !stored.contains(b.expose()));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
