//! One build, as phases: start (the skip switch, docs.rs, the folders, not a cross build), the
//! project and its specs, the interpreter (environment, toolchain, macOS architecture), the
//! no-environment path (hash-pinned lookups), the sidecars, plan and execute, finish.
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
use crate::spec::{Checks, Dirs, Facts, Shared, Sidecars};
use crate::{
    cache, devwatch, jobs, launch, macos, makespec, pinned, placement, project, pyinstaller, settings, sources, spec,
    tauri_config, toolchain, venv, workdir, Build,
};
use finish::{finish, finish_pinned};
use prepare::{layout_note, note_once};
use start::{lock_project, BuildEnv, Folders};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a smoke test may run unless `smoke-test-timeout` says otherwise.
const SMOKE_TEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The binary store's size unless `binary-cache-mb` says otherwise.
const BINARY_CACHE_MB: u64 = 1024;
/// The audit's threshold unless `audit-threshold` says otherwise.
const AUDIT_THRESHOLD: u64 = 1_000_000;

impl Build {
    /// The whole build ([`Build::try_compile`]).
    pub(crate) fn run(&self) -> Result<Report> {
        jobs::jobserver();
        let cargo = Cargo { capture: self.capture.clone() };
        let env = match self.start(&cargo)? {
            Started::Build(env) => env,
            Started::Done(report) => return Ok(report),
        };
        let scan = self.scan(&cargo, &env)?;
        let base = toolchain::discover(&cargo, self.python.as_deref(), &scan.python_dir, &env.manifest_dir)?;
        let requirements = self.requirements.as_ref().map(|r| scan.python_dir.join(r));
        self.advise_dev(&cargo, &env, &scan, requirements.as_deref());
        let envs_dir = scan.cache_root.join("envs");
        let request = requirements.as_deref().map(|r| self.venv_request(&cargo, &base, r, &envs_dir));
        let force = cargo.flag("PYINSTALLER_BUILD_FORCE");
        let mut cache = self.cache(&cargo, &env, &scan.cache_root);
        let basis = match &request {
            Some(request) => match self.without_environment(&cargo, &env, &scan, (request, &base), &cache, force)? {
                Pinned::Done(report) => return Ok(report),
                Pinned::NotEnough(basis) => basis,
            },
            None => None,
        };
        let environment = (request.as_ref(), base.as_path(), basis, requirements.as_deref());
        let interpreter = self.interpreter(&cargo, &env, environment, &scan, &mut cache)?;
        let Scan { python_dir, cache_root, dirs, project, mut specs, layout, setup, .. } = scan;
        let _lock = lock_project(&dirs.binaries_dir)?;
        let found = (python_dir.as_path(), cache_root.as_path(), &dirs);
        let sidecars = self.sidecars(&cargo, &env, &interpreter, (setup, found), &mut specs)?;
        let checks = self.checks(&cargo, interpreter.smoke_test.clone(), requirements);
        let facts = Facts {
            cargo: &cargo,
            project: &project,
            context: &interpreter.context,
            python: &interpreter.python,
            toolchain: &interpreter.toolchain,
            target: env.target.clone(),
            force,
            package_name: env.package_name.clone(),
        };
        let shared = Shared { facts, dirs, checks, sidecars, cache, staged: Default::default() };
        let report = execute(&shared, &specs, self.jobs.unwrap_or(env.jobs), &env)?;
        if let Some(note) = layout.filter(|_| report.specs.iter().any(|s| s.outcome == Outcome::Built)) {
            note_once(&cargo, &shared.dirs.project_cache, &note);
        }
        Ok(report)
    }
}

/// How the start went: on to the build, or done already (skipped, docs.rs, a mobile target).
enum Started {
    Build(BuildEnv),
    Done(Report),
}

/// The project phase's findings.
struct Scan {
    python_dir: PathBuf,
    cache_root: PathBuf,
    dirs: Dirs,
    project: project::Project,
    /// The spec files found (the generated ones join later).
    specs: Vec<String>,
    /// What python-dir's layout costs, said once after a build that ran PyInstaller.
    layout: Option<String>,
    tauri_config: Option<tauri_config::TauriConfig>,
    setup: Setup,
}

/// The sidecars' settings as resolved against the specs found.
struct Setup {
    placement: placement::Placement,
    runs: BTreeMap<String, settings::Run>,
    run: settings::Run,
    /// Which key a table named by a spec's literal output stands for (its stem).
    keys: BTreeMap<String, String>,
    any_resource: bool,
}

/// The interpreter phase's findings.
struct Interpreter {
    python: PathBuf,
    toolchain: toolchain::Toolchain,
    context: crate::freshness::fingerprint::Context,
    /// The top-level smoke test, unless this Mac cannot run what it builds.
    smoke_test: Option<crate::smoke::SmokeTest>,
}

