//! The binaries already built, in tiers, asked in this order by the plan: the stamp (what this
//! profile installed), the local store in the target folder ([`Store`], keyed by the
//! fingerprint), then a store shared between machines (keyed by [`key::shared_key`], the same
//! inputs without machine-specific paths), and only then the fast path and PyInstaller.
//!
//! The shared tier is configured from the environment (`PYINSTALLER_BUILD_CACHE_URL`, ...;
//! [`Config`]) and needs the `shared-cache` feature. It never fails a build: any problem is one
//! warning, the tier is not asked again in that build, and the build goes on locally.
//!
//! ```text
//! ac/<key>          the entry: file name, size, SHA-256 and BLAKE3 of the binary, checks, signature
//! cas/<sha256>      the binary
//! ```
//! under an HTTP cache's URL (the Bazel layout) or an S3 bucket's prefix.

// Without the feature the shared tier is only configured (to say the feature is missing).
#![cfg_attr(not(feature = "shared-cache"), allow(dead_code, unused_imports))]

#[cfg(feature = "shared-cache")]
mod http;
mod key;
mod local;
#[cfg(feature = "shared-cache")]
mod s3;
#[cfg(feature = "shared-cache")]
mod shared;

use crate::cargo::Cargo;
use crate::fingerprint::Context;
use crate::project::Project;
use crate::reads::Reads;
use crate::toolchain::Toolchain;
pub(crate) use key::{env_root, pinned_digest, uncovered, Check};
pub(crate) use local::{Entry, Store};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Every tier of this build.
pub(crate) struct Cache {
    pub local: Store,
    /// The package's folder: files under it are named relatively in shared entries.
    checkout: PathBuf,
    /// The managed environment's folder (its files are named relatively in shared entries).
    env: Option<PathBuf>,
    /// The key's toolchain part as computed before the environment existed, when the
    /// environment is determined by hash-pinned requirements ([`pinned_digest`]): binaries built here
    /// are also stored under that key, for readers that have not created the environment.
    pinned: Option<String>,
    #[cfg(feature = "shared-cache")]
    shared: Option<shared::SharedStore>,
    toolchain: OnceLock<String>,
    warnings: Mutex<Vec<String>>,
}

/// A binary the shared tier had, downloaded and verified against its content hash (not yet
/// smoke-tested).
pub(crate) struct Fetched {
    pub path: PathBuf,
    /// What outside python-dir the entry was checked against, for cargo to watch.
    pub watch: Vec<PathBuf>,
    pub file_name: String,
    /// blake3, as the local store keeps it.
    pub binary_hash: String,
    pub bytes: u64,
    pub took: Duration,
}

/// An entry of the shared tier that matched this machine, its content not yet downloaded.
pub(crate) struct Found {
    #[cfg(feature = "shared-cache")]
    inner: shared::Found,
}

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

impl Cache {
    /// The local store, and the shared tier when the environment configures one.
    pub(crate) fn new(local: Store, cargo: &Cargo, checkout: &Path) -> Cache {
        let cache = Cache {
            local,
            checkout: checkout.to_path_buf(),
            env: None,
            pinned: None,
            #[cfg(feature = "shared-cache")]
            shared: None,
            toolchain: OnceLock::new(),
            warnings: Mutex::default(),
        };
        let config = match Config::from_env(cargo) {
            Ok(config) => config,
            Err(why) => {
                cache.warn(format!("pyinstaller-build: the shared cache is off: {why}"));
                None
            }
        };
        let Some(config) = config else { return cache };
        #[cfg(feature = "shared-cache")]
        {
            Cache { shared: Some(shared::SharedStore::new(config)), ..cache }
        }
        #[cfg(not(feature = "shared-cache"))]
        {
            cache.warn(format!(
                "pyinstaller-build: PYINSTALLER_BUILD_CACHE_URL is set ({}), but pyinstaller-build was compiled \
                 without its `shared-cache` feature; building locally. Fix: \
                 `pyinstaller-build = {{ version = \"0.1\", features = [\"shared-cache\"] }}` in [build-dependencies].",
                config.url
            ));
            cache
        }
    }

    /// Once the environment exists: its folder, if it is a managed one, and the
    /// [`pinned_digest`] of what determines it, if anything does.
    pub(crate) fn set_environment(&mut self, env: Option<PathBuf>, pinned: Option<String>) {
        self.env = env;
        self.pinned = pinned;
    }

    /// Whether binaries built here would be uploaded.
    pub(crate) fn can_upload(&self) -> bool {
        #[cfg(feature = "shared-cache")]
        return self.shared.as_ref().is_some_and(|s| s.usable() && s.writes());
        #[cfg(not(feature = "shared-cache"))]
        false
    }

    /// Whether a shared tier is configured (and not switched off by a failure).
    pub(crate) fn has_shared(&self) -> bool {
        #[cfg(feature = "shared-cache")]
        return self.shared.as_ref().is_some_and(|s| s.usable());
        #[cfg(not(feature = "shared-cache"))]
        false
    }

