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
