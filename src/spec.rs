//! One spec: decide what it needs (nothing, a reinstall, a build), then do it.

use crate::audit;
use crate::build_support;
use crate::cache::{self, Cache};
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::fastpath;
use crate::freshness::fingerprint::{self, Context};
use crate::freshness::reads;
use crate::freshness::stale::Counts;
use crate::freshness::state::{now_secs, State};
use crate::freshness::{Changed, Stale};
use crate::hashing::{hash_file, hex};
use crate::install;
use crate::launch::{Launch, Launcher};
use crate::makespec::Generated;
use crate::onedir;
use crate::placement::{Place, Placement};
use crate::project::{spec_stem, Project};
use crate::pyinstaller::{Extras, How, Invocation, Scope};
use crate::report::{Outcome, SharedCache, SpecReport};
use crate::settings::Run;
use crate::smoke::{self, SmokeTest};
use crate::workdir::SpecDir;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What every spec of this run shares, in named parts.
pub(crate) struct Shared<'a> {
    pub facts: Facts<'a>,
    pub dirs: Dirs,
    pub checks: Checks,
    pub sidecars: Sidecars,
    pub cache: Cache,
    /// Resource folders unpacked beside their place for the smoke test, by that place, until
    /// `pipeline::finish` renames them into it (dropped unused, they are removed).
    pub staged: std::sync::Mutex<BTreeMap<PathBuf, onedir::Staged>>,
}

/// What this run is: cargo, the project, the interpreter and what the fingerprints are made of.
pub(crate) struct Facts<'a> {
    pub cargo: &'a crate::cargo::Cargo,
    pub project: &'a Project,
    pub context: &'a Context,
    pub python: &'a Path,
    pub toolchain: &'a crate::toolchain::Toolchain,
    pub target: String,
    /// `PYINSTALLER_BUILD_FORCE`.
    pub force: bool,
    /// The app's package (`CARGO_PKG_NAME`), for messages and the shared cache.
    pub package_name: Option<String>,
}

/// Where the build reads and writes, and what it leaves alone.
pub(crate) struct Dirs {
    pub project_cache: PathBuf,
    pub binaries_dir: PathBuf,
    /// Where the stamps of what this profile installed are kept (in `OUT_DIR`).
    pub stamps_dir: PathBuf,
    /// Cargo's own folders, taken out of the library search path the smoke test passes on.
    pub cargo_dirs: Vec<PathBuf>,
    /// Folders the crate writes to, skipped when rescanning the project.
    pub skip: Vec<PathBuf>,
    /// Cargo's target folders, also skipped by the scan (a file PyInstaller read there is still
    /// an input, by its trace).
    pub outputs: Vec<PathBuf>,
    /// Both, which hold no project module (`skip` and `outputs`).
    pub not_project: Vec<PathBuf>,
}

/// What a binary is checked against before it is installed, and what is said about it.
pub(crate) struct Checks {
    /// The top-level smoke test.
    pub smoke_test: Option<SmokeTest>,
    pub smoke_test_timeout: Duration,
    pub audit_threshold: u64,
    /// `PYINSTALLER_BUILD_AUDIT=verify`.
    pub audit_verify: bool,
    /// `allow-missing-imports`: a missing top-level import is a warning, not an error.
    pub allow_missing_imports: bool,
    /// The requirements file, for the fix of a missing import.
    pub requirements: Option<PathBuf>,
}

/// The sidecars: how each is generated, run, launched and placed.
pub(crate) struct Sidecars {
    /// The sidecars without a spec file, by the path of their generated spec, with their own
    /// smoke test.
    pub generated: BTreeMap<String, (Generated, Option<SmokeTest>)>,
    /// Where each sidecar is installed (`bundle.externalBin`, `install-as`, binaries-dir).
    pub placement: Placement,
    /// How PyInstaller runs for each sidecar, by key ([`Shared::key`]); `run` for the others.
    pub runs: BTreeMap<String, Run>,
    pub run: Run,
    /// The top-level `launch`.
    pub launch: Launch,
    /// Sidecars' own `launch`, by key ([`Shared::key`]).
    pub launch_own: BTreeMap<String, Launch>,
    /// The extract-once launcher, when a spec is in that mode.
    pub launcher: Option<Launcher>,
    /// What a resource folder's onedir build is packed behind: nothing (`Launcher::folder`).
    pub folder_packer: Launcher,
}

