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
//!
//! Imports run one way: [`Config`] and the [`key`] name what to ask for; `http` (the client),
//! `sign` (hashes and HMAC), `backend` (the trait, the HTTP cache) and `s3` (SigV4) carry it;
//! `shared` is the tier built on them; this facade is the only door the pipeline uses.

// Without the feature, the settings and checks only the shared tier reads are unread.
#[cfg_attr(not(feature = "shared-cache"), allow(dead_code))]
mod config;
#[cfg_attr(not(feature = "shared-cache"), allow(dead_code))]
mod key;
mod local;
#[cfg_attr(not(feature = "shared-cache"), allow(dead_code))]
mod outcome;
// The shared tier, or without the `shared-cache` feature a stub with its interface that is
// never built: configured only to say the feature is missing.
#[cfg(feature = "shared-cache")]
mod backend;
#[cfg(feature = "shared-cache")]
mod http;
#[cfg(feature = "shared-cache")]
mod s3;
#[cfg(feature = "shared-cache")]
mod shared;
#[cfg(not(feature = "shared-cache"))]
#[path = "off.rs"]
mod shared;
#[cfg(feature = "shared-cache")]
mod sign;

use crate::cargo::Cargo;
use crate::freshness::fingerprint::Context;
use crate::freshness::reads::Reads;
use crate::project::Project;
use crate::report::{SharedCache, SpecReport};
use crate::toolchain::Toolchain;
pub(crate) use config::Config;
pub(crate) use key::{env_root, pinned_digest, uncovered, Check};
pub(crate) use local::{Entry, Store};
pub(crate) use outcome::{Fetched, Miss};
pub(crate) use shared::Found;
use shared::SharedStore;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Every tier of this build.
pub(crate) struct Cache {
    local: Store,
    /// The package's folder: files under it are named relatively in shared entries.
    checkout: PathBuf,
    /// The managed environment's folder (its files are named relatively in shared entries).
    env: Option<PathBuf>,
    /// The key's toolchain part as computed before the environment existed, when the
    /// environment is determined by hash-pinned requirements ([`pinned_digest`]): binaries built here
    /// are also stored under that key, for readers that have not created the environment.
    pinned: Option<String>,
    shared: Option<SharedStore>,
    /// Why there is no shared tier, when there is none.
    off: String,
    toolchain: OnceLock<String>,
    warnings: Mutex<Vec<String>>,
}

impl Cache {
    /// The local store, and the shared tier when the environment configures one.
    pub(crate) fn new(local: Store, cargo: &Cargo, checkout: &Path) -> Cache {
        let cache = Cache {
            local,
            checkout: checkout.to_path_buf(),
            env: None,
            pinned: None,
            shared: None,
            off: "PYINSTALLER_BUILD_CACHE_URL is not set".into(),
            toolchain: OnceLock::new(),
            warnings: Mutex::default(),
        };
        let config = match Config::from_env(cargo) {
            Ok(config) => config,
            Err(why) => {
                cache.warn(format!("pyinstaller-build: the shared cache is off: {why}"));
                return Cache { off: why, ..cache };
            }
        };
        let Some(config) = config else { return cache };
        match SharedStore::open(config) {
            Ok(shared) => Cache { shared: Some(shared), ..cache },
            Err(why) => {
                cache.warn(why);
                Cache { off: "pyinstaller-build was compiled without its `shared-cache` feature".into(), ..cache }
            }
        }
    }

    /// Why the shared tier is not asked for a spec to be built (`force`: `PYINSTALLER_BUILD_FORCE`
    /// is set), when no key was computed for it.
    pub(crate) fn not_asked(&self, force: bool) -> Miss {
        match &self.shared {
            _ if force => Miss::Off("PYINSTALLER_BUILD_FORCE is set: every spec is built here".into()),
            None => Miss::Off(self.off.clone()),
            Some(shared) => shared.off_reason(),
        }
    }

    /// Once the environment exists: its folder, if it is a managed one, and the
    /// [`pinned_digest`] of what determines it, if anything does.
    pub(crate) fn set_environment(&mut self, env: Option<PathBuf>, pinned: Option<String>) {
        self.env = env;
        self.pinned = pinned;
    }

    /// The local store's binary built from `fingerprint`, if kept and intact.
    pub(crate) fn stored(&self, fingerprint: &str) -> Option<(PathBuf, Entry)> {
        self.local.get(fingerprint)
    }

    /// Keeps `binary` in the local store under `fingerprint` ([`Store::put`]); returns where
    /// the binary is now.
    pub(crate) fn keep(
        &self,
        fingerprint: &str,
        binary: &Path,
        entry: &Entry,
        take: bool,
    ) -> crate::error::Result<PathBuf> {
        self.local.put(fingerprint, binary, entry, take)
    }

    /// Evicts the local store's least recently used entries beyond its limit, never those of
    /// `keep` ([`Store::trim`]).
    pub(crate) fn trim(&self, keep: &[&str]) -> crate::error::Result<()> {
        self.local.trim(keep)
    }

