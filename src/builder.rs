//! The `Build` builder and `[package.metadata.pyinstaller-build]`.

use crate::cargo::cargo_env;
use crate::error::{Error, ErrorKind, IoContext, Result};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Settings for building a project's PyInstaller specs, like `cc::Build`.
///
/// [`Build::from_manifest`] reads `[package.metadata.pyinstaller-build]`; the setters override it.
/// Relative paths are relative to the package's manifest folder (`CARGO_MANIFEST_DIR`), except
/// spec names, which are relative to python-dir.
///
/// ```no_run
/// // build.rs
/// pyinstaller_build::Build::new()
///     .python_dir("python")
///     .specs(["worker.spec"])
///     .smoke_test(["--version"])
///     .compile();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Build {
    pub(crate) python_dir: Option<PathBuf>,
    pub(crate) specs: Vec<String>,
    pub(crate) binaries_dir: Option<PathBuf>,
    pub(crate) smoke_test: Option<Vec<String>>,
    pub(crate) smoke_test_timeout: Option<Duration>,
    pub(crate) python: Option<PathBuf>,
    pub(crate) requirements: Option<PathBuf>,
    pub(crate) jobs: Option<usize>,
    pub(crate) env: Vec<String>,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) audit_threshold: Option<u64>,
    pub(crate) binary_cache_mb: Option<u64>,
    pub(crate) compression: Option<Compression>,
    pub(crate) manifest_dir: Option<PathBuf>,
    pub(crate) out_dir: Option<PathBuf>,
    pub(crate) target: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) capture: Option<Arc<Mutex<Vec<String>>>>,
}

const KEYS: &[&str] = &[
    "python-dir",
    "specs",
    "binaries-dir",
    "smoke-test",
    "smoke-test-timeout",
    "python",
    "requirements",
    "jobs",
    "env",
    "cache-dir",
    "audit-threshold",
    "binary-cache-mb",
    "compression",
];

impl Build {
    /// Defaults only: python-dir `python`, every `*.spec` in it, binaries-dir `binaries`, no
    /// smoke test, a discovered interpreter.
    ///
    /// ```
    /// let build = pyinstaller_build::Build::new();
    /// ```
    pub fn new() -> Build {
        Build::default()
    }

