//! The `Build` builder and `[package.metadata.pyinstaller-build]`.

use crate::cargo::cargo_env;
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::launch::Launch;
use crate::smoke::SmokeTest;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::num::{NonZeroU64, NonZeroUsize};
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
    pub(crate) smoke_test: Option<SmokeTest>,
    pub(crate) smoke_test_timeout: Option<Duration>,
    pub(crate) python: Option<PathBuf>,
    pub(crate) requirements: Option<PathBuf>,
    pub(crate) pyinstaller: Option<String>,
    pub(crate) extras: Vec<String>,
    pub(crate) groups: Option<Vec<String>>,
    pub(crate) jobs: Option<usize>,
    pub(crate) env: Vec<String>,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) audit_threshold: Option<u64>,
    pub(crate) binary_cache_mb: Option<u64>,
    pub(crate) compression: Option<Compression>,
    pub(crate) allow_missing_imports: bool,
    pub(crate) launch: Launch,
    /// `launch` in a spec file's table, by the spec's stem.
    pub(crate) launch_own: BTreeMap<String, Launch>,
    pub(crate) sidecars: BTreeMap<String, Sidecar>,
    /// `run-in` and `pyinstaller-env` of the table: every sidecar's unless its own says otherwise.
    pub(crate) run_in: Option<PathBuf>,
    pub(crate) pyinstaller_env: BTreeMap<String, String>,
    /// Each sidecar's own `install-as`, `run-in` and `pyinstaller-env`, by its key (a sidecar
    /// without a spec file, or a spec by its file name without `.spec`).
    pub(crate) settings: BTreeMap<String, SidecarSettings>,
    pub(crate) manifest_dir: Option<PathBuf>,
    pub(crate) out_dir: Option<PathBuf>,
    pub(crate) target: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) capture: Option<Arc<Mutex<Vec<String>>>>,
}

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
        let manifest: Manifest = toml::from_str(&text).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "pyinstaller-build: {}: {e}\nFix the key named above in [package.metadata.pyinstaller-build]; \
                     the crate docs list every key.",
                    path.display()
                ),
            )
        })?;
        let mut build = Build { manifest_dir: Some(dir.to_path_buf()), ..Build::default() };
        let Some(meta) = manifest.package.and_then(|p| p.metadata).and_then(|m| m.pyinstaller_build) else {
            return Ok(build);
        };
        build.python_dir = meta.python_dir;
        build.specs = meta.specs.unwrap_or_default();
        build.binaries_dir = meta.binaries_dir;
        build.smoke_test = meta.smoke_test.map(SmokeTest::from);
        build.smoke_test_timeout = meta.smoke_test_timeout.map(|s| Duration::from_secs(s.get()));
        build.python = meta.python;
        build.requirements = meta.requirements;
        build.pyinstaller = meta.pyinstaller;
        build.extras = meta.extras.unwrap_or_default();
        build.groups = meta.groups;
        build.jobs = meta.jobs.map(|j| j.get());
        build.env = meta.env.unwrap_or_default();
        build.cache_dir = meta.cache_dir;
        build.audit_threshold = meta.audit_threshold.map(|t| t.get());
        build.binary_cache_mb = meta.binary_cache_mb;
        build.compression = meta.compression.map(Compression::from);
        build.allow_missing_imports = meta.allow_missing_imports.unwrap_or(false);
        build.launch = meta.launch.unwrap_or_default();
        build.run_in = meta.run_in;
        build.pyinstaller_env = meta.pyinstaller_env;
        for (name, s) in meta.sidecars {
            if let (None, Some(launch)) = (&s.script, s.launch) {
                build.launch_own.insert(name.clone(), launch);
            }
            let settings = SidecarSettings {
                install_as: s.install_as,
                resource: s.resource,
                run_in: s.run_in,
                pyinstaller_env: s.pyinstaller_env,
            };
            // A table with `launch` alone is a spec's settings too: its key is checked and
            // mapped like the others' (a typo is an error, not a silent onefile build).
            if settings != SidecarSettings::default() || (s.script.is_none() && s.launch.is_some()) {
                build.settings.insert(name.clone(), settings);
            }
            let Some(script) = s.script else {
                // A spec file's table: only how it is run and installed.
                if !s.options.is_empty() || s.smoke_test.is_some() {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!(
                            "pyinstaller-build: {}: [package.metadata.pyinstaller-build.sidecars.{name}] has `options` \
                             or `smoke-test` but no `script`.\nFix: add `script = \"<entry>.py\"` for a sidecar without \
                             a spec file; a spec file's table takes only `install-as`, `resource`, `run-in`, `pyinstaller-env` and `launch`.",
                            path.display()
                        ),
                    ));
                }
                continue;
            };
            let sidecar =
                Sidecar { script, options: s.options, smoke_test: s.smoke_test.map(SmokeTest::from), launch: s.launch };
            build.sidecars.insert(name, sidecar);
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
    /// installed (default: no smoke test). A sidecar's own smoke test wins.
    ///
    /// ```
    /// pyinstaller_build::Build::new().smoke_test(["--version"]);
    /// ```
    pub fn smoke_test<I, S>(&mut self, args: I) -> &mut Build
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.smoke_test = Some(SmokeTest::exits(args));
        self
    }

    /// The smoke test in full: a server's is [`SmokeTest::ready`] (it passes when the binary
    /// prints a line, then the crate stops it).
    ///
    /// ```
    /// use pyinstaller_build::{Build, SmokeTest};
    /// Build::new().smoke(SmokeTest::ready(["--port", "0"], "Application startup complete"));
    /// ```
    pub fn smoke(&mut self, smoke_test: SmokeTest) -> &mut Build {
        self.smoke_test = Some(smoke_test);
        self
    }

    /// A sidecar without a spec file, named `name` (the binary's name); see [`Sidecar`].
    ///
    /// ```
    /// use pyinstaller_build::{Build, Sidecar};
    /// Build::new().sidecar("api", Sidecar::new("main.py").options(["--collect-submodules", "uvicorn"]));
    /// ```
    pub fn sidecar(&mut self, name: &str, sidecar: Sidecar) -> &mut Build {
        self.sidecars.insert(name.to_string(), sidecar);
        self
    }

    /// How sidecar `name` is run and installed (see [`SidecarSettings`]): `name` is the key of a
    /// sidecar without a spec file, or a spec's file name without `.spec`.
    ///
    /// ```
    /// use pyinstaller_build::{Build, SidecarSettings};
    /// Build::new().settings("entrypoint", SidecarSettings::new().install_as("binaries/statements"));
    /// ```
    pub fn settings(&mut self, name: &str, settings: SidecarSettings) -> &mut Build {
        self.settings.insert(name.to_string(), settings);
        self
    }

    /// The folder PyInstaller runs in for every sidecar, relative to python-dir (default: each
    /// spec's own folder), for a spec that reads `Path.cwd()` or opens relative paths.
    ///
    /// ```
    /// pyinstaller_build::Build::new().run_in("..");
    /// ```
    pub fn run_in(&mut self, dir: impl AsRef<Path>) -> &mut Build {
        self.run_in = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Environment variables the crate sets for PyInstaller (and the spec it runs) for every
    /// sidecar; part of the fingerprint. Unlike [`Build::env_vars`], which only declares
    /// variables whose values come from the environment cargo runs in.
    ///
    /// ```
    /// pyinstaller_build::Build::new().pyinstaller_env([("APP_EXCLUDE_WEBUI", "1")]);
    /// ```
    pub fn pyinstaller_env<I, K, V>(&mut self, vars: I) -> &mut Build
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.pyinstaller_env =
            vars.into_iter().map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string())).collect();
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

    /// A requirements file (or a `pyproject.toml` with `[project] dependencies`, or a `uv.lock` or
    /// `poetry.lock` beside its `pyproject.toml`: exactly the locked versions), relative to
    /// python-dir. The crate then creates and uses its own virtual environment from it (with
    /// `uv` when on `PATH`, else `venv` + `pip`), based on the discovered interpreter, kept until
    /// the file (or the lockfile's pyproject.toml) changes. When the requirements don't name
    /// PyInstaller, the crate adds the version it is tested with (see [`Build::pyinstaller`]).
    ///
    /// ```
    /// pyinstaller_build::Build::new().requirements("requirements.txt");
    /// ```
    pub fn requirements(&mut self, file: impl AsRef<Path>) -> &mut Build {
        self.requirements = Some(file.as_ref().to_path_buf());
        self
    }

    /// The project's extras to install with a `pyproject.toml`, `uv.lock` or `poetry.lock`
    /// `requirements` (`uv export --extra`, `poetry export --extras`, or the
    /// `[project.optional-dependencies]` lines). Each must be declared; part of the
    /// environment's identity.
    ///
    /// ```
    /// pyinstaller_build::Build::new().requirements("poetry.lock").extras(["server"]);
    /// ```
    pub fn extras<I, S>(&mut self, extras: I) -> &mut Build
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extras = extras.into_iter().map(Into::into).collect();
        self
    }

    /// The dependency groups to install with the main dependencies, instead of the tool's
    /// default (uv's default groups, `dev` included; Poetry's non-optional groups; none for a
    /// `pyproject.toml`, whose PEP 735 `[dependency-groups]` these name). `[]` installs the main
    /// dependencies only. Part of the environment's identity.
    ///
    /// ```
    /// pyinstaller_build::Build::new().requirements("uv.lock").groups(["build"]);
    /// ```
    pub fn groups<I, S>(&mut self, groups: I) -> &mut Build
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups = Some(groups.into_iter().map(Into::into).collect());
        self
    }

    /// The PyInstaller version the crate installs into its managed environment when the
    /// requirements don't name PyInstaller (default `6.22.3`, the version the crate is tested
    /// with; a 6.x release). Only with [`Build::requirements`], and only when they leave
    /// PyInstaller out: otherwise the requirements say which, and setting both is an error.
    ///
    /// ```
    /// pyinstaller_build::Build::new().requirements("requirements.txt").pyinstaller("6.21.0");
    /// ```
    pub fn pyinstaller(&mut self, version: impl Into<String>) -> &mut Build {
        self.pyinstaller = Some(version.into());
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

    /// Whether a module that a project module imports at the top level, and that PyInstaller
    /// could not find, is only a warning (default `false`: the build fails before the binary is
    /// installed, naming the module and the importing file). Imports in a function, a `try` or an
    /// `if` never fail the build.
    ///
    /// ```
    /// pyinstaller_build::Build::new().allow_missing_imports(true);
    /// ```
    pub fn allow_missing_imports(&mut self, allow: bool) -> &mut Build {
        self.allow_missing_imports = allow;
        self
    }

    /// How every sidecar starts, unless its own table says otherwise (`launch` key; default
    /// [`Launch::Onefile`]). See the crate docs, "Launch mode".
    ///
    /// ```
    /// use pyinstaller_build::{Build, Launch};
    /// Build::new().launch(Launch::ExtractOnce);
    /// ```
    pub fn launch(&mut self, launch: Launch) -> &mut Build {
        self.launch = launch;
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
    pub(crate) fn level(&self, release: bool) -> Option<u8> {
        if release {
            self.release
        } else {
            self.debug
        }
    }
}

/// A sidecar without a spec file: a script and PyInstaller's command-line options, as in
/// `[package.metadata.pyinstaller-build.sidecars.<name>]`. The crate writes its spec with
/// PyInstaller's own spec writer, always onefile and named `<name>`.
///
/// ```
/// let server = pyinstaller_build::Sidecar::new("main.py").options(["--add-data", "static:static"]);
/// assert_eq!(server.options, ["--add-data", "static:static"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sidecar {
    /// The entry script, relative to python-dir.
    pub script: PathBuf,
    /// PyInstaller command-line options, as they would be given from python-dir (`--add-data`,
    /// `--collect-submodules`, `--hidden-import`, ...), pasted as they are: what the crate decides
    /// itself (`-y/--noconfirm`, `--distpath`, `--workpath`, `--clean`) is left out, with one
    /// note; options that fight the crate (`--onedir`, `--name`, `--specpath`, ...) are errors,
    /// all named at once before anything runs.
    pub options: Vec<String>,
    /// This sidecar's smoke test, instead of the top-level one.
    pub smoke_test: Option<SmokeTest>,
    /// This sidecar's launch mode, instead of the top-level one ([`Build::launch`]).
    pub launch: Option<Launch>,
}

