//! Before the environment exists: with hash-pinned requirements, the environment is determined
//! by the requirements, the base interpreter and the installer ([`venv::pinned_basis`]), so each
//! spec's shared key can be computed without creating it. When every spec is up to date or in
//! the shared cache, the build is a download: no environment, no PyInstaller. Otherwise nothing
//! here has installed anything, and the build goes on as usual.

use crate::cache::Cache;
use crate::error::Result;
use crate::freshness::fingerprint::Context;
use crate::install;
use crate::project::{spec_stem, Project};
use crate::report::{Outcome, SpecReport};
use crate::smoke::{self, SmokeTest};
use crate::spec::{exe_name, Stamp};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Everything a build without the environment needs.
pub(crate) struct Request<'a> {
    pub project: &'a Project,
    pub specs: &'a [String],
    /// Its `toolchain` is not used: the basis stands for it.
    pub context: &'a Context,
    pub basis: &'a [String],
    pub cache: &'a Cache,
    /// Where the environment would be created.
    pub env_dir: &'a Path,
    pub project_cache: &'a Path,
    pub binaries_dir: &'a Path,
    pub stamps_dir: &'a Path,
    pub smoke_test: Option<&'a SmokeTest>,
    pub smoke_test_timeout: Duration,
    /// Cargo's own folders (the smoke test's library search path goes without them).
    pub cargo_dirs: Vec<PathBuf>,
    pub package_name: Option<&'a str>,
    pub env_value: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// Where a spec whose output is named so goes (placement.rs).
    pub place: &'a (dyn Fn(&str, &str) -> crate::placement::Place + Sync),
}

/// What the stamps call a binary installed this way: the key, not a fingerprint (there is no
/// environment to compute one from).
fn fingerprint(key: &str) -> String {
    format!("pinned:{key}")
}

/// Every spec up to date or installed from the shared cache, with the files cargo should watch
/// for the checks the entries passed; `None` when any spec needs the environment.
pub(crate) fn run(req: &Request) -> Result<Option<(Vec<SpecReport>, Vec<PathBuf>)>> {
    let start = Instant::now();
    let digest = crate::cache::pinned_digest(req.basis);
    let keys: Vec<String> =
        req.specs.iter().map(|s| req.cache.key_with(&digest, req.context, req.project, s)).collect();
    let smoke_digest = smoke::digest(req.smoke_test, req.smoke_test_timeout);
    let mut reports = Vec::new();
    let mut wanted = Vec::new();
    for (spec, key) in req.specs.iter().zip(&keys) {
        match Stamp::read(req.stamps_dir, req.binaries_dir, spec)
            .filter(|s| s.holds(&fingerprint(key), &|n| (req.place)(spec, n).path) && s.smoke == smoke_digest)
        {
            Some(stamp) => reports.push(SpecReport {
                outcome: Outcome::UpToDate,
                fingerprint: fingerprint(key),
                ..SpecReport::new(spec.clone(), (req.place)(spec, &stamp.name).name, stamp.installed)
            }),
            None => wanted.push((spec, key)),
        }
    }
    if wanted.is_empty() {
        return Ok(Some((reports, vec![])));
    }
    if !req.cache.has_shared() {
        return Ok(None);
    }
    // Entries first: the downloads are worth it only if every spec has one.
    let mut found = Vec::new();
    for (_, key) in &wanted {
        match req.cache.lookup(key, Some(req.env_dir), req.env_value) {
            Ok(entry) => found.push(entry),
            // Asked again with the environment's own key, which says why when it misses too.
            Err(_) => return Ok(None),
        }
    }
    let fetched: Vec<_> = std::thread::scope(|scope| {
        let jobs: Vec<_> = wanted
            .iter()
            .zip(found)
            .map(|((spec, _), entry)| {
                let dir = req.project_cache.join(spec_stem(spec));
                scope.spawn(move || req.cache.download(entry, &dir).ok())
            })
            .collect();
        jobs.into_iter().map(|j| j.join().ok().flatten()).collect()
    });
    if fetched.iter().any(Option::is_none) {
        return Ok(None);
    }
    let mut watch = Vec::new();
    for ((spec, key), hit) in wanted.into_iter().zip(fetched.into_iter().flatten()) {
        let output = exe_name(&hit.file_name);
        // Never a resource folder: a build with one does not take this path (lib.rs).
        let crate::placement::Place { name, path: installed, .. } = (req.place)(spec, &output);
        if req.package_name == Some(name.as_str()) {
            return Ok(None);
        }
        let smoke_start = Instant::now();
        if let Some(test) = req.smoke_test {
            let log = req.project_cache.join(spec_stem(spec)).join("smoke.log");
            if let Err(e) = smoke::check(spec, &hit.path, test, req.smoke_test_timeout, &log, &req.cargo_dirs, None) {
                req.cache.note(format!(
                    "pyinstaller-build: {spec}: the binary from the shared cache failed its smoke test here; building \
                     locally ({})",
                    e.to_string().lines().next().unwrap_or_default()
                ));
                return Ok(None);
            }
        }
        let smoke_test = smoke_start.elapsed();
        install::install(&hit.path, &hit.binary_hash, &installed)?;
        let stamp = Stamp {
            fingerprint: fingerprint(key),
            name: output,
            installed: installed.clone(),
            binary_hash: hit.binary_hash.clone(),
            project: Some(req.project.root.clone()),
            smoke: smoke_digest.clone(),
            folder: None,
        };
        stamp.write(req.stamps_dir, req.binaries_dir, spec)?;
        watch.extend(hit.watch.iter().filter(|p| p.exists()).cloned());
        reports.push(SpecReport {
            outcome: Outcome::Downloaded,
            duration: start.elapsed(),
            fingerprint: fingerprint(key),
            reason: "requirements pinned by hash: no Python environment created".into(),
            download: (hit.bytes, hit.took),
            smoke_test,
            shared_cache: Some(crate::report::SharedCache::Hit),
            ..SpecReport::new(spec.clone(), name, installed)
        });
    }
    Ok(Some((reports, watch)))
}
