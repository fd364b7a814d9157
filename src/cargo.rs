//! Everything the crate says to cargo, and every environment variable it reads.
//!
//! One writer so tests can capture the exact lines; one accessor per kind of variable so every
//! user-set variable is announced with `rerun-if-env-changed` (cargo-set ones need not be, and
//! `PATH` never is: rust-analyzer changes it on every run).

use std::ffi::OsString;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Where `cargo:` lines go: stdout in a build script, a buffer in tests.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cargo {
    pub(crate) capture: Option<Arc<Mutex<Vec<String>>>>,
}

impl Cargo {
    fn line(&self, line: String) {
        match &self.capture {
            Some(buf) => buf.lock().unwrap_or_else(|e| e.into_inner()).push(line),
            None => println!("{line}"),
        }
    }

    pub(crate) fn rerun_if_changed(&self, path: &Path) {
        self.line(format!("cargo:rerun-if-changed={}", path.display()));
    }

    /// Cargo shows warnings line by line; each line of a multi-line message needs the prefix.
    pub(crate) fn warning(&self, message: &str) {
        for l in message.lines() {
            self.line(format!("cargo:warning={l}"));
        }
    }

    /// A variable the user sets: announced so cargo reruns the script when it changes.
    pub(crate) fn env(&self, key: &str) -> Option<OsString> {
        self.line(format!("cargo:rerun-if-env-changed={key}"));
        #[allow(clippy::disallowed_methods)]
        std::env::var_os(key)
    }

    /// A credential: read without `rerun-if-env-changed`, because cargo keeps the value of every
    /// announced variable in its fingerprint files under the target folder, and a credential
    /// changes no output.
    pub(crate) fn secret(&self, key: &str) -> Option<OsString> {
        #[allow(clippy::disallowed_methods)]
        std::env::var_os(key)
    }

    /// A variable the user sets, as a switch: set and not `0`/`false`/empty.
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.env(key).is_some_and(|v| !matches!(v.to_str(), Some("" | "0" | "false")))
    }
}

/// A variable cargo sets for build scripts (`OUT_DIR`, `TARGET`, ...): cargo already reruns the
/// script when these change.
pub(crate) fn cargo_env(key: &str) -> Option<OsString> {
    #[allow(clippy::disallowed_methods)]
    std::env::var_os(key)
}