impl Sidecar {
    /// A sidecar built from `script` (relative to python-dir) with no options.
    ///
    /// ```
    /// let s = pyinstaller_build::Sidecar::new("main.py");
    /// assert!(s.options.is_empty());
    /// ```
    pub fn new(script: impl AsRef<Path>) -> Sidecar {
        Sidecar { script: script.as_ref().to_path_buf(), ..Sidecar::default() }
    }

    /// PyInstaller's command-line options for it.
    ///
    /// ```
    /// pyinstaller_build::Sidecar::new("main.py").options(["--collect-submodules", "uvicorn"]);
    /// ```
    pub fn options<I, S>(mut self, options: I) -> Sidecar
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.options = options.into_iter().map(|s| s.as_ref().to_string()).collect();
        self
    }

    /// Its own smoke test.
    ///
    /// ```
    /// use pyinstaller_build::{Sidecar, SmokeTest};
    /// Sidecar::new("main.py").smoke_test(SmokeTest::ready(["--port", "0"], "Waiting for commands"));
    /// ```
    pub fn smoke_test(mut self, smoke_test: SmokeTest) -> Sidecar {
        self.smoke_test = Some(smoke_test);
        self
    }

    /// Its own launch mode (`launch = "extract-once"` in its table).
    ///
    /// ```
    /// use pyinstaller_build::{Launch, Sidecar};
    /// let s = Sidecar::new("main.py").launch(Launch::ExtractOnce);
    /// assert_eq!(s.launch, Some(Launch::ExtractOnce));
    /// ```
    pub fn launch(mut self, launch: Launch) -> Sidecar {
        self.launch = Some(launch);
        self
    }
}

