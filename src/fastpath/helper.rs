//! The Python half of the fast path (`build-support/fastpath.py`), run in the build's own
//! interpreter and environment: it compiles modules into archive entries exactly as PyInstaller
//! writes them.

use super::snapshot::{Derived, Module};
use crate::build_support::FASTPATH;
use crate::process::last_line;
use crate::project::Project;
use crate::workdir::SpecDir;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A folder of the spec's `fastpath/out/` for one process's use, removed on drop: two builds
/// sharing a spec folder (two crates with one python-dir) never see each other's files.
pub(super) struct Scratch(PathBuf);

impl Scratch {
    pub(super) fn new(dir: &SpecDir) -> Result<Scratch, String> {
        let path = dir.fastpath().join("out").join(crate::fsutil::unique());
        fs::create_dir_all(&path).map_err(|e| format!("could not create {}: {e}", path.display()))?;
        Ok(Scratch(path))
    }
}

impl Scratch {
    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The interpreter and environment of the spec's builds.
pub(crate) struct Python<'a> {
    pub python: &'a Path,
    pub env: &'a [(String, Option<String>)],
}

/// Runs the helper on these modules in a fresh interpreter, each marshalled in the interning
/// state PyInstaller's process (`process`, as the snapshot recorded it) wrote it in. With `graph`
/// (the last build's, from its snapshot), each module whose analysis changed is judged against
/// the one it recorded.
pub(super) fn derive(
    scratch: &Scratch,
    python: &Python,
    project: &Project,
    modules: &[Module],
    process: &serde_json::Value,
    graph: Option<&Path>,
) -> Result<Vec<Derived>, String> {
    let out = scratch.path();
    let modules_json: Vec<serde_json::Value> = modules
        .iter()
        .map(|m| {
            let old = graph.and(m.derived.analysis.as_ref());
            serde_json::json!({"path": project.path(&m.path), "kind": m.kind, "name": m.name,
                "compress": m.compress, "old": old, "info": m.info, "interned": m.interned})
        })
        .collect();
    let request = serde_json::json!({"graph": graph, "process": process, "modules": modules_json});
    let (request_path, answer_path) = (out.join("request.json"), out.join("derived.json"));
    fs::write(&request_path, serde_json::to_vec(&request).expect("serializable")).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(python.python);
    cmd.arg("-c").arg(FASTPATH).arg("--fastpath-derive").arg(&request_path).arg(&answer_path);
    // Our own folder, so no project module shadows the helper's imports.
    cmd.current_dir(out);
    crate::pyinstaller::build_env(&mut cmd, python.env);
    let output = cmd.output().map_err(|e| format!("could not run {}: {e}", python.python.display()))?;
    if !output.status.success() {
        return Err(format!("the helper failed: {}", last_line(&output.stderr)));
    }
    fs::read(&answer_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|d: &Vec<Derived>| d.len() == modules.len())
        .ok_or_else(|| "the helper gave no answer".into())
}

/// A zlib stream inflated by the build's interpreter, or None if it cannot be.
pub(super) fn inflate(scratch: &Scratch, python: &Python, data: &[u8]) -> Option<Vec<u8>> {
    let path = scratch.path().join("inflate");
    fs::write(&path, data).ok()?;
    let script = "import sys, zlib\nsys.stdout.buffer.write(zlib.decompress(open(sys.argv[1], 'rb').read()))";
    let mut cmd = Command::new(python.python);
    cmd.arg("-c").arg(script).arg(&path).current_dir(scratch.path());
    crate::pyinstaller::build_env(&mut cmd, python.env);
    let output = cmd.output().ok()?;
    output.status.success().then_some(output.stdout)
}
