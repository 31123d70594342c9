//! What the shell holds for the lifetime of the app.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};

use porthole_core::accounts::{AccountStore, KeyState, LOCAL_ACCOUNT_ID};
use porthole_core::alerts::{AlertSettings, Alerts, Notice, SettingsStore};
use porthole_core::clock::SystemClock;
use porthole_core::ended::EndedStore;
use porthole_core::paths::Dirs;
use porthole_core::watcher::{Hub, WatchConfig, WatchEvent};
use porthole_providers::accounts::Accounts;
use porthole_providers::probe::HttpProbe;
use porthole_secrets::Keychain;

use crate::local::LocalServer;

/// A pairing a `porthole://pair` link offers (`pairing-offered`): where it leads, for the person
/// to name the account and confirm. Its token stays in Rust ([`AppState::offer_pairing`]).
#[derive(Debug, Clone, serde::Serialize, specta::Type, tauri_specta::Event)]
pub struct PairingOffered {
    pub base_url: String,
    /// `sha256:…` of the certificate the account will pin.
    pub fingerprint: String,
}

impl PairingOffered {
    pub fn of(pairing: &porthole_local::pairing::Pairing) -> Self {
        Self {
            base_url: pairing.base_url.clone(),
            fingerprint: pairing.fingerprint.to_string(),
        }
    }
}

/// A watcher event, as the main window receives it (`session-event`).
#[derive(Debug, Clone, serde::Serialize, specta::Type, tauri_specta::Event)]
pub struct SessionEvent(pub WatchEvent);

/// Show this session in the main window (`show-session`): "Open" on a session without a web
/// page, from the tray, a window menu or a link. The event is a nudge: the session waits in
/// [`AppState::show_session`] until the window takes it, so a main window that is being created
/// (closed before, or at start) still shows it once its page is up.
#[derive(Debug, Clone, serde::Serialize, specta::Type, tauri_specta::Event)]
pub struct ShowSession {
    pub account_id: String,
    pub session_id: String,
    /// Launch it again, as the main window's own Relaunch does (its ended window's "Relaunch").
    pub relaunch: bool,
}

pub struct AppState {
    pub dirs: Dirs,
    /// The embedded portholed behind the "Local" account.
    pub local: LocalServer,
    /// Every connected account's watcher; the UI's sessions come from its events.
    pub hub: Hub,
    /// Notifications already sent (kept across restarts) and the user's alert settings.
    alerts: Mutex<Alerts>,
    settings: Mutex<AlertSettings>,
    /// Why the settings file could not be read at start (the defaults are in use), until a save.
    settings_problem: Mutex<Option<porthole_core::app_info::Problem>>,
    /// The user chose "Quit: keep sessions running".
    pub keep_sessions: AtomicBool,
    /// One loopback proxy per opened session, by window label; dropping one stops it.
    pub proxies: Mutex<std::collections::HashMap<String, porthole_proxy::ProxyHandle>>,
    /// The tray's account switcher: whose sessions the tray lists (`None`: everyone's).
    tray_account: Mutex<Option<String>>,
    /// The session the main window is to show next (see [`ShowSession`]).
    shown_session: Mutex<Option<ShowSession>>,
    /// The pairing a link offered, until it is used (see [`PairingOffered`]).
    offered_pairing: Mutex<Option<porthole_local::pairing::Pairing>>,
    /// The app, for the commands that reach windows, the tray or plugins (set once it exists).
    app: OnceLock<tauri::AppHandle>,
}

impl AppState {
    pub fn load() -> porthole_core::error::Result<Self> {
        let dirs = Dirs::from_env()?;
        dirs.ensure()?;
        Ok(Self::with_dirs(dirs))
    }

    pub fn with_dirs(dirs: Dirs) -> Self {
        let (settings, settings_problem) = SettingsStore::new(&dirs.config).load();
        let watch = WatchConfig {
            warn_before: SettingsStore::warn_before(&settings),
            ..WatchConfig::default()
        };
        let hub = Hub::new(Arc::new(HttpProbe::default()), Arc::new(SystemClock), watch)
            .with_ended(EndedStore::open(&dirs.data.join("ended.json")));
        Self {
            alerts: Mutex::new(Alerts::load(&dirs.data.join("alerts.json"))),
            settings: Mutex::new(settings),
            settings_problem: Mutex::new(settings_problem.map(Into::into)),
            keep_sessions: AtomicBool::new(false),
            proxies: Mutex::default(),
            tray_account: Mutex::default(),
            shown_session: Mutex::default(),
            offered_pairing: Mutex::default(),
            dirs,
            local: LocalServer::default(),
            hub,
            app: OnceLock::new(),
        }
    }

