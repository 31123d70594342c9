//! IAM: the IBM Cloud API key is exchanged for an access token (form-encoded
//! `POST /identity/token`), which lives in memory only, is renewed before it expires (when fewer
//! than max(6 minutes, a tenth of its life) remain, as IBM's own Rust client does) and exchanged
//! again once when the API answers 401. IAM refusing the key (400) is "unauthorized" at once,
//! never retried.

use std::time::Duration;

use porthole_core::{Error, ErrorCode};
use porthole_secrets::Sensitive;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::wire::IamToken;
use crate::http::{HttpClient, HttpError, RetryPolicy};

/// IBM Cloud's IAM, where no account says otherwise.
pub const DEFAULT_IAM_URL: &str = "https://iam.cloud.ibm.com";

/// The longest a token is trusted for, whatever IAM says (IBM documents one hour).
const MAX_LIFETIME: Duration = Duration::from_secs(3600);

/// Renewed when fewer than this remain, or a tenth of its lifetime if that is more.
const MIN_MARGIN: Duration = Duration::from_secs(360);

struct Held {
    token: Sensitive<String>,
    obtained: Instant,
    lifetime: Duration,
}

impl Held {
    fn fresh(&self, now: Instant) -> bool {
        let margin = MIN_MARGIN.max(self.lifetime / 10);
        now + margin < self.obtained + self.lifetime
    }
}

pub struct Iam {
    http: HttpClient,
    key: Sensitive<String>,
    held: Mutex<Option<Held>>,
}

impl Iam {
    pub fn new(iam_url: &str, key: Sensitive<String>, policy: RetryPolicy) -> Result<Self, Error> {
        Ok(Self {
            http: HttpClient::new(iam_url, None, policy)?,
            key,
            held: Mutex::new(None),
        })
    }

    /// A token that is good for a while yet, exchanging the key when there is none.
    pub async fn token(&self) -> Result<Sensitive<String>, Error> {
        let mut held = self.held.lock().await;
        if let Some(h) = held.as_ref().filter(|h| h.fresh(Instant::now())) {
            return Ok(h.token.clone());
        }
        let new = self.exchange().await?;
        let token = new.token.clone();
        *held = Some(new);
        Ok(token)
    }

    /// The API refused `rejected` (401): forget it, so the next `token` exchanges again (once:
    /// a token that was just obtained is kept).
    pub async fn forget(&self, rejected: &Sensitive<String>) {
        let mut held = self.held.lock().await;
        if held
            .as_ref()
            .is_some_and(|h| h.token.expose() == rejected.expose())
        {
            *held = None;
        }
    }

    async fn exchange(&self) -> Result<Held, Error> {
        let form = [
            ("grant_type", "urn:ibm:params:oauth:grant-type:apikey"),
            ("apikey", self.key.expose().as_str()),
            ("response_type", "cloud_iam"),
        ];
        let answer: IamToken = self
            .http
            .post_form("identity/token", &form)
            .await
            .map_err(iam_error)?;
        if answer.access_token.trim().is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidResponse,
                "IBM Cloud IAM answered without an access token.",
            ));
        }
        let now_unix = chrono::Utc::now().timestamp();
        let seconds = answer
            .expires_in
            .or_else(|| answer.expiration.map(|at| at - now_unix))
            .unwrap_or(3600)
            .max(0);
        Ok(Held {
            token: Sensitive::new(answer.access_token),
            obtained: Instant::now(),
            lifetime: Duration::from_secs(seconds.unsigned_abs()).min(MAX_LIFETIME),
        })
    }
}

/// IAM's refusals in IBM's words: a 400 or 401 from IAM means the key itself was rejected.
fn iam_error(err: HttpError) -> Error {
    match err.status() {
        Some(400 | 401 | 403) => Error::new(
            ErrorCode::Unauthorized,
            format!(
                "The IBM Cloud API key was rejected by IAM: {}",
                err.into_error(ErrorCode::Unauthorized).message
            ),
        ),
        Some(404) => Error::new(
            ErrorCode::InvalidInput,
            "The IAM URL does not exchange API keys (no /identity/token there): check the \
             account's IAM URL.",
        ),
        _ => err.into_error(ErrorCode::UpstreamUnavailable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_renewed_before_the_larger_of_six_minutes_and_a_tenth_of_its_life() {
        let now = Instant::now();
        let held = |lifetime_s: u64| Held {
            token: Sensitive::new("t".into()),
            obtained: now,
            lifetime: Duration::from_secs(lifetime_s),
        };
        let hour = held(3600);
        assert!(hour.fresh(now + Duration::from_secs(3600 - 361)));
        assert!(!hour.fresh(now + Duration::from_secs(3600 - 360)));
        let day = held(36_000);
        assert!(
            !day.fresh(now + Duration::from_secs(36_000 - 3_600)),
            "a tenth of 10 h"
        );
        assert!(day.fresh(now + Duration::from_secs(36_000 - 3_601)));
    }
}
