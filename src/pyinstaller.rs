//! Running PyInstaller for one spec in its own folders.

use crate::build_support::{AUDIT, RUN_PYINSTALLER, TRACE};
use crate::error::{log_tail, Error, ErrorKind, IoContext, Result};
pub(crate) use crate::fsutil::remove_dir;
pub(crate) use crate::process::{build_env, TARGET_ARCH_VAR};
use crate::process::{command_line, run_logged, Ended};
use crate::workdir::SpecDir;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TRACE_MARKER: &str = "# @TRACE@ (build-support/trace.py is inserted here)";
const AUDIT_MARKER: &str = "# @AUDIT@ (build-support/audit.py is inserted here)";
const SNAPSHOT_MARKER: &str = "# @FASTPATH@ (build-support/fastpath.py is inserted here)";

/// One PyInstaller run.
#[derive(Clone, Copy)]
pub(crate) struct Invocation<'a> {
    pub python: &'a Path,
    /// The spec as the user names it (`worker.spec`), for messages.
    pub spec_name: &'a str,
    pub spec: &'a Path,
    pub dir: &'a SpecDir,
    pub how: How<'a>,
    pub project: Scope<'a>,
    pub extras: Extras<'a>,
}

/// How PyInstaller runs.
#[derive(Clone, Copy)]
pub(crate) struct How<'a> {
    /// Wipe the work folder and pass `--clean`.
    pub force: bool,
    /// The environment variables the fingerprint holds, with their values (the spec's
    /// `pyinstaller-env` among them).
    pub env: &'a [(String, Option<String>)],
    /// The folder PyInstaller runs in (`run-in`); default the spec's folder.
    pub cwd: Option<&'a Path>,
}

/// What is the project's, to tell project modules from the rest in the audit and the fast path.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'a> {
    /// python-dir.
    pub dir: &'a Path,
    /// Folders under python-dir whose modules are not the project's: the crate's own (its
    /// managed environments) and cargo's target folders.
    pub not_project: &'a [PathBuf],
}

/// What the crate adds to the spec's build.
#[derive(Clone, Copy)]
pub(crate) struct Extras<'a> {
    /// Modules added to the spec's `excludes` (the audit's verify mode).
    pub excludes: &'a [String],
    /// The fast path's helper, to snapshot the build with (see src/fastpath/), or none.
    pub snapshot: Option<&'a str>,
    /// Extract-once mode: the spec is built onedir and packed behind this launcher.
    pub launch: Option<&'a crate::launch::Launcher>,
}

/// What a successful PyInstaller run left behind.
pub(crate) struct Output {
    /// The executable in dist/.
    pub binary: PathBuf,
    /// Absolute paths of every file the spec's Analysis packaged.
    pub records: Vec<PathBuf>,
    /// What the run read.
    pub reads: crate::freshness::reads::Raw,
}