/// How the no-environment path went: done, or not enough (with the basis it computed, if any).
enum Pinned {
    Done(Report),
    NotEnough(Option<Vec<String>>),
}

impl Build {
    /// The skip switch, docs.rs, the smoke tests' settings, a mobile target, not a cross build.
    fn start(&self, cargo: &Cargo) -> Result<Started> {
        let skip = cargo.flag("PYINSTALLER_BUILD_SKIP");
        if cargo.env("DOCS_RS").is_some() {
            cargo.warning("pyinstaller-build: skipped (DOCS_RS is set); sidecars were not built");
            return Ok(Started::Done(Report::default()));
        }
        let env = BuildEnv::new(self)?;
        for (label, test) in self.smoke_tests() {
            test.validate(label)?;
        }
        if env.target_os_is_mobile() {
            return Ok(Started::Done(Report::default()));
        }
        if skip {
            return self.skipped(cargo, &env).map(Started::Done);
        }
        // A Mac builds for its other architecture too, given a universal2 interpreter (macos.rs).
        if !macos::both_macos(&env.target, &env.host) {
            env.check_not_cross()?;
        }
        Ok(Started::Build(env))
    }

    /// The folders, the project and its specs, the settings checked, Tauri's config and where
    /// each sidecar goes.
    fn scan(&self, cargo: &Cargo, env: &BuildEnv) -> Result<Scan> {
        let Folders { python_dir, binaries_dir, cache_root } = self.folders(cargo, env);
        let mut skip = vec![cache_root.clone(), binaries_dir.clone()];
        // Installed folders hold no project module, wherever python-dir is.
        let resource_dirs = self.settings.values().filter_map(|s| s.resource.as_ref());
        skip.extend(resource_dirs.map(|r| tauri_config::normalize(&env.manifest_dir.join(r))));
        // The build's own outputs are never scanned, wherever python-dir is.
        let outputs = env.target_dirs();
        let scan_start = std::time::Instant::now();
        let not_project = [skip.clone(), outputs.clone()].concat();
        let project = project::Project::scan(&python_dir, &not_project)?;
        let layout = layout_note(&project, &python_dir, scan_start.elapsed());
        let specs = match project.specs(&self.specs) {
            // Sidecars without spec files need none.
            Err(e) if e.kind() == ErrorKind::NoSpecs && self.specs.is_empty() && !self.sidecars.is_empty() => vec![],
            other => other?,
        };
        let project_cache = workdir::project_cache(&cache_root, &python_dir);
        venv::check_setting(self.pyinstaller.as_deref(), self.requirements.is_some())?;
        venv::check_selection(!self.extras.is_empty() || self.groups.is_some(), self.requirements.is_some())?;
        makespec::check_options(self.sidecars.iter().map(|(name, s)| (name, &s.options[..], self.onedir(name))))?;
        let tauri_config = tauri_config::TauriConfig::load(cargo, &env.manifest_dir, &env.target_os());
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
        let stamps_dir = env.out_dir.join("pyinstaller-build");
        let dirs =
            Dirs { project_cache, binaries_dir, stamps_dir, cargo_dirs: env.cargo_dirs(), skip, outputs, not_project };
        let setup = Setup { placement, runs, run, keys, any_resource };
        Ok(Scan { python_dir, cache_root, dirs, project, specs, layout, tauri_config, setup })
    }

    /// `tauri dev` and plain debug builds hear once what keeps a Python edit from reaching the
    /// running app; `tauri build` and release builds are not watched.
    fn advise_dev(&self, cargo: &Cargo, env: &BuildEnv, scan: &Scan, requirements: Option<&Path>) {
        let dev = !env.release && cargo_env("DEP_TAURI_DEV").is_none_or(|v| v != "false");
        if let Some(config) = scan.tauri_config.as_ref().filter(|_| dev) {
            // Sources and specs: what a developer saves and expects to see in the running app.
            let source = |f: &&String| [".py", ".pyw", ".spec"].iter().any(|e| f.ends_with(e));
            let files = scan.project.files.keys().filter(source).map(|f| scan.project.path(f));
            let files = files.chain(requirements.map(Path::to_path_buf)).collect();
            let install_dirs = scan.setup.placement.folders();
            let inputs = devwatch::Inputs { app_dir: &env.manifest_dir, files, install_dirs, config };
            devwatch::check(cargo, &inputs, &scan.dirs.project_cache.join("tauri-dev-advice.txt"));
        }
    }

