//! What the app can tell about itself: version, folders, whether the keychain works, and how the
//! embedded portholed (the "Local" account) is doing.

use serde::Serialize;

use crate::error::{ErrorCode, Result};
use crate::paths::Dirs;

/// Whether the OS keychain can hold keys right now, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct KeychainStatus {
    pub usable: bool,
    /// Present when `usable` is false: the coded reason and what to do about it.
    pub error: Option<Problem>,
}

/// A coded reason something does not work, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Problem {
    pub code: ErrorCode,
    pub message: String,
}

impl From<crate::Error> for Problem {
    fn from(err: crate::Error) -> Self {
        Self {
            code: err.code,
            message: err.message,
        }
    }
}

/// The embedded portholed that backs the "Local" account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LocalServerStatus {
    Starting,
    Running {
        /// `http://127.0.0.1:PORT/api`: where the CLI and other clients reach it.
        base_url: String,
        /// Whether its key is in the OS keychain (otherwise in a 0600 file in the data folder).
        key_in_keychain: bool,
    },
    Failed {
        error: Problem,
    },
}

/// The app's description of itself, as the About panel and the end-to-end tests see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    pub config_dir: String,
    pub data_dir: String,
    pub keychain: KeychainStatus,
    pub local_server: LocalServerStatus,
    /// Why the settings file could not be read (the defaults are in use until the next save,
    /// which keeps the file as a backup).
    pub settings_problem: Option<Problem>,
}

impl AppInfo {
    /// Gathers the description. `probe_keychain` performs a real round trip through the keychain
    /// (the caller decides which keychain); its error becomes the reported problem.
    pub fn gather(
        version: &str,
        dirs: &Dirs,
        local_server: LocalServerStatus,
        probe_keychain: impl FnOnce() -> Result<()>,
    ) -> Self {
        let keychain = match probe_keychain() {
            Ok(()) => KeychainStatus {
                usable: true,
                error: None,
            },
            Err(err) => KeychainStatus {
                usable: false,
                error: Some(err.into()),
            },
        };
        Self {
            name: "Porthole".to_owned(),
            version: version.to_owned(),
            config_dir: dirs.config.display().to_string(),
            data_dir: dirs.data.display().to_string(),
            keychain,
            local_server,
            settings_problem: None,
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
        let info = AppInfo::gather("1.2.3", &dirs(), LocalServerStatus::Starting, || Ok(()));
        assert_eq!(info.version, "1.2.3");
        assert_eq!(info.config_dir, "/c/porthole");
        assert_eq!(info.data_dir, "/d/porthole");
        assert!(info.keychain.usable);
        assert_eq!(info.keychain.error, None);
    }

    #[test]
    fn a_failing_keychain_carries_its_coded_reason() {
        let info = AppInfo::gather("1.2.3", &dirs(), LocalServerStatus::Starting, || {
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