    /// Asks the main window to show `shown` (it takes it with [`AppState::take_shown_session`]).
    pub fn show_session(&self, shown: ShowSession) {
        *self.shown_session.lock().unwrap_or_else(|p| p.into_inner()) = Some(shown);
    }

    /// The session the main window is to show, once.
    pub fn take_shown_session(&self) -> Option<ShowSession> {
        self.shown_session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// The notification an event deserves, once.
    pub fn alert_for(&self, event: &WatchEvent) -> Option<Notice> {
        let settings = self.settings().clone();
        self.alerts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .on_event(event, &settings)
    }

    /// The notice that auto-extend holds back from a session (once per deadline), if any.
    pub fn auto_extend_held(
        &self,
        session: &porthole_core::model::Session,
        held: porthole_core::alerts::Held,
    ) -> Option<Notice> {
        let settings = self.settings().clone();
        self.alerts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .auto_extend_held(session, held, chrono::Utc::now(), &settings)
    }

    pub fn settings(&self) -> std::sync::MutexGuard<'_, AlertSettings> {
        self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Saves new settings; returns whether the warning thresholds changed, in which case the
    /// caller restarts the watchers ([`AppState::connect_all`]) so they apply at once
    /// (notifications already sent are remembered, so none repeats).
    pub fn save_settings(&self, new: AlertSettings) -> porthole_core::error::Result<bool> {
        SettingsStore::new(&self.dirs.config).save(&new)?;
        *self
            .settings_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        let thresholds_changed = self.settings().warn_before_minutes != new.warn_before_minutes;
        self.hub.set_warn_before(SettingsStore::warn_before(&new));
        *self.settings() = new;
        Ok(thresholds_changed)
    }

    /// Why the settings file could not be read, if it could not (and nothing was saved since).
    pub fn settings_problem(&self) -> Option<porthole_core::app_info::Problem> {
        self.settings_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// When the session's window last saw traffic through its proxy (none: no window opened).
    pub fn window_activity(&self, session_id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let proxies = self.proxies.lock().unwrap_or_else(|p| p.into_inner());
        let proxy = proxies.get(&crate::labels::session_label(session_id))?;
        let last = proxy.activity().borrow().last_activity;
        last
    }

    /// Keeps a pairing a link offered (replacing an older one) and says what it offers.
    pub fn offer_pairing(&self, pairing: porthole_local::pairing::Pairing) -> PairingOffered {
        let offered = PairingOffered::of(&pairing);
        *self
            .offered_pairing
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(pairing);
        offered
    }

    /// The pairing a link offered, if one waits.
    pub fn offered_pairing(&self) -> Option<porthole_local::pairing::Pairing> {
        self.offered_pairing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Forgets the offered pairing (used, or dismissed).
    pub fn forget_offered_pairing(&self) {
        *self
            .offered_pairing
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn tray_account(&self) -> Option<String> {
        self.tray_account
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_tray_account(&self, account_id: Option<String>) {
        *self.tray_account.lock().unwrap_or_else(|p| p.into_inner()) = account_id;
    }

    /// Called once the app exists.
    pub fn attach(&self, app: &tauri::AppHandle) {
        let _ = self.app.set(app.clone());
    }

    pub fn app_handle(&self) -> Option<tauri::AppHandle> {
        self.app.get().cloned()
    }

    /// The accounts file and keychain, with the Local account pointing at the embedded server.
    pub fn accounts(&self) -> Accounts {
        Accounts::new(AccountStore::new(&self.dirs.config), Keychain::default())
            .with_local(self.local.base_url(), self.local.key())
    }

    /// (Re)connects one account's watcher; an account without a usable key is left unwatched.
    pub fn connect(&self, account_id: &str) {
        let accounts = self.accounts();
        let connected = accounts.get(account_id).and_then(|account| {
            let probe = accounts.tunnel(&account)?.map(|tunnel| {
                Arc::new(porthole_providers::probe::TunnelProbe(tunnel))
                    as Arc<dyn porthole_core::watcher::UrlProbe>
            });
            Ok((accounts.provider(&account)?, probe))
        });
        match connected {
            Ok((provider, probe)) => self.hub.watch_probed(account_id, provider, probe),
            Err(e) => {
                tracing::info!(account = account_id, code = ?e.code, "not watching: {}", e.message);
                self.hub.unwatch(account_id);
            }
        }
    }

    /// Connects every account whose key is there (Local once its server runs).
    pub fn connect_all(&self) {
        let Ok(views) = self.accounts().list() else {
            return;
        };
        for view in views {
            let ready = match view.key {
                KeyState::Set => true,
                KeyState::Builtin => {
                    view.account.id != LOCAL_ACCOUNT_ID || self.local.key().is_some()
                }
                KeyState::Missing | KeyState::KeychainUnavailable { .. } => false,
            };
            if ready {
                self.connect(&view.account.id);
            }
        }
    }
}
