//! Which Python runs PyInstaller, and a cheap, sound fingerprint of it.
//!
//! PyInstaller always runs as `<python> -m PyInstaller`, so the interpreter and PyInstaller match.
//! Starting Python costs 70–150 ms, so its answers are cached, keyed by the interpreter binary and
//! `pyvenv.cfg`, and re-asked whenever the installed distributions change.

use crate::build_support::PROBE;
use crate::cargo::Cargo;
use crate::error::{Error, ErrorKind, IoContext, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The PyInstaller the crate is tested with: installed into a managed environment whose
/// requirements don't name PyInstaller.
pub(crate) const TESTED_PYINSTALLER: &str = "6.22.3";

/// What the interpreter said about itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Toolchain {
    /// The interpreter as discovered (a venv's `bin/python`, not the binary it links to).
    pub python: PathBuf,
    pub version: String,
    pub platform: String,
    pub site_dirs: Vec<PathBuf>,
    /// `sys.prefix`, `sys.base_prefix` and the exec prefixes: the interpreter's own files.
    pub prefixes: Vec<PathBuf>,
    pub pyinstaller: Option<String>,
    /// blake3 of the installed distributions: changes on any `pip install`/`uninstall`/`-U`.
    pub site_hash: String,
    /// The shared library the interpreter runs on, when it has one (PyInstaller bundles it).
    #[serde(default)]
    pub libpython: Option<PathBuf>,
}

impl Toolchain {
    /// Everything about the toolchain that changes PyInstaller's output.
    pub(crate) fn fingerprint(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n{}",
            self.python.display(),
            self.version,
            self.platform,
            self.pyinstaller.as_deref().unwrap_or("-"),
            self.site_hash
        )
    }
}

impl Toolchain {
    /// Whether `path` belongs to the interpreter or its installed packages (the toolchain part of
    /// the fingerprint covers those), rather than to the project.
    pub(crate) fn owns(&self, path: &Path) -> bool {
        self.prefixes.iter().chain(&self.site_dirs).any(|d| path.starts_with(d))
    }
}

/// Finds the interpreter: first hit wins, and the error lists everything tried.
pub(crate) fn discover(
    cargo: &Cargo,
    configured: Option<&Path>,
    python_dir: &Path,
    manifest_dir: &Path,
) -> Result<PathBuf> {
    let mut tried = Vec::new();
    if let Some(p) = cargo.env("PYINSTALLER_BUILD_PYTHON") {
        return explicit(Path::new(&p), manifest_dir, "PYINSTALLER_BUILD_PYTHON");
    }
    tried.push("env PYINSTALLER_BUILD_PYTHON: not set".to_string());
    if let Some(p) = configured {
        return explicit(p, manifest_dir, "the `python` setting");
    }
    tried.push("`python` key in [package.metadata.pyinstaller-build]: not set".to_string());
    let venvs = [
        ("$VIRTUAL_ENV", cargo.env("VIRTUAL_ENV").map(PathBuf::from)),
        ("python-dir/.venv", Some(python_dir.join(".venv"))),
        ("manifest-dir/.venv", Some(manifest_dir.join(".venv"))),
    ];
    for (what, venv) in venvs {
        match venv {
            None => tried.push(format!("{what}: not set")),
            Some(venv) => {
                let python = venv_python(&venv);
                if python.is_file() {
                    return Ok(python);
                }
                tried.push(format!("{what}: no `{}`", python.display()));
            }
        }
    }
    for name in ["python3", "python"] {
        match which::which(name) {
            Ok(p) => return Ok(p),
            Err(_) => tried.push(format!("`{name}` on PATH: not found")),
        }
    }
    Err(Error::new(
        ErrorKind::InterpreterNotFound,
        format!(
            "pyinstaller-build: no Python interpreter found. Tried, in order:\n{}\n\
             Fix: install Python 3 and PyInstaller, e.g. `python3 -m venv {dir}/.venv && \
             {dir}/.venv/bin/pip install pyinstaller`, or point PYINSTALLER_BUILD_PYTHON at an \
             interpreter that has PyInstaller.",
            tried.iter().map(|t| format!("  - {t}\n")).collect::<String>(),
            dir = python_dir.display(),
        ),
    ))
}

