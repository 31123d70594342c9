//! Which server the command talks to, and with which key. Normally an account (the one named
//! with `--account`, else the default, else Local) with its key from the OS keychain. With
//! `--base-url` the key comes from `PORTHOLE_API_KEY`, or, for a portholed on this computer, from
//! portholed's own key file or keychain entry (read, never created). The key is never printed.

use std::path::PathBuf;
use std::sync::Arc;

use porthole_core::accounts::{AccountStore, LOCAL_ACCOUNT_ID, LOCAL_BASE_URL};
use porthole_core::alerts::SettingsStore;
use porthole_core::model::{Account, ProviderKind};
use porthole_core::provider::Provider;
use porthole_core::watcher::WatchConfig;
use porthole_core::{Error, ErrorCode};
use porthole_providers::accounts::Accounts;
use porthole_secrets::{Keychain, Sensitive};

use crate::args::GlobalArgs;

pub const API_KEY_ENV: &str = "PORTHOLE_API_KEY";

/// The accounts this user has (the same file and keychain entries as the app).
pub fn accounts() -> Result<Accounts, Error> {
    let dirs = porthole_core::paths::Dirs::from_env()?;
    Ok(Accounts::new(
        AccountStore::new(&dirs.config),
        Keychain::default(),
    ))
}

/// The watcher's rules with the thresholds the user saved in the app (the same settings file),
/// so `list` and `show` warn as the app does; the defaults where there is none.
pub fn watch_config() -> WatchConfig {
    let saved = porthole_core::paths::Dirs::from_env()
        .map(|dirs| SettingsStore::new(&dirs.config).load().0)
        .unwrap_or_default();
    WatchConfig {
        warn_before: SettingsStore::warn_before(&saved),
        ..WatchConfig::default()
    }
}

/// The client the command talks to: `--base-url` directly, else the chosen account.
pub fn connect(global: &GlobalArgs) -> Result<Connected, Error> {
    if let Some(base_url) = global.base_url.as_deref().filter(|u| !u.trim().is_empty()) {
        return Ok(Connected {
            provider: Target::from_args(global)?.connect()?,
            tunnel: None,
            place: base_url.trim().to_owned(),
            chosen: true,
        });
    }
    let accounts = accounts()?;
    let named = global.account.as_deref().filter(|a| !a.trim().is_empty());
    let account = match named {
        Some(name) => accounts.get(name)?,
        None => accounts.default_account()?,
    };
    let provider = if account.id == LOCAL_ACCOUNT_ID {
        // The Local account's key is the local portholed's own.
        Target {
            base_url: local_base_url(&account.base_url),
            kind: ProviderKind::Portholed,
            loopback: true,
        }
        .connect()?
    } else {
        accounts.provider(&account)?
    };
    Ok(Connected {
        provider,
        tunnel: accounts.tunnel(&account)?,
        place: format!("account {:?}", account.name),
        chosen: named.is_some(),
    })
}

/// The provider a command talks to, and where that is, for a person.
pub struct Connected {
    pub provider: Arc<dyn Provider>,
    /// How its sessions are reached when they are on another computer's loopback (a paired
    /// portholed's tunnel); `None`: at their URL.
    pub tunnel: Option<porthole_local::tunnel::Tunnel>,
    /// `account "Local"`, or the base URL given.
    pub place: String,
    /// The account (or URL) was named on the command line or in the environment.
    pub chosen: bool,
}

impl Connected {
    /// Where a session was looked for, and (when nothing was named) how to look elsewhere.
    pub fn looked_in(&self) -> String {
        if self.chosen {
            format!("(looked in {})", self.place)
        } else {
            format!(
                "(looked in {}; `-a NAME` picks another account)",
                self.place
            )
        }
    }
}

/// Where to send requests (without the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub base_url: String,
    pub kind: ProviderKind,
    /// A server on this computer: its key may be read from portholed's data folder.
    pub loopback: bool,
}

impl Target {
    pub fn from_args(global: &GlobalArgs) -> Result<Self, Error> {
        let base_url = global
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(LOCAL_BASE_URL)
            .trim_end_matches('/')
            .to_owned();
        let host = host_of(&base_url)?;
        let kind = match global.provider {
            Some(kind) => kind,
            None if host == "comfydeploy.com" || host.ends_with(".comfydeploy.com") => {
                ProviderKind::ComfyDeploy
            }
            None => ProviderKind::Portholed,
        };
        let loopback = is_loopback(&host);
        Ok(Self {
            base_url,
            kind,
            loopback,
        })
    }

