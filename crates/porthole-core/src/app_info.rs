//! What the app can tell about itself: version, folders, and whether the keychain works.

use serde::Serialize;

use crate::error::{ErrorCode, Result};
use crate::paths::Dirs;

/// Whether the OS keychain can hold keys right now, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct KeychainStatus {
    pub usable: bool,
    /// Present when `usable` is false: the coded reason and what to do about it.
    pub error: Option<KeychainProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct KeychainProblem {
    pub code: ErrorCode,
    pub message: String,
}

/// The app's description of itself, as the About panel and the end-to-end tests see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    pub config_dir: String,
    pub data_dir: String,
    pub keychain: KeychainStatus,
}

impl AppInfo {
    /// Gathers the description. `probe_keychain` performs a real round trip through the keychain
    /// (the caller decides which keychain); its error becomes the reported problem.
    pub fn gather(version: &str, dirs: &Dirs, probe_keychain: impl FnOnce() -> Result<()>) -> Self {
        let keychain = match probe_keychain() {
            Ok(()) => KeychainStatus {
                usable: true,
                error: None,
            },
            Err(err) => KeychainStatus {
                usable: false,
                error: Some(KeychainProblem {
                    code: err.code,
                    message: err.message,
                }),
            },
        };
        Self {
            name: "Porthole".to_owned(),
            version: version.to_owned(),
            config_dir: dirs.config.display().to_string(),
            data_dir: dirs.data.display().to_string(),
            keychain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn dirs() -> Dirs {
        Dirs {
            config: "/c/porthole".into(),
            data: "/d/porthole".into(),
        }
    }

    #[test]
    fn a_working_keychain_is_reported_usable() {
        let info = AppInfo::gather("1.2.3", &dirs(), || Ok(()));
        assert_eq!(info.version, "1.2.3");
        assert_eq!(info.config_dir, "/c/porthole");
        assert_eq!(info.data_dir, "/d/porthole");
        assert!(info.keychain.usable);
        assert_eq!(info.keychain.error, None);
    }

    #[test]
    fn a_failing_keychain_carries_its_coded_reason() {
        let info = AppInfo::gather("1.2.3", &dirs(), || {
            Err(Error::new(
                ErrorCode::KeychainUnavailable,
                "no Secret Service",
            ))
        });
        assert!(!info.keychain.usable);
        let problem = info.keychain.error.expect("problem");
        assert_eq!(problem.code, ErrorCode::KeychainUnavailable);
        assert_eq!(problem.message, "no Secret Service");
    }
}
