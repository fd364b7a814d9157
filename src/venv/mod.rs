//! The managed virtual environment: with `requirements` set, the crate creates and owns the
//! environment PyInstaller runs in, as cargo owns Rust dependencies.
//!
//! PyInstaller is a build tool, which requirements files usually leave out: when they don't name
//! it, the crate installs the version it is tested with ([`TESTED_PYINSTALLER`], or the
//! `pyinstaller` key's), and that version is part of the environment's identity.
//!
//! One environment per (base interpreter, requirements content), kept in the stable cache folder
//! and shared by every profile and spec. It is made by uv (the one on `PATH`, else the crate's
//! own from PyPI, [`tools`]) as a relocatable environment (`uv venv --relocatable`): its console
//! scripts start with `#!/bin/sh` and find their interpreter beside themselves, so no file in it
//! names its folder, and two checkouts at different paths get byte-identical environments from
//! the same requirements (which is what lets them share binaries that package its metadata). It is created next to its final place and marked ready
//! only after the install succeeded, so an interrupted install is never used: the next build
//! deletes it and starts again.

mod config;
mod lock;
mod plan;
mod project;
mod requires_python;
mod tools;

use crate::cargo::Cargo;
use crate::error::{log_tail, Error, ErrorKind, IoContext, Result};
use crate::process::{command_line, run_logged, Ended};
use lock::{Source, Tool};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) use project::Selection;

/// The files the environment is made from (a lockfile's pyproject.toml too), for
/// `rerun-if-changed`.
pub(crate) fn inputs(requirements: &Path) -> Vec<PathBuf> {
    Source::files(requirements)
}

const READY: &str = ".pyinstaller-build-ready";
/// Beside [`READY`]: installed from hash-pinned requirements, from wheels only.
const WHEELS: &str = ".pyinstaller-build-wheels";

/// How to create an environment.
pub(crate) struct Request<'a> {
    /// The interpreter the environment is based on.
    pub base: &'a Path,
    /// `requirements.txt`-style file, or a `pyproject.toml` with `[project] dependencies`.
    pub requirements: &'a Path,
    /// `<cache>/envs`.
    pub envs_dir: &'a Path,
    /// Never touch the network: use an existing environment or fail.
    pub offline: bool,
    /// The `uv` on `PATH`; without one the crate installs its own ([`tools`]).
    pub uv: Option<PathBuf>,
    /// Reads the installer's variables and where its files are ([`config`]).
    pub cargo: &'a Cargo,
    /// The PyInstaller version the `pyinstaller` key chooses, installed when the requirements
    /// don't name PyInstaller (default [`TESTED_PYINSTALLER`]).
    pub pyinstaller: Option<&'a str>,
    /// The extras and dependency groups to install (the `extras` and `groups` keys).
    pub selection: Selection,
}

// Defined with the interpreter checks (toolchain.rs), which name it in their advice.
pub(crate) use crate::toolchain::TESTED_PYINSTALLER;

impl Request<'_> {
    /// The requirement the crate adds (`pyinstaller==6.22.3`), unless the requirements name
    /// PyInstaller. A lockfile gets it too, to be installed after its export when the export
    /// does not name it (only then is it known which groups hold what).
    fn provided(&self, source: &Source) -> Option<String> {
        let version = self.pyinstaller.unwrap_or(TESTED_PYINSTALLER);
        (source.names_pyinstaller(self.requirements) != Some(true)).then(|| format!("pyinstaller=={version}"))
    }

    /// What identifies the environment: the requirements (with the local projects they name,
    /// [`plan::local_key`]), and what the crate adds to them.
    fn key_lines(&self, source: &Source) -> Vec<String> {
        let mut lines = source.key_lines();
        if let Source::Requirements(requirements) = source {
            lines.extend(plan::local_key(requirements, &plan::folder(self.requirements, requirements)));
            lines.extend(self.selection.key_lines());
        }
        lines.extend(self.provided(source).map(|p| format!("\0provided by the crate: {p}")));
        lines
    }
}

/// The managed environment, made or found.
pub(crate) struct Env {
    /// Its folder.
    pub dir: PathBuf,
    pub python: PathBuf,
    /// Created by this build.
    pub created: bool,
    /// Installed from hash-pinned requirements, from wheels only: what determined it
    /// ([`pinned_basis`] when it was created, kept in its marker, since the installer's settings
    /// may have changed since).
    pub pinned: Option<Vec<String>>,
    /// Created by this build with PyInstaller added by the crate (`pyinstaller==6.22.3`): the
    /// requirements don't name it.
    pub provided: Option<String>,
}