impl Shared<'_> {
    /// The interpreter and environment the fast path's helper runs in: the spec's PyInstaller's
    /// (`env`, from [`Shared::spec_env`]).
    fn python<'e>(&'e self, env: &'e [(String, Option<String>)]) -> fastpath::Python<'e> {
        fastpath::Python { python: self.facts.python, env }
    }

    /// The sidecar's key: a sidecar's table key, or a spec's file name without `.spec`.
    pub(crate) fn key(&self, spec: &str) -> String {
        match self.sidecars.generated.get(spec) {
            Some((g, _)) => g.name.clone(),
            None => spec_stem(spec),
        }
    }

    /// How PyInstaller runs for a spec.
    pub(crate) fn run_of(&self, spec: &str) -> &Run {
        self.sidecars.runs.get(&self.key(spec)).unwrap_or(&self.sidecars.run)
    }

    /// The variables a spec's PyInstaller runs with: the fingerprint's, and its `pyinstaller-env`.
    pub(crate) fn spec_env(&self, spec: &str) -> Vec<(String, Option<String>)> {
        let own = &self.run_of(spec).env;
        let mut env: Vec<_> = self.facts.context.env.iter().filter(|(k, _)| !own.contains_key(k)).cloned().collect();
        env.extend(own.iter().map(|(k, v)| (k.clone(), Some(v.clone()))));
        env
    }

    /// A variable a spec read, as its PyInstaller saw it: its `pyinstaller-env`, else the
    /// build's environment (announced to cargo).
    pub(crate) fn spec_env_value(&self, spec: &str, name: &str) -> Option<String> {
        match self.run_of(spec).env.get(name) {
            Some(v) => Some(v.clone()),
            None => self.env_value(name),
        }
    }

    /// Where a spec whose output is `output` is installed.
    pub(crate) fn place(&self, spec: &str, output: &str) -> Place {
        self.sidecars.placement.place(&self.key(spec), output)
    }

    /// The smoke test of a spec: its sidecar's own, else the top-level one.
    fn smoke_test(&self, spec: &str) -> Option<&SmokeTest> {
        match self.sidecars.generated.get(spec) {
            Some((_, Some(own))) => Some(own),
            _ => self.checks.smoke_test.as_ref(),
        }
    }

    /// How messages name a spec: `worker.spec`, or `main` for a sidecar without one.
    pub(crate) fn label(&self, spec: &str) -> String {
        match self.sidecars.generated.get(spec) {
            Some((g, _)) => g.name.clone(),
            None => spec.to_string(),
        }
    }

    /// A spec's launch mode: its sidecar's own, else the top-level one.
    pub(crate) fn launch(&self, spec: &str) -> Launch {
        self.sidecars.launch_own.get(&self.key(spec)).copied().unwrap_or(self.sidecars.launch)
    }

    /// What a spec's onedir form is packed behind: the launcher in extract-once mode, nothing
    /// for a resource folder (the same build, pack and fast path serve both); `None` for a
    /// onefile spec.
    pub(crate) fn launcher(&self, spec: &str) -> Option<&Launcher> {
        if self.sidecars.placement.is_resource(&self.key(spec)) {
            return Some(&self.sidecars.folder_packer);
        }
        self.sidecars.launcher.as_ref().filter(|_| self.launch(spec) == Launch::ExtractOnce)
    }

    /// What a generated spec was made from (part of its context, as the spec file's content is
    /// for a spec in python-dir), and how PyInstaller runs for it. (Not its smoke test, which
    /// PyInstaller never sees.) With the launch mode, and in extract-once mode the launcher's
    /// bytes, which the installed file holds.
    fn generated_digest(&self, spec: &str) -> String {
        let mut run = self.run_of(spec).digest();
        if let Some(l) = self.launcher(spec) {
            run += &format!("launch extract-once {}", l.hash);
        }
        match self.sidecars.generated.get(spec) {
            Some((g, _)) => format!("generated {}{run}", g.digest),
            None => run,
        }
    }

    /// What the stamp keeps of the smoke test a spec's binary passed.
    fn smoke_digest(&self, spec: &str) -> String {
        smoke::digest(self.smoke_test(spec), self.checks.smoke_test_timeout)
    }

    /// A variable a spec read, as the fingerprint holds it (announced to cargo).
    pub(crate) fn env_value(&self, name: &str) -> Option<String> {
        self.facts.cargo.env(name).map(|v| v.to_string_lossy().into_owned())
    }

    /// The project files a spec depends on, after a build with these records and reads.
    fn inputs(&self, spec: &str, state: Option<&State>) -> BTreeSet<String> {
        let recorded = state.map(|s| s.records.iter().chain(&s.reads.project).cloned().collect::<Vec<_>>());
        fingerprint::inputs(self.facts.project, spec, recorded.as_deref(), state.is_some_and(|s| s.reads.complete))
    }
}

/// What this profile installed for a spec, kept in `OUT_DIR`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Stamp {
    pub fingerprint: String,
    /// The spec's output (its binary's file name without `.exe`), which decides where it goes.
    pub name: String,
    pub installed: PathBuf,
    pub binary_hash: String,
    /// python-dir of the project it was built from: only that project's build removes it when
    /// it is built no more (a stamp from before this was kept is never removed).
    #[serde(default)]
    pub project: Option<PathBuf>,
    /// The smoke test the installed binary passed (`smoke::digest`): another one re-tests it.
    #[serde(default)]
    pub smoke: String,
    /// For a resource folder (`installed` is a folder): [`onedir::digest`] of what was installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

impl Stamp {
    /// The stamp of `spec` installed into `binaries_dir`, if any.
    pub(crate) fn read(stamps_dir: &Path, binaries_dir: &Path, spec: &str) -> Option<Stamp> {
        fs::read(stamp_path(stamps_dir, binaries_dir, spec)).ok().and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// Whether it says `fingerprint` is installed where it belongs (`place`, from the stamp's
    /// output name), and the installed file is still what it says.
    pub(crate) fn holds(&self, fingerprint: &str, place: &dyn Fn(&str) -> PathBuf) -> bool {
        self.fingerprint == fingerprint && self.installed == place(&self.name) && self.intact()
    }

    /// The installed file or folder is still what the crate installed.
    fn intact(&self) -> bool {
        match &self.folder {
            Some(digest) => onedir::digest(&self.installed).as_ref() == Some(digest),
            None => intact(&self.installed, &self.binary_hash),
        }
    }

    /// Removes what it installed, if it still is what the crate installed; whether it did.
    fn remove_installed(&self) -> bool {
        match &self.folder {
            Some(_) => self.intact() && onedir::remove(&self.installed),
            None => same_hash(&self.installed, &self.binary_hash) && fs::remove_file(&self.installed).is_ok(),
        }
    }

    pub(crate) fn write(&self, stamps_dir: &Path, binaries_dir: &Path, spec: &str) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).expect("serializable");
        crate::fsutil::write_atomic(&stamp_path(stamps_dir, binaries_dir, spec), &bytes, false)
    }
}

/// A spec with its fingerprint and what to do about it.
pub(crate) struct Plan {
    pub spec: String,
    /// How messages name it.
    label: String,
    dir: SpecDir,
    state: Option<State>,
    basis: Basis,
    pub keys: Keys,
    pub action: Action,
    why: Why,
}

/// What the fingerprint was taken of.
struct Basis {
    /// The project files it covers.
    inputs: BTreeSet<String>,
    /// Everything else, as text.
    context: String,
}

/// What a spec's binary is known by.
pub(crate) struct Keys {
    pub fingerprint: String,
    /// The shared tier's key, when there is one.
    shared: Option<String>,
    /// The key it is also stored under for readers without the environment (`cache::pinned_digest`).
    pinned: Option<String>,
}

/// Why a spec is built (for the warning and the report), and why the fast path was not taken,
/// when it was considered.
struct Why {
    reason: Stale,
    refused: Option<String>,
}