/// How one sidecar is run and installed, as in its
/// `[package.metadata.pyinstaller-build.sidecars.<name>]` table (a spec file's table holds only
/// these keys). Relative paths: `install_as` to the package folder, `run_in` to python-dir.
///
/// ```
/// let s = pyinstaller_build::SidecarSettings::new().run_in("..").pyinstaller_env("APP_MODE", "desktop");
/// assert_eq!(s.pyinstaller_env["APP_MODE"], "desktop");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SidecarSettings {
    /// Where the sidecar is installed, as a `bundle.externalBin` entry names it
    /// (`binaries/statements`: `-<target-triple>` is added), whatever its spec calls its output.
    pub install_as: Option<PathBuf>,
    /// Builds the sidecar onedir and installs it as this folder (relative to the package
    /// folder), which a `bundle.resources` entry must bundle: `bin/python/main` for an app that
    /// starts `$RESOURCE/bin/python/main/main`. Not with `install_as` or its own extract-once
    /// `launch`.
    pub resource: Option<PathBuf>,
    /// The folder PyInstaller runs in, relative to python-dir (default: the table's `run-in`,
    /// else the spec's folder).
    pub run_in: Option<PathBuf>,
    /// Variables set for PyInstaller, over the table's `pyinstaller-env`.
    pub pyinstaller_env: BTreeMap<String, String>,
}

