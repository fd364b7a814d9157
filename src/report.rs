//! What a run did, per spec: returned to `build.rs` and written as JSON to `OUT_DIR`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// What [`Build::try_compile`](crate::Build::try_compile) did.
///
/// ```no_run
/// let report = pyinstaller_build::Build::from_manifest().unwrap().compile();
/// for spec in &report.specs {
///     println!("cargo:rustc-env=SIDECAR_{}={}", spec.name.to_uppercase(), spec.installed.display());
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// One entry per spec, in spec order. Empty when building was not possible for the target
    /// or `DOCS_RS` is set (see the crate docs); with `PYINSTALLER_BUILD_SKIP`, one
    /// [`Outcome::Skipped`] or [`Outcome::Placeholder`] entry per spec whose name is known.
    pub specs: Vec<SpecReport>,
}

/// What happened to one spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SpecReport {
    /// The spec file, relative to python-dir (`worker.spec`); for a sidecar without a spec file,
    /// the path of the spec the crate wrote for it.
    pub spec: String,
    /// The executable's name from the spec's `EXE(name=...)`.
    pub name: String,
    /// What was done.
    pub outcome: Outcome,
    /// Time spent on this spec, including PyInstaller and the smoke test.
    #[serde(with = "secs")]
    pub duration: Duration,
    /// Where the sidecar is: `<binaries-dir>/<name>-<target>[.exe]`.
    pub installed: PathBuf,
    /// The blake3 fingerprint of everything the binary was built from.
    pub fingerprint: String,
    /// PyInstaller's full output for the last build of this spec.
    pub log: PathBuf,
    /// What the binary is made of (from the spec's last real build), and what could be excluded.
    pub audit: Option<crate::Audit>,
    /// Where the audit is, as a table.
    pub audit_table: PathBuf,
    /// Why it was built or reinstalled (`worker.py changed`); empty when up to date.
    pub reason: String,
    /// Time the smoke test took (part of `duration`; zero when none ran).
    #[serde(with = "secs", default)]
    pub smoke_test: Duration,
    /// When PyInstaller ran although a previous build existed: why the fast path was refused
    /// (`stats imports wave, which the last build did not bundle`).
    #[serde(default)]
    pub fast_path_refused: Option<String>,
    /// What the shared cache gave, when it was asked: only for a spec that was neither up to
    /// date nor in the local store, that is, one that would be rebuilt otherwise.
    #[serde(default)]
    pub shared_cache: Option<SharedCache>,
    /// Bytes downloaded from the shared cache and the time it took (for the warning).
    #[serde(skip)]
    pub(crate) download: (u64, Duration),
    /// Audit candidates that appeared with this build.
    #[serde(skip)]
    pub(crate) new_candidates: Vec<String>,
    /// The fast path rewrote an extract-once sidecar's onedir program and re-packed its folder.
    #[serde(skip)]
    pub(crate) repacked: bool,
}

/// What was done for a spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Outcome {
    /// The installed binary was built from exactly these inputs: nothing ran, nothing was written.
    UpToDate,
    /// The binary was already built from these inputs (by another profile, or before an
    /// interruption) and was reinstalled without running PyInstaller.
    Restored,
    /// PyInstaller ran, the smoke test passed and the binary was installed.
    Built,
    /// Only project module bodies changed: their entries were recompiled and rewritten into the
    /// last full build's archive without running PyInstaller, the smoke test passed and the
    /// binary was installed. It is byte-identical to what PyInstaller would have built.
    FastPath,
    /// `PYINSTALLER_BUILD_SKIP` was set: nothing was built, and the sidecar installed earlier was
    /// left as it was.
    Skipped,
    /// `PYINSTALLER_BUILD_SKIP` was set and no sidecar was installed: a placeholder stands at
    /// `installed` (written by this or an earlier skipped build) so that `tauri_build::build()`
    /// finds a file. Run, it prints that it was skipped and exits 1; the next build without the
    /// switch replaces it.
    Placeholder,
    /// Another machine built the binary from the same inputs: it was downloaded from the shared
    /// cache (`PYINSTALLER_BUILD_CACHE_URL`), its content hash verified, smoke-tested and
    /// installed without running PyInstaller.
    Downloaded,
    /// Only the smoke test changed: the installed binary, built from exactly these inputs, passed
    /// the new one without being rebuilt (PyInstaller never sees the smoke test).
    Retested,
}

/// What the shared cache gave a spec, with the reason of a miss: enough to fix it from the
/// message alone.
///
/// In `report.json` it reads `{"result": "miss", "reason": "..."}`.
///
/// ```no_run
/// use pyinstaller_build::SharedCache;
/// let report = pyinstaller_build::Build::from_manifest().unwrap().compile();
/// for spec in &report.specs {
///     if let Some(SharedCache::Miss(why) | SharedCache::Off(why)) = &spec.shared_cache {
///         println!("cargo:warning={} was not in the shared cache: {why}", spec.name);
///     }
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "result", content = "reason")]
#[non_exhaustive]
pub enum SharedCache {
    /// Downloaded, verified and smoke-tested: no PyInstaller run.
    Hit,
    /// Asked, and it had no binary that applies here: no entry for the key, or an entry whose
    /// check failed (which file, folder, variable or environment path differed), or a binary
    /// that failed its smoke test here.
    Miss(String),
    /// Not asked, and why: no `PYINSTALLER_BUILD_CACHE_URL`, settings it cannot use, the
    /// `shared-cache` feature missing, `PYINSTALLER_BUILD_FORCE`, or an earlier failure in this
    /// build.
    Off(String),
}

impl SpecReport {
    /// A spec that was not built: only its name and path are known.
    pub(crate) fn new(spec: String, name: String, installed: PathBuf) -> SpecReport {
        SpecReport {
            spec,
            name,
            outcome: Outcome::Skipped,
            duration: Duration::ZERO,
            installed,
            fingerprint: String::new(),
            log: PathBuf::new(),
            audit: None,
            audit_table: PathBuf::new(),
            reason: String::new(),
            smoke_test: Duration::ZERO,
            fast_path_refused: None,
            shared_cache: None,
            download: (0, Duration::ZERO),
            new_candidates: Vec::new(),
            repacked: false,
        }
    }
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        f64::deserialize(d).map(Duration::from_secs_f64)
    }
}