pub(crate) enum Action {
    UpToDate {
        name: String,
        installed: PathBuf,
    },
    /// Built from these very inputs and installed, but only the smoke test changed: the
    /// installed binary is tested again, never rebuilt (PyInstaller does not see the test).
    Retest {
        name: String,
        installed: PathBuf,
    },
    /// Built before from these very inputs: reinstall from the store.
    Restore {
        binary: PathBuf,
        entry: cache::Entry,
    },
    /// Built elsewhere from these very inputs: downloaded from the shared tier, verified and
    /// smoke-tested.
    Download(cache::Fetched),
    /// Only project module bodies changed: rewrite them into the last full build's archive.
    FastPath(fastpath::Changes),
    Build,
}

impl Plan {
    /// Whether carrying it out may package project modules anew (the fast path or PyInstaller).
    pub(crate) fn builds(&self) -> bool {
        matches!(self.action, Action::FastPath(_) | Action::Build)
    }
}

pub(crate) fn plan(shared: &Shared, spec: &str) -> Result<Plan> {
    let dir = SpecDir::new(&shared.dirs.project_cache, &spec_stem(spec));
    let state = dir.read_state();
    let inputs = shared.inputs(spec, state.as_ref());
    let (reads, reads_changed) = state
        .as_ref()
        .map(|s| s.reads.digest(&shared.facts.project.root, &|k| shared.spec_env_value(spec, k)))
        .unwrap_or_default();
    let external = reads + &shared.generated_digest(spec);
    let traced = state.as_ref().is_some_and(|s| s.reads.complete);
    let context =
        fingerprint::context_hash(shared.facts.context, shared.facts.project, spec, &inputs, &external, traced);
    let fingerprint = fingerprint::fingerprint(&context, shared.facts.project, &inputs);
    let stamp = Stamp::read(&shared.dirs.stamps_dir, &shared.dirs.binaries_dir, spec);
    let action = if shared.facts.force {
        Action::Build
    } else if let Some(stamp) = stamp.filter(|s| s.holds(&fingerprint, &|n| shared.place(spec, n).path)) {
        let name = shared.place(spec, &stamp.name).name;
        match stamp.smoke == shared.smoke_digest(spec) {
            true => Action::UpToDate { name, installed: stamp.installed },
            false => Action::Retest { name, installed: stamp.installed },
        }
    } else if let Some((binary, entry)) = shared.cache.stored(&fingerprint) {
        Action::Restore { binary, entry }
    } else {
        Action::Build
    };
    let reason = match &action {
        Action::Retest { .. } => Stale::SmokeTest,
        _ => stale(shared, spec, &dir, state.as_ref(), &context, &inputs, reads_changed),
    };
    let mut refused = None;
    let action = match (action, &state) {
        (Action::Build, Some(state)) if !shared.facts.force => {
            let checked =
                fastpath::check(&dir, state, &context, shared.facts.project, &inputs, traced).and_then(|changed| {
                    let paths: Vec<&str> = changed.modules.iter().map(|m| m.path.as_str()).collect();
                    let (python, env) = (shared.facts.python, &shared.spec_env(spec));
                    match crate::sources::imports_missing(shared.facts.project, &dir.work(), &paths, python, env) {
                        Some(why) => Err(why),
                        None => Ok(changed),
                    }
                });
            match checked {
                Ok(changed) => Action::FastPath(changed),
                Err(why) => {
                    refused = Some(why);
                    Action::Build
                }
            }
        }
        (action, _) => action,
    };
    // Only what would run the fast path or PyInstaller asks the shared tier.
    // A generated spec is named by what it was made from and says, not by its path.
    let run = shared.run_of(spec).digest();
    let (identity, generated) = match shared.sidecars.generated.get(spec) {
        Some((g, _)) => (format!("generated {} {}{run}", g.name, g.portable), true),
        None => (format!("{spec}{run}"), false),
    };
    // The mode and the launcher's bytes are part of what another machine must have built.
    let identity = match shared.launcher(spec) {
        Some(l) => format!("{identity} launch extract-once {}", l.hash),
        None => identity,
    };
    let extract_once = shared.launcher(spec).is_some();
    let (shared_key, pinned_key) = match matches!(action, Action::FastPath(_) | Action::Build) && !shared.facts.force {
        true => (
            shared.cache.shared_key(shared.facts.toolchain, shared.facts.context, shared.facts.project, &identity),
            // Only spec files are looked up before the environment exists (pinned.rs), and
            // only those built as plainly as that key says: it holds no `run-in`,
            // `pyinstaller-env` or launch mode, so a binary built with them must not be found
            // there by a build without them.
            shared
                .cache
                .pinned_key(shared.facts.context, shared.facts.project, spec)
                .filter(|_| !generated && !extract_once && *shared.run_of(spec) == crate::settings::Run::default()),
        ),
        false => (None, None),
    };
    Ok(Plan {
        spec: spec.to_string(),
        label: shared.label(spec),
        dir,
        state,
        basis: Basis { inputs, context },
        keys: Keys { fingerprint, shared: shared_key, pinned: pinned_key },
        action,
        why: Why { reason, refused },
    })
}

/// Whether `a` was modified after `b` (both existing).
fn newer(a: &Path, b: &Path) -> bool {
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(a), modified(b)), (Some(a), Some(b)) if a > b)
}

/// Why a spec is built: what changed since its last build.
fn stale(
    shared: &Shared,
    spec: &str,
    dir: &SpecDir,
    state: Option<&State>,
    context: &str,
    inputs: &BTreeSet<String>,
    reads_changed: Vec<Changed>,
) -> Stale {
    let Some(state) = state.filter(|_| !shared.facts.force) else {
        return match (shared.facts.force, dir.log().exists()) {
            (true, _) => Stale::Forced,
            // A failed or interrupted PyInstaller run leaves its log and no state; so does a
            // binary that then failed its smoke test, whose log is the newer.
            (false, true) => match newer(&dir.smoke_log(), &dir.log()) {
                true => Stale::LastSmokeTestFailed,
                false => Stale::LastRunFailed,
            },
            (false, false) => Stale::NeverBuilt,
        };
    };
    let owner = shared.label(spec);
    if state.context != context && !reads_changed.is_empty() {
        return Stale::Read { owner, changed: reads_changed };
    }
    if state.context != context {
        return Stale::Context { traced: state.reads.complete };
    }
    let counts = |rel: &str| {
        if state.records.iter().any(|r| r == rel) {
            Counts::Packaged
        } else if state.reads.project.iter().any(|r| r == rel) {
            Counts::Read
        } else {
            // Untraced (a spec that starts programs of its own): every file counts.
            Counts::Untraced
        }
    };
    let files: Vec<(String, Counts)> = inputs
        .iter()
        .filter(|i| {
            state.files.get(*i) != shared.facts.project.files.get(*i).map(|h| hex(h)).as_ref()
                || state.mode_or_link_changed(shared.facts.project, i)
        })
        .map(|i| (i.clone(), counts(i)))
        .collect();
    match files.is_empty() {
        true => Stale::Installed,
        false => Stale::Files { owner, files },
    }
}

