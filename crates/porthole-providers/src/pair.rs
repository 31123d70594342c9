//! Pairing with a portholed on another machine: the one-time token of a pairing string is
//! exchanged for the server's API key over TLS pinned to the string's fingerprint, then the
//! account is added like any other (its key checked, kept in the keychain) with that fingerprint
//! among its settings, so every later request is pinned too. Its sessions are reached through
//! the server's tunnel ([`Accounts::tunnel`]).

use std::collections::BTreeMap;

use porthole_core::model::{Account, ProviderKind};
use porthole_core::{Error, ErrorCode};
use porthole_local::pairing::{Fingerprint, Pairing, FINGERPRINT_FIELD, REDEEM_PATH};
use porthole_local::pinned::Pin;
use porthole_local::tunnel::Tunnel;
use porthole_secrets::Sensitive;
use reqwest::Method;
use serde::Deserialize;

use crate::accounts::Accounts;
use crate::http::{HttpClient, RetryPolicy};

#[derive(Deserialize)]
struct Redeemed {
    key: String,
}

/// The server's API key for the token in `pairing` (the token is spent: it works once).
pub async fn redeem(pairing: &Pairing) -> Result<Sensitive<String>, Error> {
    let http = HttpClient::new(&pairing.base_url, None, RetryPolicy::default())?
        .with_pin(Pin::new(pairing.fingerprint))?;
    let body = serde_json::json!({ "token": pairing.token.expose() });
    let redeemed: Redeemed = http
        .send_json(Method::POST, REDEEM_PATH, Some(&body), None)
        .await
        .map_err(|e| match e.into_error(ErrorCode::InvalidInput) {
            e if e.code == ErrorCode::Unauthorized => Error::new(
                ErrorCode::Unauthorized,
                "The server refused the pairing string: it was used already or is more than ten \
                 minutes old. Run `portholed pair` there again for a new one.",
            ),
            e => e,
        })?;
    Ok(Sensitive::new(redeemed.key))
}

impl Accounts {
    /// How to reach `account`'s sessions when they listen on another computer's loopback: the
    /// tunnel of a paired portholed (one with a pinned certificate), or none (direct).
    pub fn tunnel(&self, account: &Account) -> Result<Option<Tunnel>, Error> {
        let pinned = account
            .fields
            .get(FINGERPRINT_FIELD)
            .filter(|f| !f.trim().is_empty());
        match (account.provider, pinned) {
            (ProviderKind::Portholed, Some(fingerprint)) => Ok(Some(Tunnel::new(
                &account.base_url,
                Fingerprint::parse(fingerprint)?,
                self.key(account)?,
            )?)),
            _ => Ok(None),
        }
    }

    /// Adds the portholed a pairing string names, as `name`.
    pub async fn pair(&self, name: &str, pairing: &Pairing) -> Result<Account, Error> {
        // The name and address first: a string is spent when redeemed.
        self.store().check_new(name, &pairing.base_url)?;
        let key = redeem(pairing).await?;
        let fields = BTreeMap::from([(
            FINGERPRINT_FIELD.to_owned(),
            pairing.fingerprint.to_string(),
        )]);
        self.add(
            name,
            ProviderKind::Portholed,
            &pairing.base_url,
            fields,
            key,
        )
        .await
    }
}