    /// The client for this target, with the key found for it.
    pub fn connect(&self) -> Result<Arc<dyn Provider>, Error> {
        let key = self.key()?;
        let account = Account {
            id: if self.base_url == LOCAL_BASE_URL {
                LOCAL_ACCOUNT_ID.to_owned()
            } else {
                "cli".to_owned()
            },
            name: self.base_url.clone(),
            provider: self.kind,
            base_url: self.base_url.clone(),
            fields: Default::default(),
        };
        porthole_providers::accounts::connect(&account, key)
    }

    fn key(&self) -> Result<Sensitive<String>, Error> {
        if let Some(key) = std::env::var(API_KEY_ENV)
            .ok()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
        {
            return Ok(Sensitive::new(key));
        }
        let mut hint = format!("Set {API_KEY_ENV}.");
        if self.loopback && self.kind == ProviderKind::Portholed && self.foreign() {
            hint = format!(
                "Another user's program listens at {}: the local portholed's key is not sent \
                 there. Set {API_KEY_ENV} to send one anyway.",
                self.base_url
            );
        } else if self.loopback && self.kind == ProviderKind::Portholed {
            match local_portholed_dir() {
                Ok(dir) => match porthole_local::find_key(&dir) {
                    Ok(Some(key)) => return Ok(key),
                    Ok(None) => {
                        hint = format!(
                            "Set {API_KEY_ENV}, or start portholed on this computer first \
                             (no key in {} or the keychain).",
                            dir.display()
                        )
                    }
                    Err(e) => {
                        hint = format!(
                            "Set {API_KEY_ENV}; the local portholed's key could not be read: {}",
                            e.message
                        )
                    }
                },
                Err(e) => hint = format!("Set {API_KEY_ENV} ({}).", e.message),
            }
        }
        Err(Error::new(
            ErrorCode::Unauthorized,
            format!("No API key for {}. {hint}", self.base_url),
        ))
    }

    /// Whether the loopback port this target names is held by another user's program.
    fn foreign(&self) -> bool {
        porthole_providers::http::parse_base_url(&self.base_url)
            .ok()
            .and_then(|url| url.port_or_known_default())
            .is_some_and(porthole_local::address::foreign_listener)
    }
}

/// Where the Local account answers: the app's Local server records its address when it could not
/// take the usual port; a Local account pointed elsewhere by hand keeps its own.
fn local_base_url(configured: &str) -> String {
    if configured == LOCAL_BASE_URL {
        if let Some(found) = local_portholed_dir()
            .ok()
            .and_then(|dir| porthole_local::address::find(&dir))
        {
            return found;
        }
    }
    configured.to_owned()
}

/// A standalone portholed's data folder, as `portholed` itself resolves it.
fn local_portholed_dir() -> Result<PathBuf, Error> {
    Ok(porthole_local::data_dir(
        &porthole_core::paths::Dirs::from_env()?,
    ))
}

/// The base URL's host; none for a folder (`file:///…`, the scripted test provider's).
fn host_of(base_url: &str) -> Result<String, Error> {
    if base_url.starts_with("file:///") {
        return Ok(String::new());
    }
    porthole_providers::http::parse_base_url(base_url)?
        .host_str()
        .map(|h| {
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase()
        })
        .ok_or_else(|| Error::invalid_input(format!("The base URL {base_url:?} has no host")))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(base_url: Option<&str>, provider: Option<ProviderKind>) -> Result<Target, Error> {
        Target::from_args(&GlobalArgs {
            account: None,
            base_url: base_url.map(str::to_owned),
            provider,
            json: false,
        })
    }

    #[test]
    fn the_default_is_the_local_portholed() {
        let t = target(None, None).expect("target");
        assert_eq!(t.base_url, LOCAL_BASE_URL);
        assert_eq!(t.kind, ProviderKind::Portholed);
        assert!(t.loopback);
    }

    #[test]
    fn the_provider_follows_the_host_unless_named() {
        let cd = target(Some("https://api.comfydeploy.com/api/"), None).expect("target");
        assert_eq!(cd.kind, ProviderKind::ComfyDeploy);
        assert_eq!(cd.base_url, "https://api.comfydeploy.com/api");
        assert!(!cd.loopback);
        let own = target(Some("http://[::1]:9000/api"), None).expect("target");
        assert_eq!(own.kind, ProviderKind::Portholed);
        assert!(own.loopback);
        let named = target(
            Some("http://localhost:9000/api"),
            Some(ProviderKind::ComfyDeploy),
        )
        .expect("target");
        assert_eq!(named.kind, ProviderKind::ComfyDeploy);
        assert!(named.loopback);
    }

    #[test]
    fn bad_urls_are_invalid_input() {
        for bad in ["not a url", "ftp://example.com/api"] {
            let err = target(Some(bad), None).expect_err(bad);
            assert_eq!(err.code, ErrorCode::InvalidInput, "{bad}");
        }
    }
}
