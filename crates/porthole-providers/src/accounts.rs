//! Accounts put to use: the provider client for an account, its key from the keychain, and
//! adding an account only once its key has worked. The app and the CLI both go through here, so
//! they share one accounts file and the same keychain entries.

use std::collections::BTreeMap;
use std::sync::Arc;

use porthole_core::accounts::{AccountStore, AccountView, KeyState, LOCAL_ACCOUNT_ID};
use porthole_core::model::{Account, ProviderKind};
use porthole_core::provider::Provider;
use porthole_core::{Error, ErrorCode};
use porthole_local::pairing::{Fingerprint, FINGERPRINT_FIELD};
use porthole_local::pinned::Pin;
use porthole_secrets::{Keychain, Sensitive};

use crate::comfydeploy::{ComfyDeploy, ComfyDeployConfig};
use crate::http::RetryPolicy;
use crate::ibm_quantum::{IbmQuantum, IbmQuantumConfig};

/// The client for an account, given its key.
pub fn connect(account: &Account, key: Sensitive<String>) -> Result<Arc<dyn Provider>, Error> {
    // One of the account's settings, when it has a value.
    let field = |k: &str| {
        account
            .fields
            .get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    match account.provider {
        ProviderKind::ComfyDeploy | ProviderKind::Portholed => {
            Ok(Arc::new(ComfyDeploy::new(ComfyDeployConfig {
                account_id: account.id.clone(),
                kind: account.provider,
                base_url: account.base_url.clone(),
                key,
                policy: RetryPolicy::default(),
                pin: field(FINGERPRINT_FIELD)
                    .map(|f| Fingerprint::parse(&f).map(Pin::new))
                    .transpose()?,
            })?))
        }
        #[cfg(feature = "scripted")]
        ProviderKind::Scripted => Ok(Arc::new(crate::scripted::Scripted::new(
            &account.id,
            &account.base_url,
        )?)),
        ProviderKind::IbmQuantum => {
            let instance = field("instance").ok_or_else(|| {
                Error::invalid_input(
                    "An IBM Quantum account needs its instance CRN (--field instance=crn:v1:…).",
                )
            })?;
            // The usual base follows the CRN's region; any other one is the account's own.
            let base_url = match account.base_url.trim().trim_end_matches('/') {
                "" | crate::ibm_quantum::US_EAST_BASE_URL => {
                    crate::ibm_quantum::regional_base_url(&instance)?
                }
                url => url.to_owned(),
            };
            Ok(Arc::new(IbmQuantum::new(IbmQuantumConfig {
                account_id: account.id.clone(),
                base_url,
                instance,
                iam_url: field("iam_url")
                    .unwrap_or_else(|| crate::ibm_quantum::DEFAULT_IAM_URL.to_owned()),
                key,
                policy: RetryPolicy::default(),
            })?))
        }
        ProviderKind::Airplane => {
            if account.base_url.trim().is_empty() {
                return Err(Error::invalid_input(
                    "An Airplane account needs its server's API URL (--url https://…/v0): \
                     Airplane's own service has closed.",
                ));
            }
            Ok(Arc::new(crate::airplane::Airplane::new(
                crate::airplane::AirplaneConfig {
                    account_id: account.id.clone(),
                    base_url: account.base_url.clone(),
                    key,
                    team_id: field("team_id"),
                    env: field("env"),
                    policy: RetryPolicy::default(),
                },
            )?))
        }
    }
}

/// The cheapest authenticated call ([`Provider::check_access`]). A wrong key fails with the
/// provider's own reason, coded `unauthorized`.
pub async fn check_key(provider: &dyn Provider) -> Result<(), Error> {
    provider.check_access().await
}

/// The accounts file and the keychain, together.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: AccountStore,
    keychain: Keychain,
    /// The Local account's key: the embedded server's (app) or the local portholed's (CLI).
    local_key: Option<Sensitive<String>>,
    /// The Local account's base URL when the embedded server is not on the default port.
    local_base_url: Option<String>,
}

impl Accounts {
    pub fn new(store: AccountStore, keychain: Keychain) -> Self {
        Self {
            store,
            keychain,
            local_key: None,
            local_base_url: None,
        }
    }

    /// Where the Local account really is, and its key.
    pub fn with_local(mut self, base_url: Option<String>, key: Option<Sensitive<String>>) -> Self {
        self.local_base_url = base_url;
        self.local_key = key;
        self
    }

    pub fn store(&self) -> &AccountStore {
        &self.store
    }

    /// Every account with the state of its key.
    pub fn list(&self) -> Result<Vec<AccountView>, Error> {
        let default = self.store.default_id()?;
        Ok(self
            .store
            .list()?
            .into_iter()
            .map(|account| self.view(account, &default))
            .collect())
    }