/// Runs `<python> -m PyInstaller` (through the runner, which holds the spec's lock) on the spec,
/// then writes its records and audit into the spec's folder.
///
/// Unless forced, the work folder is kept, `invalidate_pyinstaller_cache` having already dropped
/// PyInstaller's `.toc` files where its cache can't be trusted.
pub(crate) fn run(inv: &Invocation) -> Result<Output> {
    let Invocation { python, spec_name, spec, dir, how: How { force, env, .. }, .. } = *inv;
    if force {
        remove_dir(&dir.work())?;
    }
    // dist/ is ours alone: emptied so the only executable in it afterwards is this run's.
    remove_dir(&dir.dist())?;
    for d in [dir.work(), dir.dist(), dir.config()] {
        fs::create_dir_all(&d).at("could not create", &d)?;
    }
    let _ = fs::remove_file(dir.records());
    let _ = fs::remove_file(dir.audit());
    crate::freshness::reads::Raw::clear(&dir.reads());
    fs::write(dir.tracer(), TRACE).at("could not write", &dir.tracer())?;
    let mut cmd = Command::new(python);
    cmd.arg("-c")
        .arg(
            RUN_PYINSTALLER
                .replace(TRACE_MARKER, TRACE)
                .replace(AUDIT_MARKER, AUDIT)
                .replace(SNAPSHOT_MARKER, inv.extras.snapshot.unwrap_or_default()),
        )
        .arg(dir.lock())
        .arg(dir.records())
        .arg(dir.audit())
        .arg(inv.project.dir)
        .arg(if inv.extras.snapshot.is_some() { dir.fastpath().into_os_string() } else { "-".into() })
        .arg("--noconfirm")
        .arg("--workpath")
        .arg(dir.work())
        .arg("--distpath")
        .arg(dir.dist());
    if force {
        cmd.arg("--clean");
    }
    cmd.arg(spec)
        // Specs may read the cwd: pin it to the spec's folder, or where `run-in` says their authors
        // ran them.
        .current_dir(inv.how.cwd.or(spec.parent()).unwrap_or(Path::new(".")))
        .env("PYINSTALLER_CONFIG_DIR", dir.config())
        .env("PYINSTALLER_BUILD_TRACE", dir.reads())
        .env("PYINSTALLER_BUILD_TRACE_SCRIPT", dir.tracer());
    if let Ok(paths) = std::env::join_paths(inv.project.not_project) {
        cmd.env("PYINSTALLER_BUILD_NOT_PROJECT", paths);
    }
    let built = dir.root.join(crate::launch::BUILT_FILE);
    let _ = fs::remove_file(&built);
    if inv.extras.launch.is_some() {
        cmd.env("PYINSTALLER_BUILD_LAUNCH", &built);
    } else {
        cmd.env_remove("PYINSTALLER_BUILD_LAUNCH");
    }
    if !inv.extras.excludes.is_empty() {
        cmd.env("PYINSTALLER_BUILD_EXTRA_EXCLUDES", inv.extras.excludes.join(","));
    }
    build_env(&mut cmd, env);
    let log = dir.log();
    let status = match run_logged(&mut cmd, &log, None)? {
        Ended::Exited(status) => status,
        Ended::TimedOut => unreachable!("no timeout given"),
    };
    if !status.success() {
        return Err(Error::new(
            ErrorKind::BuildFailed,
            format!(
                "pyinstaller-build: PyInstaller failed for `{spec_name}` ({status}).\n\
                 Command: {}\n\
                 Last lines of its log ({}):\n{}\
                 The previously installed binary, if any, was left in place; the next build retries.\n\
                 Fix the error above in `{}`. If PyInstaller's cache is stale, run once with \
                 PYINSTALLER_BUILD_FORCE=1.",
                command_line(&cmd),
                log.display(),
                log_tail(&log, 25),
                spec.display()
            ),
        ));
    }
    let records: Vec<PathBuf> =
        fs::read(dir.records()).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(|| {
            Error::new(
                ErrorKind::BuildFailed,
                format!(
                    "pyinstaller-build: PyInstaller ran for `{spec_name}` but left no Analysis records in `{}`; see {}",
                    dir.work().display(),
                    log.display()
                ),
            )
        })?;
    let reads = crate::freshness::reads::Raw::read(&dir.reads()).ok_or_else(|| {
        Error::new(
            ErrorKind::BuildFailed,
            format!(
                "pyinstaller-build: PyInstaller ran for `{spec_name}` but left no record of what it read in `{}`; see {}",
                dir.reads().display(),
                log.display()
            ),
        )
    })?;
    let binary = match inv.extras.launch {
        Some(launcher) => {
            crate::launch::pack(launcher, python, env, spec_name, &built, &dir.dist(), &crate::launch::kept(&dir.root))?
        }
        None => find_binary(spec_name, &dir.dist())?,
    };
    Ok(Output { binary, records, reads })
}

/// The one executable a onefile spec leaves in dist/.
fn find_binary(spec_name: &str, dist: &Path) -> Result<PathBuf> {
    let entries: Vec<PathBuf> =
        fs::read_dir(dist).at("could not list", dist)?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    match entries.as_slice() {
        [one] if one.is_file() => Ok(one.clone()),
        [one] if one.is_dir() => Err(Error::new(
            ErrorKind::Config,
            format!(
                "pyinstaller-build: `{spec_name}` builds a onedir bundle (`{}`), but a Tauri sidecar is a single file.\n\
                 Fix: set `launch = \"extract-once\"` in [package.metadata.pyinstaller-build] to ship it as one file \
                 that unpacks once, or make it onefile: pass `a.binaries` and `a.datas` to `EXE(...)` and drop \
                 `COLLECT(...)` (or regenerate it with `pyi-makespec --onefile`).",
                one.display()
            ),
        )),
        _ => Err(Error::new(
            ErrorKind::Config,
            format!("pyinstaller-build: `{spec_name}` should produce exactly one executable, but `{}` holds {} entries.", dist.display(), entries.len()),
        )),
    }
}
