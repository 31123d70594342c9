//! A value that must never be printed, logged or serialised: an API key.

use std::fmt;

/// Wraps a secret. `Debug` and `Display` print `<redacted>`; `Serialize` refuses, so a secret
/// cannot reach a config file or a webview by accident. Read it with [`Sensitive::expose`] at the
/// one place that needs it (building a request).
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself. Name the call site in review: it is where the key leaves this wrapper.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> serde::Serialize for Sensitive<T> {
    fn serialize<S: serde::Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "refusing to serialise a secret (Sensitive<T>)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let key = Sensitive::new("sk-live-123".to_owned());
        assert_eq!(format!("{key:?}"), "<redacted>");
        assert_eq!(format!("{key}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&key)), "Some(<redacted>)");
        assert_eq!(key.expose(), "sk-live-123");
    }

    #[test]
    fn serialising_fails_instead_of_leaking() {
        #[derive(serde::Serialize)]
        struct Account {
            name: String,
            key: Sensitive<String>,
        }
        let account = Account {
            name: "a".into(),
            key: Sensitive::new("sk-live-123".into()),
        };
        let err = serde_json::to_string(&account).expect_err("must refuse");
        assert!(err.to_string().contains("refusing"), "{err}");
    }
}
