//! The end of every build: what cargo must watch, the warning line per sidecar, the universal
//! macOS binary, what an earlier build installed and no longer builds, and the report.

use super::start::BuildEnv;
use crate::cargo::Cargo;
use crate::error::Result;
use crate::report::{Outcome, Report, SpecReport};
use crate::{cache, fsutil, macos, project, pyinstaller, spec, toolchain, workdir};
use std::path::{Path, PathBuf};

/// Tells cargo what to watch, reports what happened, and returns the first failure if any.
pub(super) fn finish(
    cargo: &Cargo,
    shared: &spec::Shared,
    toolchain: &toolchain::Toolchain,
    env: &BuildEnv,
    results: Vec<Result<SpecReport>>,
    (specs, previous): (&[String], &[spec::Stamp]),
) -> Result<Report> {
    watch_project(cargo, env, shared.facts.project);
    for path in toolchain::watched_files(toolchain) {
        cargo.rerun_if_changed(&path);
    }
    for path in external_inputs(cargo, shared) {
        cargo.rerun_if_changed(&path);
    }
    let mut report = Report::default();
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(spec) => {
                cargo.rerun_if_changed(&spec.installed);
                say(cargo, &spec, &shared.cache);
                audit_warnings(cargo, &spec);
                report.specs.push(spec);
            }
            Err(e) => errors.push(e),
        }
    }
    // Only now: until every spec is installed, any stored entry may be one being installed.
    if errors.is_empty() {
        for spec in &report.specs {
            universal(cargo, shared, spec).unwrap_or_else(|e| errors.push(e));
        }
    }
    // What an earlier build installed from specs no longer built; never while one failed (its
    // output's name is not known, and may be the stale one's).
    if errors.is_empty() {
        let installed: Vec<PathBuf> = report.specs.iter().map(|s| s.installed.clone()).collect();
        let project = &shared.facts.project.root;
        for message in
            spec::remove_stale(&shared.dirs.stamps_dir, &shared.dirs.binaries_dir, project, specs, &installed)
        {
            cargo.warning(&message);
        }
        for message in spec::remove_moved(previous, &installed) {
            cargo.warning(&message);
        }
        // Only now: a file just removed provides no entry.
        let built: Vec<_> = report.specs.iter().map(|s| (shared.key(&s.spec), s.installed.clone())).collect();
        shared.sidecars.placement.check_entries(&built).unwrap_or_else(|e| errors.push(e));
    }
    let keep: Vec<&str> = report.specs.iter().map(|s| s.fingerprint.as_str()).collect();
    for warning in shared.cache.finish().into_iter().chain(shared.cache.tally(&report.specs)) {
        cargo.warning(&warning);
    }
    if let Err(e) = shared.cache.trim(&keep) {
        cargo.warning(&format!("pyinstaller-build: the binary store was not trimmed: {e}"));
    }
    write_report(&shared.dirs.stamps_dir, &report)?;
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(report),
        Some(first) => {
            for other in errors {
                eprintln!("\n{other}\n");
            }
            Err(first)
        }
    }
}

