//! What a build needs before it plans: the settings resolved, the specs generated for sidecars
//! without one, the Python environment, the extract-once launcher, the fingerprint's context,
//! and the skip switch's placeholders.

use super::start::{BuildEnv, Folders};
use crate::builder::SidecarSettings;
use crate::cargo::{cargo_env, Cargo};
use crate::error::{Error, ErrorKind, Result};
use crate::launch::Launch;
use crate::report::{Outcome, Report, SpecReport};
use crate::smoke::SmokeTest;
use crate::{
    freshness, fsutil, launch, makespec, placement, project, skip, tauri_config, toolchain, venv, workdir, Build,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

impl Build {
    /// Whether the sidecar `name` is built onedir: a `resource` folder, or in extract-once mode
    /// (its own `launch`, else the top level's).
    pub(super) fn onedir(&self, name: &str) -> bool {
        let own = self.sidecars.get(name).and_then(|s| s.launch).or_else(|| self.launch_own.get(name).copied());
        self.settings.get(name).is_some_and(|s| s.resource.is_some())
            || own.unwrap_or(self.launch) == Launch::ExtractOnce
    }

    /// Every smoke test set, with what it belongs to.
    pub(super) fn smoke_tests(&self) -> impl Iterator<Item = (&str, &SmokeTest)> {
        let own = self.sidecars.iter().filter_map(|(name, s)| Some((name.as_str(), s.smoke_test.as_ref()?)));
        self.smoke_test.iter().map(|t| ("smoke-test", t)).chain(own)
    }

    pub(super) fn folders(&self, cargo: &Cargo, env: &BuildEnv) -> Folders {
        let python_dir = env.manifest_dir.join(self.python_dir.as_deref().unwrap_or(Path::new("python")));
        let python_dir = python_dir.canonicalize().unwrap_or(python_dir);
        let binaries_dir = env.manifest_dir.join(self.binaries_dir.as_deref().unwrap_or(Path::new("binaries")));
        let cache_root = match cargo.env("PYINSTALLER_BUILD_CACHE_DIR").map(PathBuf::from).or(self.cache_dir.clone()) {
            Some(dir) => env.manifest_dir.join(dir),
            None => workdir::default_cache_root(&env.out_dir, &env.manifest_dir),
        };
        Folders { python_dir, binaries_dir, cache_root }
    }
}

impl Build {
    /// `PYINSTALLER_BUILD_SKIP`: nothing is built; missing sidecars get placeholders (skip.rs).
    pub(super) fn skipped(&self, cargo: &Cargo, env: &BuildEnv) -> Result<Report> {
        let Folders { python_dir, binaries_dir, cache_root } = self.folders(cargo, env);
        let release = env.release || cargo_env("DEP_TAURI_DEV").is_some_and(|v| v == "false");
        // Placed as a real build would place them (a spec's key is its file name here).
        let config = tauri_config::TauriConfig::load(cargo, &env.manifest_dir, &env.target_os());
        let setting = |get: fn(&SidecarSettings) -> Option<&PathBuf>| {
            let set = self.settings.iter().filter_map(move |(k, s)| Some((k, get(s)?)));
            set.map(|(k, p)| (k.clone(), p.to_string_lossy().replace('\\', "/"))).collect()
        };
        let (install_as, resources) = (setting(|s| s.install_as.as_ref()), setting(|s| s.resource.as_ref()));
        let placement = placement::Placement::new(
            &env.manifest_dir,
            &binaries_dir,
            &env.target,
            config.as_ref(),
            (install_as, resources),
        )?;
        let request = skip::Request {
            place: &|key, output| placement.place(key, output),
            python_dir: &python_dir,
            specs: &self.specs,
            sidecars: &self.sidecars.keys().cloned().collect::<Vec<_>>(),
            project_cache: &workdir::project_cache(&cache_root, &python_dir),
            release,
            target: &env.target,
        };
        let (sidecars, unnamed) = skip::run(&request)?;
        let placeholders: Vec<&str> = sidecars.iter().filter(|s| s.placeholder).map(|s| s.name.as_str()).collect();
        cargo.warning(&match placeholders.as_slice() {
            [] => "pyinstaller-build: skipped (PYINSTALLER_BUILD_SKIP is set); sidecars were not built".to_string(),
            names => format!(
                "pyinstaller-build: skipped (PYINSTALLER_BUILD_SKIP is set); placeholders stand in for {} (they \
                 exit 1 when run; the next build without PYINSTALLER_BUILD_SKIP replaces them)",
                names.join(", ")
            ),
        });
        for message in unnamed {
            cargo.warning(&message);
        }
        let mut report = Report::default();
        for s in sidecars {
            let spec_path = python_dir.join(&s.spec);
            cargo.rerun_if_changed(&spec_path);
            cargo.rerun_if_changed(&s.installed);
            report.specs.push(SpecReport {
                outcome: if s.placeholder { Outcome::Placeholder } else { Outcome::Skipped },
                ..SpecReport::new(s.spec, s.name, s.installed)
            });
        }
        Ok(report)
    }

    /// Writes the spec of every sidecar without a spec file (PyInstaller's own writer, into the
    /// cache) and adds it to `specs`.
    /// The extract-once launcher, compiled when a spec needs it.
    pub(super) fn launcher(
        &self,
        cargo: &Cargo,
        cache_root: &Path,
        target: &str,
        specs: &[String],
        generated: &std::collections::BTreeMap<String, (makespec::Generated, Option<SmokeTest>)>,
        launch_own: &std::collections::BTreeMap<String, Launch>,
    ) -> Result<Option<launch::Launcher>> {
        let users: Vec<String> = specs
            .iter()
            .filter_map(|spec| {
                let (label, own) = match generated.get(spec) {
                    Some((g, _)) => (g.name.clone(), launch_own.get(&g.name).copied()),
                    None => (spec.clone(), launch_own.get(&project::spec_stem(spec)).copied()),
                };
                (own.unwrap_or(self.launch) == Launch::ExtractOnce).then_some(label)
            })
            .collect();
        match users.is_empty() {
            true => Ok(None),
            false => launch::compile(cargo, cache_root, target, &users).map(Some),
        }
    }

    pub(super) fn generate_specs(
        &self,
        specs: &mut Vec<String>,
        python_dir: &Path,
        python: &Path,
        toolchain: &toolchain::Toolchain,
        project_cache: &Path,
        (cargo, binaries_dir): (&Cargo, &Path),
    ) -> Result<std::collections::BTreeMap<String, (makespec::Generated, Option<SmokeTest>)>> {
        let mut generated = std::collections::BTreeMap::new();
        for (name, sidecar) in &self.sidecars {
            let bad_name = name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', ':']);
            if bad_name {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("pyinstaller-build: `{name}` cannot name a sidecar (it becomes a file name); use letters, digits, `-` and `_`."),
                ));
            }
            if let Some(spec) = specs.iter().find(|s| project::spec_stem(s) == *name) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "pyinstaller-build: the sidecar `{name}` and the spec `{spec}` share a name; their work folders would collide.\n\
                         Fix: rename the sidecar in [package.metadata.pyinstaller-build.sidecars], or build it from the spec only."
                    ),
                ));
            }
            // Checked before anything ran (`makespec::check_options`).
            let options = makespec::sort_options(name, &sidecar.options, self.onedir(name)).unwrap_or_default();
            let g = makespec::generate(&makespec::Request {
                name,
                script: &sidecar.script,
                options: &options.kept,
                python_dir,
                python,
                toolchain,
                dir: project_cache.join(name),
            })?;
            if let Some(note) = makespec::ignored_note(name, &options.ignored, binaries_dir).filter(|_| g.written) {
                cargo.warning(&note);
            }
            let id = g.spec.to_string_lossy().into_owned();
            specs.push(id.clone());
            generated.insert(id, (g, sidecar.smoke_test.clone()));
        }
        Ok(generated)
    }

    /// The managed environment's interpreter, and what determined it when the requirements do
    /// (`venv::Env::pinned`).
    pub(super) fn environment(
        &self,
        cargo: &Cargo,
        request: &venv::Request,
        pinned: Option<Vec<String>>,
    ) -> Result<(PathBuf, Option<Vec<String>>)> {
        let start = std::time::Instant::now();
        let managed = venv::ensure(request, pinned)?;
        if managed.created {
            let secs = start.elapsed().as_secs_f64();
            let provided = match &managed.provided {
                Some(p) => {
                    format!(", with `{p}` added: `{}` does not name PyInstaller", request.requirements.display())
                }
                None => String::new(),
            };
            cargo.warning(&format!(
                "pyinstaller-build: created the Python environment {} in {secs:.1} s{provided}",
                managed.dir.display()
            ));
        }
        Ok((managed.python, managed.pinned))
    }

    /// Everything but the project's files that a binary depends on.
    pub(super) fn context(&self, cargo: &Cargo, env: &BuildEnv, toolchain: String) -> freshness::fingerprint::Context {
        let vars = freshness::fingerprint::PYINSTALLER_ENV.iter().copied().chain(self.env.iter().map(String::as_str));
        let value = |k: &str| {
            let mut v = cargo.env(k).map(|v| v.to_string_lossy().into_owned());
            if k == "PYINSTALLER_ZLIB_COMPRESSION_LEVEL" && v.is_none() {
                v = self.compression.unwrap_or_default().level(env.release).map(|l| l.to_string());
            }
            freshness::fingerprint::without_cargo_dirs(k, v, &env.cargo_dirs())
        };
        freshness::fingerprint::Context {
            toolchain,
            target: env.target.clone(),
            env: vars.map(|k| (k.to_string(), value(k))).collect(),
            // Nothing yet: the smoke test is not PyInstaller's input (a change re-tests the binary).
            settings: String::new(),
        }
    }
}