/// Carries out the plan. A failure leaves the installed binary, the stamp and (for a failed
/// PyInstaller run) no state behind, so the next build retries from scratch for this spec.
pub(crate) fn execute(shared: &Shared, mut plan: Plan) -> Result<SpecReport> {
    let start = Instant::now();
    // What a build killed while installing a resource folder left beside it goes, even when
    // nothing is installed now (a `resources` entry naming the parent would bundle it).
    let place = shared.place(&plan.spec, &plan.spec);
    if place.folder {
        onedir::remove_leftovers(&place.path);
    }
    let mut fast_binary = None;
    let smoke = std::cell::Cell::new(Duration::ZERO);
    // After the stamp and the local store (the plan asked them), before the fast path: a hit is
    // a download, and a miss one small request.
    let mut asked = None;
    if matches!(plan.action, Action::FastPath(_) | Action::Build) {
        let fetched = match plan.keys.shared.as_deref() {
            Some(key) => shared.cache.fetch(key, &plan.dir.root, &|v| shared.spec_env_value(&plan.spec, v)),
            None => Err(shared.cache.not_asked(shared.facts.force)),
        };
        asked = Some(match fetched {
            Ok(hit) => match smoke_test(shared, &plan, &hit.path, None) {
                Ok(took) => {
                    smoke.set(took);
                    plan.action = Action::Download(hit);
                    SharedCache::Hit
                }
                Err(e) => {
                    let why = e.to_string().lines().next().unwrap_or_default().to_string();
                    shared.cache.note(format!(
                        "pyinstaller-build: {}: the binary from the shared cache failed its smoke test here; building \
                         locally ({why})",
                        plan.spec,
                    ));
                    cache::Miss::SmokeTest(why).into()
                }
            },
            Err(miss) => miss.into(),
        });
    }
    if let Action::FastPath(changed) = &plan.action {
        match fast(shared, &plan, changed)? {
            Ok((binary, took)) => {
                fast_binary = Some(binary);
                smoke.set(took);
            }
            Err(why) => {
                plan.action = Action::Build;
                plan.why.refused = Some(why);
            }
        }
    }
    let previous_audit = audit::read(&plan.dir);
    let report = |name: String, installed: PathBuf, outcome, fingerprint: String| -> Result<SpecReport> {
        let (audit, new_candidates) = audit(shared, &plan, outcome, &fingerprint, previous_audit.as_ref())?;
        Ok(SpecReport {
            spec: plan.spec.clone(),
            name,
            outcome,
            duration: start.elapsed(),
            installed,
            fingerprint,
            log: plan.dir.log(),
            audit,
            audit_table: plan.dir.audit_table(),
            reason: if outcome == Outcome::UpToDate { String::new() } else { plan.why.reason.to_string() },
            smoke_test: smoke.get(),
            fast_path_refused: if outcome == Outcome::Built { plan.why.refused.clone() } else { None },
            shared_cache: asked.clone(),
            new_candidates,
            repacked: outcome == Outcome::FastPath && shared.launcher(&plan.spec).is_some(),
            download: match &plan.action {
                Action::Download(hit) => (hit.bytes, hit.took),
                _ => (0, Duration::ZERO),
            },
        })
    };
    // What a binary built here packaged from outside python-dir, when it may be shared.
    let mut shareable: Option<(reads::Reads, Option<Vec<PathBuf>>)> = None;
    let (fingerprint, binary, entry) = match &plan.action {
        Action::UpToDate { name, installed } => {
            return report(name.clone(), installed.clone(), Outcome::UpToDate, plan.keys.fingerprint.clone());
        }
        Action::Retest { name, installed } => {
            smoke.set(smoke_test(shared, &plan, installed, None)?);
            let stamp = Stamp::read(&shared.dirs.stamps_dir, &shared.dirs.binaries_dir, &plan.spec);
            if let Some(stamp) = stamp {
                Stamp { smoke: shared.smoke_digest(&plan.spec), ..stamp }.write(
                    &shared.dirs.stamps_dir,
                    &shared.dirs.binaries_dir,
                    &plan.spec,
                )?;
            }
            return report(name.clone(), installed.clone(), Outcome::Retested, plan.keys.fingerprint.clone());
        }
        Action::Restore { binary, entry } => {
            // Stored after passing the smoke test of its day, which may not be today's.
            smoke.set(smoke_test(shared, &plan, binary, None)?);
            (plan.keys.fingerprint.clone(), binary.clone(), entry.clone())
        }
        Action::Download(hit) => {
            let entry = cache::Entry { file_name: hit.file_name.clone(), binary_hash: hit.binary_hash.clone() };
            let binary = shared.cache.keep(&plan.keys.fingerprint, &hit.path, &entry, true)?;
            (plan.keys.fingerprint.clone(), binary, entry)
        }
        Action::FastPath(_) => {
            // Borrowed: its folder must outlive the install when the store is off.
            let fresh: &fastpath::Output = fast_binary.as_ref().expect("set above");
            let file_name = plan.state.as_ref().map(|s| s.binary.clone()).unwrap_or_default();
            let entry = cache::Entry { file_name, binary_hash: fresh.hash.to_hex().to_string() };
            // The fast path's output is ours: moved, not copied.
            let binary = shared.cache.keep(&plan.keys.fingerprint, &fresh.path, &entry, true)?;
            shareable = plan.state.as_ref().map(|s| (s.reads.clone(), s.environment.clone()));
            (plan.keys.fingerprint.clone(), binary, entry)
        }
        Action::Build => {
            let (state, took) = build(shared, &plan).map_err(|e| match &plan.why.refused {
                Some(why) => e.note(&format!("(PyInstaller ran because the fast path was refused: {why}.)")),
                None => e,
            })?;
            smoke.set(took);
            // Built from the files the key was computed from, not from an edit made meanwhile.
            if state.files.len() == shared.facts.project.files.len()
                && shared.facts.project.files.iter().all(|(k, v)| state.files.get(k) == Some(&hex(v)))
            {
                shareable = Some((state.reads.clone(), state.environment.clone()));
            }
            let binary = plan.dir.dist().join(&state.binary);
            let entry = cache::Entry { file_name: state.binary, binary_hash: state.binary_hash };
            // Installed from the store's copy when there is one: PyInstaller rewrites dist.
            let binary = shared.cache.keep(&state.fingerprint, &binary, &entry, false)?;
            (state.fingerprint, binary, entry)
        }
    };
    let output = exe_name(&entry.file_name);
    let (Place { name, path: installed, .. }, wrote) =
        finish(shared, &plan.spec, &binary, &output, &fingerprint, &entry.binary_hash)?;
    let keys: Vec<String> = plan.keys.shared.iter().chain(&plan.keys.pinned).cloned().collect();
    if let (false, Some((reads, environment))) = (keys.is_empty(), &shareable) {
        shared.cache.upload(keys, &binary, &entry.file_name, reads, environment.as_deref());
    }
    let outcome = match plan.action {
        Action::Build => Outcome::Built,
        Action::FastPath(_) => Outcome::FastPath,
        Action::Download(_) => Outcome::Downloaded,
        _ if wrote => Outcome::Restored,
        // Another profile installed these very bytes: only this profile's stamp was missing.
        _ => Outcome::UpToDate,
    };
    report(name, installed, outcome, fingerprint)
}