/// The warning line for what happened to a spec (nothing when nothing happened).
pub(super) fn say(cargo: &Cargo, spec: &SpecReport, cache: &cache::Cache) {
    let shared_url = cache.shared_url();
    let missed = cache.missed(spec).unwrap_or_default();
    match spec.outcome {
        Outcome::Built => cargo.warning(&format!(
            "pyinstaller-build: built {} in {:.1} s ({}{}{missed}; log: {})",
            spec.name,
            spec.duration.as_secs_f64(),
            spec.reason,
            spec.fast_path_refused
                .as_ref()
                .filter(|r| **r != spec.reason)
                .map(|r| format!("; no fast path: {r}"))
                .unwrap_or_default(),
            spec.log.display()
        )),
        Outcome::FastPath => cargo.warning(&format!(
            "pyinstaller-build: rebuilt {} in {:.1} s by the fast path, without PyInstaller ({}{} since \
             its last PyInstaller build{}{missed})",
            spec.name,
            spec.duration.as_secs_f64(),
            match spec.repacked {
                true => "its onedir program's archive rewritten and its folder re-packed: ",
                false => "",
            },
            spec.reason,
            // Zero when no smoke test ran (none configured for this sidecar).
            match spec.smoke_test.is_zero() {
                false => format!("; smoke test {:.1} s", spec.smoke_test.as_secs_f64()),
                true => String::new(),
            },
        )),
        Outcome::Restored => cargo.warning(&format!(
            "pyinstaller-build: reinstalled {} (built before from these very inputs; no PyInstaller run)",
            spec.name
        )),
        Outcome::Downloaded => cargo.warning(&format!(
            "pyinstaller-build: downloaded {} from the shared cache {} in {:.1} s ({:.1} MB in {:.1} s; \
             no PyInstaller run; {})",
            spec.name,
            shared_url,
            spec.duration.as_secs_f64(),
            spec.download.0 as f64 / 1e6,
            spec.download.1.as_secs_f64(),
            spec.reason
        )),
        Outcome::Retested => cargo.warning(&format!(
            "pyinstaller-build: re-tested {} in {:.1} s: {}, its inputs did not (no PyInstaller run; the binary was \
             not rebuilt)",
            spec.name,
            spec.smoke_test.as_secs_f64(),
            spec.reason
        )),
        Outcome::UpToDate | Outcome::Skipped | Outcome::Placeholder => {}
    }
}

/// The end of a build that needed no environment (pinned.rs): what to watch, what happened.
#[allow(clippy::too_many_arguments)]
pub(super) fn finish_pinned(
    cargo: &Cargo,
    env: &BuildEnv,
    project: &project::Project,
    base: &Path,
    cache: &cache::Cache,
    stamps_dir: &Path,
    reports: Vec<SpecReport>,
    watch: Vec<PathBuf>,
) -> Result<Report> {
    watch_project(cargo, env, project);
    for path in watch.iter().map(PathBuf::as_path).chain([base]) {
        cargo.rerun_if_changed(path);
    }
    let mut report = Report::default();
    for spec in reports {
        cargo.rerun_if_changed(&spec.installed);
        say(cargo, &spec, cache);
        report.specs.push(spec);
    }
    for warning in cache.finish().into_iter().chain(cache.tally(&report.specs)) {
        cargo.warning(&warning);
    }
    write_report(stamps_dir, &report)?;
    Ok(report)
}

/// What every build watches: its manifest and the project's files.
pub(super) fn watch_project(cargo: &Cargo, env: &BuildEnv, project: &project::Project) {
    cargo.rerun_if_changed(&env.manifest_dir.join("Cargo.toml"));
    for path in watched_project_paths(project) {
        cargo.rerun_if_changed(&path);
    }
}

/// `report.json` in `OUT_DIR`: what each spec's build did, for tools and tests.
pub(super) fn write_report(stamps_dir: &Path, report: &Report) -> Result<()> {
    let json = serde_json::to_vec_pretty(report).expect("serializable");
    fsutil::write_atomic(&stamps_dir.join("report.json"), &json, false)
}

/// On macOS, `<name>-universal-apple-darwin` once both architectures are built from the same
/// sources (macos.rs).
pub(super) fn universal(cargo: &Cargo, shared: &spec::Shared, spec: &SpecReport) -> Result<()> {
    if !shared.facts.target.ends_with("-apple-darwin") {
        return Ok(());
    }
    let spec_dir = workdir::SpecDir::new(&shared.dirs.project_cache, &project::spec_stem(&spec.spec));
    let folder = spec.installed.parent().unwrap_or(&shared.dirs.binaries_dir);
    // `lipo` keeps the Mach-O parts of a file, not the payload an extract-once launcher carries
    // (nor a folder).
    if shared.launcher(&spec.spec).is_some() {
        if let Some(done) = macos::remove_made_universal(&spec_dir.root, &spec.name, folder)? {
            cargo.warning(&format!("pyinstaller-build: {}: {done}", spec.name));
        }
        return Ok(());
    }
    // Everything the fingerprint holds but TARGET, conservatively: every file under python-dir.
    let mut h = blake3::Hasher::new();
    let c = shared.facts.context;
    let env: Vec<_> = c.env.iter().filter(|(k, _)| k != pyinstaller::TARGET_ARCH_VAR).collect();
    h.update(format!("{}\0{}\0{env:?}\0{}\0", c.toolchain, c.settings, spec.spec).as_bytes());
    for (file, hash) in &shared.facts.project.files {
        h.update(file.as_bytes()).update(hash);
    }
    let reads = spec_dir
        .read_state()
        .map(|s| s.reads.digest(&shared.facts.project.root, &|k| shared.env_value(k)).0)
        .unwrap_or_default();
    h.update(reads.as_bytes());
    let sources = h.finalize().to_hex().to_string();
    let installed =
        macos::Installed { spec_dir: &spec_dir.root, name: &spec.name, installed: &spec.installed, sources: &sources };
    if let Some(done) = macos::universal(&installed, &shared.facts.target, folder)? {
        cargo.warning(&format!("pyinstaller-build: {}: {done}", spec.name));
    }
    Ok(())
}

