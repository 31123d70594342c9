//! The portholed on this computer, as its clients find it: the folder it keeps its state in, the
//! address it answers on ([`address`]) and its key ([`find_key`]); and a portholed on another
//! machine, as a client pairs with it ([`pairing`]) and talks to it ([`pinned`] TLS). portholed
//! writes these; the `porthole` CLI and the desktop app read them. A small crate of its own, so a client needs none
//! of the server (axum, SQLite, PTYs) to find it.

pub mod address;
pub mod pairing;
pub mod pinned;
pub mod tunnel;

use std::path::{Path, PathBuf};

use porthole_core::error::Result;
use porthole_core::paths::Dirs;
use porthole_secrets::{Keychain, Sensitive};

/// The keychain entry of the key (service: `porthole_secrets::SERVICE`).
pub const KEYCHAIN_USER: &str = "portholed-api-key";

/// The key file, in the server's data folder, when the keychain could not keep the key.
pub const KEY_FILE: &str = "api-key";

/// The data folder of the app's Local server (and of `portholed` run without `--data-dir`):
/// `portholed/` in Porthole's data folder.
pub fn data_dir(dirs: &Dirs) -> PathBuf {
    dirs.data.join("portholed")
}

/// The key a portholed keeping its state in `data_dir` uses, without ever creating one: its key
/// file if there is one, else its keychain entry.
pub fn find_key(data_dir: &Path) -> Result<Option<Sensitive<String>>> {
    if let Ok(text) = std::fs::read_to_string(data_dir.join(KEY_FILE)) {
        let key = text.trim();
        if !key.is_empty() {
            return Ok(Some(Sensitive::new(key.to_owned())));
        }
    }
    Keychain::default().get(KEYCHAIN_USER)
}
