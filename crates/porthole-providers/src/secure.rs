//! Where a provider's credentials may be sent: over https, or to this machine (tests, a private
//! deployment's tunnel).

use porthole_core::Error;

/// `url` if it is https or loopback; otherwise a coded `invalid_input` naming `what` (the field)
/// and what is sent there.
pub fn over_https(url: &str, what: &str, sent: &str) -> Result<(), Error> {
    let parsed = crate::http::parse_base_url(url)?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if parsed.scheme() == "https" || loopback {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "The {what} must start with https:// ({sent} sent there), not {url:?}."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_over_https_or_stay_on_this_machine() {
        let check = |url: &str| over_https(url, "API URL", "the key is");
        assert!(check("https://api.example/v0").is_ok());
        assert!(check("http://127.0.0.1:9/v0").is_ok());
        assert!(check("http://localhost:9/v0").is_ok());
        let err = check("http://api.example/v0").unwrap_err();
        assert!(err
            .message
            .contains("API URL must start with https:// (the key is sent there)"));
    }
}
