//! Before the environment exists: with hash-pinned requirements, the environment is determined
//! by the requirements, the base interpreter and the installer ([`venv::pinned_basis`]), so each
//! spec's shared key can be computed without creating it. When every spec is up to date or in
//! the shared cache, the build is a download: no environment, no PyInstaller. Otherwise nothing
//! here has installed anything, and the build goes on as usual.

use crate::cache::Cache;
use crate::cargo::Cargo;
use crate::error::Result;
use crate::freshness::fingerprint::Context;
use crate::install;
use crate::project::{spec_stem, Project};
use crate::report::{Outcome, SpecReport};
use crate::smoke::{self, SmokeTest};
use crate::spec::{exe_name, Dirs, Stamp};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Everything a build without the environment needs.
pub(crate) struct Request<'a> {
    pub keys: Keys<'a>,
    pub cache: &'a Cache,
    /// Where the environment would be created.
    pub env_dir: &'a Path,
    pub dirs: &'a Dirs,
    /// The top-level smoke test and its timeout.
    pub smoke: (Option<&'a SmokeTest>, Duration),
    pub cargo: &'a Cargo,
    pub package_name: Option<&'a str>,
    /// Where a spec whose output is named so goes (placement.rs).
    pub place: &'a (dyn Fn(&str, &str) -> crate::placement::Place + Sync),
}

/// What the specs' shared keys are computed from.
pub(crate) struct Keys<'a> {
    pub project: &'a Project,
    pub specs: &'a [String],
    /// Its `toolchain` is not used: the basis stands for it.
    pub context: &'a Context,
    pub basis: &'a [String],
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
    let digest = crate::cache::pinned_digest(req.keys.basis);
    let keys: Vec<String> =
        req.keys.specs.iter().map(|s| req.cache.key_with(&digest, req.keys.context, req.keys.project, s)).collect();
    let smoke_digest = smoke::digest(req.smoke.0, req.smoke.1);
    let mut reports = Vec::new();
    let mut wanted = Vec::new();
    for (spec, key) in req.keys.specs.iter().zip(&keys) {
        match Stamp::read(&req.dirs.stamps_dir, &req.dirs.binaries_dir, spec)
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
        let env_value = |k: &str| req.cargo.env(k).map(|v| v.to_string_lossy().into_owned());
        match req.cache.lookup(key, Some(req.env_dir), &env_value) {
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
                let dir = req.dirs.project_cache.join(spec_stem(spec));
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
        if let Some(test) = req.smoke.0 {
            let log = req.dirs.project_cache.join(spec_stem(spec)).join("smoke.log");
            if let Err(e) = smoke::check(spec, &hit.path, test, req.smoke.1, &log, &req.dirs.cargo_dirs, None) {
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
            project: Some(req.keys.project.root.clone()),
            smoke: smoke_digest.clone(),
            folder: None,
        };
        stamp.write(&req.dirs.stamps_dir, &req.dirs.binaries_dir, spec)?;
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
