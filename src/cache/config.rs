//! The shared tier's settings, read from the environment (credentials never live in
//! `Cargo.toml`).

use crate::cargo::Cargo;

/// The shared tier's settings, from the environment (credentials never live in `Cargo.toml`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Config {
    /// `http(s)://host/path` (an HTTP cache) or `s3://bucket/prefix`.
    pub url: String,
    pub read_only: bool,
    pub signing_key: Option<Vec<u8>>,
    pub max_bytes: u64,
    pub token: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub aws_access_key: Option<String>,
    pub aws_secret_key: Option<String>,
    pub aws_session_token: Option<String>,
    pub aws_region: Option<String>,
    pub aws_endpoint: Option<String>,
}

impl Config {
    /// The shared tier's settings, `Ok(None)` when none is configured, `Err` with the warning
    /// to print when the settings are wrong.
    pub(crate) fn from_env(cargo: &Cargo) -> Result<Option<Config>, String> {
        let text = |k: &str| cargo.env(k).map(|v| v.to_string_lossy().into_owned()).filter(|v| !v.is_empty());
        let secret = |k: &str| cargo.secret(k).map(|v| v.to_string_lossy().into_owned()).filter(|v| !v.is_empty());
        let Some(url) = text("PYINSTALLER_BUILD_CACHE_URL") else { return Ok(None) };
        let read_only = match text("PYINSTALLER_BUILD_CACHE_MODE").as_deref() {
            None | Some("read-write") => false,
            Some("read-only") => true,
            Some(other) => {
                return Err(format!("PYINSTALLER_BUILD_CACHE_MODE is `{other}`; use `read-only` or `read-write`"))
            }
        };
        let max_mb = match text("PYINSTALLER_BUILD_CACHE_MAX_MB") {
            None => 1024,
            Some(mb) => {
                mb.parse::<u64>().map_err(|_| format!("PYINSTALLER_BUILD_CACHE_MAX_MB is `{mb}`, not a number"))?
            }
        };
        if !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with("s3://")) {
            return Err(format!("PYINSTALLER_BUILD_CACHE_URL is `{url}`; use `https://...` or `s3://bucket/prefix`"));
        }
        Ok(Some(Config {
            url: url.trim_end_matches('/').to_string(),
            read_only,
            signing_key: secret("PYINSTALLER_BUILD_CACHE_SIGNING_KEY").map(String::into_bytes),
            max_bytes: max_mb * 1_000_000,
            token: secret("PYINSTALLER_BUILD_CACHE_TOKEN"),
            username: text("PYINSTALLER_BUILD_CACHE_USERNAME"),
            password: secret("PYINSTALLER_BUILD_CACHE_PASSWORD"),
            aws_access_key: secret("AWS_ACCESS_KEY_ID"),
            aws_secret_key: secret("AWS_SECRET_ACCESS_KEY"),
            aws_session_token: secret("AWS_SESSION_TOKEN"),
            aws_region: text("AWS_REGION").or_else(|| text("AWS_DEFAULT_REGION")),
            aws_endpoint: text("AWS_ENDPOINT_URL_S3").or_else(|| text("AWS_ENDPOINT_URL")),
        }))
    }
}
