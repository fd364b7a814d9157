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