/// A path relative to the package, or a bare name (`python3.12`) looked up on `PATH`.
fn explicit(given: &Path, manifest_dir: &Path, source: &str) -> Result<PathBuf> {
    let python = manifest_dir.join(given);
    if python.is_file() {
        return Ok(python);
    }
    if given.components().count() == 1 {
        if let Ok(found) = which::which(given) {
            return Ok(found);
        }
    }
    Err(Error::new(
        ErrorKind::InterpreterNotFound,
        format!(
            "pyinstaller-build: {source} names the interpreter `{}`, which does not exist.\n\
             Fix: point it at an existing Python (e.g. `.venv/bin/python`) or unset it to let the \
             crate discover one.",
            python.display()
        ),
    ))
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// What a base interpreter says about itself (the probe's JSON), run isolated (`-I`): nothing of
/// the project or of `PYTHON*` variables shadows the standard library. `None` if it cannot say.
pub(crate) fn base_facts(python: &Path) -> Option<serde_json::Value> {
    let output = Command::new(python)
        .args(["-I", "-c", PROBE])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // Anywhere that exists (the cache folder may not yet).
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .output()
        .ok()?;
    serde_json::from_slice(&output.stdout).ok()
}

/// Asks the interpreter about itself, or reuses its last answer when nothing it depends on moved.
pub(crate) fn probe(python: &Path, cache_dir: &Path) -> Result<Toolchain> {
    let key = probe_key(python);
    let cache_file = cache_dir.join(format!("probe-v3-{}.json", &key[..16]));
    if let Some(cached) = fs::read(&cache_file).ok().and_then(|b| serde_json::from_slice::<Toolchain>(&b).ok()) {
        if cached.python == python && site_hash(&cached.site_dirs) == cached.site_hash {
            return Ok(cached);
        }
    }
    let output = Command::new(python)
        .arg("-c")
        .arg(PROBE)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output()
        .at("could not run the Python interpreter", python)?;
    #[derive(Deserialize)]
    struct Answer {
        version: String,
        platform: String,
        site_dirs: Vec<PathBuf>,
        prefixes: Vec<PathBuf>,
        pyinstaller: Option<String>,
        libpython: Option<PathBuf>,
    }
    let answer: Answer = serde_json::from_slice(&output.stdout).map_err(|_| {
        Error::new(
            ErrorKind::InterpreterNotFound,
            format!(
                "pyinstaller-build: `{}` did not answer as a Python 3 interpreter ({}):\n{}",
                python.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    })?;
    let toolchain = Toolchain {
        python: python.to_path_buf(),
        site_hash: site_hash(&answer.site_dirs),
        version: answer.version,
        platform: answer.platform,
        site_dirs: answer.site_dirs,
        prefixes: answer.prefixes,
        pyinstaller: answer.pyinstaller,
        libpython: answer.libpython,
    };
    // Without PyInstaller it is kept too: installing it changes the site hash.
    fs::create_dir_all(cache_dir).at("could not create", cache_dir)?;
    crate::fsutil::write_atomic(&cache_file, &serde_json::to_vec_pretty(&toolchain).expect("serializable"), false)?;
    Ok(toolchain)
}

/// The PyInstaller versions the crate supports: 6.x, whose spec format, archive layout and
/// command line it is tested with.
pub(crate) const SUPPORTED_PYINSTALLER: &str = ">=6,<7";

/// Where the interpreter came from, for the fix when it lacks PyInstaller.
pub(crate) struct Setup<'a> {
    /// The `requirements` setting, resolved: the crate manages the environment.
    pub requirements: Option<&'a Path>,
    /// The package's folder (its `Cargo.toml` holds the settings).
    pub manifest_dir: &'a Path,
    pub python_dir: &'a Path,
}

/// Fails unless the toolchain has a PyInstaller in [`SUPPORTED_PYINSTALLER`], naming the version
/// found and the line of `requirements` (when the crate manages the environment) to change, or,
/// when it has none, the line to add to which file.
pub(crate) fn check_supported(toolchain: &Toolchain, setup: &Setup) -> Result<()> {
    match toolchain.pyinstaller.as_deref() {
        Some(version) => check_version(
            version,
            &format!("in `{}`", toolchain.python.display()),
            &toolchain.python,
            setup.requirements,
        ),
        None => Err(missing(toolchain, setup)),
    }
}

/// PyInstaller is not in the interpreter: the fix is the crate's managed environment, from the
/// requirements file python-dir already has (the line to add to `Cargo.toml`), or installing it
/// into that interpreter.
fn missing(toolchain: &Toolchain, setup: &Setup) -> Error {
    let python = toolchain.python.display();
    let tested = TESTED_PYINSTALLER;
    let version = toolchain.version.split_whitespace().next().unwrap_or("?");
    let fix = match setup.requirements {
        // The managed environment got the crate's PyInstaller unless the requirements name it
        // (under an environment marker that left it out, say).
        Some(file) => format!(
            "the requirements `{}` name PyInstaller, yet it was not installed (an environment marker that \
             excludes this Python?). Require it for this interpreter, e.g. `pyinstaller=={tested}`, or leave it out \
             of the requirements and the crate installs PyInstaller {tested} itself.",
            file.display()
        ),
        None => {
            let manifest = setup.manifest_dir.join("Cargo.toml");
            // A file the crate can make its environment from, if python-dir has one.
            let found = ["uv.lock", "poetry.lock", "requirements.txt", "pyproject.toml"].into_iter().find(|name| {
                let path = setup.python_dir.join(name);
                match *name {
                    "pyproject.toml" => {
                        fs::read_to_string(&path).is_ok_and(|t| t.contains("[project]") && t.contains("dependencies"))
                    }
                    _ => path.is_file(),
                }
            });
            let (file, made) = match found {
                Some(name) => (name.to_string(), format!("from `{}`", setup.python_dir.join(name).display())),
                None => (
                    "requirements.txt".to_string(),
                    format!(
                        "from a `{}` you create, one requirement a line (what the sidecars import)",
                        setup.python_dir.join("requirements.txt").display()
                    ),
                ),
            };
            format!(
                "let the crate provide it: add the line\n    requirements = \"{file}\"\nunder \
                 [package.metadata.pyinstaller-build] in `{}`: the crate then makes its own environment {made}, \
                 with PyInstaller {tested} unless the file names another.\n\
                 Or install it into this interpreter: `{python} -m pip install pyinstaller=={tested}` (and add \
                 `pyinstaller=={tested}` to whatever that environment is made from, so a new one has it too), \
                 or point PYINSTALLER_BUILD_PYTHON at an interpreter that has it.",
                manifest.display()
            )
        }
    };
    Error::new(
        ErrorKind::PyInstallerMissing,
        format!("pyinstaller-build: PyInstaller is not installed in `{python}` (Python {version}); nothing was built.\nFix: {fix}"),
    )
}

/// Fails unless `version` is in [`SUPPORTED_PYINSTALLER`]; `found` says where it was found, for
/// the message. Also used on a pinned version before an environment is installed.
pub(crate) fn check_version(version: &str, found: &str, python: &Path, requirements: Option<&Path>) -> Result<()> {
    let major: Option<u64> = version.split(['.', '+', '-']).next().and_then(|m| m.parse().ok());
    if major == Some(6) {
        return Ok(());
    }
    let fix = match requirements {
        Some(file) => {
            // A lockfile is changed through its pyproject.toml, then locked again.
            let relock = match file.file_name().and_then(|n| n.to_str()) {
                Some("uv.lock") => Some("uv lock"),
                Some("poetry.lock") => Some("poetry lock"),
                _ => None,
            };
            let file = if relock.is_some() { file.with_file_name("pyproject.toml") } else { file.to_path_buf() };
            let then = relock.map(|r| format!(", then run `{r}`")).unwrap_or_default();
            let text = fs::read_to_string(&file).unwrap_or_default();
            // The dependency's own line (`pyinstaller = "^5.11"`, `"pyinstaller>=5",`) before any
            // other that mentions it (a description).
            let declares = |l: &str| {
                let start = without_comment(l).trim_start().trim_start_matches(['"', '\'']).to_ascii_lowercase();
                names_pyinstaller(l) && start.starts_with("pyinstaller")
            };
            let line = (text.lines().enumerate().find(|(_, l)| declares(l)))
                .or_else(|| text.lines().enumerate().find(|(_, l)| names_pyinstaller(l)));
            match line {
                Some((n, l)) => format!(
                    "change line {} of `{}` (`{}`) to require `pyinstaller{SUPPORTED_PYINSTALLER}` (or a 6.x release, e.g. \
                     `pyinstaller==6.22.3`){then}",
                    n + 1,
                    file.display(),
                    l.trim()
                ),
                None => format!("add `pyinstaller{SUPPORTED_PYINSTALLER}` to `{}`{then}", file.display()),
            }
        }
        None => format!("`{} -m pip install 'pyinstaller{SUPPORTED_PYINSTALLER}'`, or point PYINSTALLER_BUILD_PYTHON at an interpreter with PyInstaller 6", python.display()),
    };
    Err(Error::new(
        ErrorKind::PyInstallerMissing,
        format!(
            "pyinstaller-build: PyInstaller {version} ({found}) is not supported: the crate supports PyInstaller 6 \
             (`{SUPPORTED_PYINSTALLER}`); nothing was built.\nFix: {fix}."
        ),
    ))
}

/// Whether a requirement or pyproject line names PyInstaller itself (not
/// `pyinstaller-hooks-contrib`), not in a comment (`python = "<3.12"  # for pyinstaller`).
pub(crate) fn names_pyinstaller(line: &str) -> bool {
    let line = without_comment(line).to_ascii_lowercase();
    let name = |c: char| c == '-' || c == '_' || c == '.' || c.is_ascii_alphanumeric();
    line.match_indices("pyinstaller").any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + "pyinstaller".len()..].chars().next();
        !before.is_some_and(name) && !after.is_some_and(name)
    }) && !line.trim_start().starts_with('#')
}