/// The spec's audit with the current threshold (and verify mode's results), and the candidates
/// that are new since `previous`. Saved only when something new was learnt: an up-to-date spec
/// writes nothing.
fn audit(
    shared: &Shared,
    plan: &Plan,
    outcome: Outcome,
    fingerprint: &str,
    previous: Option<&audit::Audit>,
) -> Result<(Option<audit::Audit>, Vec<String>)> {
    // Only a real build writes a new audit; otherwise the one read before is still current.
    let current = if outcome == Outcome::Built { audit::read(&plan.dir) } else { previous.cloned() };
    let Some(mut audit) = current else { return Ok((None, vec![])) };
    let mut learnt = outcome == Outcome::Built;
    learnt |= audit.apply_threshold(shared.checks.audit_threshold);
    let new_candidates = if learnt { audit::new_candidates(previous, &audit) } else { vec![] };
    if shared.checks.audit_verify {
        learnt |= verify(shared, plan, fingerprint, &mut audit)?;
    }
    if learnt {
        audit::save(&plan.dir, &plan.label, &audit)?;
    }
    Ok((Some(audit), new_candidates))
}

/// Verify mode: proves which candidates can be excluded, once per fingerprint. Says whether it ran.
fn verify(shared: &Shared, plan: &Plan, fingerprint: &str, audit: &mut audit::Audit) -> Result<bool> {
    if audit.verified.as_ref().is_some_and(|v| v.fingerprint == fingerprint) || audit.to_verify().next().is_none() {
        return Ok(false);
    }
    let Some(test) = shared.smoke_test(&plan.spec) else {
        return Err(Error::new(
            ErrorKind::Config,
            "pyinstaller-build: PYINSTALLER_BUILD_AUDIT=verify needs a `smoke-test`: without one nothing proves an exclude is safe.",
        ));
    };
    let smoke = |binary: &Path, log: &Path| {
        smoke::run(binary, test, shared.checks.smoke_test_timeout, log, &shared.dirs.cargo_dirs, None)
    };
    let spec_path = shared.facts.project.path(&plan.spec);
    let env = shared.spec_env(&plan.spec);
    let mut verified = audit::verify(&invocation(shared, plan, &spec_path, &plan.dir, &env), audit, &smoke)?;
    verified.fingerprint = fingerprint.to_string();
    if shared.sidecars.generated.contains_key(&plan.spec) {
        // No spec to paste into: the sidecar's `options` take PyInstaller's own option.
        let safe = verified.results.iter().filter(|r| r.safe);
        let options: Vec<String> = safe.map(|r| format!("\"--exclude-module\", \"{}\"", r.package)).collect();
        verified.excludes_line = format!("options = [..., {}]", options.join(", "));
    }
    audit.verified = Some(verified);
    Ok(true)
}

fn invocation<'a>(
    shared: &'a Shared,
    plan: &'a Plan,
    spec_path: &'a Path,
    dir: &'a SpecDir,
    env: &'a [(String, Option<String>)],
) -> Invocation<'a> {
    Invocation {
        python: shared.facts.python,
        spec_name: &plan.label,
        spec: spec_path,
        dir,
        how: How { force: false, env, cwd: shared.run_of(&plan.spec).run_in.as_ref().map(|(_, dir)| dir.as_path()) },
        project: Scope { dir: &shared.facts.project.root, not_project: &shared.dirs.not_project },
        extras: Extras { excludes: &[], snapshot: Some(build_support::FASTPATH), launch: shared.launcher(&plan.spec) },
    }
}

/// The fast path, smoke-tested: the new binary and the smoke test's time, or why it was refused
/// (the caller then builds).
fn fast(
    shared: &Shared,
    plan: &Plan,
    changes: &fastpath::Changes,
) -> Result<std::result::Result<(fastpath::Output, Duration), String>> {
    let dir = &plan.dir;
    let Some(state) = &plan.state else { return Ok(Err("no previous full build".into())) };
    // Held throughout: an orphaned PyInstaller may still be rewriting the snapshot.
    let lock = dir.wait_for_lock()?;
    let env = shared.spec_env(&plan.spec);
    let launcher = shared.launcher(&plan.spec);
    let binary = match fastpath::run(dir, &shared.python(&env), shared.facts.project, changes, &state.binary, launcher)
    {
        Ok(binary) => binary,
        Err(why) => return Ok(Err(why)),
    };
    drop(lock);
    let smoke = smoke_test(shared, plan, &binary.path, binary.unpacked.as_deref())?;
    Ok(Ok((binary, smoke)))
}

