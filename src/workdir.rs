//! The crate's own folders, and what it remembers in them.
//!
//! ```text
//! <cache>/<python-dir name>-<hash of its path>/     stable: shared by debug, release and tests
//!     probe-<key>.json                              the interpreter's answers (toolchain.rs)
//!     <spec>/work/                                  PyInstaller --workpath (its guts cache)
//!     <spec>/dist/                                  PyInstaller --distpath
//!     <spec>/config/                                PYINSTALLER_CONFIG_DIR (bincache), per spec
//!     <spec>/build.log, smoke.log                   the last run's full output
//!     <spec>/records.json                           the files PyInstaller packaged
//!     <spec>/reads.json, trace.py                   what the last run read, and its tracer (reads.rs)
//!     <spec>/audit.json, audit.md                   what the binary is made of (audit.rs)
//!     <spec>/verify/                                scratch builds of the audit's verify mode, removed after
//!     <spec>/fastpath/                              the last stock build's snapshot (src/fastpath/)
//!     <spec>/shared-download/                       a verified download from the shared cache
//!     <spec>/state.json                             what work/ and dist/ were last built from
//!     <spec>/lock                                   held by the process running PyInstaller
//! <temp>/pyinstaller-build-locks/<hash>.lock        one build per binaries folder at a time
//! $OUT_DIR/pyinstaller-build/<spec>.json            stamp: what this profile installed
//! $OUT_DIR/pyinstaller-build/report.json            the last run's Report
//! ```
//! `<cache>` is `target/pyinstaller-build` unless configured: outside `OUT_DIR`, which differs per
//! profile, so a debug and a release build share one PyInstaller cache.

use crate::error::{IoContext, Result};
use crate::freshness::state::State;

use std::fs;
use std::path::{Path, PathBuf};

/// One spec's folders.
#[derive(Clone, Debug)]
pub(crate) struct SpecDir {
    pub root: PathBuf,
}

impl SpecDir {
    pub(crate) fn new(project_cache: &Path, stem: &str) -> SpecDir {
        SpecDir { root: project_cache.join(stem) }
    }
    pub(crate) fn work(&self) -> PathBuf {
        self.root.join("work")
    }
    pub(crate) fn dist(&self) -> PathBuf {
        self.root.join("dist")
    }
    pub(crate) fn config(&self) -> PathBuf {
        self.root.join("config")
    }
    pub(crate) fn log(&self) -> PathBuf {
        self.root.join("build.log")
    }
    pub(crate) fn smoke_log(&self) -> PathBuf {
        self.root.join("smoke.log")
    }
    pub(crate) fn records(&self) -> PathBuf {
        self.root.join("records.json")
    }
    /// What the last PyInstaller run read, as traced (reads.rs).
    pub(crate) fn reads(&self) -> PathBuf {
        self.root.join("reads.json")
    }
    /// The tracer, run in front of PyInstaller's isolated children.
    pub(crate) fn tracer(&self) -> PathBuf {
        self.root.join("trace.py")
    }
    /// What the last build's binary is made of (written by the runner; see audit.rs).
    pub(crate) fn audit(&self) -> PathBuf {
        self.root.join("audit.json")
    }
    /// The audit as a table for people.
    pub(crate) fn audit_table(&self) -> PathBuf {
        self.root.join("audit.md")
    }
    /// The snapshot of the last stock build, for the fast path (src/fastpath/).
    pub(crate) fn fastpath(&self) -> PathBuf {
        self.root.join("fastpath")
    }
    fn state_file(&self) -> PathBuf {
        self.root.join("state.json")
    }
    pub(crate) fn lock(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// Takes the spec's lock, waiting for whoever holds it: a PyInstaller orphaned by a killed
    /// cargo holds it until it exits. Released when the file is dropped.
    pub(crate) fn wait_for_lock(&self) -> Result<fs::File> {
        crate::fsutil::lock_file(&self.lock())
    }

    pub(crate) fn read_state(&self) -> Option<State> {
        serde_json::from_slice(&fs::read(self.state_file()).ok()?).ok()
    }

    /// Written last, after a build and its smoke test succeeded: a killed build leaves none.
    pub(crate) fn write_state(&self, state: &State) -> Result<()> {
        crate::fsutil::write_atomic(&self.state_file(), &serde_json::to_vec_pretty(state).expect("serializable"), false)
    }

    pub(crate) fn clear_state(&self) -> Result<()> {
        match fs::remove_file(self.state_file()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at("could not remove", &self.state_file()),
            _ => Ok(()),
        }
    }

    /// Makes PyInstaller rebuild every target of this spec, keeping the rest of its cache: its
    /// targets decide freshness from the `.toc` files alone.
    pub(crate) fn invalidate_pyinstaller_cache(&self) -> Result<()> {
        let work = self.work();
        let Ok(specs) = fs::read_dir(&work) else {
            return Ok(());
        };
        for spec in specs.filter_map(|e| e.ok()) {
            let Ok(files) = fs::read_dir(spec.path()) else {
                continue;
            };
            for f in files.filter_map(|e| e.ok()) {
                if f.file_name().to_string_lossy().ends_with(".toc") {
                    fs::remove_file(f.path()).at("could not remove", &f.path())?;
                }
            }
        }
        Ok(())
    }
}

/// The stable cache folder for a project.
pub(crate) fn project_cache(cache_root: &Path, python_dir: &Path) -> PathBuf {
    let name = python_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let hash = blake3::hash(python_dir.as_os_str().as_encoded_bytes()).to_hex();
    cache_root.join(format!("{name}-{}", &hash[..12]))
}

/// The target directory, found from `OUT_DIR` by the `CACHEDIR.TAG` cargo writes at its top:
/// stable across profiles and layouts (cargo's newer build-dir layout nests `OUT_DIR` deeper).
pub(crate) fn default_cache_root(out_dir: &Path, manifest_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .skip(1)
        .find(|a| a.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.join("target"))
        .join("pyinstaller-build")
}
