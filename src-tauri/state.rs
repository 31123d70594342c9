//! What the shell holds for the lifetime of the app.

use porthole_core::paths::Dirs;

use porthole_core::accounts::AccountStore;
use porthole_providers::accounts::Accounts;
use porthole_secrets::Keychain;

use crate::local::LocalServer;

pub struct AppState {
    pub dirs: Dirs,
    /// The embedded portholed behind the "Local" account.
    pub local: LocalServer,
}

impl AppState {
    /// The accounts file and keychain, with the Local account pointing at the embedded server.
    pub fn accounts(&self) -> Accounts {
        Accounts::new(AccountStore::new(&self.dirs.config), Keychain::default())
            .with_local(self.local.base_url(), self.local.key())
    }

    pub fn load() -> porthole_core::error::Result<Self> {
        let dirs = Dirs::from_env()?;
        dirs.ensure()?;
        Ok(Self {
            dirs,
            local: LocalServer::default(),
        })
    }
}