/// Runs the smoke test, if there is one; returns the time it took (zero: none ran). `unpacked`:
/// the onedir folder an extract-once `binary` carries, when the fast path has it at hand.
fn smoke_test(shared: &Shared, plan: &Plan, binary: &Path, unpacked: Option<&Path>) -> Result<Duration> {
    let start = Instant::now();
    let Some(test) = shared.smoke_test(&plan.spec) else { return Ok(Duration::ZERO) };
    let place = shared.place(&plan.spec, &exe_name(&binary.file_name().unwrap_or_default().to_string_lossy()));
    let mut staged = None;
    let program = match place.folder {
        // The installed folder (its smoke test changed): its program, as the stamp names it.
        true if binary.is_dir() => {
            let stamp = Stamp::read(&shared.dirs.stamps_dir, &shared.dirs.binaries_dir, &plan.spec);
            binary.join(onedir::program_file(&stamp.map(|s| s.name).unwrap_or_default(), &shared.facts.target))
        }
        // The packed folder: unpacked where it will be renamed into place, and run there.
        true => {
            let hash = hex(&hash_file(binary)?);
            let unpacked = onedir::stage(binary, &hash, &place.path, &shared.facts.target)?;
            let program = unpacked.program.clone();
            staged = Some(unpacked);
            program
        }
        false => binary.to_path_buf(),
    };
    smoke::check(
        &shared.label(&plan.spec),
        &program,
        test,
        shared.checks.smoke_test_timeout,
        &plan.dir.smoke_log(),
        &shared.dirs.cargo_dirs,
        unpacked,
    )?;
    if let Some(mut staged) = staged {
        // A program that wrote beside itself while tested (a log, a cache) changed the folder:
        // what is installed is the packed folder unpacked afresh, as its digest says.
        if onedir::digest(&staged.dir).as_deref() != Some(staged.digest.as_str()) {
            let hash = staged.packed_hash.clone();
            drop(staged);
            staged = onedir::stage(binary, &hash, &place.path, &shared.facts.target)?;
        }
        shared.staged.lock().expect("not poisoned").insert(place.path, staged);
    }
    Ok(start.elapsed())
}

/// Runs PyInstaller until it ran on inputs that did not change under it (at most twice), smoke
/// tests the result and records the state. Returns the state and the smoke test's time.
///
/// A failure puts the last good state back, with PyInstaller's cache (which the failed run
/// rewrote) no longer trusted and no fast-path snapshot: the binary it describes is still the
/// installed and stored one, so going back to those sources (the fix of a missing
/// requirement) reinstalls it instead of running PyInstaller again.
fn build(shared: &Shared, plan: &Plan) -> Result<(State, Duration)> {
    let result = build_once(shared, plan);
    if let (Err(_), Some(last)) = (&result, &plan.state) {
        if plan.dir.invalidate_pyinstaller_cache().is_ok() {
            let _ = plan.dir.write_state(last);
        }
    }
    result
}

