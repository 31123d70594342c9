//! `porthole://` links: `porthole://session/<account>/<id>` opens (or focuses) that session;
//! `porthole://pair?code=<pairing string>` offers to add the portholed it names (the string is
//! read by `porthole_local::pairing`). A link is only ever acted on after it parsed here (and,
//! for a session, its account exists).

use crate::error::{Error, Result};

/// The URL scheme the app registers.
pub const SCHEME: &str = "porthole";

#[derive(Clone, PartialEq, Eq)]
pub enum DeepLink {
    Session {
        account_id: String,
        session_id: String,
    },
    /// The whole link: its code carries a one-time pairing token, so it is never printed.
    Pair { link: String },
}

impl std::fmt::Debug for DeepLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeepLink::Session {
                account_id,
                session_id,
            } => write!(f, "Session({account_id}/{session_id})"),
            DeepLink::Pair { .. } => f.write_str("Pair(<redacted>)"),
        }
    }
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
        if let Some(code) = rest.strip_prefix("pair?code=") {
            let url_safe =
                |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '=');
            if !code.is_empty() && code.len() <= 4096 && code.chars().all(url_safe) {
                return Ok(DeepLink::Pair {
                    link: link.to_owned(),
                });
            }
            return Err(Error::invalid_input(
                "Porthole cannot open that pairing link: it is cut or altered. Run `portholed \
                 pair` on the server again.",
            ));
        }
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
    fn pairing_links_parse_and_never_print_their_code() {
        let link = "porthole://pair?code=porthole-pair:v1:aHR0cHM6Ly94";
        let parsed = DeepLink::parse(link).unwrap();
        assert_eq!(parsed, DeepLink::Pair { link: link.into() });
        assert!(!format!("{parsed:?}").contains("aHR0"));
        for bad in [
            "porthole://pair?code=",
            "porthole://pair?code=a b",
            "porthole://pair?code=<x>",
        ] {
            let err = DeepLink::parse(bad).unwrap_err();
            assert!(
                err.message.contains("pairing link"),
                "{bad}: {}",
                err.message
            );
        }
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
