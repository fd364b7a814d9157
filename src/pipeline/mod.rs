//! One build, as phases: start (the skip switch, docs.rs, the folders, not a cross build), the
//! project and its specs, the interpreter (environment, toolchain, macOS architecture), the
//! no-environment path (hash-pinned lookups), plan, execute, finish.
//!
//! `start.rs` holds where the build reads and writes, `prepare.rs` what it needs before it plans,
//! `finish.rs` its ending, shared by both paths.

mod finish;
mod prepare;
mod start;

use crate::cargo::{cargo_env, Cargo};
use crate::error::{ErrorKind, Result};
use crate::launch::Launch;
use crate::report::{Outcome, Report};
use crate::{
    cache, devwatch, jobs, launch, macos, makespec, pinned, placement, project, pyinstaller, settings, sources, spec,
    tauri_config, toolchain, venv, workdir, Build,
};
use finish::{finish, finish_pinned};
use prepare::{layout_note, note_once};
use start::{lock_project, BuildEnv, Folders};
use std::time::Duration;

impl Build {
    /// The whole build ([`Build::try_compile`]).
    pub(crate) fn run(&self) -> Result<Report> {
        jobs::jobserver();
        let cargo = Cargo { capture: self.capture.clone() };
        let skip = cargo.flag("PYINSTALLER_BUILD_SKIP");
        if cargo.env("DOCS_RS").is_some() {
            cargo.warning("pyinstaller-build: skipped (DOCS_RS is set); sidecars were not built");
            return Ok(Report::default());
        }
        let env = BuildEnv::new(self)?;
        for (label, test) in self.smoke_tests() {
            test.validate(label)?;
        }
        if env.target_os_is_mobile() {
            return Ok(Report::default());
        }
        if skip {
            return self.skipped(&cargo, &env);
        }
        // A Mac builds for its other architecture too, given a universal2 interpreter (macos.rs).
        if !macos::both_macos(&env.target, &env.host) {
            env.check_not_cross()?;
        }
        let Folders { python_dir, binaries_dir, cache_root } = self.folders(&cargo, &env);
        let mut skip = vec![cache_root.clone(), binaries_dir.clone()];
        // Installed folders hold no project module, wherever python-dir is.
        let resource_dirs = self.settings.values().filter_map(|s| s.resource.as_ref());
        skip.extend(resource_dirs.map(|r| tauri_config::normalize(&env.manifest_dir.join(r))));
        // The build's own outputs are never scanned, wherever python-dir is.
        let outputs = env.target_dirs();
        let scan_start = std::time::Instant::now();
        let project = project::Project::scan(&python_dir, &[skip.clone(), outputs.clone()].concat())?;
        let layout = layout_note(&project, &python_dir, scan_start.elapsed());
        let mut specs = match project.specs(&self.specs) {
            // Sidecars without spec files need none.
            Err(e) if e.kind() == ErrorKind::NoSpecs && self.specs.is_empty() && !self.sidecars.is_empty() => vec![],
            other => other?,
        };
        let project_cache = workdir::project_cache(&cache_root, &python_dir);
        venv::check_setting(self.pyinstaller.as_deref(), self.requirements.is_some())?;
        venv::check_selection(!self.extras.is_empty() || self.groups.is_some(), self.requirements.is_some())?;
        makespec::check_options(self.sidecars.iter().map(|(name, s)| (name, &s.options[..], self.onedir(name))))?;
        let tauri_config = tauri_config::TauriConfig::load(&cargo, &env.manifest_dir, &env.target_os());
        for file in tauri_config.iter().flat_map(|c| &c.files) {
            cargo.rerun_if_changed(file);
        }
        let settings::Resolved { install_as, resources, runs, run, keys } =
            settings::resolve(self, &specs, &python_dir)?;
        let any_resource = !resources.is_empty();
        let placement = placement::Placement::new(
            &env.manifest_dir,
            &binaries_dir,
            &env.target,
            tauri_config.as_ref(),
            (install_as, resources),
        )?;
        let base = toolchain::discover(&cargo, self.python.as_deref(), &python_dir, &env.manifest_dir)?;
        let requirements = self.requirements.as_ref().map(|r| python_dir.join(r));
        // `tauri build` and release builds are not watched; `tauri dev` and plain debug builds
        // hear once what keeps a Python edit from reaching the running app.
        let dev = !env.release && cargo_env("DEP_TAURI_DEV").is_none_or(|v| v != "false");
        if let Some(config) = tauri_config.as_ref().filter(|_| dev) {
            // Sources and specs: what a developer saves and expects to see in the running app.
            let source = |f: &&String| [".py", ".pyw", ".spec"].iter().any(|e| f.ends_with(e));
            let files =
                project.files.keys().filter(source).map(|f| project.path(f)).chain(requirements.clone()).collect();
            let inputs =
                devwatch::Inputs { app_dir: &env.manifest_dir, files, install_dirs: placement.folders(), config };
            devwatch::check(&cargo, &inputs, &project_cache.join("tauri-dev-advice.txt"));
        }
        let envs_dir = cache_root.join("envs");
        let request = requirements.as_deref().map(|requirements| venv::Request {
            base: &base,
            requirements,
            envs_dir: &envs_dir,
            offline: cargo.flag("CARGO_NET_OFFLINE"),
            uv: which::which("uv").ok(),
            cargo: &cargo,
            pyinstaller: self.pyinstaller.as_deref(),
            selection: venv::Selection { extras: self.extras.clone(), groups: self.groups.clone() },
        });
        let force = cargo.flag("PYINSTALLER_BUILD_FORCE");
        let store =
            cache::Store { dir: cache_root.join("binaries"), limit: self.binary_cache_mb.unwrap_or(1024) * 1_000_000 };
        let mut cache = cache::Cache::new(store, &cargo, &env.manifest_dir);
        let stamps_dir = env.out_dir.join("pyinstaller-build");
        let mut basis = None;
        if let Some(request) = &request {
            // Watched wherever they are: outside python-dir no other rule covers them.
            for file in venv::inputs(request.requirements) {
                cargo.rerun_if_changed(&file);
            }
            let (_, env_dir, ready) = venv::locate(request)?;
            // Hash-pinned requirements: the binaries may be had without the environment. Not for
            // sidecars without a spec file (writing it needs the environment), nor on macOS,
            // whose universal sidecar is made from both halves' work folders.
            // Nor when `run-in` or `pyinstaller-env` are set: the keys asked there do not hold them.
            let plain = self.sidecars.is_empty()
                && env.target == env.host
                && !force
                && !env.target.ends_with("-apple-darwin")
                && [&run].into_iter().chain(runs.values()).all(|r| *r == settings::Run::default())
                // The launcher joins the key of an extract-once sidecar: compiled only below.
                && self.launch == Launch::Onefile
                && self.launch_own.is_empty()
                // A resource folder is installed by unpacking, which that path does not do.
                && !any_resource;
            if !ready && plain {
                basis = venv::pinned_basis(request);
            }
            if let Some(basis) = &basis {
                let _lock = lock_project(&binaries_dir)?;
                let context = self.context(&cargo, &env, String::new());
                let package_name = cargo_env("CARGO_PKG_NAME").and_then(|n| n.into_string().ok());
                let pinned = pinned::Request {
                    project: &project,
                    specs: &specs,
                    context: &context,
                    basis,
                    cache: &cache,
                    env_dir: &env_dir,
                    project_cache: &project_cache,
                    binaries_dir: &binaries_dir,
                    stamps_dir: &stamps_dir,
                    smoke_test: self.smoke_test.as_ref(),
                    smoke_test_timeout: self.smoke_test_timeout.unwrap_or(Duration::from_secs(60)),
                    cargo_dirs: env.cargo_dirs(),
                    package_name: package_name.as_deref(),
                    env_value: &|k| cargo.env(k).map(|v| v.to_string_lossy().into_owned()),
                    place: &|spec, output| placement.place(&project::spec_stem(spec), output),
                };
                if let Some((reports, watch)) = pinned::run(&pinned)? {
                    let done = finish_pinned(&cargo, &env, &project, &base, &cache, &stamps_dir, reports, watch)?;
                    let built: Vec<_> =
                        done.specs.iter().map(|s| (project::spec_stem(&s.spec), s.installed.clone())).collect();
                    placement.check_entries(&built)?;
                    return Ok(done);
                }
            }
        }
        let (python, determined_by) = match &request {
            None => (base.clone(), None),
            // The basis just computed, if any: not the interpreter asked twice.
            Some(request) => self.environment(&cargo, request, basis)?,
        };
        let toolchain = toolchain::probe(&python, &project_cache)?;
        let setup = toolchain::Setup {
            requirements: requirements.as_deref(),
            manifest_dir: &env.manifest_dir,
            python_dir: &python_dir,
        };
        toolchain::check_supported(&toolchain, &setup)?;
        // Built here from what determines the environment: stored for readers without one too.
        let pinned = determined_by.filter(|_| cache.can_upload());
        cache.set_environment(cache::env_root(&toolchain), pinned.as_deref().map(cache::pinned_digest));
        let target_arch = match macos::both_macos(&env.target, &env.host) {
            true => macos::target_arch(&env.target, &env.host, &toolchain.platform, &python)?,
            false => None,
        };
        let mut context = self.context(&cargo, &env, toolchain.fingerprint());
        let mut smoke_test = self.smoke_test.clone();
        if let Some(arch) = target_arch {
            context.env.push((pyinstaller::TARGET_ARCH_VAR.to_string(), Some(arch.to_string())));
            // An Intel Mac cannot run arm64 code (an Apple Silicon Mac runs x86_64 through Rosetta).
            if arch == "arm64" && env.host.starts_with("x86_64") && smoke_test.take().is_some() {
                cargo.warning(&format!(
                    "pyinstaller-build: no smoke test for `{}`: this Intel Mac cannot run arm64 binaries",
                    env.target
                ));
            }
        }
        let _lock = lock_project(&binaries_dir)?;
        let generated =
            self.generate_specs(&mut specs, &python_dir, &python, &toolchain, &project_cache, (&cargo, &binaries_dir))?;
        // By key (a sidecar's name, a spec file's stem), as `Shared::key` names them.
        // Keyed as the other settings are: a table named by a spec's literal output is its stem's.
        let mut launch_own: std::collections::BTreeMap<String, Launch> =
            self.launch_own.iter().map(|(k, l)| (keys.get(k).cloned().unwrap_or_else(|| k.clone()), *l)).collect();
        launch_own.extend(self.sidecars.iter().filter_map(|(name, s)| s.launch.map(|l| (name.clone(), l))));
        // A resource sidecar is onedir whatever the table's `launch` says (its own cannot be
        // extract-once: settings.rs).
        for spec in &specs {
            let key = generated.get(spec).map_or_else(|| project::spec_stem(spec), |(g, _)| g.name.clone());
            if placement.is_resource(&key) {
                launch_own.insert(key, Launch::Onefile);
            }
        }
        let launcher = self.launcher(&cargo, &cache_root, &env.target, &specs, &generated, &launch_own)?;
        let shared = spec::Shared {
            launch: self.launch,
            launch_own,
            launcher,
            folder_packer: launch::Launcher::folder(),
            staged: Default::default(),
            cargo: &cargo,
            project: &project,
            context: &context,
            python: &python,
            toolchain: &toolchain,
            project_cache,
            binaries_dir,
            stamps_dir,
            target: env.target.clone(),
            smoke_test,
            smoke_test_timeout: self.smoke_test_timeout.unwrap_or(Duration::from_secs(60)),
            generated,
            force,
            cache,
            audit_threshold: self.audit_threshold.unwrap_or(1_000_000),
            audit_verify: cargo.env("PYINSTALLER_BUILD_AUDIT").is_some_and(|v| v == "verify"),
            package_name: cargo_env("CARGO_PKG_NAME").map(|n| n.to_string_lossy().into_owned()),
            not_project: [skip.clone(), outputs.clone()].concat(),
            skip,
            cargo_dirs: env.cargo_dirs(),
            allow_missing_imports: self.allow_missing_imports,
            requirements: requirements.clone(),
            outputs,
            placement,
            runs,
            run,
        };

        let plans = specs.iter().map(|s| spec::plan(&shared, s)).collect::<Result<Vec<_>>>()?;
        // A module that does not compile would be left out of the binary by PyInstaller, which
        // does not fail on it (sources.rs): nothing is built, nothing recorded.
        if plans.iter().any(spec::Plan::builds) {
            // What compiles is the interpreter's business alone, not the installed packages'.
            let interpreter = format!("{}\n{}", toolchain.python.display(), toolchain.version);
            sources::compile_all(&project, &python, &context.env, &interpreter, &shared.project_cache)?;
        }
        let limit = self.jobs.unwrap_or(env.jobs);
        // What each spec had installed before: a file that now goes elsewhere is removed after.
        let previous: Vec<spec::Stamp> =
            specs.iter().filter_map(|s| spec::Stamp::read(&shared.stamps_dir, &shared.binaries_dir, s)).collect();
        let results = jobs::run_all(plans, limit, |plan| spec::execute(&shared, plan));
        let report = finish(&cargo, &shared, &toolchain, &env, results, (&specs, &previous))?;
        if let Some(note) = layout.filter(|_| report.specs.iter().any(|s| s.outcome == Outcome::Built)) {
            note_once(&cargo, &shared.project_cache, &note);
        }
        Ok(report)
    }
}