fn build_once(shared: &Shared, plan: &Plan) -> Result<(State, Duration)> {
    let dir = &plan.dir;
    fs::create_dir_all(&dir.root).at("could not create", &dir.root)?;
    // An orphaned PyInstaller still using this spec's folders: wait for it to finish.
    drop(dir.wait_for_lock()?);
    let trusted =
        plan.state.as_ref().is_some_and(|s| s.pyinstaller_would_notice(&plan.basis.context, shared.facts.project));
    if !trusted {
        dir.invalidate_pyinstaller_cache()?;
    }
    dir.clear_state()?;
    // Forgotten before PyInstaller replaces what it describes.
    crate::pyinstaller::remove_dir(&dir.fastpath())?;
    let spec_path = shared.facts.project.path(&plan.spec);
    let env = shared.spec_env(&plan.spec);
    let env_value = |k: &str| shared.spec_env_value(&plan.spec, k);
    let mut before = shared.facts.project.clone();
    for attempt in 0.. {
        let base = invocation(shared, plan, &spec_path, dir, &env);
        let inv = Invocation { how: How { force: shared.facts.force && attempt == 0, ..base.how }, ..base };
        let output = crate::pyinstaller::run(&inv)?;
        let records: Vec<String> =
            output.records.iter().filter_map(|p| before.relative(p)).filter(|r| before.files.contains_key(r)).collect();
        let env_known: Vec<String> = env.iter().map(|(k, _)| k.clone()).collect();
        let known = reads::Known {
            project: &before,
            owned: &|p| shared.facts.toolchain.owns(p),
            skip: &shared.dirs.skip,
            outputs: &shared.dirs.outputs,
            env_known: &env_known,
            env_value: &env_value,
        };
        let cached_analysis = output.reads.cached_analysis();
        let mut settled = reads::settle(output.reads, &known);
        // PyInstaller's cache is kept only for a state whose reads are current (`trusted`), so
        // what that Analysis read is the state's record.
        if let (true, Ok(reads), Some(earlier)) = (cached_analysis, &mut settled, &plan.state) {
            reads.merge(&earlier.reads);
        }
        if let (true, Ok(reads), Some(last)) = (trusted, &mut settled, &plan.state) {
            // PyInstaller may have reused its cached analysis, and then did not read the modules
            // that analysis read: those the last run read stay inputs. (One it read but left out
            // of the binary would otherwise drop out of the fingerprint, and its next edit go
            // unseen: the fix of a module PyInstaller dropped reported up to date.)
            let kept = last.reads.project.iter().filter(|r| before.files.contains_key(*r));
            let project: BTreeSet<String> = reads.project.iter().chain(kept).cloned().collect();
            reads.project = project.into_iter().collect();
        }
        let mut recorded = records.clone();
        recorded.extend(settled.as_ref().map(|r| r.project.clone()).unwrap_or_default());
        let traced = settled.as_ref().is_ok_and(|r| r.complete);
        let inputs = fingerprint::inputs(&before, &plan.spec, Some(&recorded), traced);
        let after = Project::scan(&before.root, &[shared.dirs.skip.clone(), shared.dirs.outputs.clone()].concat())?;
        let all: BTreeSet<String> = inputs.union(&plan.basis.inputs).cloned().collect();
        let seen = |p: &Project| {
            let context = fingerprint::context_hash(shared.facts.context, p, &plan.spec, &all, "", false);
            fingerprint::fingerprint(&context, p, &all)
        };
        // Anything read, in python-dir or outside, that changed before the run ended.
        let changed = match &settled {
            Err(path) => Some(path.display().to_string()),
            // Never so: the cache goes with the state. Analysed afresh rather than left unknown.
            Ok(_) if cached_analysis && plan.state.is_none() => Some("PyInstaller's cache".to_string()),
            Ok(_) if seen(&before) != seen(&after) => Some(format!("files under `{}`", before.root.display())),
            Ok(_) => None,
        };
        if let Some(what) = changed {
            // Edited while PyInstaller ran: its cache may hold a mix, and its mtime checks
            // may never notice. Drop it and build again from what is there now.
            dir.invalidate_pyinstaller_cache()?;
            if attempt == 1 {
                return Err(Error::new(
                    ErrorKind::InputsChanged,
                    format!(
                        "pyinstaller-build: {what} changed twice while PyInstaller built `{}`; \
                         nothing was installed. Build again once they stop changing.",
                        plan.label
                    ),
                ));
            }
            before = after;
            continue;
        }
        let binary_name = output.binary.file_name().unwrap_or_default().to_string_lossy().into_owned();
        // The first cause before any symptom: a module PyInstaller left out, or could not find,
        // fails here, not as an ImportError in the smoke test's output.
        let checked = crate::sources::check_warnings(
            &before,
            &dir.work(),
            &plan.label,
            shared.checks.allow_missing_imports,
            shared.checks.requirements.as_deref(),
            shared.facts.python,
        )?;
        for line in checked.allowed {
            shared.facts.cargo.warning(&format!(
                "pyinstaller-build: {}: PyInstaller could not find {line} (allowed by `allow-missing-imports`)",
                plan.label
            ));
        }
        let smoke = smoke_test(shared, plan, &output.binary, None)?;
        fastpath::after_build(dir, &output.binary, &shared.python(&env), &before, shared.launcher(&plan.spec));
        // Packaged, and not a scanned project file: outside python-dir, or in a folder the scan
        // skips (a hidden file or a `dist/` folder in a data folder PyInstaller collects).
        let external: Vec<PathBuf> = output
            .records
            .iter()
            .filter(|p| before.relative(p).is_none_or(|r| !before.files.contains_key(&r)))
            .filter(|p| !shared.facts.toolchain.owns(p))
            .filter(|p| !shared.dirs.skip.iter().any(|s| p.starts_with(s)))
            .cloned()
            .collect();
        let mut reads = settled.expect("a change was handled above");
        reads.add_packaged(&external);
        let environment = Some(cache::uncovered(&output.records, shared.facts.toolchain));
        let digest = reads.digest(&before.root, &env_value).0 + &shared.generated_digest(&plan.spec);
        let context = fingerprint::context_hash(shared.facts.context, &before, &plan.spec, &inputs, &digest, traced);
        let state = State {
            fingerprint: fingerprint::fingerprint(&context, &before, &inputs),
            context,
            records,
            external,
            reads,
            environment,
            files: before.files.iter().map(|(k, v)| (k.clone(), hex(v))).collect(),
            executable: before.executable.clone(),
            links: before.links.clone(),
            finished: now_secs(),
            binary_hash: hex(&hash_file(&output.binary)?),
            binary: binary_name,
        };
        dir.write_state(&state)?;
        return Ok((state, smoke));
    }
    unreachable!()
}

/// Installs the binary, whose spec calls it `output`, where it belongs, and records what this
/// profile now has; says where and whether it wrote the binary.
fn finish(
    shared: &Shared,
    spec: &str,
    binary: &Path,
    output: &str,
    fingerprint: &str,
    binary_hash: &str,
) -> Result<(Place, bool)> {
    let place = shared.place(spec, output);
    let (name, installed) = (&place.name, &place.path);
    if shared.facts.package_name.as_deref() == Some(name) {
        return Err(Error::new(
            ErrorKind::Config,
            format!("pyinstaller-build: `{}` builds `{name}`, the Cargo package's own name; tauri-build refuses such a sidecar. Change `name=` in its EXE(...) (or the sidecar's key).", shared.label(spec)),
        ));
    }
    let mut folder = None;
    let wrote = if place.folder {
        // Staged for the smoke test already, or now.
        let staged = shared.staged.lock().expect("not poisoned").remove(installed);
        let staged = match staged.filter(|s| s.packed_hash == binary_hash) {
            Some(staged) => staged,
            None => onedir::stage(binary, binary_hash, installed, &shared.facts.target)?,
        };
        folder = Some(staged.digest.clone());
        onedir::install(staged, installed)?
    } else {
        let placeholder = !same_hash(installed, binary_hash) && install::committed(installed);
        let wrote = install::install(binary, binary_hash, installed)?;
        if wrote && placeholder {
            shared.facts.cargo.warning(&install::untrack_note(installed, name));
        }
        wrote
    };
    let stamp = Stamp {
        fingerprint: fingerprint.to_string(),
        name: output.to_string(),
        installed: installed.clone(),
        binary_hash: binary_hash.to_string(),
        project: Some(shared.facts.project.root.clone()),
        smoke: shared.smoke_digest(spec),
        folder,
    };
    stamp.write(&shared.dirs.stamps_dir, &shared.dirs.binaries_dir, spec)?;
    Ok((place, wrote))
}