/// When python-dir holds cargo's target folder or a Rust crate (python-dir = "." at the
/// crate's root, or the repository's root): what the layout costs, in words.
pub(super) fn layout_note(project: &project::Project, python_dir: &Path, scan: Duration) -> Option<String> {
    if project.tagged.is_empty() && project.crates.is_empty() {
        return None;
    }
    let named = |dirs: &[&String]| dirs.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ");
    let (own, inner): (Vec<&String>, Vec<&String>) = project.crates.iter().partition(|d| d.is_empty());
    let mut holds = Vec::new();
    if !own.is_empty() {
        holds.push("is itself a Rust crate".to_string());
    }
    if !project.tagged.is_empty() {
        holds.push(format!("holds cargo's target folder {}", named(&project.tagged.iter().collect::<Vec<_>>())));
    }
    if !inner.is_empty() {
        holds.push(format!("holds the Rust crate {}", named(&inner)));
    }
    Some(format!(
        "pyinstaller-build: python-dir `{}` {}: this layout works. Target folders are never \
         inputs, and a file no PyInstaller run read or could have found (Rust sources, Cargo.toml, \
         icons, JSON configs) rebuilds no sidecar. The cost: cargo reruns this build script when any \
         of the {} files it watches under python-dir changes (a Rust edit too), and each run scans \
         them ({:.0} ms here) and finds the sidecars up to date. A python-dir holding only the \
         Python sources avoids even that.",
        python_dir.display(),
        holds.join(" and "),
        project.files.len(),
        scan.as_secs_f64() * 1000.0
    ))
}

/// Prints `note` once per project: again only when it says something else.
pub(super) fn note_once(cargo: &Cargo, project_cache: &Path, note: &str) {
    let marker = project_cache.join("layout-note.txt");
    let first_line = |n: &str| n.split(" (").next().unwrap_or_default().to_string();
    if std::fs::read_to_string(&marker).is_ok_and(|old| first_line(&old) == first_line(note)) {
        return;
    }
    cargo.warning(note);
    let _ = fsutil::write_atomic(&marker, note.as_bytes(), false);
}