/// Checks the `pyinstaller` setting before anything runs: a 6.x version, and only where the
/// crate manages the environment.
pub(crate) fn check_setting(version: Option<&str>, requirements: bool) -> Result<()> {
    let Some(version) = version else { return Ok(()) };
    let plain = !version.is_empty() && version.chars().all(|c| c.is_ascii_alphanumeric() || ".+!-".contains(c));
    let major = version.split('.').next().and_then(|m| m.parse::<u64>().ok());
    let problem = match () {
        _ if !plain || !version.starts_with(|c: char| c.is_ascii_digit()) => {
            "is not a version (write one, like \"6.22.3\"; the crate pins it with `==`)"
        }
        _ if major != Some(6) => "is not a PyInstaller 6 release, the one the crate supports (`>=6,<7`)",
        _ if !requirements => {
            "only applies to the crate's own environment (with `requirements`); without it the interpreter's own \
             PyInstaller runs"
        }
        _ => return Ok(()),
    };
    Err(Error::new(
        ErrorKind::Config,
        format!(
            "pyinstaller-build: the setting `pyinstaller = \"{version}\"` {problem}.\n\
             Fix: set it to a 6.x release (the crate is tested with {TESTED_PYINSTALLER}) together with `requirements`, \
             or remove it."
        ),
    ))
}

/// Checks that `extras` and `groups` come with `requirements`, before anything runs.
pub(crate) fn check_selection(chosen: bool, requirements: bool) -> Result<()> {
    if !chosen || requirements {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Config,
        "pyinstaller-build: the `extras` and `groups` settings choose what the crate installs from `requirements` \
         (a `pyproject.toml`, `uv.lock` or `poetry.lock`), which is not set.\n\
         Fix: set `requirements` too, or remove them.",
    ))
}

/// Where the environment for `req` is (or will be), and whether it is ready.
pub(crate) fn locate(req: &Request) -> Result<(Source, PathBuf, bool)> {
    let source = Source::read(req.requirements, &req.selection)?;
    if let (Some(version), Some(named)) = (req.pyinstaller, named_pyinstaller(&source, req.requirements)) {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "pyinstaller-build: the `pyinstaller = \"{version}\"` setting chooses the PyInstaller the crate adds to \
                 requirements that don't name it, but `{}` names it ({named}).\n\
                 Fix: remove the `pyinstaller` key, or PyInstaller from the requirements; one of them says which.",
                req.requirements.display()
            ),
        ));
    }
    let key = key(req.base, &req.key_lines(&source));
    let dir = req.envs_dir.join(format!("env-{}", &key[..16]));
    let ready = dir.join(READY).is_file();
    Ok((source, dir, ready))
}

