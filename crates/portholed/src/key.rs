//! The API key: generated on first start, kept in the OS keychain when one is usable (otherwise
//! a 0600 file in the data folder), compared in constant time, never logged.
//!
//! The key is shaped like a ComfyDeploy key, an HS256-style JWT `{user_id, iat}` (docs/providers/comfydeploy.md §2.4), so
//! a client that decodes its key to learn its `user_id` works unchanged. Its "signature" is 32
//! random bytes: the whole string is the secret, and portholed only compares it.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use porthole_core::error::Result;
use porthole_core::{Error, ErrorCode};
use porthole_secrets::{Keychain, Sensitive};

use crate::config::KeyStorage;

/// The `user_id` every session and machine reports.
pub const USER_ID: &str = "portholed-local";
pub use porthole_local::{KEYCHAIN_USER, KEY_FILE};

/// `n` random bytes from the OS.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::new(ErrorCode::Internal, format!("no OS randomness: {e}")))?;
    Ok(buf)
}

/// A URL-safe random token of 32 bytes (per-session tokens).
pub fn random_token() -> Result<String> {
    Ok(random_bytes(24)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A new JWT-shaped API key.
pub fn generate() -> Result<Sensitive<String>> {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let iat = chrono::Utc::now().timestamp();
    let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"user_id":"{USER_ID}","iat":{iat}}}"#));
    let signature = URL_SAFE_NO_PAD.encode(random_bytes(32)?);
    Ok(Sensitive::new(format!("{header}.{payload}.{signature}")))
}

/// Where the key was found or put, for the start-up line (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    Keychain,
    File(PathBuf),
    Explicit,
}

/// Finds or creates the key as `storage` says.
pub fn load_or_create(
    storage: &KeyStorage,
    data_dir: &Path,
) -> Result<(Sensitive<String>, KeyLocation)> {
    let file = data_dir.join(KEY_FILE);
    match storage {
        KeyStorage::Explicit(key) => {
            if key.expose().trim().is_empty() {
                return Err(Error::invalid_input("the API key must not be empty"));
            }
            Ok((key.clone(), KeyLocation::Explicit))
        }
        KeyStorage::File => Ok((file_key(&file)?, KeyLocation::File(file))),
        KeyStorage::KeychainOrFile => {
            // A key file means the keychain was unusable before: keep using the same key.
            if file.exists() {
                return Ok((file_key(&file)?, KeyLocation::File(file)));
            }
            match keychain_key(&Keychain::default()) {
                Ok(key) => Ok((key, KeyLocation::Keychain)),
                Err(err) => {
                    tracing::info!(reason = %err, "keychain unusable; keeping the portholed key in a 0600 file");
                    Ok((file_key(&file)?, KeyLocation::File(file)))
                }
            }
        }
    }
}

fn keychain_key(keychain: &Keychain) -> Result<Sensitive<String>> {
    if let Some(key) = keychain.get(KEYCHAIN_USER)? {
        return Ok(key);
    }
    let key = generate()?;
    keychain.set(KEYCHAIN_USER, &key)?;
    match keychain.get(KEYCHAIN_USER)? {
        Some(back) if back == key => Ok(key),
        _ => Err(Error::new(
            ErrorCode::KeychainUnavailable,
            "the keychain did not keep the key",
        )),
    }
}

/// Reads the key file (making it 0600 if an earlier version left it open), or creates it (0600)
/// with a new key.
pub fn file_key(path: &Path) -> Result<Sensitive<String>> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let key = text.trim().to_owned();
        if !key.is_empty() {
            porthole_core::paths::make_private(path)?;
            return Ok(Sensitive::new(key));
        }
    }
    let key = generate()?;
    porthole_core::paths::write_private(path, key.expose().as_bytes())?;
    Ok(key)
}

/// Written (a random line) by [`rotate`], in the data folder: a running server that sees it
/// change loads the new key before answering the next request.
pub const ROTATED_FILE: &str = "key-rotated";

