//! Where a build reads and writes, and what cargo told the build script: the folders, the
//! target and profile, the lock on the binaries folder.

use crate::cargo::cargo_env;
use crate::error::{Error, ErrorKind, Result};
use crate::{fsutil, Build};
use std::path::{Path, PathBuf};

/// Where a build reads and writes, shared by real and skipped builds.
pub(super) struct Folders {
    pub(super) python_dir: PathBuf,
    pub(super) binaries_dir: PathBuf,
    pub(super) cache_root: PathBuf,
}

/// The cargo-provided facts, or the builder's overrides of them.
pub(super) struct BuildEnv {
    pub(super) manifest_dir: PathBuf,
    pub(super) out_dir: PathBuf,
    pub(super) target: String,
    pub(super) host: String,
    pub(super) jobs: usize,
    pub(super) release: bool,
    /// The app's package (`CARGO_PKG_NAME`).
    pub(super) package_name: Option<String>,
}

impl BuildEnv {
    pub(super) fn new(build: &Build) -> Result<BuildEnv> {
        let required = |key: &str, set: Option<String>| {
            set.or_else(|| cargo_env(key).map(|v| v.to_string_lossy().into_owned())).ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "pyinstaller-build: {key} is not set; call it from a build script (or set it with the builder)"
                    ),
                )
            })
        };
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned());
        let target = required("TARGET", build.target.clone())?;
        Ok(BuildEnv {
            manifest_dir: required("CARGO_MANIFEST_DIR", path(&build.manifest_dir))?.into(),
            out_dir: required("OUT_DIR", path(&build.out_dir))?.into(),
            host: build
                .host
                .clone()
                .or_else(|| cargo_env("HOST").map(|h| h.to_string_lossy().into_owned()))
                .unwrap_or_else(|| target.clone()),
            target,
            release: cargo_env("PROFILE").is_some_and(|p| p == "release"),
            package_name: cargo_env("CARGO_PKG_NAME").and_then(|n| n.into_string().ok()),
            jobs: cargo_env("NUM_JOBS")
                .and_then(|n| n.to_str()?.parse().ok())
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        })
    }

    /// Cargo's target (and build) folders, which `OUT_DIR` lies in: marked with a `CACHEDIR.TAG`,
    /// else the profile folder holding `build/<package>/out`.
    pub(super) fn target_dirs(&self) -> Vec<PathBuf> {
        let tagged: Vec<PathBuf> =
            self.out_dir.ancestors().filter(|a| a.join("CACHEDIR.TAG").is_file()).map(Path::to_path_buf).collect();
        if !tagged.is_empty() {
            return tagged;
        }
        let build = self.out_dir.parent().and_then(Path::parent).filter(|b| b.ends_with("build"));
        match (self.out_dir.ends_with("out"), build.and_then(Path::parent)) {
            (true, Some(profile)) => vec![profile.to_path_buf()],
            _ => vec![],
        }
    }

    /// Folders cargo adds to the library search path of build scripts: the target (or build)
    /// folder and the toolchain's sysroot. They differ between `cargo build`, `clippy` and `test`.
    pub(super) fn cargo_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> =
            self.out_dir.ancestors().filter(|a| a.join("CACHEDIR.TAG").is_file()).map(Path::to_path_buf).collect();
        if let Some(sysroot) =
            cargo_env("RUSTC").map(PathBuf::from).and_then(|r| Some(r.parent()?.parent()?.to_path_buf()))
        {
            if sysroot.is_absolute() {
                dirs.push(sysroot);
            }
        }
        dirs
    }

    /// cargo's `CARGO_CFG_TARGET_OS` (which picks Tauri's platform config file), else read
    /// from `TARGET`.
    pub(super) fn target_os(&self) -> String {
        if let Some(os) = cargo_env("CARGO_CFG_TARGET_OS") {
            return os.to_string_lossy().into_owned();
        }
        let t = &self.target;
        match () {
            _ if t.contains("windows") => "windows",
            _ if t.contains("apple-darwin") => "macos",
            _ if t.contains("linux") => "linux",
            _ => "",
        }
        .to_string()
    }

    pub(super) fn target_os_is_mobile(&self) -> bool {
        self.target.contains("android") || self.target.contains("apple-ios")
    }

    pub(super) fn check_not_cross(&self) -> Result<()> {
        if self.target == self.host {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::CrossCompile,
            format!(
                "pyinstaller-build: cannot build sidecars for `{}` on `{}`: PyInstaller does not cross-compile.\n\
                 Fix: build on a `{}` machine (e.g. a CI runner of that platform), or set \
                 PYINSTALLER_BUILD_SKIP=1 and provide the binaries yourself.",
                self.target, self.host, self.target
            ),
        ))
    }
}

/// One build of this project at a time, across processes (a terminal and rust-analyzer, debug and
/// release). What they share is the binaries folder, but nothing of the crate's goes there (Tauri
/// bundles it, git and `tauri dev` see it): the lock is named after that folder's path in the
/// temporary folder, which every process of the user shares whatever its target folder
/// (rust-analyzer may have its own). A lock file an older crate left in the binaries folder goes.
pub(super) fn lock_project(binaries_dir: &Path) -> Result<std::fs::File> {
    use crate::error::IoContext;
    std::fs::create_dir_all(binaries_dir).at("could not create", binaries_dir)?;
    let folder = binaries_dir.canonicalize().unwrap_or_else(|_| binaries_dir.to_path_buf());
    let locks = std::env::temp_dir().join("pyinstaller-build-locks");
    std::fs::create_dir_all(&locks).at("could not create", &locks)?;
    let hash = blake3::hash(folder.as_os_str().as_encoded_bytes()).to_hex();
    let path = locks.join(format!("{}.lock", &hash[..24]));
    let file = fsutil::lock_file(&path)?;
    let _ = std::fs::remove_file(binaries_dir.join(".pyinstaller-build.lock"));
    Ok(file)
}
