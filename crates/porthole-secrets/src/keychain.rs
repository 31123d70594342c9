//! The OS keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows)
//! through keyring 3, with every failure turned into a coded error that says what to do.

use porthole_core::{Error, ErrorCode};

use crate::Sensitive;

/// The keychain service name: the app identifier, so entries are easy to find and never clash.
pub const SERVICE: &str = "dev.porthole.desktop";

/// The entries the self-test writes, reads and deletes: one per call (`-<pid>-<n>`), so two
/// self-tests at once (the window and a command asking together) never delete each other's.
const PROBE_USER: &str = "porthole-self-test";

static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One keychain namespace. Entries are `(service, user)` pairs; `user` is an account id.
#[derive(Debug, Clone)]
pub struct Keychain {
    service: String,
}

impl Default for Keychain {
    fn default() -> Self {
        Self::new(SERVICE)
    }
}

impl Keychain {
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    fn entry(&self, user: &str) -> Result<keyring::Entry, Error> {
        keyring::Entry::new(&self.service, user).map_err(|e| map_error(&e))
    }

    /// Stores (or replaces) the secret for `user`.
    pub fn set(&self, user: &str, secret: &Sensitive<String>) -> Result<(), Error> {
        let entry = self.entry(user)?;
        again_if_dropped(|| entry.set_password(secret.expose())).map_err(|e| map_error(&e))
    }

    /// Reads the secret for `user`; `None` when there is none.
    pub fn get(&self, user: &str) -> Result<Option<Sensitive<String>>, Error> {
        let entry = self.entry(user)?;
        match again_if_dropped(|| entry.get_password()) {
            Ok(secret) => Ok(Some(Sensitive::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_error(&e)),
        }
    }

    /// Deletes the secret for `user`; deleting a missing entry is not an error.
    pub fn delete(&self, user: &str) -> Result<(), Error> {
        let entry = self.entry(user)?;
        match again_if_dropped(|| entry.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(&e)),
        }
    }

    /// Writes, reads back and deletes a probe entry. `Ok` means keys can really be stored.
    pub fn self_test(&self) -> Result<(), Error> {
        let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let user = format!("{PROBE_USER}-{}-{n}", std::process::id());
        let probe = Sensitive::new(format!("probe-{}-{n}", std::process::id()));
        self.set(&user, &probe)?;
        let read = self.get(&user);
        let deleted = self.delete(&user);
        match read? {
            Some(back) if back == probe => {}
            Some(_) => {
                return Err(Error::new(
                    ErrorCode::KeychainUnavailable,
                    "The keychain returned a different value than was stored. Check which \
                     program provides the Secret Service on this desktop.",
                ))
            }
            None => {
                return Err(Error::new(
                    ErrorCode::KeychainUnavailable,
                    "The keychain accepted a key but did not keep it (an in-memory store?). \
                     Start a persistent Secret Service such as gnome-keyring.",
                ))
            }
        }
        deleted
    }
}

/// The self-test of the default keychain, for callers that only want a yes or a coded no.
pub fn self_test() -> Result<(), Error> {
    Keychain::default().self_test()
}

/// How long to wait before asking again a Secret Service that dropped a call.
const AGAIN_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// Runs a keychain call, and once more if the Secret Service went away without answering (its
/// daemon crashed or was restarted; D-Bus starts it again on the next call). Every call here is
/// safe to repeat: a read, a write that replaces, a delete that accepts a missing entry.
fn again_if_dropped<T>(call: impl Fn() -> Result<T, keyring::Error>) -> Result<T, keyring::Error> {
    match call() {
        Err(e) if dropped(&e) => {
            tracing::warn!("the Secret Service dropped a call; asking again ({e})");
            std::thread::sleep(AGAIN_AFTER);
            call()
        }
        other => other,
    }
}

/// The Secret Service's process left the bus while it held our call. (Not a timeout: a call
/// that timed out, say behind an unlock prompt, is not asked again.)
fn dropped(err: &keyring::Error) -> bool {
    match err {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => inner
            .to_string()
            .to_ascii_lowercase()
            .contains("disconnected from message bus"),
        _ => false,
    }
}

