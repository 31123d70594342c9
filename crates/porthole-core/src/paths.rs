//! Where Porthole keeps its files. The desktop app and the CLI resolve these the same way, so they
//! share one configuration and one data folder.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorCode, Result};

/// The folder name under the platform's config and data directories.
pub const APP_DIR_NAME: &str = "porthole";

/// Environment variables that move the folders (tests, portable installs).
pub const CONFIG_DIR_ENV: &str = "PORTHOLE_CONFIG_DIR";
pub const DATA_DIR_ENV: &str = "PORTHOLE_DATA_DIR";

/// The resolved folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub config: PathBuf,
    pub data: PathBuf,
}

impl Dirs {
    /// Resolves the folders from the environment: the override variables first, then the
    /// platform's directories (`$XDG_CONFIG_HOME/porthole`, `$XDG_DATA_HOME/porthole` on Linux).
    pub fn from_env() -> Result<Self> {
        Self::resolve(
            std::env::var_os(CONFIG_DIR_ENV).map(PathBuf::from),
            std::env::var_os(DATA_DIR_ENV).map(PathBuf::from),
            dirs::config_dir(),
            dirs::data_dir(),
        )
    }

    fn resolve(
        config_override: Option<PathBuf>,
        data_override: Option<PathBuf>,
        platform_config: Option<PathBuf>,
        platform_data: Option<PathBuf>,
    ) -> Result<Self> {
        let pick = |over: Option<PathBuf>, platform: Option<PathBuf>, what: &str| {
            over.filter(|p| !p.as_os_str().is_empty())
                .or_else(|| platform.map(|p| p.join(APP_DIR_NAME)))
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::Io,
                        format!(
                            "cannot find the {what} directory: set HOME, or set {}",
                            if what == "config" {
                                CONFIG_DIR_ENV
                            } else {
                                DATA_DIR_ENV
                            }
                        ),
                    )
                })
        };
        Ok(Self {
            config: pick(config_override, platform_config, "config")?,
            data: pick(data_override, platform_data, "data")?,
        })
    }

    /// Creates both folders if they are missing (owner-only permissions on Unix).
    pub fn ensure(&self) -> Result<()> {
        for dir in [&self.config, &self.data] {
            create_private_dir(dir)?;
        }
        Ok(())
    }
}

/// Creates `dir` (and its parents) if it is missing, and makes it private to its owner (0700 on
/// Unix), also when an earlier version left it open to others.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Error::io(&format!("cannot create {}", dir.display()), &e))?;
    restrict(dir, 0o700)
}

/// Opens `path` for appending, creating it owner-only (0600 on Unix): logs can hold what a
/// session printed (its URL and token, for Jupyter).
pub fn open_private_append(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    make_private(path).map_err(|e| std::io::Error::other(e.message))?;
    Ok(file)
}

/// Makes an existing file private to its owner (0600 on Unix); a missing one is not an error.
pub fn make_private(path: &Path) -> Result<()> {
    if path.exists() {
        restrict(path, 0o600)?;
    }
    Ok(())
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)
        .map_err(|e| Error::io(&format!("cannot read {}", path.display()), &e))?
        .permissions()
        .mode();
    if current & 0o077 == 0 {
        return Ok(());
    }
    // A file or folder this user cannot change (another owner, a file system without modes) is
    // still usable: say so in the log, and go on.
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        tracing::warn!(
            "cannot make {} private ({e}); others may be able to read it",
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

/// Writes a private file (0600) atomically: a temporary file beside it, synced, then renamed
/// over the old one, so a crash never leaves half a file. Creates the folder if needed.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or_else(|| Error::new(ErrorCode::Io, format!("{} has no folder", path.display())))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(&format!("cannot create {}", dir.display()), &e))?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(&format!("cannot write {}", path.display()), &e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn private_dirs_and_files_are_tightened_when_others_could_read_them() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        let root = std::env::temp_dir().join(format!("porthole-private-{}", std::process::id()));
        let dir = root.join("a/b");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        create_private_dir(&dir).expect("private dir");
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("f");
        std::fs::write(&file, b"x").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        make_private(&file).expect("private file");
        assert_eq!(mode(&file), 0o600);
        make_private(&dir.join("missing")).expect("a missing file is fine");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn overrides_win_over_platform_dirs() {
        let dirs = Dirs::resolve(
            Some("/tmp/c".into()),
            Some("/tmp/d".into()),
            Some("/home/u/.config".into()),
            Some("/home/u/.local/share".into()),
        )
        .expect("resolve");
        assert_eq!(dirs.config, PathBuf::from("/tmp/c"));
        assert_eq!(dirs.data, PathBuf::from("/tmp/d"));
    }

    #[test]
    fn platform_dirs_get_the_app_folder() {
        let dirs = Dirs::resolve(
            None,
            Some(PathBuf::new()),
            Some("/home/u/.config".into()),
            Some("/home/u/.local/share".into()),
        )
        .expect("resolve");
        assert_eq!(dirs.config, PathBuf::from("/home/u/.config/porthole"));
        assert_eq!(dirs.data, PathBuf::from("/home/u/.local/share/porthole"));
    }

    #[test]
    fn no_home_is_a_coded_error_naming_the_variable() {
        let err = Dirs::resolve(None, None, None, Some("/x".into())).expect_err("must fail");
        assert_eq!(err.code, ErrorCode::Io);
        assert!(err.message.contains(CONFIG_DIR_ENV), "{}", err.message);
    }

    #[test]
    fn ensure_creates_private_folders() {
        let root = std::env::temp_dir().join(format!("porthole-paths-{}", std::process::id()));
        let dirs = Dirs {
            config: root.join("c/nested"),
            data: root.join("d"),
        };
        dirs.ensure().expect("ensure");
        assert!(dirs.config.is_dir() && dirs.data.is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dirs.data)
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        std::fs::remove_dir_all(&root).expect("cleanup");
    }
}