    /// What the crate-owned environment is made from, when `requirements` is set.
    fn venv_request<'a>(
        &'a self,
        cargo: &'a Cargo,
        base: &'a Path,
        requirements: &'a Path,
        envs_dir: &'a Path,
    ) -> venv::Request<'a> {
        venv::Request {
            base,
            requirements,
            envs_dir,
            offline: cargo.flag("CARGO_NET_OFFLINE"),
            uv: which::which("uv").ok(),
            cargo,
            pyinstaller: self.pyinstaller.as_deref(),
            selection: venv::Selection { extras: self.extras.clone(), groups: self.groups.clone() },
        }
    }

    /// The binary store and, with the feature and its variables, the shared cache.
    fn cache(&self, cargo: &Cargo, env: &BuildEnv, cache_root: &Path) -> cache::Cache {
        let limit = self.binary_cache_mb.unwrap_or(BINARY_CACHE_MB) * 1_000_000;
        cache::Cache::new(cache::Store { dir: cache_root.join("binaries"), limit }, cargo, &env.manifest_dir)
    }

    /// Hash-pinned requirements and no environment yet: the binaries may be had without it.
    /// Not for sidecars without a spec file (writing it needs the environment), nor on macOS,
    /// whose universal sidecar is made from both halves' work folders, nor when `run-in` or
    /// `pyinstaller-env` are set (the keys asked there do not hold them).
    fn without_environment(
        &self,
        cargo: &Cargo,
        env: &BuildEnv,
        scan: &Scan,
        (request, base): (&venv::Request, &Path),
        cache: &cache::Cache,
        force: bool,
    ) -> Result<Pinned> {
        // Watched wherever they are: outside python-dir no other rule covers them.
        for file in venv::inputs(request.requirements) {
            cargo.rerun_if_changed(&file);
        }
        let (_, env_dir, ready) = venv::locate(request)?;
        let setup = &scan.setup;
        let plain = self.sidecars.is_empty()
            && env.target == env.host
            && !force
            && !env.target.ends_with("-apple-darwin")
            && [&setup.run].into_iter().chain(setup.runs.values()).all(|r| *r == settings::Run::default())
            // The launcher joins the key of an extract-once sidecar: compiled only below.
            && self.launch == Launch::Onefile
            && self.launch_own.is_empty()
            // A resource folder is installed by unpacking, which that path does not do.
            && !setup.any_resource;
        let basis = if !ready && plain { venv::pinned_basis(request) } else { None };
        let Some(basis) = basis else { return Ok(Pinned::NotEnough(None)) };
        let dirs = &scan.dirs;
        let _lock = lock_project(&dirs.binaries_dir)?;
        let context = self.context(cargo, env, String::new());
        let pinned = pinned::Request {
            keys: pinned::Keys { project: &scan.project, specs: &scan.specs, context: &context, basis: &basis },
            cache,
            env_dir: &env_dir,
            dirs,
            smoke: (self.smoke_test.as_ref(), self.smoke_test_timeout.unwrap_or(SMOKE_TEST_TIMEOUT)),
            cargo,
            package_name: env.package_name.as_deref(),
            place: &|spec, output| setup.placement.place(&project::spec_stem(spec), output),
        };
        let Some((reports, watch)) = pinned::run(&pinned)? else { return Ok(Pinned::NotEnough(Some(basis))) };
        let done = finish_pinned(cargo, env, &scan.project, base, cache, &dirs.stamps_dir, reports, watch)?;
        let built: Vec<_> = done.specs.iter().map(|s| (project::spec_stem(&s.spec), s.installed.clone())).collect();
        setup.placement.check_entries(&built)?;
        Ok(Pinned::Done(done))
    }

    /// The interpreter PyInstaller runs in (the crate's environment, made or found, else the
    /// base one), its toolchain, what the fingerprints are made of, and the macOS architecture.
    fn interpreter(
        &self,
        cargo: &Cargo,
        env: &BuildEnv,
        (request, base, basis, requirements): (Option<&venv::Request>, &Path, Option<Vec<String>>, Option<&Path>),
        scan: &Scan,
        cache: &mut cache::Cache,
    ) -> Result<Interpreter> {
        let (python, determined_by) = match request {
            None => (base.to_path_buf(), None),
            // The basis just computed, if any: not the interpreter asked twice.
            Some(request) => self.environment(cargo, request, basis)?,
        };
        let project_cache = &scan.dirs.project_cache;
        let toolchain = toolchain::probe(&python, project_cache)?;
        let setup = toolchain::Setup { requirements, manifest_dir: &env.manifest_dir, python_dir: &scan.python_dir };
        toolchain::check_supported(&toolchain, &setup)?;
        // Built here from what determines the environment: stored for readers without one too.
        let pinned = determined_by.filter(|_| cache.can_upload());
        cache.set_environment(cache::env_root(&toolchain), pinned.as_deref().map(cache::pinned_digest));
        let target_arch = match macos::both_macos(&env.target, &env.host) {
            true => macos::target_arch(&env.target, &env.host, &toolchain.platform, &python)?,
            false => None,
        };
        let mut context = self.context(cargo, env, toolchain.fingerprint());
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
        Ok(Interpreter { python, toolchain, context, smoke_test })
    }

    /// The sidecars: specs written for those without one (added to `specs`), each one's launch
    /// mode, and the launcher when one is extract-once.
    fn sidecars(
        &self,
        cargo: &Cargo,
        env: &BuildEnv,
        interpreter: &Interpreter,
        (setup, (python_dir, cache_root, dirs)): (Setup, (&Path, &Path, &Dirs)),
        specs: &mut Vec<String>,
    ) -> Result<Sidecars> {
        let (python, toolchain) = (&interpreter.python, &interpreter.toolchain);
        let out = (cargo, dirs.binaries_dir.as_path());
        let generated = self.generate_specs(specs, python_dir, python, toolchain, &dirs.project_cache, out)?;
        // By key (a sidecar's name, a spec file's stem), as `Shared::key` names them.
        // Keyed as the other settings are: a table named by a spec's literal output is its stem's.
        let mut launch_own: BTreeMap<String, Launch> = self
            .launch_own
            .iter()
            .map(|(k, l)| (setup.keys.get(k).cloned().unwrap_or_else(|| k.clone()), *l))
            .collect();
        launch_own.extend(self.sidecars.iter().filter_map(|(name, s)| s.launch.map(|l| (name.clone(), l))));
        // A resource sidecar is onedir whatever the table's `launch` says (its own cannot be
        // extract-once: settings.rs).
        for spec in specs.iter() {
            let key = generated.get(spec).map_or_else(|| project::spec_stem(spec), |(g, _)| g.name.clone());
            if setup.placement.is_resource(&key) {
                launch_own.insert(key, Launch::Onefile);
            }
        }
        let launcher = self.launcher(cargo, cache_root, &env.target, specs, &generated, &launch_own)?;
        Ok(Sidecars {
            generated,
            placement: setup.placement,
            runs: setup.runs,
            run: setup.run,
            launch: self.launch,
            launch_own,
            launcher,
            folder_packer: launch::Launcher::folder(),
        })
    }

    /// What each binary is checked against, with the defaults resolved.
    fn checks(
        &self,
        cargo: &Cargo,
        smoke_test: Option<crate::smoke::SmokeTest>,
        requirements: Option<PathBuf>,
    ) -> Checks {
        Checks {
            smoke_test,
            smoke_test_timeout: self.smoke_test_timeout.unwrap_or(SMOKE_TEST_TIMEOUT),
            audit_threshold: self.audit_threshold.unwrap_or(AUDIT_THRESHOLD),
            audit_verify: cargo.env("PYINSTALLER_BUILD_AUDIT").is_some_and(|v| v == "verify"),
            allow_missing_imports: self.allow_missing_imports,
            requirements,
        }
    }
}