/// Turns a keyring error into a coded error with a human explanation. Never includes a secret:
/// keyring's errors carry none.
fn map_error(err: &keyring::Error) -> Error {
    let unavailable = |msg: String| Error::new(ErrorCode::KeychainUnavailable, msg);
    match err {
        keyring::Error::NoStorageAccess(inner) => unavailable(explain(&inner.to_string())),
        keyring::Error::PlatformFailure(inner) => unavailable(explain(&inner.to_string())),
        keyring::Error::BadEncoding(_) => Error::new(
            ErrorCode::InvalidResponse,
            "The keychain holds a key that is not valid text. Remove and re-add the account.",
        ),
        keyring::Error::TooLong(what, max) => Error::invalid_input(format!(
            "The {what} is longer than the keychain allows ({max} characters)."
        )),
        keyring::Error::Invalid(what, why) => {
            Error::invalid_input(format!("The keychain refused the {what}: {why}."))
        }
        keyring::Error::Ambiguous(_) => unavailable(
            "The keychain holds several entries for this account. Remove the duplicates with \
             your keychain manager (for example Seahorse) and try again."
                .to_owned(),
        ),
        keyring::Error::NoEntry => Error::new(ErrorCode::InvalidInput, "No key is stored."),
        other => unavailable(format!("The keychain failed: {other}")),
    }
}

/// Adds what to do to the platform's message, for the failures people actually meet.
fn explain(detail: &str) -> String {
    let lower = detail.to_ascii_lowercase();
    let advice = if lower.contains("dismissed") {
        "The keychain's unlock prompt was dismissed. Unlock your login keyring and try again."
    } else if lower.contains("locked") {
        "The keychain is locked. Unlock your login keyring (for example with Seahorse) and try again."
    } else if lower.contains("serviceunknown")
        || lower.contains("org.freedesktop.secrets")
        || lower.contains("not provided by any .service")
    {
        "No Secret Service is running on the session bus. Install and start gnome-keyring \
         (or another Secret Service provider such as KeePassXC) and sign in again."
    } else if lower.contains("dbus_session_bus_address")
        || lower.contains("session bus")
        || lower.contains("no such file or directory")
        || lower.contains("connection refused")
    {
        "There is no D-Bus session bus, so the keychain cannot be reached. Run Porthole inside a \
         desktop session (or under dbus-run-session with gnome-keyring unlocked)."
    } else {
        "The keychain cannot be used right now."
    };
    format!("{advice} ({detail})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_bus_is_explained() {
        let msg = explain("Unable to autolaunch a dbus-daemon without a $DISPLAY for X11; DBUS_SESSION_BUS_ADDRESS not set");
        assert!(msg.starts_with("There is no D-Bus session bus"), "{msg}");
    }

    #[test]
    fn missing_secret_service_is_explained() {
        let msg = explain("org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided by any .service files");
        assert!(msg.starts_with("No Secret Service is running"), "{msg}");
    }

    #[test]
    fn dismissed_prompt_is_explained() {
        let msg = explain("Prompt was dismissed");
        assert!(msg.contains("unlock prompt was dismissed"), "{msg}");
    }

    #[test]
    fn platform_failures_are_keychain_unavailable() {
        let err = map_error(&keyring::Error::PlatformFailure("boom".into()));
        assert_eq!(err.code, ErrorCode::KeychainUnavailable);
        assert!(err.message.contains("boom"));
    }

    #[test]
    fn only_a_dropped_call_is_asked_again() {
        let dropped_call = || {
            keyring::Error::PlatformFailure(
                "DBus error: Message recipient disconnected from message bus without replying"
                    .into(),
            )
        };
        let calls = std::cell::Cell::new(0);
        let result = again_if_dropped(|| {
            calls.set(calls.get() + 1);
            if calls.get() == 1 {
                Err(dropped_call())
            } else {
                Ok("answered")
            }
        });
        assert_eq!(result.unwrap(), "answered");
        assert_eq!(calls.get(), 2);

        // Twice dropped: the error stands (no loop).
        calls.set(0);
        let result: Result<(), _> = again_if_dropped(|| {
            calls.set(calls.get() + 1);
            Err(dropped_call())
        });
        assert!(result.is_err());
        assert_eq!(calls.get(), 2);

        // Anything else is answered at once: a dismissed prompt is the user's choice.
        calls.set(0);
        let result: Result<(), _> = again_if_dropped(|| {
            calls.set(calls.get() + 1);
            Err(keyring::Error::PlatformFailure(
                "Prompt was dismissed".into(),
            ))
        });
        assert!(result.is_err());
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn round_trip_through_the_mock_store() {
        // keyring's mock keeps each Entry's value on that Entry only, so a fresh Entry per call
        // (as Keychain does) reads nothing back: the self-test must call that out as unusable.
        keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
        let err = Keychain::new("porthole-test")
            .self_test()
            .expect_err("mock keeps nothing");
        assert_eq!(err.code, ErrorCode::KeychainUnavailable);
        assert!(err.message.contains("did not keep it"), "{}", err.message);
    }
}
