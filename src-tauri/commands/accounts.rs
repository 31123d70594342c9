//! Accounts: list, add (only once the key has worked), set a key, rename, remove, test, and the
//! default. Keys arrive once from the UI and never go back to it.

use std::collections::BTreeMap;

use porthole_core::accounts::AccountView;
use porthole_core::model::ProviderKind;
use porthole_secrets::Sensitive;
use serde::Deserialize;
use tauri::State;

use porthole_local::pairing::Pairing;

use crate::error::ApiError;
use crate::state::{AppState, PairingOffered};

/// What the Add Account form sends. No `Debug`: it carries the key, which must never be printed.
#[derive(Deserialize, specta::Type)]
pub struct NewAccount {
    pub name: String,
    pub provider: ProviderKind,
    pub base_url: String,
    /// The API key: stored in the OS keychain, never echoed back.
    pub key: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

#[tauri::command]
#[specta::specta]
pub async fn list_accounts(state: State<'_, AppState>) -> Result<Vec<AccountView>, ApiError> {
    let accounts = state.accounts();
    // The keychain is a blocking D-Bus call: keep it off the async workers.
    blocking(move || accounts.list()).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_account(
    state: State<'_, AppState>,
    account: NewAccount,
) -> Result<AccountView, ApiError> {
    let accounts = state.accounts();
    let key = Sensitive::new(account.key);
    let added = accounts
        .add(
            &account.name,
            account.provider,
            &account.base_url,
            account.fields,
            key,
        )
        .await?;
    state.connect(&added.id);
    view_of(state.accounts(), added.id).await
}

/// Adds the portholed a pairing string names (pasted: `pairing`; or the one a
/// `porthole://pair` link offered, when `pairing` is null). The string's one-time token is
/// exchanged for the key over TLS pinned to its fingerprint.
#[tauri::command]
#[specta::specta]
pub async fn pair_account(
    state: State<'_, AppState>,
    name: String,
    pairing: Option<String>,
) -> Result<AccountView, ApiError> {
    let pairing = match pairing {
        Some(text) => Pairing::parse(&text)?,
        None => state
            .offered_pairing()
            .ok_or_else(porthole_local::pairing::none_waiting)?,
    };
    let added = state.accounts().pair(&name, &pairing).await?;
    state.forget_offered_pairing();
    state.connect(&added.id);
    view_of(state.accounts(), added.id).await
}

/// Where a pasted pairing string leads (its address and certificate), for the form to show
/// before the person confirms; refused with the reason when it is not one. Its token is not
/// spent (nor returned).
#[tauri::command]
#[specta::specta]
pub fn read_pairing(pairing: String) -> Result<PairingOffered, ApiError> {
    Ok(PairingOffered::of(&Pairing::parse(&pairing)?))
}

/// What a `porthole://pair` link offered, if it waits (the `pairing-offered` event's payload).
#[tauri::command]
#[specta::specta]
pub fn offered_pairing(state: State<'_, AppState>) -> Option<PairingOffered> {
    state.offered_pairing().as_ref().map(PairingOffered::of)
}

/// Forgets what a link offered (the person closed the form).
#[tauri::command]
#[specta::specta]
pub fn dismiss_offered_pairing(state: State<'_, AppState>) {
    state.forget_offered_pairing();
}

#[tauri::command]
#[specta::specta]
pub async fn set_account_key(
    state: State<'_, AppState>,
    id: String,
    key: String,
) -> Result<AccountView, ApiError> {
    let account = state.accounts().set_key(&id, Sensitive::new(key)).await?;
    state.connect(&account.id);
    view_of(state.accounts(), account.id).await
}

#[tauri::command]
#[specta::specta]
pub async fn edit_account(
    state: State<'_, AppState>,
    id: String,
    name: Option<String>,
    base_url: Option<String>,
) -> Result<AccountView, ApiError> {
    let accounts = state.accounts();
    let account = accounts
        .store()
        .edit(&id, name.as_deref(), base_url.as_deref())?;
    if base_url.is_some() {
        state.connect(&account.id);
    }
    view_of(accounts, account.id).await
}

#[tauri::command]
#[specta::specta]
pub async fn remove_account(state: State<'_, AppState>, id: String) -> Result<(), ApiError> {
    let accounts = state.accounts();
    let removed = blocking(move || accounts.remove(&id)).await?;
    state.hub.unwatch(&removed.id);
    Ok(())
}

/// Tries the stored key against the provider.
#[tauri::command]
#[specta::specta]
pub async fn test_account(state: State<'_, AppState>, id: String) -> Result<(), ApiError> {
    state.accounts().test(&id).await?;
    Ok(())
}

/// What the account's provider tells about it (IBM: the instance's usage against its limit).
#[tauri::command]
#[specta::specta]
pub async fn account_details(
    state: State<'_, AppState>,
    id: String,
) -> Result<Vec<porthole_core::model::Detail>, ApiError> {
    Ok(state.hub.account_details(&id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn set_default_account(
    state: State<'_, AppState>,
    id: String,
) -> Result<AccountView, ApiError> {
    let accounts = state.accounts();
    let account = accounts.store().set_default(&id)?;
    view_of(accounts, account.id).await
}

async fn view_of(
    accounts: porthole_providers::accounts::Accounts,
    id: String,
) -> Result<AccountView, ApiError> {
    blocking(move || {
        accounts
            .list()?
            .into_iter()
            .find(|v| v.account.id == id)
            .ok_or_else(|| porthole_core::Error::invalid_input(format!("no account {id}")))
    })
    .await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> porthole_core::error::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)
}