    /// Whether binaries built here would be uploaded.
    pub(crate) fn can_upload(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| s.usable() && s.writes())
    }

    /// Whether a shared tier is configured (and not switched off by a failure).
    pub(crate) fn has_shared(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| s.usable())
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

    /// The shared tier's binary for `key`, downloaded into `dir` and verified; on a miss or any
    /// failure (which is warned about once, and switches the tier off for this build), why.
    /// `env_value` reads a variable the entry's build read (announcing it to cargo).
    pub(crate) fn fetch(
        &self,
        key: &str,
        dir: &Path,
        env_value: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Fetched, Miss> {
        let found = self.lookup(key, None, env_value)?;
        self.download(found, dir)
    }

    /// The shared tier's entry for `key` when it matches this machine, without its content;
    /// on a miss or any failure, why (as for [`Cache::fetch`]). `env_to_be`: where the
    /// environment will be created, when it does not exist yet.
    pub(crate) fn lookup(
        &self,
        key: &str,
        env_to_be: Option<&Path>,
        env_value: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Found, Miss> {
        let shared = self.shared.as_ref().ok_or_else(|| Miss::Off(self.off.clone()))?;
        let places = key::Places {
            checkout: &self.checkout,
            env: self.env.as_deref(),
            env_to_be: env_to_be.map(Path::to_path_buf),
        };
        shared.lookup(key, &places, env_value)
    }

    /// The content of what [`Cache::lookup`] found, downloaded into `dir` and verified.
    pub(crate) fn download(&self, found: Found, dir: &Path) -> Result<Fetched, Miss> {
        let shared = self.shared.as_ref().ok_or_else(|| Miss::Off(self.off.clone()))?;
        shared.download(found, dir)
    }

    /// Uploads a binary that passed its smoke test under `keys`, in the background (read-write
    /// mode only); [`Cache::finish`] waits for it. `environment`: the environment's files it
    /// packaged that the key does not cover ([`uncovered`]); `None` (not known): not uploaded.
    pub(crate) fn upload(
        &self,
        keys: Vec<String>,
        binary: &Path,
        file_name: &str,
        reads: &Reads,
        environment: Option<&[PathBuf]>,
    ) {
        let Some(shared) = &self.shared else { return };
        let reads = Check::of_reads(reads, &self.checkout);
        let env = environment.and_then(|files| Check::of_environment(files, self.env.as_deref()));
        // Nothing to check it against: a reader could not tell it applies.
        if let (Some(mut checks), Some(env), Some(files)) = (reads, env, environment) {
            checks.extend(env);
            let env_root = self.env.as_ref().and_then(|e| e.to_str()).map(str::to_string);
            let relocatable = self.env.as_deref().is_some_and(|env| key::path_free(env, files, &self.checkout));
            shared.upload(keys, binary, file_name, checks, env_root, relocatable);
        }
    }

    /// Where the shared tier is, for messages.
    pub(crate) fn shared_url(&self) -> String {
        self.shared.as_ref().map(|s| s.url().to_string()).unwrap_or_default()
    }

    /// Waits for the uploads, and returns what to warn about.
    pub(crate) fn finish(&self) -> Vec<String> {
        let mut warnings = std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()));
        if let Some(shared) = &self.shared {
            warnings.extend(shared.wait());
        }
        warnings
    }

    /// The closing line of a build that asked the shared tier: its hits and misses (a spec not
    /// asked because the tier went off is one), naming the specs missed (each one's line says
    /// why, as the report does); `None` when none was configured or none was asked.
    pub(crate) fn tally(&self, specs: &[SpecReport]) -> Option<String> {
        let shared = self.shared.as_ref()?;
        let asked: Vec<(&str, &SharedCache)> =
            specs.iter().filter_map(|s| Some((s.name.as_str(), s.shared_cache.as_ref()?))).collect();
        // Not asked for any (all off: `PYINSTALLER_BUILD_FORCE`, or off from the start): the
        // lines above said why.
        if !asked.iter().any(|(_, a)| matches!(a, SharedCache::Hit | SharedCache::Miss(_))) {
            return None;
        }
        let hits = asked.iter().filter(|(_, a)| **a == SharedCache::Hit).count();
        let misses: Vec<String> = asked
            .iter()
            .filter_map(|(name, a)| match a {
                SharedCache::Miss(_) | SharedCache::Off(_) => Some(name.to_string()),
                _ => None,
            })
            .collect();
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut line = format!(
            "pyinstaller-build: shared cache {}: {}, {}",
            shared.url(),
            plural(hits, "hit", "hits"),
            plural(misses.len(), "miss", "misses")
        );
        if !misses.is_empty() {
            line.push_str(&format!(" ({})", misses.join(", ")));
        }
        Some(line)
    }

    /// Why `spec` was not had from the shared tier, for its warning line, when one is
    /// configured (a build without one says nothing about it).
    pub(crate) fn missed(&self, spec: &SpecReport) -> Option<String> {
        self.shared.as_ref()?;
        match spec.shared_cache.as_ref()? {
            SharedCache::Miss(why) => Some(format!("; not from the shared cache: {why}")),
            SharedCache::Off(why) => Some(format!("; not from the shared cache: {}", Miss::Off(why.clone()))),
            _ => None,
        }
    }

    /// A warning about the cache, printed with the others at the end of the build.
    pub(crate) fn note(&self, line: String) {
        self.warn(line);
    }

    fn warn(&self, line: String) {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }
}
