//! `porthole://` links: `porthole://session/<account>/<id>` opens (or focuses) that session.
//! A link is only ever acted on after it parsed here and its account exists.

use crate::error::{Error, Result};

/// The URL scheme the app registers.
pub const SCHEME: &str = "porthole";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeepLink {
    Session {
        account_id: String,
        session_id: String,
    },
}

impl DeepLink {
    /// Parses a link as the desktop hands it over. Anything else than the forms above is refused
    /// with a message that names the expected form (and never echoes more than a short prefix).
    pub fn parse(link: &str) -> Result<Self> {
        let refuse = || {
            let shown: String = link.chars().take(80).collect();
            Error::invalid_input(format!(
                "Porthole cannot open “{shown}”: links look like porthole://session/<account>/<session id>."
            ))
        };
        let rest = link
            .strip_prefix(SCHEME)
            .and_then(|r| r.strip_prefix("://"))
            .ok_or_else(refuse)?;
        let rest = rest.trim_end_matches('/');
        let mut parts = rest.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("session"), Some(account), Some(session), None)
                if is_id(account) && is_id(session) =>
            {
                Ok(DeepLink::Session {
                    account_id: account.to_owned(),
                    session_id: session.to_owned(),
                })
            }
            _ => Err(refuse()),
        }
    }

    /// The first `porthole://` link among a program's arguments (a desktop entry's `%u`).
    pub fn find_in_args<I: IntoIterator<Item = S>, S: AsRef<str>>(args: I) -> Option<String> {
        args.into_iter()
            .map(|a| a.as_ref().to_owned())
            .find(|a| a.starts_with(&format!("{SCHEME}:")))
    }
}

/// Account and session ids: letters, digits, `-`, `_`, `.` (not first), at most 128 characters.
fn is_id(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_links_parse() {
        assert_eq!(
            DeepLink::parse("porthole://session/local/0b9c6a1e-1f2d-4c5e-9a7b-123456789abc"),
            Ok(DeepLink::Session {
                account_id: "local".into(),
                session_id: "0b9c6a1e-1f2d-4c5e-9a7b-123456789abc".into()
            })
        );
        assert_eq!(
            DeepLink::parse("porthole://session/my-cloud_2/abc/"),
            Ok(DeepLink::Session {
                account_id: "my-cloud_2".into(),
                session_id: "abc".into()
            })
        );
    }

    #[test]
    fn anything_else_is_refused_with_the_expected_form() {
        for bad in [
            "porthole://session/local",
            "porthole://session/local/a/b",
            "porthole://session//a",
            "porthole://sessions/local/a",
            "porthole://session/../a",
            "porthole://session/lo cal/a",
            "porthole://session/local/a?x=1",
            "http://session/local/a",
            "porthole:session/local/a",
            "",
        ] {
            let err = DeepLink::parse(bad).expect_err(bad);
            assert_eq!(err.code, crate::ErrorCode::InvalidInput, "{bad}");
            assert!(err
                .message
                .contains("porthole://session/<account>/<session id>"));
        }
        let long = format!("porthole://{}", "x".repeat(500));
        assert!(DeepLink::parse(&long).unwrap_err().message.len() < 200);
    }

    #[test]
    fn links_are_found_among_arguments() {
        assert_eq!(
            DeepLink::find_in_args(["porthole-desktop", "--flag", "porthole://session/a/b"]),
            Some("porthole://session/a/b".to_owned())
        );
        assert_eq!(DeepLink::find_in_args(["porthole-desktop"]), None);
    }
}