    /// The shared tier's key for `spec`, when there is a shared tier.
    pub(crate) fn shared_key(
        &self,
        toolchain: &Toolchain,
        ctx: &Context,
        project: &Project,
        spec: &str,
    ) -> Option<String> {
        if !self.has_shared() {
            return None;
        }
        let digest = self.toolchain.get_or_init(|| key::toolchain_digest(toolchain));
        Some(key::shared_key(digest, ctx, project, spec))
    }

    /// The key `spec`'s binary is also stored under for readers without the environment, when
    /// hash-pinned requirements determine it.
    pub(crate) fn pinned_key(&self, ctx: &Context, project: &Project, spec: &str) -> Option<String> {
        let pinned = self.pinned.as_ref().filter(|_| self.has_shared())?;
        Some(self.key_with(pinned, ctx, project, spec))
    }

    /// The key of `spec` with the toolchain part `digest` ([`pinned_digest`]).
    pub(crate) fn key_with(&self, digest: &str, ctx: &Context, project: &Project, spec: &str) -> String {
        key::shared_key(digest, ctx, project, spec)
    }

    /// The shared tier's binary for `key`, downloaded into `dir` and verified; `None` on a miss
    /// or any failure (which is warned about once, and switches the tier off for this build).
    #[cfg_attr(not(feature = "shared-cache"), allow(unused_variables))]
    /// `env_value` reads a variable the entry's build read (announcing it to cargo).
    pub(crate) fn fetch(&self, key: &str, dir: &Path, env_value: &dyn Fn(&str) -> Option<String>) -> Option<Fetched> {
        let found = self.lookup(key, None, env_value)?;
        self.download(found, dir)
    }

    /// The shared tier's entry for `key` when it matches this machine, without its content;
    /// `None` on a miss or any failure (as for [`Cache::fetch`]). `env_to_be`: where the
    /// environment will be created, when it does not exist yet.
    #[cfg_attr(not(feature = "shared-cache"), allow(unused_variables))]
    pub(crate) fn lookup(
        &self,
        key: &str,
        env_to_be: Option<&Path>,
        env_value: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Found> {
        #[cfg(feature = "shared-cache")]
        if let Some(shared) = &self.shared {
            let places = key::Places {
                checkout: &self.checkout,
                env: self.env.as_deref(),
                env_to_be: env_to_be.map(Path::to_path_buf),
            };
            return shared.lookup(key, &places, env_value).map(|inner| Found { inner });
        }
        None
    }

    /// The content of what [`Cache::lookup`] found, downloaded into `dir` and verified.
    #[cfg_attr(not(feature = "shared-cache"), allow(unused_variables))]
    pub(crate) fn download(&self, found: Found, dir: &Path) -> Option<Fetched> {
        #[cfg(feature = "shared-cache")]
        if let Some(shared) = &self.shared {
            return shared.download(found.inner, dir);
        }
        None
    }

    /// Uploads a binary that passed its smoke test under `keys`, in the background (read-write
    /// mode only); [`Cache::finish`] waits for it. `environment`: the environment's files it
    /// packaged that the key does not cover ([`uncovered`]); `None` (not known): not uploaded.
    #[cfg_attr(not(feature = "shared-cache"), allow(unused_variables))]
    pub(crate) fn upload(
        &self,
        keys: Vec<String>,
        binary: &Path,
        file_name: &str,
        reads: &Reads,
        environment: Option<&[PathBuf]>,
    ) {
        #[cfg(feature = "shared-cache")]
        if let Some(shared) = &self.shared {
            let reads = Check::of_reads(reads, &self.checkout);
            let env = environment.and_then(|files| Check::of_environment(files, self.env.as_deref()));
            // Nothing to check it against: a reader could not tell it applies.
            if let (Some(mut checks), Some(env)) = (reads, env) {
                checks.extend(env);
                let env_root = self.env.as_ref().and_then(|e| e.to_str()).map(str::to_string);
                shared.upload(keys, binary, file_name, checks, env_root);
            }
        }
    }

    /// Where the shared tier is, for messages.
    pub(crate) fn shared_url(&self) -> String {
        #[cfg(feature = "shared-cache")]
        if let Some(shared) = &self.shared {
            return shared.url().to_string();
        }
        String::new()
    }

    /// Waits for the uploads, and returns what to warn about.
    pub(crate) fn finish(&self) -> Vec<String> {
        #[allow(unused_mut)]
        let mut warnings = std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()));
        #[cfg(feature = "shared-cache")]
        if let Some(shared) = &self.shared {
            warnings.extend(shared.wait());
        }
        warnings
    }

    /// A warning about the cache, printed with the others at the end of the build.
    pub(crate) fn note(&self, line: String) {
        self.warn(line);
    }

    fn warn(&self, line: String) {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }
}