    /// Reads `[package.metadata.pyinstaller-build]` from the package's `Cargo.toml`.
    ///
    /// Unknown keys are errors, so a typo does not silently fall back to a default.
    ///
    /// ```no_run
    /// let report = pyinstaller_build::Build::from_manifest().unwrap().jobs(1).compile();
    /// ```
    pub fn from_manifest() -> Result<Build> {
        let dir = cargo_env("CARGO_MANIFEST_DIR").map(PathBuf::from).ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "pyinstaller-build: CARGO_MANIFEST_DIR is not set; call it from a build script",
            )
        })?;
        Build::from_manifest_dir(&dir)
    }

    pub(crate) fn from_manifest_dir(dir: &Path) -> Result<Build> {
        let path = dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&path).at("could not read", &path)?;
        let bad = |msg: String| Error::new(ErrorKind::Config, format!("pyinstaller-build: {}: {msg}", path.display()));
        let doc: toml::Table = text.parse().map_err(|e| bad(format!("{e}")))?;
        let mut build = Build { manifest_dir: Some(dir.to_path_buf()), ..Build::default() };
        let Some(meta) = doc.get("package").and_then(|p| p.get("metadata")).and_then(|m| m.get("pyinstaller-build"))
        else {
            return Ok(build);
        };
        let meta = meta.as_table().ok_or_else(|| bad("[package.metadata.pyinstaller-build] must be a table".into()))?;
        for (key, value) in meta {
            let wrong = |what: &str| bad(format!("`{key}` in [package.metadata.pyinstaller-build] must be {what}"));
            let string = || value.as_str().map(str::to_string).ok_or_else(|| wrong("a string"));
            let strings = || {
                value
                    .as_array()
                    .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| wrong("an array of strings"))
            };
            let positive = || value.as_integer().filter(|n| *n > 0).ok_or_else(|| wrong("a positive integer"));
            match key.as_str() {
                "python-dir" => build.python_dir = Some(string()?.into()),
                "specs" => build.specs = strings()?,
                "binaries-dir" => build.binaries_dir = Some(string()?.into()),
                "smoke-test" => build.smoke_test = Some(strings()?),
                "smoke-test-timeout" => build.smoke_test_timeout = Some(Duration::from_secs(positive()? as u64)),
                "python" => build.python = Some(string()?.into()),
                "requirements" => build.requirements = Some(string()?.into()),
                "jobs" => build.jobs = Some(positive()? as usize),
                "env" => build.env = strings()?,
                "cache-dir" => build.cache_dir = Some(string()?.into()),
                "audit-threshold" => build.audit_threshold = Some(positive()? as u64),
                "binary-cache-mb" => {
                    let mb = value.as_integer().filter(|n| *n >= 0);
                    build.binary_cache_mb = Some(mb.ok_or_else(|| wrong("a whole number of MB (0 disables)"))? as u64)
                }
                "compression" => {
                    let c = Compression::from_toml(value);
                    build.compression =
                        Some(c.ok_or_else(|| wrong("a level 0-9, or a table like { debug = 1, release = 9 }"))?)
                }
                _ => {
                    return Err(bad(format!(
                        "unknown key `{key}` in [package.metadata.pyinstaller-build]; known keys: {}",
                        KEYS.join(", ")
                    )))
                }
            }
        }
        Ok(build)
    }

    /// The folder holding the specs and Python sources (default `python`).
    ///
    /// ```
    /// pyinstaller_build::Build::new().python_dir("../python");
    /// ```
    pub fn python_dir(&mut self, dir: impl AsRef<Path>) -> &mut Build {
        self.python_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The specs to build, relative to python-dir; glob patterns allowed (default: every `*.spec`
    /// directly in python-dir).
    ///
    /// ```
    /// pyinstaller_build::Build::new().specs(["headless.spec", "worker.spec"]);
    /// ```
    pub fn specs<I, S>(&mut self, specs: I) -> &mut Build
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.specs = specs.into_iter().map(|s| s.as_ref().to_string()).collect();
        self
    }

    /// Where sidecars are installed as `<name>-<target>[.exe]` (default `binaries`, which
    /// Tauri's `"externalBin": ["binaries/<name>"]` expects).
    ///
    /// ```
    /// pyinstaller_build::Build::new().binaries_dir("sidecars");
    /// ```
    pub fn binaries_dir(&mut self, dir: impl AsRef<Path>) -> &mut Build {
        self.binaries_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Runs every freshly built binary with these arguments; it must exit 0 before it is
    /// installed (default: no smoke test).
    ///
    /// ```
    /// pyinstaller_build::Build::new().smoke_test(["--version"]);
    /// ```
    pub fn smoke_test<I, S>(&mut self, args: I) -> &mut Build
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.smoke_test = Some(args.into_iter().map(|s| s.as_ref().to_string()).collect());
        self
    }

    /// How long the smoke test may run (default 60 s).
    ///
    /// ```
    /// pyinstaller_build::Build::new().smoke_test_timeout(std::time::Duration::from_secs(120));
    /// ```
    pub fn smoke_test_timeout(&mut self, timeout: Duration) -> &mut Build {
        self.smoke_test_timeout = Some(timeout);
        self
    }

    /// The interpreter that runs `-m PyInstaller` (default: discovered, see the crate docs).
    ///
    /// ```
    /// pyinstaller_build::Build::new().python(".venv/bin/python");
    /// ```
    pub fn python(&mut self, python: impl AsRef<Path>) -> &mut Build {
        self.python = Some(python.as_ref().to_path_buf());
        self
    }

    /// A requirements file (or a `pyproject.toml` with `[project] dependencies`), relative to
    /// python-dir, PyInstaller among them. The crate then creates and uses its own virtual
    /// environment from it (with `uv` when on `PATH`, else `venv` + `pip`), based on the
    /// discovered interpreter, kept until the file changes.
    ///
    /// ```
    /// pyinstaller_build::Build::new().requirements("requirements.txt");
    /// ```
    pub fn requirements(&mut self, file: impl AsRef<Path>) -> &mut Build {
        self.requirements = Some(file.as_ref().to_path_buf());
        self
    }

    /// The most specs built at once (default: cargo's parallelism). Cargo's jobserver still
    /// bounds it.
    ///
    /// ```
    /// pyinstaller_build::Build::new().jobs(1);
    /// ```
    pub fn jobs(&mut self, jobs: usize) -> &mut Build {
        self.jobs = Some(jobs.max(1));
        self
    }

    /// Extra environment variables that change what the specs produce (a spec that reads
    /// `APP_FLAVOR`, say): their values join the fingerprint and cargo reruns when they change.
    ///
    /// ```
    /// pyinstaller_build::Build::new().env_vars(["APP_FLAVOR"]);
    /// ```
    pub fn env_vars<I, S>(&mut self, vars: I) -> &mut Build
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.env = vars.into_iter().map(|s| s.as_ref().to_string()).collect();
        self
    }

    /// The crate's stable work folder (default `<target-dir>/pyinstaller-build`; env
    /// `PYINSTALLER_BUILD_CACHE_DIR` overrides both).
    ///
    /// ```
    /// pyinstaller_build::Build::new().cache_dir("/tmp/pyinstaller-build");
    /// ```
    pub fn cache_dir(&mut self, dir: impl AsRef<Path>) -> &mut Build {
        self.cache_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The audit flags packages at least this many bytes (compressed, in the binary) that no
    /// project module imports (default 1 000 000).
    ///
    /// ```
    /// pyinstaller_build::Build::new().audit_threshold(200_000);
    /// ```
    pub fn audit_threshold(&mut self, bytes: u64) -> &mut Build {
        self.audit_threshold = Some(bytes);
        self
    }

    /// How many MB of built binaries to keep, keyed by fingerprint, so that switching back to
    /// inputs built before reinstalls without PyInstaller (default 1024; 0 disables).
    ///
    /// ```
    /// pyinstaller_build::Build::new().binary_cache_mb(4096);
    /// ```
    pub fn binary_cache_mb(&mut self, mb: u64) -> &mut Build {
        self.binary_cache_mb = Some(mb);
        self
    }

    /// The zlib level (0-9) PyInstaller compresses the archive with, per profile. Default: 1 for
    /// debug builds (a pandas sidecar's archive takes ~2 s instead of ~19 s, ~10% bigger) and
    /// PyInstaller's own for release. `PYINSTALLER_ZLIB_COMPRESSION_LEVEL` in the environment wins.
    ///
    /// ```
    /// use pyinstaller_build::{Build, Compression};
    /// Build::new().compression(Compression { debug: Some(0), release: Some(6) });
    /// ```
    pub fn compression(&mut self, compression: Compression) -> &mut Build {
        self.compression = Some(compression);
        self
    }

    /// The package folder relative paths start from (default `CARGO_MANIFEST_DIR`).
    ///
    /// ```
    /// pyinstaller_build::Build::new().manifest_dir("src-tauri");
    /// ```
    pub fn manifest_dir(&mut self, dir: impl AsRef<Path>) -> &mut Build {
        self.manifest_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Where the stamps and report go (default `OUT_DIR`).
    ///
    /// ```
    /// pyinstaller_build::Build::new().out_dir("/tmp/out");
    /// ```
    pub fn out_dir(&mut self, dir: impl AsRef<Path>) -> &mut Build {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The target triple the sidecars are named for (default cargo's `TARGET`).
    ///
    /// ```
    /// pyinstaller_build::Build::new().target("x86_64-unknown-linux-gnu");
    /// ```
    pub fn target(&mut self, target: &str) -> &mut Build {
        self.target = Some(target.to_string());
        self
    }

    /// The triple of the machine running the build (default cargo's `HOST`).
    ///
    /// ```
    /// pyinstaller_build::Build::new().host("x86_64-unknown-linux-gnu");
    /// ```
    pub fn host(&mut self, host: &str) -> &mut Build {
        self.host = Some(host.to_string());
        self
    }

    /// Collects the `cargo:` lines in `lines` instead of printing them (for tests).
    #[doc(hidden)]
    pub fn capture_cargo_output(&mut self, lines: Arc<Mutex<Vec<String>>>) -> &mut Build {
        self.capture = Some(lines);
        self
    }

    /// Builds what needs building, like [`Build::try_compile`], but on error prints the message
    /// to stderr and exits 1 (cargo then shows it under "failed to run custom build command").
    ///
    /// ```no_run
    /// pyinstaller_build::Build::new().compile();
    /// ```
    pub fn compile(&self) -> crate::Report {
        match self.try_compile() {
            Ok(report) => report,
            Err(e) => {
                eprintln!("\n{e}\n");
                std::process::exit(1);
            }
        }
    }
}

/// zlib levels (0-9) for PyInstaller's archive, per cargo profile; `None` keeps PyInstaller's own
/// (level 9 for the executable's archive, 6 for the modules in it).
///
/// In `Cargo.toml`: `compression = 1` for both, or `compression = { debug = 0, release = 6 }`.
///
/// ```
/// let c = pyinstaller_build::Compression::default();
/// assert_eq!((c.debug, c.release), (Some(1), None));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compression {
    /// Level for debug builds (default 1: fast).
    pub debug: Option<u8>,
    /// Level for release builds (default: PyInstaller's).
    pub release: Option<u8>,
}

impl Default for Compression {
    fn default() -> Self {
        Compression { debug: Some(1), release: None }
    }
}

impl Compression {
    fn from_toml(value: &toml::Value) -> Option<Compression> {
        let level = |v: &toml::Value| v.as_integer().filter(|l| (0..=9).contains(l)).map(|l| l as u8);
        if let Some(table) = value.as_table() {
            let mut c = Compression::default();
            for (k, v) in table {
                match k.as_str() {
                    "debug" => c.debug = Some(level(v)?),
                    "release" => c.release = Some(level(v)?),
                    _ => return None,
                }
            }
            return Some(c);
        }
        level(value).map(|l| Compression { debug: Some(l), release: Some(l) })
    }

    pub(crate) fn level(&self, release: bool) -> Option<u8> {
        if release {
            self.release
        } else {
            self.debug
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(meta: &str) -> Result<Build> {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("Cargo.toml"), format!("[package]\nname = \"app\"\n{meta}")).unwrap();
        Build::from_manifest_dir(tmp.path())
    }

    #[test]
    fn reads_every_key() {
        let b = manifest(
            "[package.metadata.pyinstaller-build]\npython-dir = \"py\"\nspecs = [\"a.spec\"]\nbinaries-dir = \"bin\"\n\
             smoke-test = [\"--version\"]\nsmoke-test-timeout = 5\npython = \"venv/bin/python\"\nrequirements = \"req.txt\"\njobs = 2\nenv = [\"FLAVOR\"]\ncache-dir = \"c\"\n",
        )
        .unwrap();
        assert_eq!(b.python_dir.as_deref(), Some(Path::new("py")));
        assert_eq!(b.specs, ["a.spec"]);
        assert_eq!(b.binaries_dir.as_deref(), Some(Path::new("bin")));
        assert_eq!(b.smoke_test.as_deref(), Some(&["--version".to_string()][..]));
        assert_eq!(b.smoke_test_timeout, Some(Duration::from_secs(5)));
        assert_eq!(b.python.as_deref(), Some(Path::new("venv/bin/python")));
        assert_eq!(b.requirements.as_deref(), Some(Path::new("req.txt")));
        assert_eq!(b.jobs, Some(2));
        assert_eq!(b.env, ["FLAVOR"]);
        assert_eq!(b.cache_dir.as_deref(), Some(Path::new("c")));
    }

    #[test]
    fn compression_is_a_level_or_a_table_per_profile() {
        let b = manifest("[package.metadata.pyinstaller-build]\ncompression = 3\n").unwrap();
        assert_eq!(b.compression, Some(Compression { debug: Some(3), release: Some(3) }));
        let b = manifest("[package.metadata.pyinstaller-build]\ncompression = { release = 6 }\n").unwrap();
        assert_eq!(b.compression, Some(Compression { debug: Some(1), release: Some(6) }));
        let e = manifest("[package.metadata.pyinstaller-build]\ncompression = 12\n").unwrap_err();
        assert!(e.to_string().contains("`compression`"), "{e}");
    }

    #[test]
    fn no_table_means_defaults() {
        let b = manifest("").unwrap();
        assert!(b.python_dir.is_none() && b.specs.is_empty() && b.smoke_test.is_none());
    }

    #[test]
    fn typos_and_wrong_types_are_errors_naming_the_key() {
        let e = manifest("[package.metadata.pyinstaller-build]\npython_dir = \"py\"\n").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("unknown key `python_dir`"), "{e}");
        let e = manifest("[package.metadata.pyinstaller-build]\njobs = 0\n").unwrap_err();
        assert!(e.to_string().contains("`jobs`") && e.to_string().contains("positive integer"), "{e}");
        let e = manifest("[package.metadata.pyinstaller-build]\nspecs = \"a.spec\"\n").unwrap_err();
        assert!(e.to_string().contains("array of strings"), "{e}");
    }
}
