//! Where the shared tier's entries and content live, behind one trait: an HTTP cache in the
//! Bazel layout (`GET`/`PUT` on `<url>/ac/<key>` and `<url>/cas/<sha256>`, as bazel-remote,
//! nginx's WebDAV module and object stores serve it) here, S3 in [`super::s3`].

use super::http::Client;
use base64::Engine;

/// Where entries and content live: `path` is `ac/<key>` or `cas/<sha256>`.
pub(super) trait Backend: Send + Sync {
    /// The object at `path`, at most `limit` bytes; `None` when there is none.
    fn get(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, String>;
    /// The object's size (`HEAD`), `None` when there is none.
    fn size(&self, path: &str) -> Result<Option<u64>, String>;
    fn put(&self, path: &str, body: &[u8]) -> Result<(), String>;
}

/// `<url>/ac/...` and `<url>/cas/...` with a bearer token or basic auth.
pub(super) struct Http {
    client: Client,
    base: String,
    auth: Option<String>,
}

impl Http {
    pub(super) fn new(base: &str, token: Option<&str>, user: Option<&str>, password: Option<&str>) -> Http {
        let auth = match (token, user) {
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, Some(user)) => {
                let pair = format!("{user}:{}", password.unwrap_or(""));
                Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
            }
            (None, None) => None,
        };
        Http { client: Client::new(), base: base.to_string(), auth }
    }

    fn headers(&self) -> Vec<(String, String)> {
        self.auth.iter().map(|a| ("Authorization".to_string(), a.clone())).collect()
    }
}

impl Backend for Http {
    fn get(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, String> {
        self.client.get(&format!("{}/{path}", self.base), &self.headers(), limit)
    }

    fn size(&self, path: &str) -> Result<Option<u64>, String> {
        self.client.head(&format!("{}/{path}", self.base), &self.headers())
    }

    fn put(&self, path: &str, body: &[u8]) -> Result<(), String> {
        self.client.put(&format!("{}/{path}", self.base), &self.headers(), body)
    }
}

/// A backend whose settings were wrong: the tier is off from the start.
pub(super) struct Unusable;

impl Backend for Unusable {
    fn get(&self, _: &str, _: u64) -> Result<Option<Vec<u8>>, String> {
        Err("not configured".into())
    }
    fn size(&self, _: &str) -> Result<Option<u64>, String> {
        Err("not configured".into())
    }
    fn put(&self, _: &str, _: &[u8]) -> Result<(), String> {
        Err("not configured".into())
    }
}
