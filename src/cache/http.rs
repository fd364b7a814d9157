//! The blocking HTTP client every backend sends its requests with: `GET`/`HEAD`/`PUT`, a 404 as
//! "nothing there", any other non-2xx status as an error that says what to fix.

use std::time::Duration;

/// One blocking agent for the build: short connect timeout (a server that is down costs a few
/// seconds once, then the tier is off), generous body timeouts (a 50 MB sidecar on a slow link).
pub(super) struct Client {
    agent: ureq::Agent,
}

impl Client {
    pub(super) fn new() -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(3)))
            .timeout_send_request(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(30)))
            .timeout_send_body(Some(Duration::from_secs(300)))
            .timeout_recv_body(Some(Duration::from_secs(300)))
            .user_agent(concat!("pyinstaller-build/", env!("CARGO_PKG_VERSION")))
            .build();
        Client { agent: ureq::Agent::new_with_config(config) }
    }

    /// The body at `url`, at most `limit` bytes; `None` when the server has nothing there.
    pub(super) fn get(&self, url: &str, headers: &[(String, String)], limit: u64) -> Result<Option<Vec<u8>>, String> {
        let mut request = self.agent.get(url);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let mut response = request.call().map_err(|e| format!("GET {url}: {e}"))?;
        match response.status().as_u16() {
            404 => Ok(None),
            200..=299 => response
                .body_mut()
                .with_config()
                .limit(limit)
                .read_to_vec()
                .map(Some)
                .map_err(|e| format!("GET {url}: {e}")),
            status => Err(status_error("GET", url, status)),
        }
    }

    /// The size of the object at `url`, `None` when there is none.
    pub(super) fn head(&self, url: &str, headers: &[(String, String)]) -> Result<Option<u64>, String> {
        let mut request = self.agent.head(url);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let response = request.call().map_err(|e| format!("HEAD {url}: {e}"))?;
        match response.status().as_u16() {
            404 => Ok(None),
            200..=299 => {
                let length = response.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse().ok());
                Ok(Some(length.ok_or_else(|| format!("HEAD {url}: no Content-Length"))?))
            }
            status => Err(status_error("HEAD", url, status)),
        }
    }

    pub(super) fn put(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> Result<(), String> {
        let mut request = self.agent.put(url);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let response = request.send(body).map_err(|e| format!("PUT {url}: {e}"))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            status => Err(status_error("PUT", url, status)),
        }
    }
}

fn status_error(method: &str, url: &str, status: u16) -> String {
    let why = match status {
        401 | 403 if method == "PUT" => {
            " (upload denied: check the credentials, or set PYINSTALLER_BUILD_CACHE_MODE=read-only)"
        }
        401 | 403 => " (denied: check the credentials)",
        413 => " (too large for the server)",
        _ => "",
    };
    format!("{method} {url}: HTTP {status}{why}")
}