/// Returns the environment, created if it has to be; `pinned` is its [`pinned_basis`] when the
/// caller has it already.
pub(crate) fn ensure(req: &Request, pinned: Option<Vec<String>>) -> Result<Env> {
    let (source, dir, _) = locate(req)?;
    if let Some(version) = source.pinned_pyinstaller() {
        // Before a minute of installing what could not be used.
        let found = format!("pinned in `{}`", req.requirements.display());
        crate::toolchain::check_version(&version, &found, req.base, Some(req.requirements))?;
    }
    let requirements = req.key_lines(&source);
    let python = python_in(&dir);
    let found = |dir: PathBuf| {
        // An empty or unreadable marker (an older crate's) determines nothing.
        let pinned = fs::read(dir.join(WHEELS)).ok().and_then(|b| serde_json::from_slice(&b).ok());
        Env { dir, python: python.clone(), created: false, pinned, provided: None }
    };
    if dir.join(READY).is_file() {
        return Ok(found(dir));
    }
    fs::create_dir_all(req.envs_dir).at("could not create", req.envs_dir)?;
    let _lock = lock(&dir)?;
    // Another build may have finished it while this one waited.
    if dir.join(READY).is_file() {
        return Ok(found(dir));
    }
    if req.offline {
        return Err(Error::new(
            ErrorKind::PyInstallerMissing,
            format!(
                "pyinstaller-build: offline (CARGO_NET_OFFLINE is set) and no environment exists yet for `{}`.\n\
                 Fix: build once with network access so the crate can install it, or unset CARGO_NET_OFFLINE.",
                req.requirements.display()
            ),
        ));
    }
    // Before a minute of installing for a Python the project says it does not run on.
    match &source {
        Source::Locked(locked) => locked.check_python(req.base)?,
        Source::Requirements(_) if req.requirements.file_name().is_some_and(|n| n == "pyproject.toml") => {
            let text = fs::read_to_string(req.requirements).unwrap_or_default();
            if let Ok(doc) = project::parse(req.requirements, &text) {
                requires_python::check(req.requirements, &doc, req.base)?;
            }
        }
        Source::Requirements(_) => {}
    }
    // Whatever is there was interrupted: never half-use it.
    if dir.exists() {
        fs::remove_dir_all(&dir).at("could not remove the unfinished environment", &dir)?;
    }
    let list = dir.with_extension("requirements.txt");
    let log = dir.with_extension("log");
    let tools_dir = req.envs_dir.join("tools");
    let uv = match &req.uv {
        Some(uv) => uv.clone(),
        None => tools::ensure(Tool::Uv, req.base, &tools_dir, None)?,
    };
    let mut provided = req.provided(&source);
    let plan = match &source {
        Source::Requirements(lines) => {
            let folder = plan::folder(req.requirements, lines);
            // Resolved with the rest, unless pip wants a hash on every line.
            plan::write(lines, req.requirements, &folder, &list, provided.as_deref())?
        }
        Source::Locked(locked) => {
            let tool = tools::ensure(locked.tool, req.base, &tools_dir, Some(&uv))?;
            locked.export(&tool, &list, &log)?;
            let mut exported: Vec<String> =
                fs::read_to_string(&list).unwrap_or_default().lines().map(str::to_string).collect();
            if lock::lines_name_pyinstaller(&exported, req.envs_dir, 0) {
                provided = None;
            }
            if locked.installs_project() {
                exported.push(format!("-e {}", locked.dir().display()));
            }
            // Complete and pinned: installed exactly, a workspace member or the project apart.
            plan::write(&exported, &list, locked.dir(), &list, provided.as_deref())?
        }
    };
    // Hash-pinned requirements installed from wheels only are determined by the requirements,
    // the interpreter and the installer (a wheel is preferred to an sdist of the same version
    // anyway, so this changes nothing else); with an sdist among them, built here with this
    // machine's compilers, they are not, and they are installed as pip would.
    // What determined it is taken before the install, as the installer sees it.
    let mut pinned = pinned.or_else(|| pinned_basis(req)).filter(|_| plan.installs.len() == 1);
    if pinned.is_some() {
        let wheels: Vec<OsString> = [&plan.installs[0][..], &["--only-binary".into(), ":all:".into()]].concat();
        if create(req.base, Some(&uv), &dir, &plan.folder, &[wheels], &log).is_err() {
            pinned = None;
        }
    }
    if let Some(basis) = &pinned {
        let marker = serde_json::to_vec(basis).expect("strings serialize");
        fs::write(dir.join(WHEELS), marker).at("could not mark", &dir)?;
    } else if let Err(step) = create(req.base, Some(&uv), &dir, &plan.folder, &plan.installs, &log) {
        return Err(Error::new(
            ErrorKind::PyInstallerMissing,
            format!(
                "pyinstaller-build: could not create the Python environment for `{}`.\n\
                 Command (in {}): {}\nLast lines of its log ({}):\n{}{}",
                req.requirements.display(),
                plan.folder.display(),
                step,
                log.display(),
                log_tail(&log, 20),
                plan.advice()
            ),
        ));
    }
    fs::write(dir.join(READY), requirements.join("\n")).at("could not mark ready", &dir)?;
    Ok(Env { dir, python, created: true, pinned, provided })
}

