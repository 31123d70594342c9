//! Does a session's URL answer yet? A session is only "ready" once it does.

use std::time::Duration;

/// One probe: any HTTP answer that is not a gateway or server error counts as "up" (an auth
/// challenge still proves the server is there). Network failures and 5xx count as "not yet".
pub async fn url_answers(client: &reqwest::Client, url: &str, timeout: Duration) -> bool {
    match client.get(url).timeout(timeout).send().await {
        Ok(resp) => !resp.status().is_server_error() && resp.status().as_u16() != 404,
        Err(_) => false,
    }
}

/// A client suited to probing: short connect timeout, no redirects followed (a redirect is an
/// answer).
pub fn probe_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// The watcher's probe over HTTP.
pub struct HttpProbe {
    client: reqwest::Client,
    timeout: Duration,
}

impl Default for HttpProbe {
    fn default() -> Self {
        Self {
            client: probe_client(),
            timeout: Duration::from_secs(5),
        }
    }
}

#[async_trait::async_trait]
impl porthole_core::watcher::UrlProbe for HttpProbe {
    async fn answers(&self, _session_id: &str, url: &str) -> bool {
        url_answers(&self.client, url, self.timeout).await
    }
}

/// One probe for a command's sessions: over HTTP, or through a paired portholed's tunnel.
pub enum PageProbe {
    Http(reqwest::Client),
    Tunnel(porthole_local::tunnel::Tunnel),
}

impl PageProbe {
    /// Through `tunnel` when the sessions are reached that way, else over HTTP.
    pub fn new(tunnel: Option<porthole_local::tunnel::Tunnel>) -> Self {
        match tunnel {
            Some(tunnel) => Self::Tunnel(tunnel),
            None => Self::Http(probe_client()),
        }
    }

    /// Whether session `session_id`'s page at `url` answers within `timeout`.
    pub async fn answers(&self, session_id: &str, url: &str, timeout: Duration) -> bool {
        match self {
            Self::Http(client) => url_answers(client, url, timeout).await,
            Self::Tunnel(tunnel) => tunnel.page_answers(session_id, url, timeout).await,
        }
    }
}

/// The watcher's probe for sessions of a paired portholed, whose pages listen on that
/// computer's loopback: the same question asked through the server's tunnel (the URL's path,
/// its `Host`).
pub struct TunnelProbe(pub porthole_local::tunnel::Tunnel);

#[async_trait::async_trait]
impl porthole_core::watcher::UrlProbe for TunnelProbe {
    async fn answers(&self, session_id: &str, url: &str) -> bool {
        self.0
            .page_answers(session_id, url, Duration::from_secs(5))
            .await
    }
}