/// One line when an audit finds new candidates, and one with what verify mode proved.
pub(super) fn audit_warnings(cargo: &Cargo, spec: &SpecReport) {
    let Some(audit) = &spec.audit else { return };
    let mb = |b: f64| b / 1e6;
    if !spec.new_candidates.is_empty() {
        let total: u64 = audit.candidates().map(|p| p.bytes).sum();
        cargo.warning(&format!(
            "pyinstaller-build: {}: {} could likely be excluded ({:.1} MB of candidates in all; verify with PYINSTALLER_BUILD_AUDIT=verify); see {}",
            spec.name,
            spec.new_candidates.join(", "),
            mb(total as f64),
            spec.audit_table.display()
        ));
    }
    if let Some(v) = audit.verified.as_ref().filter(|v| v.fingerprint == spec.fingerprint) {
        cargo.warning(&format!(
            "pyinstaller-build: {}: verified `{}` saves {:.1} MB and {:.1} s per build; see {}",
            spec.name,
            v.excludes_line,
            mb(v.combined_bytes_saved as f64),
            v.combined_secs_saved,
            spec.audit_table.display()
        ));
    }
}

/// Existing files the specs packaged or read from outside python-dir and the toolchain, and the
/// folders they listed that cargo can watch cheaply; announces the variables they read.
pub(super) fn external_inputs(cargo: &Cargo, shared: &spec::Shared) -> std::collections::BTreeSet<PathBuf> {
    let specs = std::fs::read_dir(&shared.dirs.project_cache).into_iter().flatten().flatten();
    let states: Vec<_> = specs.filter_map(|e| workdir::SpecDir { root: e.path() }.read_state()).collect();
    let vars: std::collections::BTreeSet<&str> =
        states.iter().flat_map(|s| s.reads.env.iter().map(|(k, _)| k.as_str())).collect();
    for var in vars {
        cargo.env(var);
    }
    let packaged = states.iter().flat_map(|s| s.external.iter().filter(|p| p.is_file()).cloned());
    packaged.chain(states.iter().flat_map(|s| s.reads.watched().map(Path::to_path_buf))).collect()
}

/// Files, and whole folders where cargo's recursive scan would meet nothing the crate ignores.
pub(super) fn watched_project_paths(project: &project::Project) -> Vec<PathBuf> {
    let clean = |dir: &str| {
        !project.dirs_with_excluded.iter().any(|d| d == dir || dir.is_empty() || d.starts_with(&format!("{dir}/")))
    };
    let mut paths = Vec::new();
    let mut covered: Vec<String> = Vec::new();
    let under = |p: &str, covered: &[String]| covered.iter().any(|c| p.starts_with(&format!("{c}/")));
    if clean("") {
        return vec![project.root.clone()];
    }
    for dir in &project.dirs {
        if !under(dir, &covered) && clean(dir) {
            paths.push(project.path(dir));
            covered.push(dir.clone());
        }
    }
    for file in project.files.keys() {
        if !under(file, &covered) {
            paths.push(project.path(file));
        }
    }
    paths
}