/// Replaces the key kept as `storage` says with a new one; a server running on `data_dir`
/// refuses the old one from its next request on.
pub fn rotate(storage: &KeyStorage, data_dir: &Path) -> Result<KeyLocation> {
    let file = data_dir.join(KEY_FILE);
    let key = generate()?;
    let location = match storage {
        KeyStorage::Explicit(_) => {
            return Err(Error::invalid_input(
                "This server's key is given to it; give it another one instead.",
            ))
        }
        KeyStorage::KeychainOrFile if !file.exists() => {
            Keychain::default().set(KEYCHAIN_USER, &key)?;
            KeyLocation::Keychain
        }
        KeyStorage::File | KeyStorage::KeychainOrFile => {
            porthole_core::paths::write_private(&file, key.expose().as_bytes())?;
            hand_to_owner(&file, data_dir);
            KeyLocation::File(file)
        }
    };
    let mark = data_dir.join(ROTATED_FILE);
    porthole_core::paths::write_private(&mark, format!("{}\n", random_token()?).as_bytes())?;
    hand_to_owner(&mark, data_dir);
    Ok(location)
}

/// Gives a file written into the data folder to the folder's owner, when they differ: root
/// running `portholed pair` or `key rotate` for the service (whose user owns the folder). Only
/// root can, and only then is it needed; anything else leaves the file as it is.
pub fn hand_to_owner(path: &Path, data_dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    let (Ok(dir), Ok(file)) = (std::fs::metadata(data_dir), std::fs::metadata(path)) else {
        return;
    };
    if (dir.uid(), dir.gid()) != (file.uid(), file.gid()) {
        if let Err(e) = std::os::unix::fs::chown(path, Some(dir.uid()), Some(dir.gid())) {
            tracing::warn!(error = %e, file = %path.display(), "cannot give the file to the data folder's owner");
        }
    }
}

/// The key a running server checks against: fixed, or reloaded when [`rotate`] ran.
pub struct KeyCell {
    current: std::sync::RwLock<Sensitive<String>>,
    /// Where to reload from, and the rotation mark last seen.
    source: Option<(KeyStorage, PathBuf, std::sync::Mutex<Option<String>>)>,
}

impl KeyCell {
    pub fn new(key: Sensitive<String>, storage: &KeyStorage, data_dir: &Path) -> Self {
        let source = match storage {
            KeyStorage::Explicit(_) => None,
            other => Some((
                other.clone(),
                data_dir.to_owned(),
                std::sync::Mutex::new(read_mark(data_dir)),
            )),
        };
        Self {
            current: std::sync::RwLock::new(key),
            source,
        }
    }

    /// The key now: after a rotation, the new one (read from where it is kept).
    pub fn current(&self) -> Sensitive<String> {
        if let Some((storage, dir, seen)) = &self.source {
            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            let mark = read_mark(dir);
            if mark != *seen {
                match load_or_create(storage, dir) {
                    Ok((key, _)) => {
                        tracing::info!("the API key was rotated: the old one no longer works");
                        *self.current.write().unwrap_or_else(|p| p.into_inner()) = key;
                        *seen = mark;
                    }
                    Err(e) => tracing::warn!(error = %e.message, "cannot load the rotated key"),
                }
            }
        }
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn read_mark(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join(ROTATED_FILE)).ok()
}

/// Compares without leaking where the first difference is.
pub fn matches(expected: &Sensitive<String>, given: &str) -> bool {
    let a = expected.expose().as_bytes();
    let b = given.as_bytes();
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_decode_as_jwts_with_a_user_id() {
        let key = generate().expect("key");
        let parts: Vec<&str> = key.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload = URL_SAFE_NO_PAD.decode(parts[1]).expect("b64");
        let v: serde_json::Value = serde_json::from_slice(&payload).expect("json");
        assert_eq!(v["user_id"], USER_ID);
        assert!(v["iat"].as_i64().is_some());
        assert_ne!(key, generate().expect("another"), "keys are random");
    }

    #[test]
    fn file_key_is_private_and_stable() {
        let dir = std::env::temp_dir().join(format!("portholed-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (k1, loc) = load_or_create(&KeyStorage::File, &dir).expect("create");
        assert_eq!(loc, KeyLocation::File(dir.join(KEY_FILE)));
        let (k2, _) = load_or_create(&KeyStorage::File, &dir).expect("reuse");
        assert_eq!(k1, k2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn comparison_is_exact() {
        let k = Sensitive::new("abc".to_owned());
        assert!(matches(&k, "abc"));
        assert!(!matches(&k, "abd"));
        assert!(!matches(&k, "ab"));
        assert!(!matches(&k, ""));
        assert!(load_or_create(
            &KeyStorage::Explicit(Sensitive::new(" ".into())),
            Path::new("/")
        )
        .is_err());
    }
}
