//! What a spec's work and dist folders were last built from (`<spec>/state.json`, read and
//! written by [`SpecDir`](crate::workdir::SpecDir)), and when PyInstaller's own cache may be
//! trusted to notice what changed since.

use crate::freshness::reads::Reads;
use crate::project::Project;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a spec's work and dist folders were built from.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    pub fingerprint: String,
    pub context: String,
    /// Project files the spec packaged (relative to python-dir).
    pub records: Vec<String>,
    /// Files it packaged from outside python-dir and the toolchain (absolute).
    #[serde(default)]
    pub external: Vec<PathBuf>,
    /// What the run read: files, folders and environment variables (reads.rs).
    #[serde(default)]
    pub reads: Reads,
    /// The environment's files it packaged that the shared key does not cover
    /// (`cache::uncovered`); `None` in a state from before they were recorded.
    #[serde(default)]
    pub environment: Option<Vec<PathBuf>>,
    /// Hash of every project file when PyInstaller started.
    pub files: BTreeMap<String, String>,
    /// The project files with an execute bit then (empty in a state from before they were
    /// recorded, so such a bit counts as a change once).
    #[serde(default)]
    pub executable: BTreeSet<String>,
    /// The project files that were symbolic links then, with their targets.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// Whole seconds since the epoch when PyInstaller finished: its `.toc` files are no newer.
    pub finished: u64,
    /// File name of the binary in dist/ and its blake3.
    pub binary: String,
    pub binary_hash: String,
}

impl State {
    /// Whether `rel`'s execute bit, or whether and where it links, differs in `project` from this
    /// build's: what no content hash shows, and PyInstaller packs.
    pub(crate) fn mode_or_link_changed(&self, project: &Project, rel: &str) -> bool {
        self.executable.contains(rel) != project.executable.contains(rel)
            || self.links.get(rel) != project.links.get(rel)
    }

    /// Whether PyInstaller's own cache can be trusted to notice every change since this state.
    ///
    /// PyInstaller rebuilds a target only when a source's whole-second mtime is *newer* than its
    /// `.toc` file, ignores deleted files, and does not look at the toolchain or environment at all.
    /// So it is trusted only when the context is the same and every changed file is one it
    /// packaged (hooks, configs and the like it never re-reads) with an mtime strictly after the
    /// second the last build finished.
    pub(crate) fn pyinstaller_would_notice(&self, context: &str, project: &Project) -> bool {
        if self.context != context {
            return false;
        }
        // After a completely traced run, a file it neither packaged nor read (a `.rs` file
        // beside the specs) changes nothing it would have to notice; what it could have found
        // is in the context.
        let used =
            |rel: &String| !self.reads.complete || self.records.contains(rel) || self.reads.project.contains(rel);
        // A mode change leaves the mtime PyInstaller compares as it was; so can a link made to
        // point elsewhere.
        if self.files.keys().filter(|rel| used(rel)).any(|rel| self.mode_or_link_changed(project, rel)) {
            return false;
        }
        for (rel, old) in self.files.iter().filter(|(rel, _)| used(rel)) {
            match project.files.get(rel) {
                None => return false,
                Some(new) if crate::hashing::hex(new) != *old => {
                    if !self.records.contains(rel) {
                        return false;
                    }
                    let secs = fs::metadata(project.path(rel))
                        .and_then(|m| m.modified())
                        .map(|t| t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
                        .unwrap_or(0);
                    if secs <= self.finished {
                        return false;
                    }
                }
                Some(_) => {}
            }
        }
        self.reads.complete || self.files.len() == project.files.len()
    }
}

pub(crate) fn now_secs() -> u64 {
    // Rounded up: PyInstaller's `.toc` mtimes from this second must never look older.
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() + 1).unwrap_or(u64::MAX)
}
