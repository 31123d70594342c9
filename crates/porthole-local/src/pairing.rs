//! Pairing a client with a portholed on another machine: one string that carries the server's
//! address, its certificate's fingerprint and a one-time pairing token. `portholed pair` makes
//! it; the app and `porthole accounts add NAME --pair` read it, redeem the token for the API key
//! over TLS pinned to that fingerprint, and keep the fingerprint with the account.
//!
//! The string is `porthole-pair:v1:` then, base64url, three lines: the API base URL
//! (`https://HOST:PORT/api`), the fingerprint and the token. As a link it is
//! `porthole://pair?code=<the string>`. The token is good once and for ten minutes, so the
//! string is no lasting secret (the API key itself never travels in it).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use porthole_core::error::{Error, Result};
use porthole_secrets::Sensitive;
use sha2::{Digest, Sha256};

const PREFIX: &str = "porthole-pair:v1:";
const LINK_PREFIX: &str = "porthole://pair?code=";

/// The route, under the API base, where a pairing token is exchanged for the key.
pub const REDEEM_PATH: &str = "/pair";

/// The account setting that holds a paired server's certificate fingerprint.
pub use porthole_core::descriptor::TLS_FINGERPRINT_FIELD as FINGERPRINT_FIELD;

/// The SHA-256 of a certificate's DER bytes: what a paired client pins.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// `sha256:` and 64 hex digits, as [`Display`](fmt::Display) writes it; also without the
    /// prefix, in either case, with `:` between bytes (as other tools print fingerprints).
    pub fn parse(text: &str) -> Result<Self> {
        let refuse = || {
            Error::invalid_input(
                "A certificate fingerprint is sha256: and 64 hex digits (what `portholed pair` \
                 prints).",
            )
        };
        let text = text.trim();
        let hex: String = text
            .strip_prefix("sha256:")
            .or_else(|| text.strip_prefix("SHA256:"))
            .unwrap_or(text)
            .chars()
            .filter(|c| *c != ':')
            .collect();
        if hex.len() != 64 {
            return Err(refuse());
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(refuse)?, 16)
                .map_err(|_| refuse())?;
        }
        Ok(Self(bytes))
    }

    /// The first 8 bytes, for messages (`ab12cd34…`).
    pub fn short(&self) -> String {
        self.0[..4].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Where a pairing string comes from, for prompts ("Pairing string for NAME (…): ").
pub const WHERE_FROM: &str = "from `portholed pair` on the server";

/// Asked to use the pairing a link offered when none waits.
pub fn none_waiting() -> Error {
    Error::invalid_input(format!(
        "No pairing is waiting: paste the string {WHERE_FROM}."
    ))
}

/// What a pairing string carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Pairing {
    /// `https://HOST:PORT/api`.
    pub base_url: String,
    pub fingerprint: Fingerprint,
    /// The one-time token (never logged).
    pub token: Sensitive<String>,
}

impl Pairing {
    /// The pairing string.
    pub fn encode(&self) -> String {
        let body = format!(
            "{}\n{}\n{}",
            self.base_url,
            self.fingerprint,
            self.token.expose()
        );
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(body))
    }

    /// The same as a `porthole://pair?code=…` link (the string is URL-safe as it is).
    pub fn link(&self) -> String {
        format!("{LINK_PREFIX}{}", self.encode())
    }

    /// Reads a pairing string or link as pasted (surrounding space and quotes ignored). Never
    /// echoes what it was given: it holds a token.
    pub fn parse(text: &str) -> Result<Self> {
        let refuse = |why: &str| {
            Error::invalid_input(format!(
                "That is not a pairing string: {why}. Run `portholed pair` on the server and \
                 paste the whole line it prints (porthole-pair:v1:…), or open its \
                 porthole://pair link."
            ))
        };
        let text = text.trim().trim_matches(|c| c == '"' || c == '\'');
        let code = text
            .strip_prefix(LINK_PREFIX)
            .map(|rest| rest.split('&').next().unwrap_or(rest))
            .unwrap_or(text);
        let encoded = code
            .strip_prefix(PREFIX)
            .ok_or_else(|| refuse("it does not start with porthole-pair:v1:"))?;
        let body = URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| refuse("it is cut or altered"))?;
        let mut lines = body.lines();
        let (Some(base_url), Some(fingerprint), Some(token), None) =
            (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return Err(refuse("it is cut or altered"));
        };
        if !base_url.starts_with("https://") {
            return Err(refuse("its server address is not https"));
        }
        if token.trim().is_empty() {
            return Err(refuse("it carries no token"));
        }
        Ok(Self {
            base_url: base_url.to_owned(),
            fingerprint: Fingerprint::parse(fingerprint)
                .map_err(|_| refuse("its fingerprint is cut"))?,
            token: Sensitive::new(token.to_owned()),
        })
    }

    /// Whether `text` looks like a pairing string or link (for a field that takes a key or a
    /// pairing string).
    pub fn looks_like(text: &str) -> bool {
        let text = text.trim();
        text.starts_with(PREFIX) || text.starts_with(LINK_PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Pairing {
        Pairing {
            base_url: "https://192.0.2.7:7788/api".into(),
            fingerprint: Fingerprint::of_der(b"certificate"),
            token: Sensitive::new("tok-123".into()),
        }
    }

    #[test]
    fn a_pairing_string_and_its_link_read_back() {
        let p = sample();
        assert_eq!(Pairing::parse(&p.encode()).unwrap(), p);
        assert_eq!(Pairing::parse(&p.link()).unwrap(), p);
        assert_eq!(
            Pairing::parse(&format!("  \"{}\"\n", p.encode())).unwrap(),
            p
        );
        assert!(Pairing::looks_like(&p.link()) && Pairing::looks_like(&p.encode()));
        assert!(!Pairing::looks_like("eyJhbGciOi.key"));
    }

    #[test]
    fn a_damaged_string_is_refused_without_echoing_it() {
        let good = sample().encode();
        for bad in [
            "hello".to_owned(),
            good[..good.len() - 12].to_owned(),
            good.replace("porthole-pair:v1:", "porthole-pair:v2:"),
            format!(
                "{PREFIX}{}",
                URL_SAFE_NO_PAD.encode("http://x/api\nsha256:00\ntok")
            ),
        ] {
            let err = Pairing::parse(&bad).unwrap_err();
            assert!(
                err.message.contains("not a pairing string"),
                "{}",
                err.message
            );
            assert!(!err.message.contains("tok"), "{}", err.message);
        }
    }

    #[test]
    fn fingerprints_read_in_the_usual_spellings() {
        let fp = Fingerprint::of_der(b"x");
        let text = fp.to_string();
        assert!(text.starts_with("sha256:") && text.len() == 7 + 64);
        assert_eq!(Fingerprint::parse(&text).unwrap(), fp);
        let colons: Vec<String> = text.as_bytes()[7..]
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).to_uppercase())
            .collect();
        assert_eq!(Fingerprint::parse(&colons.join(":")).unwrap(), fp);
        assert!(Fingerprint::parse("sha256:12").is_err());
        assert_ne!(Fingerprint::of_der(b"y"), fp);
    }
}
