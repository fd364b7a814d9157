//! What the areas share: [`Fixture`], a temporary project wired to the fake PyInstaller in
//! `tests/fake-pyinstaller` (the fast tests, which run the crate in this process); [`e2e`],
//! copies of fixture crates built by real cargo; [`env`], the process environment they all share.

#![allow(dead_code)]

use pyinstaller_build::Build;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

pub const TRIPLE: &str = "x86_64-unknown-linux-gnu";

pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub python: PathBuf,
    pub log: PathBuf,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Fixture {
    /// A package folder with `Cargo.toml` and `python/<files>`.
    pub fn new(files: &[(&str, &str)]) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("app");
        fs::create_dir_all(root.join("python")).unwrap();
        fs::write(root.join("Cargo.toml"), "[package]\nname = \"app\"\n").unwrap();
        let log = tmp.path().join("pyinstaller-runs.jsonl");
        let python = fake_python(tmp.path(), &log);
        let f = Fixture { tmp, root, python, log, lines: Arc::default() };
        for (path, text) in files {
            f.write(path, text);
        }
        f
    }

    /// A builder for this project; `profile` names its OUT_DIR (debug and release differ).
    pub fn build(&self, profile: &str) -> Build {
        self.lines.lock().unwrap().clear();
        let mut b = Build::new();
        b.manifest_dir(&self.root)
            .out_dir(self.tmp.path().join("target").join(profile).join("out"))
            .cache_dir(self.tmp.path().join("target/pyinstaller-build"))
            .target(TRIPLE)
            .host(TRIPLE)
            .python(&self.python)
            .capture_cargo_output(self.lines.clone());
        b
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.root.join("python").join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// Every fake PyInstaller run so far, as JSON objects.
    pub fn runs(&self) -> Vec<serde_json::Value> {
        runs_in(&self.log)
    }

    /// The names of the specs PyInstaller ran for, in order, then forgets them.
    pub fn take_runs(&self) -> Vec<String> {
        let runs = self.runs().iter().map(|r| r["spec"].as_str().unwrap().to_string()).collect();
        let _ = fs::remove_file(&self.log);
        runs
    }

    pub fn installed(&self, name: &str) -> PathBuf {
        self.root.join("binaries").join(format!("{name}-{TRIPLE}"))
    }

    /// What the installed sidecar prints.
    pub fn run(&self, name: &str) -> String {
        let out = Command::new(self.installed(name)).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn cargo_lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    pub fn warnings(&self) -> Vec<String> {
        self.cargo_lines().into_iter().filter(|l| l.starts_with("cargo:warning=")).collect()
    }
}

/// The runs the fake PyInstaller logged to `log`, as JSON objects.
pub fn runs_in(log: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(log).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// An interpreter script in `dir` that runs python3 with the fake PyInstaller first on its path,
/// logging each run to `log`.
pub fn fake_python(dir: &Path, log: &Path) -> PathBuf {
    let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake-pyinstaller");
    let python = dir.join("python-with-fake-pyinstaller");
    let script = format!(
        "#!/bin/sh\nFAKE_PYINSTALLER_LOG='{}' PYTHONPATH='{}' exec python3 \"$@\"\n",
        log.display(),
        fake.display()
    );
    fs::write(&python, script).unwrap();
    make_executable(&python);
    python
}

/// The fast tests' usual project: two specs sharing a module, the worker with one of its own.
pub fn two_specs() -> Fixture {
    Fixture::new(&[
        ("headless.spec", &spec("headless", &["shared.py"])),
        ("worker.spec", &spec("worker", &["shared.py", "worker_only.py"])),
        ("headless.py", "import shared\n"),
        ("worker.py", "import shared, worker_only\n"),
        ("shared.py", "X = 1\n"),
        ("worker_only.py", "Y = 1\n"),
    ])
}

/// A spec the fake understands: entry `<name>.py`, plus the project modules it "imports".
pub fn spec(name: &str, modules: &[&str]) -> String {
    format!("# modules: {}\na = Analysis(['{name}.py'])\nexe = EXE(a.scripts, name='{name}')\n", modules.join(" "))
}

/// Every file under `dirs` with its mtime, to see what a build wrote.
pub fn files_with_mtimes(dirs: &[PathBuf]) -> Vec<(PathBuf, SystemTime)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, SystemTime)>) {
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                walk(&e.path(), out);
            } else {
                out.push((e.path(), meta.modified().unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        walk(d, &mut out);
    }
    out.sort();
    out
}

/// Sets mode 755 on Unix; elsewhere every file may be run (by its extension).
pub fn make_executable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = path;
}

pub mod e2e;
pub mod env;

/// Whether a test whose `what` is missing may skip: yes on a user's machine (with a message on
/// stderr), never in CI, where `PYINSTALLER_BUILD_TESTS_REQUIRE_ALL=1` turns the skip into a failure.
#[allow(clippy::disallowed_methods)] // a test setting, not a build input
pub fn may_skip(what: &str, fix: &str) -> bool {
    if std::env::var_os("PYINSTALLER_BUILD_TESTS_REQUIRE_ALL").is_some_and(|v| v == "1") {
        panic!("{what} is missing and PYINSTALLER_BUILD_TESTS_REQUIRE_ALL=1 forbids skipping; {fix}");
    }
    eprintln!("skipped: {what} is missing; {fix}");
    true
}