impl SidecarSettings {
    /// No settings: placed by `externalBin` or binaries-dir, run as the table says.
    ///
    /// ```
    /// assert_eq!(pyinstaller_build::SidecarSettings::new(), Default::default());
    /// ```
    pub fn new() -> SidecarSettings {
        SidecarSettings::default()
    }

    /// Installs it where this `externalBin` entry points.
    ///
    /// ```
    /// pyinstaller_build::SidecarSettings::new().install_as("binaries/statements");
    /// ```
    pub fn install_as(mut self, entry: impl AsRef<Path>) -> SidecarSettings {
        self.install_as = Some(entry.as_ref().to_path_buf());
        self
    }

    /// Installs it onedir, as this folder (see [`SidecarSettings::resource`]).
    ///
    /// ```
    /// pyinstaller_build::SidecarSettings::new().resource("bin/python/main");
    /// ```
    pub fn resource(mut self, folder: impl AsRef<Path>) -> SidecarSettings {
        self.resource = Some(folder.as_ref().to_path_buf());
        self
    }

    /// Runs PyInstaller in this folder, relative to python-dir.
    ///
    /// ```
    /// pyinstaller_build::SidecarSettings::new().run_in("..");
    /// ```
    pub fn run_in(mut self, dir: impl AsRef<Path>) -> SidecarSettings {
        self.run_in = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Sets a variable for its PyInstaller run.
    ///
    /// ```
    /// pyinstaller_build::SidecarSettings::new().pyinstaller_env("APP_EXCLUDE_WEBUI", "1");
    /// ```
    pub fn pyinstaller_env(mut self, name: &str, value: &str) -> SidecarSettings {
        self.pyinstaller_env.insert(name.to_string(), value.to_string());
        self
    }
}

/// `Cargo.toml`, as far as the crate reads it.
#[derive(Deserialize)]
struct Manifest {
    package: Option<PackageTable>,
}

#[derive(Deserialize)]
struct PackageTable {
    metadata: Option<MetadataTable>,
}

#[derive(Deserialize)]
struct MetadataTable {
    #[serde(rename = "pyinstaller-build")]
    pyinstaller_build: Option<Metadata>,
}

/// `[package.metadata.pyinstaller-build]`; the crate docs describe each key.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Metadata {
    python_dir: Option<PathBuf>,
    specs: Option<Vec<String>>,
    binaries_dir: Option<PathBuf>,
    smoke_test: Option<SmokeTestConfig>,
    smoke_test_timeout: Option<NonZeroU64>,
    python: Option<PathBuf>,
    requirements: Option<PathBuf>,
    pyinstaller: Option<String>,
    extras: Option<Vec<String>>,
    groups: Option<Vec<String>>,
    jobs: Option<NonZeroUsize>,
    env: Option<Vec<String>>,
    cache_dir: Option<PathBuf>,
    audit_threshold: Option<NonZeroU64>,
    binary_cache_mb: Option<u64>,
    compression: Option<CompressionConfig>,
    allow_missing_imports: Option<bool>,
    launch: Option<Launch>,
    run_in: Option<PathBuf>,
    #[serde(default)]
    pyinstaller_env: BTreeMap<String, String>,
    #[serde(default)]
    sidecars: BTreeMap<String, SidecarConfig>,
}

