//! Redirects the HTTP layer follows: on the account's own origin only (at most 5). One to another
//! host is refused, never followed with the key, and reported with the host's name.

/// The redirect policy: follow up to 5 redirects on the base URL's own origin; refuse any other.
pub(crate) fn same_origin_redirects(base: &url::Url) -> reqwest::redirect::Policy {
    let origin = base.origin();
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.url().origin() != origin {
            let other = attempt
                .url()
                .host_str()
                .unwrap_or("another host")
                .to_owned();
            attempt.error(RefusedRedirect::OtherHost(other))
        } else if attempt.previous().len() >= 5 {
            attempt.error(RefusedRedirect::Loop)
        } else {
            attempt.follow()
        }
    })
}

/// A redirect the client does not follow.
#[derive(Debug, Clone)]
pub(crate) enum RefusedRedirect {
    OtherHost(String),
    Loop,
}

impl RefusedRedirect {
    pub(crate) fn message(&self, host: &str) -> String {
        match self {
            RefusedRedirect::OtherHost(other) => format!(
                "{host} redirected the request to {other}, which Porthole does not follow (the \
                 API key is never sent to another host). Check the account's base URL."
            ),
            RefusedRedirect::Loop => format!(
                "{host} redirected the request more than 5 times. Check the account's base URL."
            ),
        }
    }
}

impl std::fmt::Display for RefusedRedirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefusedRedirect::OtherHost(other) => write!(f, "redirected to {other}"),
            RefusedRedirect::Loop => write!(f, "too many redirects"),
        }
    }
}

impl std::error::Error for RefusedRedirect {}

pub(crate) fn refused_redirect(err: &reqwest::Error) -> Option<RefusedRedirect> {
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<RefusedRedirect>() {
            return Some(refused.clone());
        }
        source = s.source();
    }
    None
}

/// `href` (a link a server gave) as a path under `base`, with its query; a link to another
/// origin, or outside the base, is refused as a redirect to it would be (`host` names the
/// account's server in the message).
pub fn path_under(base: &str, host: &str, href: &str) -> Result<String, crate::http::HttpError> {
    let refused = || {
        crate::http::HttpError::Redirected(format!(
            "The provider linked to {href:?}, outside {host}: not followed."
        ))
    };
    let base = url::Url::parse(&format!("{base}/")).map_err(|_| refused())?;
    let target = base.join(href).map_err(|_| refused())?;
    if target.origin() != base.origin() {
        return Err(refused());
    }
    let rest = target
        .path()
        .strip_prefix(base.path())
        .ok_or_else(refused)?
        .to_owned();
    Ok(match target.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest,
    })
}