/// `line` up to a `#` outside quotes (TOML's and pip's comments).
fn without_comment(line: &str) -> &str {
    let mut quote = None;
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#') => return &line[..at],
            _ => {}
        }
    }
    line
}

/// Identifies an interpreter without starting it: its path, and the binary it resolves to (a
/// venv's `python` is a symlink) with size and mtime: a new Python version is a new binary.
pub(crate) fn hash_interpreter(h: &mut blake3::Hasher, python: &Path) {
    h.update(python.as_os_str().as_encoded_bytes());
    if let Ok(real) = fs::canonicalize(python) {
        h.update(real.as_os_str().as_encoded_bytes());
        if let Ok(m) = fs::metadata(&real) {
            h.update(&m.len().to_le_bytes());
            h.update(format!("{:?}", m.modified().ok()).as_bytes());
        }
    }
}

/// The interpreter's identity and its venv's `pyvenv.cfg`.
fn probe_key(python: &Path) -> String {
    let mut h = blake3::Hasher::new();
    hash_interpreter(&mut h, python);
    if let Some(venv) = python.parent().and_then(Path::parent) {
        h.update(&fs::read(venv.join("pyvenv.cfg")).unwrap_or_default());
    }
    h.finalize().to_hex().to_string()
}

/// The installed distributions, cheaply: every entry name in each site dir, and the content of
/// each distribution's `RECORD` (it lists every installed file with its hash, so a reinstall of a
/// different build of the same version changes it too) and of each `.pth` file. Not
/// `__pycache__`: Python writes it when it first imports a top-level module (an environment
/// installed without compiling, as uv's are), and PyInstaller compiles from the sources.
pub(crate) fn site_hash(site_dirs: &[PathBuf]) -> String {
    let mut h = blake3::Hasher::new();
    for dir in site_dirs {
        h.update(dir.as_os_str().as_encoded_bytes());
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.retain(|n| n != "__pycache__");
        names.sort();
        for name in &names {
            h.update(b"\0").update(name.as_bytes());
            let path = dir.join(name);
            if name.ends_with(".dist-info") {
                h.update(&fs::read(path.join("RECORD")).unwrap_or_default());
            } else if name.ends_with(".pth") || name.ends_with(".egg-link") {
                h.update(&fs::read(path).unwrap_or_default());
            }
        }
    }
    h.finalize().to_hex().to_string()
}

