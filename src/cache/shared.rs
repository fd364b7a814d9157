//! The shared tier: entries and content on a backend, verified before use, signed when a key is
//! configured, and switched off for the rest of the build at the first failure.
//!
//! An entry (`ac/<key>`) is JSON: the binary's file name, size, SHA-256 (its address,
//! `cas/<sha256>`) and BLAKE3 (what the download is checked against), the [`Check`]s of what it
//! packaged or read from outside python-dir, where its environment was and whether those of
//! its files are the same at any path ([`super::key::path_free`]), and, with
//! `PYINSTALLER_BUILD_CACHE_SIGNING_KEY`, an HMAC-SHA256 over all of these and the key. A reader
//! with a signing key takes only entries signed with it. Content is uploaded before its entry,
//! so an entry never names content that is not there (unless the store lost it).

use super::backend::{Backend, Http, Unusable};
use super::config::Config;
use super::key::{Check, Places};
use super::outcome::{Fetched, Miss};
use super::s3::{Credentials, S3};
use super::sign::{hmac, sha256_hex};
use crate::fsutil::write_atomic;
use crate::hashing::hex;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

/// Bumped whenever the entry's layout or the signed bytes change.
const FORMAT: u32 = 3;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RemoteEntry {
    format: u32,
    file_name: String,
    size: u64,
    sha256: String,
    /// What the content is checked against: BLAKE3 hashes 52 MB in 0.01 s where SHA-256 takes
    /// 1 s in a build script (which cargo compiles without optimization); SHA-256 stays its
    /// address, as the Bazel layout has it.
    blake3: String,
    #[serde(default)]
    checks: Vec<Check>,
    /// Where the builder's managed environment was: a reader that has not created its own yet
    /// takes an entry with `$ENV` checks only for an environment at the same path (pip writes
    /// that path into the files those checks name).
    #[serde(default)]
    env_root: Option<String>,
    /// The `$ENV` files the checks name are those of an environment made from the same inputs
    /// at any path: a reader that has not created its own takes it wherever its will be.
    #[serde(default)]
    relocatable: bool,
    #[serde(default)]
    signature: Option<String>,
}

impl RemoteEntry {
    /// What the signature covers: the key too, so an entry cannot be replayed under another.
    fn signed_bytes(&self, key: &str) -> Vec<u8> {
        let mut text = format!(
            "pyinstaller-build shared entry {}\n{key}\n{}\n{}\n{}\n",
            self.format, self.file_name, self.size, self.sha256
        );
        text.push_str(&format!("blake3 {}\n", self.blake3));
        for c in &self.checks {
            text.push_str(&format!("{}\0{}\0{}\n", c.kind, c.name, c.blake3.as_deref().unwrap_or("\0none")));
        }
        text.push_str(&format!("env {}\n", self.env_root.as_deref().unwrap_or("\0none")));
        text.push_str(&format!("relocatable {}\n", self.relocatable));
        text.into_bytes()
    }
}

/// An entry of the shared tier that matched this machine, its content not yet downloaded.
pub(crate) struct Found {
    key: String,
    entry: RemoteEntry,
    /// What outside python-dir it was checked against, for cargo to watch.
    watch: Vec<std::path::PathBuf>,
    start: Instant,
}

pub(super) struct SharedStore {
    inner: Arc<Inner>,
    uploads: Mutex<Vec<JoinHandle<()>>>,
}

struct Inner {
    backend: Box<dyn Backend>,
    url: String,
    read_only: bool,
    signing_key: Option<Vec<u8>>,
    max_bytes: u64,
    /// Why the tier was switched off, once it was.
    off: Mutex<Option<String>>,
    warnings: Mutex<Vec<String>>,
}

impl SharedStore {
    /// The tier `config` describes (settings it cannot use switch it off from the start, with
    /// a warning).
    pub(super) fn open(config: Config) -> Result<SharedStore, String> {
        Ok(SharedStore::new(config))
    }

