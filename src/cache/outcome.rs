//! What asking the shared tier gives.

use std::path::PathBuf;
use std::time::Duration;

/// A binary the shared tier had, downloaded and verified against its content hash (not yet
/// smoke-tested).
pub(crate) struct Fetched {
    pub path: PathBuf,
    /// What outside python-dir the entry was checked against, for cargo to watch.
    pub watch: Vec<PathBuf>,
    pub file_name: String,
    /// blake3, as the local store keeps it.
    pub binary_hash: String,
    pub bytes: u64,
    pub took: Duration,
}

/// Why the shared tier gave no binary for a spec: each says what differed, so that a user can
/// act on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Miss {
    /// Not asked: no shared cache configured, its settings are wrong, the feature is missing,
    /// `PYINSTALLER_BUILD_FORCE` is set, or an earlier failure switched it off for this build.
    Off(String),
    /// Nothing is stored under the key: no build uploaded a binary from these inputs.
    NoEntry { key: String },
    /// An entry in a layout this crate does not read (another version of it wrote it).
    OtherFormat { key: String, format: u32 },
    /// An entry whose build read or packaged something this machine has otherwise.
    Differs { key: String, what: String },
    /// An entry that packaged files of its environment, which was not relocatable and was at
    /// another path than the one this machine's will be created at.
    EnvElsewhere { key: String, theirs: String, ours: String },
    /// The binary the entry named was downloaded but failed its smoke test here.
    SmokeTest(String),
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Miss::Off(why) => write!(f, "the shared cache is off: {why}"),
            Miss::NoEntry { key } => write!(
                f,
                "no entry for key {key}: no build has uploaded a binary from these very inputs (sources, \
                 requirements and environment, interpreter, target, settings)"
            ),
            Miss::OtherFormat { key, format } => write!(
                f,
                "the entry for key {key} is in format {format}, written by another version of pyinstaller-build; \
                 a build with this version uploads one"
            ),
            Miss::Differs { key, what } => write!(f, "the entry for key {key} does not apply here: {what}"),
            Miss::EnvElsewhere { key, theirs, ours } => write!(
                f,
                "the entry for key {key} packaged files of its Python environment at {theirs}, which was not \
                 relocatable, and this one will be at {ours}; a build whose environment the crate made relocatable \
                 uploads one for any path"
            ),
            Miss::SmokeTest(why) => write!(f, "the binary from the shared cache failed its smoke test here: {why}"),
        }
    }
}

impl From<Miss> for crate::report::SharedCache {
    fn from(miss: Miss) -> Self {
        match miss {
            Miss::Off(why) => crate::report::SharedCache::Off(why),
            other => crate::report::SharedCache::Miss(other.to_string()),
        }
    }
}
