//! What the shell holds for the lifetime of the app.

use porthole_core::paths::Dirs;

pub struct AppState {
    pub dirs: Dirs,
}

impl AppState {
    pub fn load() -> porthole_core::error::Result<Self> {
        let dirs = Dirs::from_env()?;
        dirs.ensure()?;
        Ok(Self { dirs })
    }
}
