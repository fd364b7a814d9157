//! Before the environment exists: with hash-pinned requirements, the environment is determined
//! by the requirements, the base interpreter and the installer ([`venv::pinned_basis`]), so each
//! spec's shared key can be computed without creating it. When every spec is up to date or in
//! the shared cache, the build is a download: no environment, no PyInstaller. Otherwise nothing
//! here has installed anything, and the build goes on as usual.

use crate::cache::Cache;
use crate::cargo::Cargo;
use crate::error::Result;
use crate::fingerprint::Context;
use crate::install;
use crate::project::{spec_stem, Project};
use crate::report::{Outcome, SpecReport};
use crate::smoke::{self, SmokeTest};
use crate::spec::{exe_name, Stamp};
use crate::venv;
use std::fs;
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
    pub target: &'a str,
    pub smoke_test: Option<&'a SmokeTest>,
    pub smoke_test_timeout: Duration,
    pub package_name: Option<&'a str>,
    pub env_value: &'a (dyn Fn(&str) -> Option<String> + Sync),
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
    let mut reports = Vec::new();
    let mut wanted = Vec::new();
    for (spec, key) in req.specs.iter().zip(&keys) {
        match Stamp::read(req.stamps_dir, req.binaries_dir, spec)
            .filter(|s| s.holds(&fingerprint(key), req.binaries_dir, req.target))
        {
            Some(stamp) => reports.push(SpecReport {
                outcome: Outcome::UpToDate,
                fingerprint: fingerprint(key),
                ..SpecReport::new(spec.clone(), stamp.name, stamp.installed)
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
            Some(entry) => found.push(entry),
            None => return Ok(None),
        }
    }
    let fetched: Vec<_> = std::thread::scope(|scope| {
        let jobs: Vec<_> = wanted
            .iter()
            .zip(found)
            .map(|((spec, _), entry)| {
                let dir = req.project_cache.join(spec_stem(spec));
                scope.spawn(move || req.cache.download(entry, &dir))
            })
            .collect();
        jobs.into_iter().map(|j| j.join().ok().flatten()).collect()
    });
    if fetched.iter().any(Option::is_none) {
        return Ok(None);
    }
    let mut watch = Vec::new();
    for ((spec, key), hit) in wanted.into_iter().zip(fetched.into_iter().flatten()) {
        let name = exe_name(&hit.file_name);
        if req.package_name == Some(name.as_str()) {
            return Ok(None);
        }
        let smoke_start = Instant::now();
        if let Some(test) = req.smoke_test {
            let log = req.project_cache.join(spec_stem(spec)).join("smoke.log");
            if let Err(e) = smoke::check(spec, &hit.path, test, req.smoke_test_timeout, &log) {
                req.cache.note(format!(
                    "pyinstaller-build: {spec}: the binary from the shared cache failed its smoke test here; building \
                     locally ({})",
                    e.to_string().lines().next().unwrap_or_default()
                ));
                return Ok(None);
            }
        }
        let smoke_test = smoke_start.elapsed();
        let installed = req.binaries_dir.join(install::sidecar_file_name(&name, req.target));
        install::install(&hit.path, &hit.binary_hash, &installed, true)?;
        let stamp = Stamp {
            fingerprint: fingerprint(key),
            name: name.clone(),
            installed: installed.clone(),
            binary_hash: hit.binary_hash.clone(),
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
            ..SpecReport::new(spec.clone(), name, installed)
        });
    }
    Ok(Some((reports, watch)))
}

/// The installer's variables that may change what it installs (`PIP_*`, `UV_*`), announced;
/// the indexes and link folders too (which of the pinned archives is installed depends on what
/// they offer, see `venv::config`), without credentials and not announced, and a configuration
/// file by its content. Not those that only say how to download or how much to print.
pub(crate) fn installer_env(cargo: &Cargo) -> Vec<(String, String)> {
    let how = [
        "TRUSTED_HOST",
        "CERT",
        "PROXY",
        "TIMEOUT",
        "RETRIES",
        "CACHE",
        "KEYRING",
        "TOKEN",
        "PASSWORD",
        "USERNAME",
        "AUTH",
        "TLS",
        "PROGRESS",
        "QUIET",
        "VERBOSE",
        "NO_INPUT",
        "VERSION_CHECK",
        "CONCURRENT",
        "ROOT_USER_ACTION",
        "COLOR",
        "HTTP",
    ];
    #[allow(clippy::disallowed_methods)] // names only: each value is read through `cargo.env`
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("PIP_") || k.starts_with("UV_"))
        .filter(|k| !how.iter().any(|w| k.contains(w)))
        .collect();
    let mut vars: Vec<(String, String)> = names
        .into_iter()
        .filter_map(|k| {
            // An index URL may hold a token, and cargo writes announced values into its
            // fingerprint files: read, not announced. No rerun is missed: the key is asked only
            // when the build script runs anyway, with no environment yet or creating one, and a
            // later change of index does not recreate an environment either.
            let value = match k.contains("INDEX") || k.contains("FIND_LINKS") {
                true => cargo.secret(&k),
                false => cargo.env(&k),
            }?;
            let value = value.to_string_lossy().into_owned();
            let value = match k.ends_with("CONFIG_FILE") {
                // Its path differs between machines; what it says is what counts.
                true => fs::read_to_string(&value).unwrap_or_default(),
                false => value,
            };
            Some((k, venv::without_credentials(&value)))
        })
        .collect();
    vars.sort();
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installer_variables_that_change_what_it_installs_are_read_and_announced() {
        // Names no real setting has: other tests never see them.
        std::env::set_var("UV_PYINSTALLER_BUILD_TEST_NO_BUILD", "1");
        std::env::set_var("PIP_PYINSTALLER_BUILD_TEST_INDEX_URL", "https://u:token@mirror.example/simple");
        std::env::set_var("PIP_PYINSTALLER_BUILD_TEST_TIMEOUT", "60");
        let cargo = Cargo { capture: Some(Default::default()) };
        let vars = installer_env(&cargo);
        assert!(vars.contains(&("UV_PYINSTALLER_BUILD_TEST_NO_BUILD".into(), "1".into())), "{vars:?}");
        assert!(
            vars.contains(&("PIP_PYINSTALLER_BUILD_TEST_INDEX_URL".into(), "https://mirror.example/simple".into())),
            "a mirror may offer other wheels of the pinned ones; its credentials are not the key: {vars:?}"
        );
        assert!(!vars.iter().any(|(k, _)| k == "PIP_PYINSTALLER_BUILD_TEST_TIMEOUT"), "{vars:?}");
        let lines = cargo.capture.unwrap().lock().unwrap().clone();
        assert!(lines.contains(&"cargo:rerun-if-env-changed=UV_PYINSTALLER_BUILD_TEST_NO_BUILD".to_string()));
        assert!(!lines.iter().any(|l| l.contains("INDEX_URL")), "an index URL may hold a token: {lines:?}");
    }
}