/// What determines the environment `req` makes from hash-pinned requirements, before it
/// exists: the requirement lines, the base interpreter (its version, ABI and the facts its
/// platform tags come from: platform, glibc or macOS version), the installer (uv's version,
/// or the pip and setuptools wheels `venv` seeds), and what the installer reads besides: its
/// variables, its configuration files and local link folders ([`config`]).
/// `None` when the requirements are not hash-pinned or the interpreter cannot say.
pub(crate) fn pinned_basis(req: &Request) -> Option<Vec<String>> {
    let source = Source::read(req.requirements, &req.selection).ok()?;
    // PyInstaller added by the crate is resolved from the index: the hashes don't determine it.
    if !source.hash_pinned() || req.provided(&source).is_some() {
        return None;
    }
    let mut basis = req.key_lines(&source);
    let facts = crate::toolchain::base_facts(req.base)?;
    // musl's version is not among them (packaging reads it from the loader): not determined.
    if facts["os"] == "linux" && facts["glibc"].is_null() {
        return None;
    }
    for file in [facts["real_executable"].as_str(), facts["libpython"].as_str()].into_iter().flatten() {
        basis.push(crate::hashing::hex(&crate::hashing::hash_file(Path::new(file)).ok()?));
    }
    basis.push(facts["tags"].to_string());
    basis.push(installer(req)?);
    basis.push(FORMAT.to_string());
    let installer_env = config::installer_env(req.cargo);
    for (k, v) in &installer_env {
        basis.push(format!("{k}={v}"));
    }
    // The installer runs where the requirements resolve from (`plan::folder`).
    let Source::Requirements(lines) = &source else { return None };
    let cwd = plan::folder(req.requirements, lines);
    let var = |k: &str| req.cargo.env(k).map(|v| v.to_string_lossy().into_owned());
    basis.extend(config::files(true, &var, &cwd));
    let links: Vec<String> = installer_env
        .iter()
        .filter(|(k, _)| k.ends_with("FIND_LINKS"))
        .map(|(_, v)| v.clone())
        .chain(source.find_links())
        .collect();
    basis.extend(config::find_links(&links, req.requirements.parent()?, &cwd));
    Some(basis)
}

/// The installer, by version (`uv 0.13.9`): the `uv` on `PATH` says it, the crate's own is the
/// version it pins (not installed just to ask). The same version from either makes the same
/// environment.
fn installer(req: &Request) -> Option<String> {
    let version = match &req.uv {
        Some(uv) => {
            let out = Command::new(uv).arg("--version").output().ok()?;
            // `uv 0.13.9 (x86_64-unknown-linux-gnu)`, or with a commit: the version decides.
            String::from_utf8_lossy(&out.stdout).split_whitespace().nth(1)?.to_string()
        }
        None => Tool::Uv.packages()[0].strip_prefix("uv==")?.to_string(),
    };
    Some(format!("uv {version}"))
}

/// Where the requirements name PyInstaller (`line 3: \`pyinstaller==6.22.3\``, or the
/// lockfile's entry), if they do.
fn named_pyinstaller(source: &Source, requirements: &Path) -> Option<String> {
    if let Some(version) = source.pinned_pyinstaller().filter(|_| matches!(source, Source::Locked(_))) {
        return Some(format!("it locks PyInstaller {version}"));
    }
    if source.names_pyinstaller(requirements) != Some(true) {
        return None;
    }
    let text = fs::read_to_string(requirements).unwrap_or_default();
    let line = text.lines().enumerate().find(|(_, l)| crate::toolchain::names_pyinstaller(l));
    Some(match line {
        Some((n, l)) => format!("line {}: `{}`", n + 1, l.trim()),
        None => "in a file it includes".to_string(),
    })
}

/// Held while an environment is created: two builds never install into one at once.
fn lock(dir: &Path) -> Result<fs::File> {
    crate::fsutil::lock_file(&dir.with_extension("lock"))
}

/// Creates a virtual environment at `dir` from `base` and runs `pip install <args>` in it for
/// each of `installs` in turn: a relocatable one with `uv` when given (every managed
/// environment), else with `venv` and pip (the crate's own tools, uv among them). On
/// failure, removes `dir` and returns the command that failed (each step's log replaces the last
/// one's).
fn create(
    base: &Path,
    uv: Option<&Path>,
    dir: &Path,
    cwd: &Path,
    installs: &[Vec<OsString>],
    log: &Path,
) -> std::result::Result<(), String> {
    let python = python_in(dir);
    let mut steps: Vec<Command> = match uv {
        // Relocatable: no file in it names `dir` (see the module docs).
        Some(uv) => {
            vec![command(uv, &["venv", "--quiet", "--relocatable", "--python"], &[base.as_os_str(), dir.as_os_str()])]
        }
        None => vec![command(base, &["-m", "venv"], &[dir.as_os_str()])],
    };
    for args in installs {
        let mut step = match uv {
            Some(uv) => {
                command(uv, &["pip", "install", "--python"], &[&[python.clone().into_os_string()], &args[..]].concat())
            }
            None => command(&python, &["-m", "pip", "install", "--disable-pip-version-check", "--no-input"], args),
        };
        // Relative paths in the requirements resolve from there.
        step.current_dir(cwd);
        steps.push(step);
    }
    for mut step in steps {
        let ok = matches!(run_logged(&mut step, log, None), Ok(Ended::Exited(s)) if s.success());
        if !ok {
            let _ = fs::remove_dir_all(dir);
            return Err(command_line(&step));
        }
    }
    Ok(())
}