/// The files whose change means the toolchain may have changed, for `rerun-if-changed`:
/// each distribution's `RECORD` (removed on uninstall/upgrade), each `.pth` file (it puts folders
/// on `sys.path`; an edited or removed one reruns the script) and the interpreter itself.
/// Site dirs themselves are not listed: cargo would scan every installed file on every build
/// (0.12 s for a 46,000-entry site-packages), so a distribution or `.pth` file *added* with
/// nothing else changed is seen at the next run of the script.
pub(crate) fn watched_files(toolchain: &Toolchain) -> Vec<PathBuf> {
    let mut files = vec![toolchain.python.clone()];
    for dir in &toolchain.site_dirs {
        if let Ok(rd) = fs::read_dir(dir) {
            for e in rd.filter_map(|e| e.ok()) {
                let name = e.file_name().to_string_lossy().into_owned();
                let record = e.path().join("RECORD");
                if name.ends_with(".dist-info") && record.is_file() {
                    files.push(record);
                } else if name.ends_with(".pth") || name.ends_with(".egg-link") {
                    files.push(e.path());
                }
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pyinstaller_6_is_supported_and_the_line_to_change_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let reqs = tmp.path().join("requirements.txt");
        fs::write(&reqs, "pyinstaller-hooks-contrib==2023.8\nfastapi\nPyInstaller==5.13.0\n").unwrap();
        let setup = |requirements| Setup { requirements, manifest_dir: tmp.path(), python_dir: tmp.path() };
        let with = |v: &str| Toolchain {
            python: "/venv/bin/python".into(),
            version: "3.11".into(),
            platform: "linux".into(),
            site_dirs: vec![],
            prefixes: vec![],
            pyinstaller: Some(v.into()),
            site_hash: String::new(),
            libpython: None,
        };
        assert!(check_supported(&with("6.22.3"), &setup(Some(&reqs))).is_ok());
        assert!(check_supported(&with("6.0.0.dev0"), &setup(None)).is_ok());
        let e = check_supported(&with("5.13.0"), &setup(Some(&reqs))).unwrap_err().to_string();
        assert!(e.contains("PyInstaller 5.13.0") && e.contains("line 3") && e.contains("`PyInstaller==5.13.0`"), "{e}");
        let lock = tmp.path().join("uv.lock");
        fs::write(&lock, "version = 1\n").unwrap();
        fs::write(tmp.path().join("pyproject.toml"), "[dependency-groups]\ndev = [\"pyinstaller==5.13.0\"]\n").unwrap();
        let e = check_supported(&with("5.13.0"), &setup(Some(&lock))).unwrap_err().to_string();
        assert!(e.contains("line 2 of") && e.contains("pyproject.toml") && e.contains("then run `uv lock`"), "{e}");
        // A Poetry project: the dependency's line, not a comment or a description that mentions it.
        let lock = tmp.path().join("poetry.lock");
        fs::write(&lock, "").unwrap();
        let pyproject = "[tool.poetry]\ndescription = \"a pyinstaller sidecar\"\n[tool.poetry.dependencies]\n\
                         python = \"^3.9, <3.12\"  # pyinstaller requires Python <3.12\n\
                         [tool.poetry.group.dev.dependencies]\npyinstaller = \"^5.11.0\"\n";
        fs::write(tmp.path().join("pyproject.toml"), pyproject).unwrap();
        let e = check_supported(&with("5.13.0"), &setup(Some(&lock))).unwrap_err().to_string();
        assert!(e.contains("change line 6 of") && e.contains("(`pyinstaller = \"^5.11.0\"`)"), "{e}");
        assert!(
            !names_pyinstaller("python = \"<3.12\"  # pyinstaller needs it")
                && names_pyinstaller("a = \"#\" pyinstaller")
        );
        let e = check_supported(&with("7.0.0"), &setup(None)).unwrap_err().to_string();
        assert!(e.contains("PyInstaller 7.0.0") && e.contains("pip install 'pyinstaller>=6,<7'"), "{e}");
    }

    #[test]
    fn without_pyinstaller_the_fix_is_the_line_that_lets_the_crate_provide_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (package, python_dir) = (tmp.path().join("src-tauri"), tmp.path().join("py"));
        fs::create_dir_all(&python_dir).unwrap();
        let bare = Toolchain {
            python: "/usr/bin/python3".into(),
            version: "3.11.7 (main)".into(),
            platform: "linux".into(),
            site_dirs: vec![],
            prefixes: vec![],
            pyinstaller: None,
            site_hash: String::new(),
            libpython: None,
        };
        let err = |requirements| {
            let setup = Setup { requirements, manifest_dir: &package, python_dir: &python_dir };
            let e = check_supported(&bare, &setup).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PyInstallerMissing);
            e.to_string()
        };
        let manifest = package.join("Cargo.toml").display().to_string();
        let e = err(None);
        assert!(e.contains("not installed in `/usr/bin/python3` (Python 3.11.7)"), "{e}");
        assert!(e.contains("requirements = \"requirements.txt\"") && e.contains(&manifest), "{e}");
        assert!(e.contains("from a `") && e.contains("you create"), "no file yet: {e}");
        assert!(e.contains("/usr/bin/python3 -m pip install pyinstaller==6.22.3"), "{e}");
        // The file python-dir has is the one to name; a lockfile first.
        fs::write(python_dir.join("requirements.txt"), "fastapi\n").unwrap();
        let e = err(None);
        assert!(e.contains("requirements = \"requirements.txt\"") && !e.contains("you create"), "{e}");
        fs::write(python_dir.join("uv.lock"), "version = 1\n").unwrap();
        assert!(err(None).contains("requirements = \"uv.lock\""));
        let reqs = python_dir.join("requirements.txt");
        let e = err(Some(&reqs));
        assert!(e.contains("name PyInstaller, yet it was not installed"), "{e}");
    }

    #[test]
    fn installing_upgrading_or_removing_a_distribution_or_changing_a_pth_file_changes_the_site_hash() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site-packages");
        let dist = |name: &str, record: &str| {
            fs::create_dir_all(site.join(name)).unwrap();
            fs::write(site.join(name).join("RECORD"), record).unwrap();
        };
        dist("altgraph-0.17.5.dist-info", "altgraph/__init__.py,sha256=a,1\n");
        fs::write(site.join("distutils-precedence.pth"), "import _distutils_hack\n").unwrap();
        let dirs = [site.clone()];
        let mut seen = vec![site_hash(&dirs)];
        assert_eq!(site_hash(&dirs), seen[0], "nothing changed");
        dist("packaging-26.3.dist-info", "packaging/__init__.py,sha256=b,1\n");
        seen.push(site_hash(&dirs)); // installed
        dist("packaging-26.3.dist-info", "packaging/__init__.py,sha256=c,1\n");
        seen.push(site_hash(&dirs)); // another build of the same version
        fs::rename(site.join("packaging-26.3.dist-info"), site.join("packaging-26.4.dist-info")).unwrap();
        seen.push(site_hash(&dirs)); // upgraded
        fs::remove_dir_all(site.join("altgraph-0.17.5.dist-info")).unwrap();
        seen.push(site_hash(&dirs)); // removed
        fs::write(site.join("distutils-precedence.pth"), "import os\n").unwrap();
        seen.push(site_hash(&dirs)); // a .pth file edited
        fs::write(site.join("extra.pth"), "/opt/extra\n").unwrap();
        seen.push(site_hash(&dirs)); // a .pth file added
        let distinct: std::collections::BTreeSet<&String> = seen.iter().collect();
        assert_eq!(distinct.len(), seen.len(), "every change moved the hash: {seen:?}");
        // Python's bytecode for a top-level module, written on first import: no new distribution.
        fs::create_dir_all(site.join("__pycache__")).unwrap();
        fs::write(site.join("__pycache__/six.cpython-311.pyc"), "").unwrap();
        assert_eq!(site_hash(&dirs), seen[seen.len() - 1], "bytecode is not a distribution");
    }

    #[test]
    fn an_explicit_interpreter_is_a_path_or_a_name_on_path() {
        let tmp = tempfile::tempdir().unwrap();
        let venv = tmp.path().join(".venv/bin");
        fs::create_dir_all(&venv).unwrap();
        fs::write(venv.join("python"), "").unwrap();
        let found = explicit(Path::new(".venv/bin/python"), tmp.path(), "the `python` setting").unwrap();
        assert_eq!(found, tmp.path().join(".venv/bin/python"));
        // `sh` stands in for a bare interpreter name: looked up on PATH.
        assert!(explicit(Path::new("sh"), tmp.path(), "the `python` setting").unwrap().is_absolute());
        let err = explicit(Path::new("no-such-python-3.99"), tmp.path(), "the `python` setting").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InterpreterNotFound);
        assert!(err.to_string().contains("the `python` setting names the interpreter"), "{err}");
    }
}