    fn new(config: Config) -> SharedStore {
        let mut read_only = config.read_only;
        let backend: Result<Box<dyn Backend>, String> = if config.url.starts_with("s3://") {
            let credentials = match (config.aws_access_key, config.aws_secret_key) {
                (Some(access_key), Some(secret_key)) => {
                    Some(Credentials { access_key, secret_key, session_token: config.aws_session_token })
                }
                _ => None,
            };
            S3::new(&config.url, config.aws_endpoint.as_deref(), config.aws_region.as_deref(), credentials).map(|s3| {
                read_only |= !s3.can_write();
                Box::new(s3) as Box<dyn Backend>
            })
        } else {
            Ok(Box::new(Http::new(
                &config.url,
                config.token.as_deref(),
                config.username.as_deref(),
                config.password.as_deref(),
            )))
        };
        let (backend, off) = match backend {
            Ok(b) => (b, None),
            Err(why) => (Box::new(Unusable) as Box<dyn Backend>, Some(why)),
        };
        let inner = Inner {
            backend,
            url: config.url,
            read_only,
            signing_key: config.signing_key,
            max_bytes: config.max_bytes,
            off: Mutex::new(None),
            warnings: Mutex::default(),
        };
        if let Some(why) = off {
            inner.switch_off(why);
        }
        SharedStore { inner: Arc::new(inner), uploads: Mutex::default() }
    }

    pub(super) fn url(&self) -> &str {
        &self.inner.url
    }

    pub(super) fn writes(&self) -> bool {
        !self.inner.read_only
    }

    pub(super) fn usable(&self) -> bool {
        self.inner.off.lock().unwrap_or_else(|e| e.into_inner()).is_none()
    }