/// Removes what this profile installed into `binaries_dir` from a spec of the project at
/// `project` that is no longer built (not among `current`, every spec of this build, all of
/// which succeeded): its sidecar, while it is still the file the crate installed (one the user
/// changed stays), unless a current spec installs that very file, and its stamp. Returns a
/// message for each sidecar removed.
pub(crate) fn remove_stale(
    stamps_dir: &Path,
    binaries_dir: &Path,
    project: &Path,
    current: &[String],
    installed: &[PathBuf],
) -> Vec<String> {
    let folder = blake3::hash(binaries_dir.as_os_str().as_encoded_bytes()).to_hex();
    let suffix = format!(".{}.json", &folder[..12]);
    let current: BTreeSet<String> = current.iter().map(|s| spec_stem(s)).collect();
    let mut removed = Vec::new();
    for entry in fs::read_dir(stamps_dir).into_iter().flatten().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = file.strip_suffix(&suffix) else { continue };
        if current.contains(stem) {
            continue;
        }
        let Some(stamp) = fs::read(entry.path()).ok().and_then(|b| serde_json::from_slice::<Stamp>(&b).ok()) else {
            continue;
        };
        if stamp.project.as_deref() != Some(project) {
            continue;
        }
        if !among(&stamp.installed, installed) && stamp.remove_installed() {
            removed.push(format!(
                "pyinstaller-build: removed `{}`: an earlier build installed it from `{stem}`, which is no longer built",
                stamp.installed.display()
            ));
        }
        let _ = fs::remove_file(entry.path());
    }
    removed
}

/// Removes what this profile installed for a spec that is still built but now goes elsewhere
/// (a spec named its output after the triple, and was installed with a doubled one; an
/// `externalBin` entry or `install-as` now decides): `previous`, each spec's stamp before this
/// build, whose file is no longer among `installed` and is still the one the crate installed.
/// Only when every spec of the build succeeded. Returns a message for each file removed.
pub(crate) fn remove_moved(previous: &[Stamp], installed: &[PathBuf]) -> Vec<String> {
    let mut removed = Vec::new();
    for stamp in previous {
        if !among(&stamp.installed, installed) && stamp.remove_installed() {
            removed.push(format!(
                "pyinstaller-build: removed `{}`: an earlier build installed `{}` there, which now goes elsewhere",
                stamp.installed.display(),
                stamp.name
            ));
        }
    }
    removed
}

/// Whether `path` is one of `installed`, however spelled (a stamp written before the crate
/// normalized `binaries-dir = "../bin"` names the same file with a `..`).
fn among(path: &Path, installed: &[PathBuf]) -> bool {
    let same = |a: &Path, b: &Path| a == b || a.canonicalize().is_ok_and(|a| b.canonicalize().is_ok_and(|b| a == b));
    installed.iter().any(|i| same(path, i))
}

/// Named for the binaries folder too: checkouts of one package built into one target folder
/// (a shared `CARGO_TARGET_DIR`) share its `OUT_DIR`, and would otherwise take turns
/// overwriting each other's stamps, reinstalling on every switch.
fn stamp_path(stamps_dir: &Path, binaries_dir: &Path, spec: &str) -> PathBuf {
    let folder = blake3::hash(binaries_dir.as_os_str().as_encoded_bytes()).to_hex();
    stamps_dir.join(format!("{}.{}.json", spec_stem(spec), &folder[..12]))
}

pub(crate) fn exe_name(file_name: &str) -> String {
    file_name.strip_suffix(".exe").unwrap_or(file_name).to_string()
}

fn same_hash(path: &Path, expected: &str) -> bool {
    path.is_file() && hash_file(path).map(|h| hex(&h) == expected).unwrap_or(false)
}

/// The installed sidecar is what the stamp says and can still be run: its bytes, and on Unix
/// its owner's execute bit (a `chmod -x` leaves the bytes as they were, and Tauri could not
/// start it).
fn intact(path: &Path, expected: &str) -> bool {
    same_hash(path, expected) && install::executable(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(installed: &Path, bytes: &[u8]) -> Stamp {
        Stamp {
            fingerprint: "f".into(),
            name: "app-sidecar-x86_64-unknown-linux-gnu".into(),
            installed: installed.to_path_buf(),
            binary_hash: hex(blake3::hash(bytes).as_bytes()),
            project: None,
            smoke: String::new(),
            folder: None,
        }
    }

    #[test]
    fn a_file_the_crate_installed_at_a_name_it_no_longer_uses_is_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let doubled = dir.path().join("app-sidecar-x86_64-unknown-linux-gnu-x86_64-unknown-linux-gnu");
        let now = dir.path().join("app-sidecar-x86_64-unknown-linux-gnu");
        fs::write(&doubled, b"old build").unwrap();
        fs::write(&now, b"new build").unwrap();
        let current = [now.clone()];
        let removed = remove_moved(&[stamp(&doubled, b"old build")], &current);
        assert_eq!(removed.len(), 1, "{removed:?}");
        assert!(removed[0].contains("which now goes elsewhere") && !doubled.exists() && now.exists());
        // Changed since the crate installed it: the user's now, kept. Still installed: kept.
        fs::write(&doubled, b"edited by hand").unwrap();
        assert!(remove_moved(&[stamp(&doubled, b"old build")], &current).is_empty() && doubled.exists());
        assert!(remove_moved(&[stamp(&now, b"new build")], &current).is_empty() && now.exists());
    }

    #[test]
    fn a_resource_folder_the_crate_installed_is_removed_whole_and_only_while_it_is_what_it_installed() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("bin/python/main");
        fs::create_dir_all(old.join("_internal")).unwrap();
        fs::write(old.join("main"), b"program").unwrap();
        let folder_stamp = || Stamp { folder: onedir::digest(&old), ..stamp(&old, b"packed") };
        let recorded = folder_stamp();
        // Changed since (a file added by hand): the user's now, kept.
        fs::write(old.join("_internal/notes.txt"), b"mine").unwrap();
        assert!(remove_moved(std::slice::from_ref(&recorded), &[]).is_empty() && old.exists());
        fs::remove_file(old.join("_internal/notes.txt")).unwrap();
        // Still installed there: kept. Moved elsewhere: removed whole, nothing left beside it.
        assert!(remove_moved(std::slice::from_ref(&recorded), std::slice::from_ref(&old)).is_empty());
        let removed = remove_moved(&[recorded], &[dir.path().join("bin/python/moved")]);
        assert_eq!(removed.len(), 1, "{removed:?}");
        assert_eq!(fs::read_dir(dir.path().join("bin/python")).unwrap().count(), 0);
    }
}
