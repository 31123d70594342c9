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
    async fn answers(&self, url: &str) -> bool {
        url_answers(&self.client, url, self.timeout).await
    }
}
