//! What the fast path remembers of the last stock build: the snapshot the helper records and the
//! self-test checks, and each project module's derived entry.

use crate::workdir::SpecDir;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::PathBuf;

/// What the helper records after a stock build, checked by the self-test.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    /// Why the fast path cannot apply to this build, if it cannot.
    pub disabled: Option<String>,
    pub modules: Vec<Module>,
    /// `(path, size, mtime_ns)` of every non-project file the analysis used.
    pub others: Vec<(PathBuf, u64, u128)>,
    /// blake3 of the base executable once self-tested: the fast path reads nothing else.
    #[serde(default)]
    pub base_hash: Option<String>,
    /// What of PyInstaller's process marshal depends on besides interning (interpreter, marshal
    /// version, optimization level, hash seed): the helper refuses to derive in another. Also
    /// the folders PyInstaller before 6.16 strips from code objects' file names (its `sys.path`
    /// and `pathex` as it wrote each archive), which the helper strips alike.
    #[serde(default)]
    pub process: serde_json::Value,
    /// Extract-once mode: the kept folder and payload once self-tested (`onedir.rs`).
    #[serde(default)]
    pub kept: Option<super::onedir::Kept>,
}

/// A project module in the archive.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Module {
    /// Relative to python-dir.
    pub path: String,
    /// `pyz` (a module in the PYZ) or `script` (an entry script in the PKG).
    pub kind: String,
    /// Module name, or the script's PKG entry name.
    pub name: String,
    /// Whether a script's PKG entry is compressed.
    #[serde(default)]
    pub compress: bool,
    /// A hook targets it or a package above it.
    #[serde(default)]
    pub hooked: bool,
    /// Why any change of it must run PyInstaller (a hook reads its code or its part of the graph).
    #[serde(default)]
    pub refuse: Option<String>,
    /// What the helper needs to judge a change of its analysis (which of its names and calls
    /// PyInstaller reads), as the snapshot recorded it.
    #[serde(default)]
    pub info: serde_json::Value,
    /// Which one-character strings (and `""`) PyInstaller's process had interned when it
    /// marshalled this module's entry (a bit set, hex): the helper marshals in the same state.
    #[serde(default)]
    pub interned: Option<String>,
    #[serde(flatten)]
    pub derived: Derived,
}

/// A module compiled by the helper: its analysis fingerprint and archive entry, or why not.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Derived {
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// What PyInstaller's analysis reads of the module (imports, global names, scanned calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<serde_json::Value>,
    /// When the analysis differs from the last build's: why that could change the archive
    /// elsewhere, or none when it provably cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The entry's bytes, hex (dropped from the checked snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// A script's uncompressed length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Derived {
    pub(super) fn blob(&self, name: &str) -> Result<Vec<u8>, String> {
        let hex = self.blob.as_deref().ok_or_else(|| format!("no entry was derived for {name}"))?;
        (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| e.to_string())
    }
}

/// The snapshot of the last stock build, checked: `disabled` says why it can't be used.
pub(super) fn read(dir: &SpecDir) -> Option<Snapshot> {
    serde_json::from_slice(&fs::read(dir.fastpath().join("fastpath.json")).ok()?).ok()
}