/// A sidecar without a spec file (with `script`), or a spec file's settings (without).
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct SidecarConfig {
    script: Option<PathBuf>,
    #[serde(default)]
    options: Vec<String>,
    smoke_test: Option<SmokeTestConfig>,
    launch: Option<Launch>,
    install_as: Option<PathBuf>,
    resource: Option<PathBuf>,
    run_in: Option<PathBuf>,
    #[serde(default)]
    pyinstaller_env: BTreeMap<String, String>,
}

/// `smoke-test = ["--version"]` or `smoke-test = { args = [...], ready = "...", timeout = 30,
/// env = { .. }, port-env = "PORT", http = "/health" }`.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "an array of arguments, or a table like { args = [\"--port\", \"0\"], ready = \"text\", timeout = 30 }"
)]
enum SmokeTestConfig {
    Args(Vec<String>),
    Table(SmokeTestTable),
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct SmokeTestTable {
    #[serde(default)]
    args: Vec<String>,
    ready: Option<String>,
    timeout: Option<NonZeroU64>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    port_env: Option<String>,
    http: Option<String>,
}

impl From<SmokeTestConfig> for SmokeTest {
    fn from(config: SmokeTestConfig) -> SmokeTest {
        match config {
            SmokeTestConfig::Args(args) => SmokeTest { args, ..SmokeTest::default() },
            SmokeTestConfig::Table(t) => SmokeTest {
                args: t.args,
                ready: t.ready,
                timeout: t.timeout.map(|s| Duration::from_secs(s.get())),
                env: t.env,
                port_env: t.port_env,
                http: t.http,
            },
        }
    }
}

/// `compression = 1` or `compression = { debug = 1, release = 9 }`.
#[derive(Deserialize)]
#[serde(untagged, expecting = "a level 0-9, or a table like { debug = 1, release = 9 }")]
enum CompressionConfig {
    Both(Level),
    Table(CompressionTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompressionTable {
    debug: Option<Level>,
    release: Option<Level>,
}

/// A zlib level, 0-9.
#[derive(Clone, Copy, Deserialize)]
#[serde(try_from = "u8")]
struct Level(u8);

impl TryFrom<u8> for Level {
    type Error = String;
    fn try_from(level: u8) -> std::result::Result<Level, String> {
        (level <= 9).then_some(Level(level)).ok_or_else(|| format!("a zlib level is 0-9, not {level}"))
    }
}

impl From<CompressionConfig> for Compression {
    fn from(config: CompressionConfig) -> Compression {
        match config {
            CompressionConfig::Both(Level(l)) => Compression { debug: Some(l), release: Some(l) },
            CompressionConfig::Table(t) => Compression {
                debug: t.debug.map(|l| l.0).or(Compression::default().debug),
                release: t.release.map(|l| l.0),
            },
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
        assert_eq!(b.smoke_test, Some(SmokeTest::exits(["--version"])));
        assert_eq!(b.smoke_test_timeout, Some(Duration::from_secs(5)));
        assert_eq!(b.python.as_deref(), Some(Path::new("venv/bin/python")));
        assert_eq!(b.requirements.as_deref(), Some(Path::new("req.txt")));
        assert_eq!(b.jobs, Some(2));
        assert_eq!(b.env, ["FLAVOR"]);
        assert_eq!(b.cache_dir.as_deref(), Some(Path::new("c")));
        let b = manifest(
            "[package.metadata.pyinstaller-build]\nrequirements = \"poetry.lock\"\nextras = [\"server\"]\ngroups = []\n",
        )
        .unwrap();
        assert_eq!((b.extras, b.groups), (vec!["server".to_string()], Some(vec![])));
    }

    #[test]
    fn launch_at_the_top_and_per_sidecar_and_an_unknown_value_named() {
        let b = manifest(
            "[package.metadata.pyinstaller-build]\nlaunch = \"extract-once\"\n\
             [package.metadata.pyinstaller-build.sidecars.api]\nscript = \"main.py\"\nlaunch = \"onefile\"\n\
             [package.metadata.pyinstaller-build.sidecars.worker]\nscript = \"w.py\"\n",
        )
        .unwrap();
        assert_eq!(b.launch, Launch::ExtractOnce);
        assert_eq!(b.sidecars["api"].launch, Some(Launch::Onefile));
        assert_eq!(b.sidecars["worker"].launch, None);
        // A spec file's table (no `script`): by the spec's stem.
        let b =
            manifest("[package.metadata.pyinstaller-build.sidecars.headless]\nlaunch = \"extract-once\"\n").unwrap();
        assert_eq!(b.launch_own.get("headless"), Some(&Launch::ExtractOnce));
        assert!(b.sidecars.is_empty());
        // Its key is checked as the other settings' are: a table that names no spec is an error.
        assert!(b.settings.contains_key("headless"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("worker.spec"), "exe = EXE(pyz, name='worker')\n").unwrap();
        let e = crate::settings::resolve(&b, &["worker.spec".to_string()], dir.path()).err().unwrap().to_string();
        assert!(e.contains("sidecars.headless] names no sidecar"), "{e}");
        assert_eq!(manifest("[package.metadata.pyinstaller-build]\n").unwrap().launch, Launch::Onefile);
        let e = manifest("[package.metadata.pyinstaller-build.sidecars.api]\nscript = \"m.py\"\nlaunch = \"fast\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`launch` is \"onefile\" or \"extract-once\", not \"fast\""), "{e}");
    }

    #[test]
    fn compression_is_a_level_or_a_table_per_profile() {
        let b = manifest("[package.metadata.pyinstaller-build]\ncompression = 3\n").unwrap();
        assert_eq!(b.compression, Some(Compression { debug: Some(3), release: Some(3) }));
        let b = manifest("[package.metadata.pyinstaller-build]\ncompression = { release = 6 }\n").unwrap();
        assert_eq!(b.compression, Some(Compression { debug: Some(1), release: Some(6) }));
        let e = manifest("[package.metadata.pyinstaller-build]\ncompression = 12\n").unwrap_err();
        assert!(e.to_string().contains("compression = 12") && e.to_string().contains("0-9"), "{e}");
    }

    #[test]
    fn sidecars_and_both_smoke_test_forms() {
        let b = manifest(
            "[package.metadata.pyinstaller-build]\nsmoke-test = { args = [\"--port\", \"0\"], ready = \"up\", timeout = 9 }\n\
             [package.metadata.pyinstaller-build.sidecars.api]\nscript = \"main.py\"\noptions = [\"--add-data\", \"s:s\"]\n\
             smoke-test = [\"--version\"]\n",
        )
        .unwrap();
        let top = SmokeTest::ready(["--port", "0"], "up").timeout(Duration::from_secs(9));
        assert_eq!(b.smoke_test, Some(top));
        let api = Sidecar::new("main.py").options(["--add-data", "s:s"]).smoke_test(SmokeTest::exits(["--version"]));
        assert_eq!(b.sidecars.get("api"), Some(&api));
        let b = manifest(
            "[package.metadata.pyinstaller-build]\nallow-missing-imports = true\n\
             smoke-test = { ready = \"up\", env = { DEBUG = \"0\" }, port-env = \"PORT\", http = \"/health\" }\n",
        )
        .unwrap();
        let server = SmokeTest::ready(Vec::<String>::new(), "up").env("DEBUG", "0").port_env("PORT").http("/health");
        assert_eq!(b.smoke_test, Some(server));
        assert!(b.allow_missing_imports);
        let e = manifest("[package.metadata.pyinstaller-build]\nsmoke-test = { ready = 3 }\n").unwrap_err();
        assert!(e.to_string().contains("an array of arguments, or a table like"), "{e}");
        let e = manifest("[package.metadata.pyinstaller-build.sidecars.api]\nscript = \"m.py\"\noption = []\n")
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `option`"), "{e}");
    }

    #[test]
    fn spec_tables_run_in_and_pyinstaller_env() {
        let b = manifest(
            "[package.metadata.pyinstaller-build]\nrun-in = \"..\"\npyinstaller-env = { A = \"1\" }\n\
             [package.metadata.pyinstaller-build.sidecars.entrypoint]\ninstall-as = \"binaries/statements\"\n\
             [package.metadata.pyinstaller-build.sidecars.api]\nscript = \"main.py\"\nrun-in = \".\"\npyinstaller-env = { B = \"2\" }\n",
        )
        .unwrap();
        assert_eq!(b.run_in.as_deref(), Some(Path::new("..")));
        assert_eq!(b.pyinstaller_env, BTreeMap::from([("A".to_string(), "1".to_string())]));
        assert_eq!(b.settings["entrypoint"], SidecarSettings::new().install_as("binaries/statements"));
        assert!(!b.sidecars.contains_key("entrypoint"), "a spec's table is no sidecar of its own");
        assert_eq!(b.settings["api"], SidecarSettings::new().run_in(".").pyinstaller_env("B", "2"));
        assert_eq!(b.sidecars["api"], Sidecar::new("main.py"));
        let e = manifest("[package.metadata.pyinstaller-build.sidecars.x]\noptions = [\"-c\"]\n").unwrap_err();
        assert!(e.to_string().contains("has `options` or `smoke-test` but no `script`"), "{e}");
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
        assert!(e.to_string().contains("unknown field `python_dir`"), "{e}");
        let e = manifest("[package.metadata.pyinstaller-build]\njobs = 0\n").unwrap_err();
        assert!(e.to_string().contains("jobs") && e.to_string().contains("nonzero"), "{e}");
        let e = manifest("[package.metadata.pyinstaller-build]\nspecs = \"a.spec\"\n").unwrap_err();
        assert!(e.to_string().contains("specs") && e.to_string().contains("sequence"), "{e}");
    }
}