    /// The binary for `key`, verified, in `dir`; `None` on a miss or a failure (the tests' way
    /// in; the crate goes through [`super::Cache`], which looks up and downloads).
    #[cfg(test)]
    fn fetch(
        &self,
        key: &str,
        dir: &Path,
        places: &Places,
        env_value: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Fetched, Miss> {
        let found = self.lookup(key, places, env_value)?;
        self.download(found, dir)
    }

    /// The entry for `key`, verified and matching this machine, without its content; on a
    /// miss or a failure, why.
    pub(super) fn lookup(
        &self,
        key: &str,
        places: &Places,
        env_value: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Found, Miss> {
        self.off()?;
        self.ok(self.inner.lookup(key, places, env_value))
    }

    /// The content of an entry [`SharedStore::lookup`] found, verified, in `dir`.
    pub(super) fn download(&self, found: Found, dir: &Path) -> Result<Fetched, Miss> {
        self.off()?;
        self.ok(self.inner.download(found, dir).map(Ok))
    }

    /// Why the tier is not asked in this build (once a failure switched it off).
    pub(super) fn off_reason(&self) -> Miss {
        self.off().err().unwrap_or_else(|| Miss::Off(format!("{} is not asked in this build", self.inner.url)))
    }

    /// Why the tier is off for this build, if it is.
    fn off(&self) -> Result<(), Miss> {
        match &*self.inner.off.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(why) => Err(Miss::Off(format!("{} failed earlier in this build: {why}", self.inner.url))),
            None => Ok(()),
        }
    }

    /// The value, or the failure after switching the tier off for it.
    fn ok<T>(&self, result: Result<Result<T, Miss>, String>) -> Result<T, Miss> {
        result.unwrap_or_else(|why| {
            self.inner.switch_off(why.clone());
            Err(Miss::Off(format!("{} failed: {why}", self.inner.url)))
        })
    }

    /// Uploads `binary` under each of `keys` in the background, in read-write mode.
    pub(super) fn upload(
        &self,
        keys: Vec<String>,
        binary: &Path,
        file_name: &str,
        checks: Vec<Check>,
        env_root: Option<String>,
        relocatable: bool,
    ) {
        if self.inner.read_only || !self.usable() {
            return;
        }
        let bytes = match std::fs::read(binary) {
            Ok(b) => b,
            Err(e) => {
                return self.inner.warn(format!(
                    "pyinstaller-build: {file_name} was not uploaded to the shared cache: could not read {}: {e}",
                    binary.display()
                ))
            }
        };
        if bytes.len() as u64 > self.inner.max_bytes {
            return self.inner.warn(format!(
                "pyinstaller-build: {file_name} was not uploaded to the shared cache: {:.1} MB is over PYINSTALLER_BUILD_CACHE_MAX_MB ({} MB)",
                bytes.len() as f64 / 1e6,
                self.inner.max_bytes / 1_000_000
            ));
        }
        let (inner, file_name) = (self.inner.clone(), file_name.to_string());
        let upload = std::thread::spawn(move || {
            if let Err(why) = inner.upload(&keys, &bytes, &file_name, checks, env_root, relocatable) {
                inner.switch_off(why);
            }
        });
        self.uploads.lock().unwrap_or_else(|e| e.into_inner()).push(upload);
    }

    /// Waits for the uploads; returns the warnings of the whole build.
    pub(super) fn wait(&self) -> Vec<String> {
        for upload in std::mem::take(&mut *self.uploads.lock().unwrap_or_else(|e| e.into_inner())) {
            let _ = upload.join();
        }
        std::mem::take(&mut *self.inner.warnings.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Inner {
    fn warn(&self, line: String) {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }

    /// The first failure is said once; later ones (other specs, in parallel) add nothing.
    fn switch_off(&self, why: String) {
        let mut off = self.off.lock().unwrap_or_else(|e| e.into_inner());
        if off.is_none() {
            self.warn(format!(
                "pyinstaller-build: the shared cache {} is off for the rest of this build: {why}; building locally",
                self.url
            ));
            *off = Some(why);
        }
    }

    fn lookup(
        &self,
        key: &str,
        places: &Places,
        env_value: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Result<Found, Miss>, String> {
        let start = Instant::now();
        let Some(body) = self.backend.get(&format!("ac/{key}"), 1_000_000)? else {
            return Ok(Err(Miss::NoEntry { key: key.to_string() }));
        };
        let entry: RemoteEntry =
            serde_json::from_slice(&body).map_err(|e| format!("the entry ac/{key} is not one it wrote ({e})"))?;
        if entry.format != FORMAT {
            return Ok(Err(Miss::OtherFormat { key: key.to_string(), format: entry.format }));
        }
        if let Some(signing_key) = &self.signing_key {
            let Some(signature) = &entry.signature else {
                return Err(format!("the entry ac/{key} is unsigned, and PYINSTALLER_BUILD_CACHE_SIGNING_KEY is set"));
            };
            if !same(signature, &hex(&hmac(signing_key, &entry.signed_bytes(key)))) {
                return Err(format!(
                    "the entry ac/{key} is signed with another key than PYINSTALLER_BUILD_CACHE_SIGNING_KEY"
                ));
            }
        }
        if entry.size > self.max_bytes {
            return Err(format!(
                "the entry ac/{key} is {:.1} MB, over PYINSTALLER_BUILD_CACHE_MAX_MB ({} MB)",
                entry.size as f64 / 1e6,
                self.max_bytes / 1_000_000
            ));
        }
        let plain = !entry.file_name.is_empty()
            && !entry.file_name.contains(['/', '\\'])
            && entry.file_name != "."
            && entry.file_name != "..";
        if !plain || entry.sha256.len() != 64 || !entry.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("the entry ac/{key} is not one it wrote (file name or address)"));
        }
        // Built with other files, folders or variables from outside python-dir than this
        // machine has: not this binary.
        let (in_env, others): (Vec<&Check>, Vec<&Check>) = entry.checks.iter().partition(|c| c.in_environment());
        let differs = |what: String| Ok(Err(Miss::Differs { key: key.to_string(), what }));
        if let Some(what) = others.iter().find_map(|c| c.mismatch(places, env_value)) {
            return differs(what);
        }
        match (places.env, &places.env_to_be) {
            (Some(_), _) => {
                if let Some(what) = in_env.iter().find_map(|c| c.mismatch(places, env_value)) {
                    return differs(what);
                }
            }
            // The same files, made by the same installer from the same wheels, relocatable or
            // at the same path.
            (None, Some(to_be)) => {
                if !in_env.is_empty() && !entry.relocatable && entry.env_root.as_deref() != to_be.to_str() {
                    return Ok(Err(Miss::EnvElsewhere {
                        key: key.to_string(),
                        theirs: entry.env_root.clone().unwrap_or_default(),
                        ours: to_be.display().to_string(),
                    }));
                }
            }
            (None, None) => {
                if let Some(c) = in_env.first() {
                    return differs(format!(
                        "its build packaged `{}` of its Python environment, and this build has none",
                        c.name
                    ));
                }
            }
        }
        let watch = others.iter().filter_map(|c| c.watched(places)).collect();
        Ok(Ok(Found { key: key.to_string(), entry, watch, start }))
    }

    fn download(&self, found: Found, dir: &Path) -> Result<Fetched, String> {
        let Found { key, entry, watch, start } = found;
        let address = format!("cas/{}", entry.sha256);
        let Some(blob) = self.backend.get(&address, entry.size + 1)? else {
            return Err(format!("{address}, named by ac/{key}, is missing"));
        };
        if blob.len() as u64 != entry.size {
            return Err(format!("{address} is truncated: {} bytes where its entry says {}", blob.len(), entry.size));
        }
        let blake3 = blake3::hash(&blob).to_hex().to_string();
        if blake3 != entry.blake3 {
            return Err(format!("{address} is corrupted: its BLAKE3 is not its entry's"));
        }
        let folder = dir.join("shared-download");
        std::fs::create_dir_all(&folder).map_err(|e| format!("could not create {}: {e}", folder.display()))?;
        let path = folder.join(&entry.file_name);
        write_atomic(&path, &blob, true).map_err(|e| e.to_string())?;
        Ok(Fetched {
            path,
            watch,
            file_name: entry.file_name,
            binary_hash: blake3,
            bytes: entry.size,
            took: start.elapsed(),
        })
    }

    fn upload(
        &self,
        keys: &[String],
        bytes: &[u8],
        file_name: &str,
        checks: Vec<Check>,
        env_root: Option<String>,
        relocatable: bool,
    ) -> Result<(), String> {
        let sha256 = sha256_hex(bytes);
        let entry = RemoteEntry {
            format: FORMAT,
            file_name: file_name.to_string(),
            size: bytes.len() as u64,
            sha256: sha256.clone(),
            blake3: blake3::hash(bytes).to_hex().to_string(),
            checks,
            env_root,
            relocatable,
            signature: None,
        };
        let address = format!("cas/{sha256}");
        // Content another build uploaded is not sent again. A store that cannot say (S3
        // without `s3:ListBucket` answers 403) gets it anyway.
        if self.backend.size(&address).ok().flatten() != Some(bytes.len() as u64) {
            self.backend.put(&address, bytes)?;
        }
        for key in keys {
            let mut entry = entry.clone();
            if let Some(signing_key) = &self.signing_key {
                entry.signature = Some(hex(&hmac(signing_key, &entry.signed_bytes(key))));
            }
            self.backend.put(&format!("ac/{key}"), &serde_json::to_vec(&entry).expect("serializable"))?;
        }
        Ok(())
    }
}

/// Compares signatures in constant time.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;

    /// A backend in memory, to tamper with.
    #[derive(Default)]
    struct Memory(Mutex<HashMap<String, Vec<u8>>>, Mutex<Vec<String>>);

    impl Backend for Arc<Memory> {
        fn get(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, String> {
            let map = self.0.lock().unwrap();
            match map.get(path) {
                Some(b) if b.len() as u64 > limit => Err("body exceeds limit".into()),
                b => Ok(b.cloned()),
            }
        }
        fn size(&self, path: &str) -> Result<Option<u64>, String> {
            Ok(self.0.lock().unwrap().get(path).map(|b| b.len() as u64))
        }
        fn put(&self, path: &str, body: &[u8]) -> Result<(), String> {
            self.1.lock().unwrap().push(path.to_string());
            self.0.lock().unwrap().insert(path.to_string(), body.to_vec());
            Ok(())
        }
    }

    fn at(checkout: &Path) -> Places<'_> {
        Places { checkout, env: None, env_to_be: None }
    }

    #[test]
    fn without_an_environment_an_entry_with_environment_files_is_taken_only_for_the_same_path() {
        let tmp = tempfile::tempdir().unwrap();
        let binary = tmp.path().join("app");
        std::fs::write(&binary, b"a binary").unwrap();
        let memory = Arc::new(Memory::default());
        let check =
            Check { kind: "file".into(), name: "$ENV/lib/site-packages/x.dist-info/RECORD".into(), blake3: None };
        let writer = store(&memory, None, 1000);
        writer.upload(vec!["env".into()], &binary, "app", vec![check], Some("/ci/target/envs/env-1".into()), false);
        assert!(writer.wait().is_empty());
        writer.upload(vec!["plain".into()], &binary, "app", vec![], Some("/ci/target/envs/env-1".into()), false);
        assert!(writer.wait().is_empty());
        let puts = memory.1.lock().unwrap().clone();
        assert_eq!(
            puts.iter().filter(|p| p.starts_with("cas/")).count(),
            1,
            "content already there is not sent: {puts:?}"
        );
        let reader = store(&memory, None, 1000);
        let to_be = |p: &str| Places { env_to_be: Some(PathBuf::from(p)), ..at(tmp.path()) };
        assert!(reader.fetch("env", tmp.path(), &to_be("/ci/target/envs/env-1"), &|_| None).is_ok());
        let miss = reader.fetch("env", tmp.path(), &to_be("/home/b/target/envs/env-1"), &|_| None).err().unwrap();
        assert_eq!(
            miss,
            Miss::EnvElsewhere {
                key: "env".into(),
                theirs: "/ci/target/envs/env-1".into(),
                ours: "/home/b/target/envs/env-1".into()
            }
        );
        assert!(miss.to_string().contains("which was not relocatable, and this one will be at /home/b/"), "{miss}");
        assert!(reader.fetch("plain", tmp.path(), &to_be("/home/b/target/envs/env-1"), &|_| None).is_ok());
        // A relocatable environment's files are those of one made at any path.
        let check = Check { kind: "file".into(), name: "$ENV/x.dist-info/RECORD".into(), blake3: None };
        writer.upload(vec!["moved".into()], &binary, "app", vec![check], Some("/ci/env".into()), true);
        assert!(writer.wait().is_empty());
        assert!(reader.fetch("moved", tmp.path(), &to_be("/home/b/target/envs/env-1"), &|_| None).is_ok());
        assert!(reader.wait().is_empty(), "a miss is no failure");
    }

    /// Each miss says what to look at: the key, the file or variable that differed, the format.
    #[test]
    fn every_miss_says_why() {
        let tmp = tempfile::tempdir().unwrap();
        let binary = tmp.path().join("app");
        std::fs::write(&binary, b"a binary").unwrap();
        std::fs::write(tmp.path().join("vendor.py"), "X = 1\n").unwrap();
        let memory = Arc::new(Memory::default());
        let writer = store(&memory, None, 1000);
        let reader = store(&memory, None, 1000);
        let miss = |key: &str, env: &dyn Fn(&str) -> Option<String>| {
            reader.fetch(key, tmp.path(), &at(tmp.path()), env).err().expect("a miss").to_string()
        };
        assert_eq!(
            miss("nothing", &|_| None),
            "no entry for key nothing: no build has uploaded a binary from these very inputs (sources, requirements \
             and environment, interpreter, target, settings)"
        );
        let hash = |b: &[u8]| Some(blake3::hash(b).to_hex().to_string());
        let checks = vec![
            Check { kind: "file".into(), name: "$CHECKOUT/vendor.py".into(), blake3: hash(b"X = 2\n") },
            Check { kind: "env".into(), name: "APP_MODE".into(), blake3: hash(b"release") },
        ];
        writer.upload(vec!["file".into()], &binary, "app", checks.clone(), None, false);
        writer.upload(vec!["var".into()], &binary, "app", checks[1..].to_vec(), None, false);
        assert!(writer.wait().is_empty());
        let file = miss("file", &|_| None);
        let path = tmp.path().join("vendor.py");
        assert!(file.contains(&format!("the file {} has another content here", path.display())), "{file}");
        assert!(miss("var", &|_| None).contains("the variable APP_MODE, which is missing or unset here"));
        assert!(miss("var", &|_| Some("debug".into())).contains("the variable APP_MODE has another value here"));
        assert!(reader.fetch("var", tmp.path(), &at(tmp.path()), &|_| Some("release".into())).is_ok());
        // Another crate's layout.
        let mut entry: serde_json::Value = serde_json::from_slice(&memory.0.lock().unwrap()["ac/var"]).unwrap();
        entry["format"] = 2.into();
        memory.0.lock().unwrap().insert("ac/old".into(), serde_json::to_vec(&entry).unwrap());
        assert!(miss("old", &|_| None).contains("is in format 2, written by another version of pyinstaller-build"));
        assert!(reader.wait().is_empty(), "misses are no failures");
        // A failure switches the tier off, and says so for every later spec.
        memory.0.lock().unwrap().insert("ac/bad".into(), b"{".to_vec());
        assert!(miss("bad", &|_| None).starts_with("the shared cache is off: mem:// failed: the entry ac/bad is not"));
        assert!(miss("var", &|_| Some("release".into())).contains("failed earlier in this build"));
        assert_eq!(reader.wait().len(), 1);
    }

    fn store(memory: &Arc<Memory>, signing_key: Option<&str>, max_bytes: u64) -> SharedStore {
        let inner = Inner {
            backend: Box::new(memory.clone()),
            url: "mem://".into(),
            read_only: false,
            signing_key: signing_key.map(|k| k.as_bytes().to_vec()),
            max_bytes,
            off: Mutex::new(None),
            warnings: Mutex::default(),
        };
        SharedStore { inner: Arc::new(inner), uploads: Mutex::default() }
    }

    #[test]
    fn signed_entries_verify_and_tampering_is_a_warning_and_a_miss() {
        let tmp = tempfile::tempdir().unwrap();
        let binary = tmp.path().join("app");
        std::fs::write(&binary, b"a binary").unwrap();
        let memory = Arc::new(Memory::default());
        let writer = store(&memory, Some("k1"), 1000);
        writer.upload(vec!["key".into()], &binary, "app", vec![], None, false);
        assert!(writer.wait().is_empty());
        let hit = store(&memory, Some("k1"), 1000).fetch("key", tmp.path(), &at(tmp.path()), &|_| None).unwrap();
        assert_eq!(std::fs::read(&hit.path).unwrap(), b"a binary");
        assert_eq!(hit.binary_hash, blake3::hash(b"a binary").to_hex().to_string());

        let failing = |signing_key: Option<&str>, max: u64, expect: &str| {
            let reader = store(&memory, signing_key, max);
            assert!(reader.fetch("key", tmp.path(), &at(tmp.path()), &|_| None).is_err());
            let warnings = reader.wait();
            assert!(warnings.len() == 1 && warnings[0].contains(expect), "{warnings:?}");
            assert!(!reader.usable() && reader.fetch("key", tmp.path(), &at(tmp.path()), &|_| None).is_err());
            assert_eq!(reader.wait().len(), 0, "said once");
        };
        failing(Some("k2"), 1000, "signed with another key");
        failing(Some("k1"), 5, "over PYINSTALLER_BUILD_CACHE_MAX_MB");
        let entry = memory.0.lock().unwrap()["ac/key"].clone();
        let mut unsigned: RemoteEntry = serde_json::from_slice(&entry).unwrap();
        unsigned.signature = None;
        memory.0.lock().unwrap().insert("ac/key".into(), serde_json::to_vec(&unsigned).unwrap());
        failing(Some("k1"), 1000, "is unsigned");
        assert!(
            store(&memory, None, 1000).fetch("key", tmp.path(), &at(tmp.path()), &|_| None).is_ok(),
            "no key: not checked"
        );
        let address = format!("cas/{}", unsigned.sha256);
        memory.0.lock().unwrap().insert(address.clone(), b"a binarX".to_vec());
        failing(None, 1000, "is corrupted");
        memory.0.lock().unwrap().insert(address, b"a bin".to_vec());
        failing(None, 1000, "is truncated");
        assert!(store(&memory, None, 1000).fetch("other", tmp.path(), &at(tmp.path()), &|_| None).is_err(), "a miss");
    }
}
