#![doc = include_str!("manual.md")]
#![deny(missing_docs)]
// The examples are build scripts, whose `fn main` is the point.
#![allow(clippy::needless_doctest_main)]

mod audit;
mod build_support;
mod builder;
mod cache;
mod cargo;
mod devwatch;
mod error;
mod fastpath;
mod freshness;
mod fsutil;
mod hashing;
mod install;
mod jobs;
mod launch;
mod macos;
mod makespec;
mod onedir;
mod pinned;
mod pipeline;
mod placeholder;
mod placement;
mod process;
mod project;
mod pyinstaller;
mod report;
mod settings;
mod skip;
mod smoke;
mod sources;
mod spec;
mod tauri_config;
mod toolchain;
mod venv;
mod workdir;

pub use audit::{Audit, ExcludeResult, Package, Verification};
pub use builder::{Build, Compression, Sidecar, SidecarSettings};
pub use error::{Error, ErrorKind, Result};
pub use launch::Launch;
pub use report::{Outcome, Report, SharedCache, SpecReport};
pub use smoke::SmokeTest;

/// Builds the specs configured in `[package.metadata.pyinstaller-build]`; on error prints the
/// message and exits 1. Call it from `build.rs`, before `tauri_build::build()`.
///
/// ```no_run
/// fn main() {
///     let report = pyinstaller_build::build();
///     assert!(report.specs.iter().all(|s| s.installed.exists()));
/// }
/// ```
pub fn build() -> Report {
    match try_build() {
        Ok(report) => report,
        Err(e) => {
            eprintln!("\n{e}\n");
            std::process::exit(1);
        }
    }
}

/// [`build`], returning the error instead of exiting.
///
/// ```no_run
/// if let Err(e) = pyinstaller_build::try_build() {
///     panic!("sidecars: {e}");
/// }
/// ```
pub fn try_build() -> Result<Report> {
    Build::from_manifest()?.try_compile()
}

impl Build {
    /// Builds every spec that needs it and installs the sidecars; see the crate docs for when a
    /// spec is rebuilt.
    ///
    /// ```no_run
    /// let report = pyinstaller_build::Build::new().try_compile()?;
    /// # Ok::<(), pyinstaller_build::Error>(())
    /// ```
    pub fn try_compile(&self) -> Result<Report> {
        self.run()
    }

    /// Builds what needs building, like [`Build::try_compile`], but on error prints the message
    /// to stderr and exits 1 (cargo then shows it under "failed to run custom build command").
    ///
    /// ```no_run
    /// pyinstaller_build::Build::new().compile();
    /// ```
    pub fn compile(&self) -> Report {
        match self.try_compile() {
            Ok(report) => report,
            Err(e) => {
                eprintln!("\n{e}\n");
                std::process::exit(1);
            }
        }
    }
}