fn command(program: &Path, args: &[&str], rest: &[impl AsRef<std::ffi::OsStr>]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args).args(rest).env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// How the crate makes environments: changed whenever an environment made before would differ
/// (so it is made again), as when they became relocatable.
const FORMAT: &str = "relocatable uv environment 1";

/// The base interpreter's identity (without starting it), the requirements, and [`FORMAT`].
fn key(base: &Path, requirements: &[String]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(FORMAT.as_bytes()).update(b"\0");
    crate::toolchain::hash_interpreter(&mut h, base);
    for line in requirements {
        h.update(&(line.len() as u64).to_le_bytes()).update(line.as_bytes());
    }
    h.finalize().to_hex().to_string()
}

fn python_in(env: &Path) -> PathBuf {
    if cfg!(windows) {
        env.join("Scripts").join("python.exe")
    } else {
        env.join("bin").join("python")
    }
}

// The fake interpreter is a shell script.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fake base interpreter: `-m venv DIR` makes DIR/bin/python (itself); `-m pip install -r F`
    /// records F's content in the env, or fails if the content says FAIL, or names SDIST and
    /// only wheels may be installed (`--only-binary`, which it then records too).
    fn fake_python(dir: &Path, calls: &Path) -> PathBuf {
        let path = dir.join("fake-python");
        fs::write(
            &path,
            format!("#!/bin/sh\necho \"$0 $* (in $PWD)\" >> '{}'\n", calls.display())
                + r#"
if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; exit 0; fi
if [ "$1 $2 $3" = "-m pip install" ]; then
  f=; wheels=; prev=
  for a in "$@"; do [ "$prev" = "-r" ] && f=$a; [ "$a" = "--only-binary" ] && wheels=1; prev=$a; done
  grep -q FAIL "$f" && { echo "ERROR: No matching distribution"; exit 1; }
  [ -n "$wheels" ] && grep -q SDIST "$f" && { echo "ERROR: no wheel, only an sdist"; exit 1; }
  [ -n "$wheels" ] && touch "$(dirname "$0")/../wheels-only"
  [ -z "$f" ] && { shift 5; echo "$*" >> "$(dirname "$0")/../then-installed.txt"; exit 0; }
  cp "$f" "$(dirname "$0")/../installed.txt"; exit 0
fi
exec python3 "$@"
"#,
        )
        .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// A fake uv that hands each step to the fake interpreter as `venv` and pip would run it
    /// (logged there, once per step), and remembers that the environment is relocatable.
    fn fake_uv(dir: &Path) -> PathBuf {
        let path = dir.join("fake-uv");
        fs::write(
            &path,
            r#"#!/bin/sh
[ "$1" = "--version" ] && { echo "uv 0.13.9 (x86_64-unknown-linux-gnu)"; exit 0; }
if [ "$1" = "venv" ]; then
  [ "$3" = "--relocatable" ] || exit 3
  "$5" -m venv "$6" && echo "relocatable = true" > "$6/pyvenv.cfg"; exit $?
fi
if [ "$1 $2" = "pip install" ]; then py=$4; shift 4; exec "$py" -m pip install --disable-pip-version-check --no-input "$@"; fi
exit 2
"#,
        )
        .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    struct Setup {
        _tmp: tempfile::TempDir,
        base: PathBuf,
        uv: PathBuf,
        reqs: PathBuf,
        envs: PathBuf,
        calls: PathBuf,
        cargo: Cargo,
    }

    fn setup(requirements: &str) -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("a/b");
        fs::create_dir_all(&root).unwrap();
        let calls = tmp.path().join("calls.log");
        let base = fake_python(&root, &calls);
        let reqs = tmp.path().join("requirements.txt");
        fs::write(&reqs, requirements).unwrap();
        let envs = root.join("envs");
        let uv = fake_uv(&root);
        Setup { _tmp: tmp, base, uv, reqs, envs, calls, cargo: Cargo { capture: Some(Default::default()) } }
    }

    fn ensure_with(s: &Setup, offline: bool) -> Result<PathBuf> {
        ensure(&request(s, &s.reqs, offline), None).map(|e| e.python)
    }

    fn ensure_env(s: &Setup) -> Env {
        ensure(&request(s, &s.reqs, false), None).unwrap()
    }

    fn request<'a>(s: &'a Setup, requirements: &'a Path, offline: bool) -> Request<'a> {
        Request {
            base: &s.base,
            requirements,
            envs_dir: &s.envs,
            offline,
            uv: Some(s.uv.clone()),
            cargo: &s.cargo,
            pyinstaller: None,
            selection: Selection::default(),
        }
    }

    /// How many times an interpreter ran (a `-c` script's lines are logged too).
    fn calls(s: &Setup) -> usize {
        let dir = s._tmp.path().to_string_lossy().into_owned();
        fs::read_to_string(&s.calls).unwrap_or_default().lines().filter(|l| l.starts_with(&dir)).count()
    }

    #[test]
    fn creates_once_then_reuses_without_running_anything() {
        let s = setup("pyinstaller==6.22.3\n");
        let python = ensure_with(&s, false).unwrap();
        assert!(python.ends_with("bin/python") && python.is_file());
        let env = python.parent().unwrap().parent().unwrap();
        assert!(
            fs::read_to_string(env.join("pyvenv.cfg")).unwrap().contains("relocatable = true"),
            "uv venv --relocatable"
        );
        assert_eq!(
            fs::read_to_string(python.parent().unwrap().parent().unwrap().join("installed.txt")).unwrap(),
            "pyinstaller==6.22.3\n"
        );
        assert_eq!(calls(&s), 2, "venv + pip install");
        assert_eq!(ensure_with(&s, false).unwrap(), python);
        assert_eq!(ensure_with(&s, true).unwrap(), python, "offline uses the existing environment");
        assert_eq!(calls(&s), 2, "reused: nothing ran");
        // A changed requirements file gets a fresh environment.
        fs::write(&s.reqs, "pyinstaller==6.22.2\n").unwrap();
        assert_ne!(ensure_with(&s, false).unwrap(), python);
    }

    #[test]
    fn hash_pinned_requirements_install_from_wheels_only_else_as_pip_would() {
        let s = setup("altgraph==0.17.5 --hash=sha256:aa\npyinstaller==6.22.3 --hash=sha256:pp\n");
        let env = ensure_env(&s);
        let basis = env.pinned.clone().expect("determined");
        assert!(env.created && env.dir.join("wheels-only").is_file(), "installed with --only-binary :all:");
        assert_eq!(calls(&s), 3, "the interpreter's facts, venv, the install");
        assert_eq!(ensure_env(&s).pinned.as_ref(), Some(&basis), "the marker says so when it is reused");
        // What determined it is what the installer saw then, not what it would see now.
        // A name no real setting has: other tests never see it.
        std::env::set_var("PIP_PYINSTALLER_BUILD_TEST_CHANGED_SINCE", "1");
        let now = request(&s, &s.reqs, false);
        assert_ne!(pinned_basis(&now).as_ref(), Some(&basis));
        assert_eq!(ensure(&now, None).unwrap().pinned, Some(basis));

        // An sdist is needed: the wheels-only install fails, then it installs as pip would.
        fs::write(&s.reqs, "pyinstaller==6.22.3 --hash=sha256:pp\nSDIST-only==1.0 --hash=sha256:bb\n").unwrap();
        let before = calls(&s);
        let env = ensure_env(&s);
        assert!(env.created && env.pinned.is_none());
        assert!(!env.dir.join("wheels-only").exists() && env.dir.join("installed.txt").is_file());
        assert_eq!(calls(&s) - before, 5, "facts, venv, the refused wheels-only install, venv again, install");
        assert!(ensure_env(&s).pinned.is_none());

        // Not pinned by hash: installed as pip would, never wheels-only.
        fs::write(&s.reqs, "altgraph==0.17.5\npyinstaller==6.22.3\n").unwrap();
        let env = ensure_env(&s);
        assert!(env.created && env.pinned.is_none() && !env.dir.join("wheels-only").exists());
    }

    /// What an environment's installs were given: the list (`-r`), then each later install.
    fn installed(env: &Env) -> (String, String) {
        let read = |f: &str| fs::read_to_string(env.dir.join(f)).unwrap_or_default();
        (read("installed.txt"), read("then-installed.txt"))
    }

    #[test]
    fn requirements_without_pyinstaller_get_the_tested_one_or_the_chosen_one() {
        let s = setup("python-dateutil==2.9.0.post0\n");
        let env = ensure_env(&s);
        assert_eq!(env.provided.as_deref(), Some("pyinstaller==6.22.3"));
        assert_eq!(installed(&env), ("python-dateutil==2.9.0.post0\npyinstaller==6.22.3\n".into(), String::new()));
        assert!(ensure_env(&s).provided.is_none(), "reused: nothing was installed");
        // Another version chosen: another environment.
        let chosen = Request { pyinstaller: Some("6.21.0"), ..request(&s, &s.reqs, false) };
        let other = ensure(&chosen, None).unwrap();
        assert!(other.created && other.dir != env.dir, "the version is part of the environment's identity");
        assert_eq!(installed(&other).0, "python-dateutil==2.9.0.post0\npyinstaller==6.21.0\n");

        // Named by the requirements: nothing added, and the setting may not say otherwise.
        fs::write(&s.reqs, "python-dateutil\nPyInstaller>=6.10\n").unwrap();
        let env = ensure_env(&s);
        assert!(env.provided.is_none());
        assert_eq!(installed(&env).0, "python-dateutil\nPyInstaller>=6.10\n");
        let err = ensure(&chosen, None).err().unwrap().to_string();
        assert!(err.contains("`pyinstaller = \"6.21.0\"`") && err.contains("line 2: `PyInstaller>=6.10`"), "{err}");

        // Hashed requirements: pip wants a hash on every line, so it is installed after them,
        // and the hashes no longer determine the environment.
        fs::write(&s.reqs, "six==1.17.0 --hash=sha256:aa\n").unwrap();
        assert!(pinned_basis(&request(&s, &s.reqs, false)).is_none());
        let env = ensure_env(&s);
        assert!(env.pinned.is_none() && !env.dir.join("wheels-only").exists());
        assert_eq!(installed(&env), ("six==1.17.0 --hash=sha256:aa\n".into(), "pyinstaller==6.22.3\n".into()));
    }

    /// The install commands that ran (after `pip install`), with the folder each ran in.
    fn installs(s: &Setup) -> Vec<String> {
        let log = fs::read_to_string(&s.calls).unwrap_or_default();
        log.lines().filter_map(|l| l.split_once(" -m pip install ")).map(|(_, rest)| rest.to_string()).collect()
    }

    #[test]
    fn a_uv_export_naming_its_project_installs_exactly_from_the_project() {
        let s = setup("");
        let project = s._tmp.path().join("app");
        fs::create_dir_all(project.join("requirements")).unwrap();
        fs::write(project.join("pyproject.toml"), "[project]\nname = \"app\"\nversion = \"1.0\"\n").unwrap();
        let export = project.join("requirements/prod.txt");
        fs::write(
            &export,
            "# This file was autogenerated by uv via the following command:\n#    uv export\n-e .\n\
             six==1.17.0 \\\n    --hash=sha256:aa\n    # via app\n",
        )
        .unwrap();
        let env = ensure(&request(&s, &export, false), None).unwrap();
        assert!(env.created && env.pinned.is_none(), "a local project is not determined by hashes");
        let ran = installs(&s);
        let list = env.dir.with_extension("requirements.txt");
        let local = list.with_extension("local.txt");
        let at = format!("(in {})", project.display());
        assert_eq!(ran.len(), 3, "{ran:?}");
        assert!(ran[0].contains(&format!("-r {} --no-deps", list.display())) && ran[0].ends_with(&at), "{ran:?}");
        assert!(ran[1].contains(&format!("-r {} --no-deps", local.display())) && ran[1].ends_with(&at), "{ran:?}");
        assert!(ran[2].contains("--no-input pyinstaller==6.22.3 (in"), "{ran:?}");
        assert_eq!(fs::read_to_string(&local).unwrap(), "-e .\n");

        // Another checkout of the same files is another environment (the editable install
        // points at its sources); the same one is reused.
        assert!(!ensure(&request(&s, &export, false), None).unwrap().created);
        let other = s._tmp.path().join("other");
        fs::create_dir_all(other.join("requirements")).unwrap();
        fs::copy(project.join("pyproject.toml"), other.join("pyproject.toml")).unwrap();
        fs::copy(&export, other.join("requirements/prod.txt")).unwrap();
        let moved = ensure(&request(&s, &other.join("requirements/prod.txt"), false), None).unwrap();
        assert!(moved.created && moved.dir != env.dir);
    }

    #[test]
    fn a_failed_install_of_hashed_ranges_says_what_pips_hash_mode_wants() {
        let s = setup("six==1.17.0 --hash=sha256:aa\nFAIL>=1 --hash=sha256:bb\n");
        let err = ensure_with(&s, false).unwrap_err().to_string();
        assert!(err.contains("`--require-hashes`") && err.contains("`poetry.lock`"), "{err}");
        assert!(installs(&s).iter().all(|i| !i.contains("--no-deps")), "a range is resolved: {:?}", installs(&s));
    }

    #[test]
    fn extras_and_groups_apply_to_a_project_and_need_requirements() {
        let s = setup("flask\n");
        let chosen = Selection { extras: vec!["server".into()], groups: None };
        let err = ensure(&Request { selection: chosen.clone(), ..request(&s, &s.reqs, false) }, None).err().unwrap();
        assert!(err.to_string().contains("write the extras in it (`app[server]`)"), "{err}");
        assert!(check_selection(true, false).unwrap_err().to_string().contains("set `requirements` too"));
        let pyproject = s.reqs.with_file_name("pyproject.toml");
        fs::write(
            &pyproject,
            "[project]\nname = \"app\"\ndependencies = [\"fastapi\"]\n[project.optional-dependencies]\nserver = [\"uvicorn\"]\n\
             [build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n",
        )
        .unwrap();
        let plain = ensure(&request(&s, &pyproject, false), None).unwrap();
        let with = ensure(&Request { selection: chosen, ..request(&s, &pyproject, false) }, None).unwrap();
        assert!(with.created && with.dir != plain.dir, "the extras are part of the environment's identity");
        let dir = pyproject.parent().unwrap().display().to_string();
        assert_eq!(installed(&plain).0, format!("fastapi\n-e {dir}\npyinstaller==6.22.3\n"), "the project itself too");
        assert_eq!(installed(&with).0, format!("fastapi\nuvicorn\n-e {dir}\npyinstaller==6.22.3\n"));
    }

    #[test]
    fn the_pyinstaller_setting_is_a_6x_version_with_requirements() {
        assert!(check_setting(None, false).is_ok() && check_setting(Some("6.21.0"), true).is_ok());
        for (version, requirements, says) in [
            ("5.13.0", true, "not a PyInstaller 6 release"),
            (">=6", true, "not a version"),
            ("6.22.3; rm -rf", true, "not a version"),
            ("6.22.3", false, "only applies to the crate's own environment"),
        ] {
            let err = check_setting(Some(version), requirements).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains(says), "{version}: {err}");
        }
    }

    #[test]
    fn an_interrupted_environment_is_never_used() {
        let s = setup("pyinstaller\n");
        let python = ensure_with(&s, false).unwrap();
        let env = python.parent().unwrap().parent().unwrap().to_path_buf();
        // As if the install had been killed before it finished: no ready marker.
        fs::remove_file(env.join(READY)).unwrap();
        fs::write(env.join("half-installed"), "").unwrap();
        assert_eq!(ensure_with(&s, false).unwrap(), python);
        assert!(!env.join("half-installed").exists(), "recreated from scratch");
        assert_eq!(calls(&s), 4);
    }

    #[test]
    fn a_failed_install_shows_the_log_and_is_retried() {
        let s = setup("FAIL-nonexistent-package\n");
        let err = ensure_with(&s, false).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("No matching distribution") && msg.contains(".log") && msg.contains("requirements.txt"),
            "{msg}"
        );
        fs::write(&s.reqs, "pyinstaller\n").unwrap();
        assert!(ensure_with(&s, false).is_ok());
    }

    #[test]
    fn an_unsupported_pinned_pyinstaller_fails_before_installing() {
        let s = setup("fastapi==0.110.0\npyinstaller==5.13.0 ; python_version >= '3.8'\n");
        let err = ensure_with(&s, false).unwrap_err().to_string();
        assert!(err.contains("PyInstaller 5.13.0 (pinned in") && err.contains("change line 2 of"), "{err}");
        assert_eq!(calls(&s), 0, "nothing was installed");
    }

    #[test]
    fn offline_without_an_environment_says_so() {
        let s = setup("pyinstaller\n");
        let err = ensure_with(&s, true).unwrap_err();
        assert!(err.to_string().contains("CARGO_NET_OFFLINE"), "{err}");
        assert_eq!(calls(&s), 0, "never touched the network");
    }

    #[test]
    fn pyproject_dependencies_are_the_requirements() {
        let s = setup("");
        let pyproject = s.reqs.with_file_name("pyproject.toml");
        fs::write(&pyproject, "[project]\nname = \"app\"\ndependencies = [\"pyinstaller==6.22.3\", \"packaging\"]\n")
            .unwrap();
        let Env { python, created, .. } = ensure(&request(&s, &pyproject, false), None).unwrap();
        assert!(created);
        let installed = fs::read_to_string(python.parent().unwrap().parent().unwrap().join("installed.txt")).unwrap();
        assert_eq!(installed, "pyinstaller==6.22.3\npackaging\n");
    }
}
