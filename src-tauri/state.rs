//! What the shell holds for the lifetime of the app.

use porthole_core::paths::Dirs;

use crate::local::LocalServer;

pub struct AppState {
    pub dirs: Dirs,
    /// The embedded portholed behind the "Local" account.
    pub local: LocalServer,
}

impl AppState {
    pub fn load() -> porthole_core::error::Result<Self> {
        let dirs = Dirs::from_env()?;
        dirs.ensure()?;
        Ok(Self {
            dirs,
            local: LocalServer::default(),
        })
    }
}