/// Plans every spec, checks that the project's modules compile when one builds, runs the specs
/// (at most `limit` at once) and finishes.
fn execute(shared: &Shared, specs: &[String], limit: usize, env: &BuildEnv) -> Result<Report> {
    let plans = specs.iter().map(|s| spec::plan(shared, s)).collect::<Result<Vec<_>>>()?;
    // A module that does not compile would be left out of the binary by PyInstaller, which
    // does not fail on it (sources.rs): nothing is built, nothing recorded.
    if plans.iter().any(spec::Plan::builds) {
        // What compiles is the interpreter's business alone, not the installed packages'.
        let (facts, toolchain) = (&shared.facts, shared.facts.toolchain);
        let interpreter = format!("{}\n{}", toolchain.python.display(), toolchain.version);
        let (project, env_vars) = (facts.project, &facts.context.env);
        sources::compile_all(project, facts.python, env_vars, &interpreter, &shared.dirs.project_cache)?;
    }
    // What each spec had installed before: a file that now goes elsewhere is removed after.
    let dirs = &shared.dirs;
    let previous: Vec<spec::Stamp> =
        specs.iter().filter_map(|s| spec::Stamp::read(&dirs.stamps_dir, &dirs.binaries_dir, s)).collect();
    let results = jobs::run_all(plans, limit, |plan| spec::execute(shared, plan));
    finish(shared.facts.cargo, shared, shared.facts.toolchain, env, results, (specs, &previous))
}