    fn view(&self, account: Account, default: &str) -> AccountView {
        let account = self.located(account);
        let key = if account.id == LOCAL_ACCOUNT_ID {
            KeyState::Builtin
        } else {
            match self.keychain.get(&account.id) {
                Ok(Some(_)) => KeyState::Set,
                Ok(None) => KeyState::Missing,
                Err(e) => KeyState::KeychainUnavailable { message: e.message },
            }
        };
        AccountView {
            is_default: account.id == default,
            account,
            key,
        }
    }

    fn located(&self, mut account: Account) -> Account {
        if account.id == LOCAL_ACCOUNT_ID {
            if let Some(url) = &self.local_base_url {
                account.base_url = url.clone();
            }
        }
        account
    }

    pub fn get(&self, id_or_name: &str) -> Result<Account, Error> {
        Ok(self.located(self.store.get(id_or_name)?))
    }

    pub fn default_account(&self) -> Result<Account, Error> {
        Ok(self.located(self.store.default_account()?))
    }

    /// The account's key; a missing one is `unauthorized` with what to do.
    pub fn key(&self, account: &Account) -> Result<Sensitive<String>, Error> {
        let found = if account.id == LOCAL_ACCOUNT_ID {
            self.local_key.clone()
        } else {
            self.keychain.get(&account.id)?
        };
        found.ok_or_else(|| {
            let hint = if account.id == LOCAL_ACCOUNT_ID {
                "Start Porthole or `portholed` on this computer first.".to_owned()
            } else {
                format!(
                    "Set it again with `porthole accounts add` or in the Accounts screen \
                     (account \"{}\").",
                    account.name
                )
            };
            Error::new(
                ErrorCode::Unauthorized,
                format!("No key is stored for {}. {hint}", account.name),
            )
        })
    }

    /// The client for an account, with its key.
    pub fn provider(&self, account: &Account) -> Result<Arc<dyn Provider>, Error> {
        connect(account, self.key(account)?)
    }

    /// Adds an account after its key has worked against the provider; nothing is saved when
    /// it does not.
    pub async fn add(
        &self,
        name: &str,
        provider: ProviderKind,
        base_url: &str,
        fields: BTreeMap<String, String>,
        key: Sensitive<String>,
    ) -> Result<Account, Error> {
        if key.expose().trim().is_empty() {
            return Err(Error::invalid_input("Paste the account's API key."));
        }
        let key = Sensitive::new(key.expose().trim().to_owned());
        // Name, URL and settings first: a typo should not cost a network round trip.
        self.store.check_new(name, base_url)?;
        provider.descriptor().check_account_fields(&fields)?;
        let draft = Account {
            id: "draft".to_owned(),
            name: name.to_owned(),
            provider,
            base_url: base_url.trim().trim_end_matches('/').to_owned(),
            fields: fields.clone(),
        };
        check_key(connect(&draft, key.clone())?.as_ref()).await?;
        // The key is stored before the file names the account: the app watching the file would
        // otherwise find an account without its key and give up on it.
        let mut stored = None;
        let added = self
            .store
            .add_then(name, provider, base_url, fields, |account| {
                self.keychain.set(&account.id, &key)?;
                stored = Some(account.id.clone());
                Ok(())
            });
        if let (Err(_), Some(id)) = (&added, stored) {
            // The file could not be written: no key left behind for an account that is not there.
            let _ = self.keychain.delete(&id);
        }
        added
    }

    /// Replaces an account's key once the new one has worked.
    pub async fn set_key(
        &self,
        id_or_name: &str,
        key: Sensitive<String>,
    ) -> Result<Account, Error> {
        let account = self.get(id_or_name)?;
        if account.id == LOCAL_ACCOUNT_ID {
            return Err(Error::invalid_input(
                "The Local account's key is managed by portholed itself.",
            ));
        }
        let key = Sensitive::new(key.expose().trim().to_owned());
        check_key(connect(&account, key.clone())?.as_ref()).await?;
        self.keychain.set(&account.id, &key)?;
        // The key is stored either way; the note only tells a running app to use it at once.
        if let Err(e) = self.store.note_key_set(&account.id) {
            tracing::warn!(
                "the accounts file does not record the new key: {}",
                e.message
            );
        }
        Ok(account)
    }

    /// Tries the stored key against the provider.
    pub async fn test(&self, id_or_name: &str) -> Result<Account, Error> {
        let account = self.get(id_or_name)?;
        check_key(self.provider(&account)?.as_ref()).await?;
        Ok(account)
    }

    /// Removes the account and deletes its key.
    /// The key goes first: if the keychain cannot delete it, the account stays, still usable.
    pub fn remove(&self, id_or_name: &str) -> Result<Account, Error> {
        let account = self.store.get(id_or_name)?;
        if account.id != LOCAL_ACCOUNT_ID {
            self.keychain.delete(&account.id)?;
        }
        self.store.remove(&account.id)
    }
}
