//! The fast path: after an edit that only changes project module bodies, rewrite the changed
//! entries into the last full build's archive instead of running PyInstaller again.
//!
//! A module's contents reach a onefile binary only through its own archive entry and what
//! PyInstaller's Analysis derives from it (its imports and their flags, its global names, and for
//! modules using ctypes or metadata APIs their constant call arguments). When that *analysis
//! fingerprint* is unchanged, and nothing else changed, a stock build would produce the same
//! archive except for the changed entries. So the crate:
//!
//! 1. snapshots every stock build (`build-support/fastpath.py`, in the build's interpreter): the
//!    executable, the bootloader, each project module's entry and fingerprint, and the size and
//!    mtime of every other file the analysis used;
//! 2. self-tests the snapshot: re-deriving *every* project module and rewriting the archive and
//!    executable must reproduce PyInstaller's bytes exactly, or the fast path is off for it;
//! 3. on a later build, takes the fast path only when [`check`] finds every condition met, then
//!    [`run`] compiles the changed modules, checks their fingerprints, and rewrites the archive.
//!
//! The snapshot is never modified, so each fast path is relative to the last full build. Anything
//! unexpected refuses the fast path with a reason, and the build runs PyInstaller as usual.
//!
//! This file is the pipeline; `snapshot.rs` holds what is remembered of the last build,
//! `helper.rs` runs the Python half, `archive.rs` reads and rewrites PyInstaller's archives and
//! `elf.rs` swaps an archive into the executable, and `onedir.rs` extends all this to
//! extract-once mode, where the executable is the onedir program and the installed file packs
//! its folder.

mod archive;
mod elf;
mod helper;
mod onedir;
mod snapshot;

use crate::freshness::state::State;
use crate::hashing::{hash_file, hex};
use crate::launch::Launcher;
use crate::project::Project;
use crate::workdir::SpecDir;
use archive::{Pkg, Pyz};
use elf::Onefile;
pub(crate) use helper::Python;
use helper::{derive, Scratch};
use snapshot::{Module, Snapshot};
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

/// What a fast path rewrites: the changed modules, and the self-tested base's hash.
#[derive(Clone, Debug)]
pub(crate) struct Changes {
    pub modules: Vec<Module>,
    base_hash: String,
    process: serde_json::Value,
    kept: Option<onedir::Kept>,
}

/// A fast path's executable, in a folder of its own that goes when this is dropped.
pub(crate) struct Output {
    pub path: PathBuf,
    pub hash: blake3::Hash,
    /// In extract-once mode, the onedir folder the launcher in `path` carries, as it unpacks it
    /// (the smoke test starts it from there: `launch::seed_cache`).
    pub unpacked: Option<PathBuf>,
    _scratch: Scratch,
}

/// After a successful stock build of `binary`: self-tests the helper's snapshot and keeps the
/// result. Never fails the build: a snapshot that cannot be checked is disabled. In extract-once
/// mode (`launch`), `binary` is the installed file and the executable is its kept onedir program.
pub(crate) fn after_build(dir: &SpecDir, binary: &Path, python: &Python, project: &Project, launch: Option<&Launcher>) {
    let raw = dir.fastpath().join("snapshot.json");
    let mut snapshot: Snapshot = match fs::read(&raw).map(|b| serde_json::from_slice(&b)) {
        Ok(Ok(s)) => s,
        _ => Snapshot { disabled: Some("the build left no snapshot".into()), ..Snapshot::default() },
    };
    let program = binary.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let executable = match launch {
        Some(_) => crate::launch::kept(&dir.root).join(&program),
        None => binary.to_path_buf(),
    };
    if snapshot.disabled.is_none() {
        // A copy: PyInstaller may later rewrite the file in dist in place.
        if let Err(e) = fs::copy(&executable, dir.fastpath().join("base")) {
            snapshot.disabled = Some(format!("could not copy the executable: {e}"));
        }
    }
    if snapshot.disabled.is_none() {
        match self_test(dir, &mut snapshot, python, project) {
            Ok(hash) => snapshot.base_hash = Some(hash),
            Err(why) => snapshot.disabled = Some(format!("the snapshot's self-test failed: {why}")),
        }
    }
    if let (None, Some(launcher)) = (&snapshot.disabled, launch) {
        match onedir::self_test(dir, launcher, python, binary, &program) {
            Ok(kept) => snapshot.kept = Some(kept),
            Err(why) => snapshot.disabled = Some(format!("the onedir folder's self-test failed: {why}")),
        }
    }
    for m in &mut snapshot.modules {
        m.derived.blob = None;
    }
    let _ = fs::remove_file(&raw);
    let _ = crate::fsutil::write_atomic(
        &dir.fastpath().join("fastpath.json"),
        &serde_json::to_vec(&snapshot).expect("serializable"),
        false,
    );
}

/// Derives every project module as the fast path would and rewrites the archive from them, which
/// must give PyInstaller's bytes; then checks that swapping the archive in the executable gives
/// objcopy's bytes for every alignment. Returns the base's hash.
fn self_test(dir: &SpecDir, snapshot: &mut Snapshot, python: &Python, project: &Project) -> Result<String, String> {
    let scratch = Scratch::new(dir)?;
    let derived = derive(&scratch, python, project, &snapshot.modules, &snapshot.process, None)?;
    for (m, d) in snapshot.modules.iter_mut().zip(derived) {
        if let Some(error) = &d.error {
            return Err(error.clone());
        }
        m.derived = d;
    }
    let base = fs::read(dir.fastpath().join("base")).map_err(|e| e.to_string())?;
    let exe = Onefile::parse(&base)?;
    let ours = rewrite(exe.pkg(), &snapshot.modules)?;
    if ours != exe.pkg() {
        return Err(format!(
            "the rewritten PKG differs from PyInstaller's {}",
            difference(&scratch, python, &ours, exe.pkg())
        ));
    }
    // objcopy's layout depends on the PKG's length alone: one PKG of each length modulo the
    // header table's alignment shows the executable is the bootloader plus the PKG, nothing else.
    let bootloader = dir.fastpath().join("bootloader");
    for len in 1..=8 {
        let pkg = vec![len as u8; len];
        if elf::objcopy(&bootloader, &pkg, scratch.path())? != exe.with_pkg(&pkg).to_vec() {
            return Err(format!("the executable differs from objcopy's with a PKG of {len} bytes"));
        }
    }
    Ok(blake3::hash(&base).to_hex().to_string())
}

/// Where the self-test's PKG first differs from PyInstaller's, for its message: the entry, and
/// the first differing byte of its contents (a compressed entry is inflated by the build's
/// interpreter: the crate links no zlib for a message).
fn difference(scratch: &Scratch, python: &Python, ours: &[u8], theirs: &[u8]) -> String {
    let Some(d) = archive::first_difference(ours, theirs) else {
        return "in its index".into();
    };
    let (what, a, b) = match d.compressed {
        true => match (helper::inflate(scratch, python, d.ours), helper::inflate(scratch, python, d.theirs)) {
            (Some(a), Some(b)) => ("of its uncompressed contents", a, b),
            _ => ("of its compressed bytes", d.ours.to_vec(), d.theirs.to_vec()),
        },
        false => ("of its contents", d.ours.to_vec(), d.theirs.to_vec()),
    };
    if a == b {
        return format!(
            "in the {}'s entry {}, whose contents are the same: it is compressed otherwise",
            d.archive, d.name
        );
    }
    let at = archive::first_offset(&a, &b);
    let byte = |v: &[u8]| v.get(at).map_or("the end".to_string(), |b| format!("{b:#04x}"));
    format!(
        "in the {}'s entry {}, at byte {at} {what} ({} here, {} in PyInstaller's)",
        d.archive,
        d.name,
        byte(&a),
        byte(&b)
    )
}

/// Whether the fast path applies to the current sources: what to rewrite, or why not. `state` and
/// the snapshot describe the last stock build.
pub(crate) fn check(
    dir: &SpecDir,
    state: &State,
    context: &str,
    project: &Project,
    inputs: &BTreeSet<String>,
    traced: bool,
) -> Result<Changes, String> {
    let snapshot = snapshot::read(dir).ok_or("the last full build left no snapshot")?;
    if let Some(why) = snapshot.disabled {
        return Err(why);
    }
    let base_hash = snapshot.base_hash.ok_or("the snapshot was not self-tested")?;
    // A new or deleted file may be imported, or become a module or package, where PyInstaller
    // looks: only its analysis can tell. After a completely traced run, where it looked is in
    // the context (its folder listings, module lookups and existence checks), so only the
    // files it used count here: a new icon or Rust file beside them changes nothing.
    let used = |f: &&String| !traced || inputs.contains(*f);
    let (old, new): (BTreeSet<_>, BTreeSet<_>) =
        (state.files.keys().filter(used).collect(), project.files.keys().filter(used).collect());
    if let Some(added) = new.difference(&old).next() {
        return Err(format!("{added} is a new file"));
    }
    if let Some(removed) = old.difference(&new).next() {
        return Err(format!("{removed} was removed"));
    }
    if state.context != context {
        return Err("the toolchain, environment, settings or set of folders changed".into());
    }
    // A data file's execute bit decides how PyInstaller packs it (as a binary, so the bit is
    // restored); no archive entry the fast path rewrites shows it.
    if let Some(rel) = inputs.iter().find(|i| state.executable.contains(*i) != project.executable.contains(*i)) {
        return Err(format!("the execute bit of {rel} changed"));
    }
    // A link is packed as a link (PyInstaller 6): which file is one is no archive entry's body.
    if let Some(rel) = inputs.iter().find(|i| state.links.get(*i) != project.links.get(*i)) {
        return Err(format!("{rel} became or stopped being a symbolic link, or points elsewhere"));
    }
    let mut changed = Vec::new();
    for rel in inputs.iter().filter(|i| state.files.get(*i) != project.files.get(*i).map(|h| hex(h)).as_ref()) {
        // Every entry made from the file: an entry script another module also imports is a PKG
        // script and a PYZ module, and a file under two `pathex` folders is two modules.
        let modules: Vec<&Module> = snapshot.modules.iter().filter(|m| &m.path == rel).collect();
        if modules.is_empty() {
            return Err(format!("{rel} changed and is not a module in the archive"));
        }
        // Run while PyInstaller ran (by the spec, or a hook's child): it can change what the
        // build does (its hidden imports, say), which no archive entry shows.
        if state.reads.imported.contains(rel) {
            return Err(format!("{rel} is imported by the spec or a hook while PyInstaller runs"));
        }
        // Read, not imported (`open().read()`, `runpy.run_path`): the same, seen in the record.
        if state.reads.consulted.contains(rel) {
            return Err(format!("{rel} is read by the spec, a hook or a child process while PyInstaller runs"));
        }
        // Its source is in the archive a second time, as a data file (`module_collection_mode`
        // `py` or `pyz+py`), which the fast path does not rewrite.
        if state.reads.data.contains(rel) {
            return Err(format!("{rel} is also collected as a data file"));
        }
        for module in &modules {
            if module.hooked {
                return Err(format!("a hook targets {}", module.name));
            }
            if let Some(why) = &module.refuse {
                return Err(why.clone());
            }
        }
        changed.extend(modules.into_iter().cloned());
    }
    if changed.is_empty() {
        return Err("no project module changed".into());
    }
    for (path, size, mtime) in &snapshot.others {
        if stat(path) != Some((*size, *mtime)) {
            return Err(format!("{} changed", path.display()));
        }
    }
    Ok(Changes { modules: changed, base_hash, process: snapshot.process, kept: snapshot.kept })
}

fn stat(path: &Path) -> Option<(u64, u128)> {
    let m = fs::metadata(path).ok()?;
    let mtime = m.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos();
    Some((m.len(), mtime))
}

/// Compiles the changed modules in `python` and rewrites them into the snapshot's archive; returns
/// the new executable (in extract-once mode, `launch`, the installed file packing the onedir
/// folder with the new program), or why the fast path was refused.
pub(crate) fn run(
    dir: &SpecDir,
    python: &Python,
    project: &Project,
    changes: &Changes,
    binary_name: &str,
    launch: Option<&Launcher>,
) -> Result<Output, String> {
    let changed = &changes.modules;
    let scratch = Scratch::new(dir)?;
    // The interpreter compiles while the base is read and checked.
    let graph = dir.fastpath().join("graph.json");
    let (derived, base) = std::thread::scope(|s| {
        let derived = s.spawn(|| derive(&scratch, python, project, changed, &changes.process, Some(&graph)));
        let base =
            fs::read(dir.fastpath().join("base")).map_err(|e| e.to_string()).and_then(|base| {
                match blake3::hash(&base).to_hex().as_str() == changes.base_hash {
                    true => Ok(base),
                    false => Err("the snapshot was modified after its self-test".to_string()),
                }
            });
        (derived.join().unwrap_or_else(|_| Err("the helper thread panicked".into())), base)
    });
    let (derived, base) = (derived?, base?);
    let mut modules = Vec::new();
    for (module, derived) in changed.iter().zip(derived) {
        if let Some(error) = derived.error {
            return Err(error);
        }
        if derived.fingerprint != module.derived.fingerprint {
            // Judged by the helper against the analysis the snapshot recorded, or not at all.
            if module.derived.analysis.is_none() || derived.analysis.is_none() {
                return Err(format!("{}'s imports or global names changed", module.path));
            }
            if let Some(why) = derived.refused {
                return Err(why);
            }
        }
        modules.push(Module { derived, ..module.clone() });
    }
    // Compiled from what the fingerprint was taken of, or not at all.
    for m in changed.iter() {
        if hash_file(&project.path(&m.path)).ok().as_ref() != project.files.get(&m.path) {
            return Err(format!("{} changed during the fast path", m.path));
        }
    }
    let base = Onefile::parse(&base)?;
    let pkg = rewrite(base.pkg(), &modules)?;
    let write =
        |path: &Path| base.with_pkg(&pkg).write(path).map_err(|e| format!("could not write {}: {e}", path.display()));
    // The snapshot's mode is the build's (the mode is in the context `check` compared), or not
    // at all: a onedir program is never installed as a onefile binary.
    let (path, hash, unpacked) = match (launch, changes.kept.as_ref()) {
        (None, None) => {
            let path = scratch.path().join(binary_name);
            let hash = write(&path)?;
            (path, hash, None)
        }
        (Some(launcher), Some(kept)) => {
            let write = |p: &Path| write(p).map(drop);
            let (path, hash, folder) = onedir::repack(dir, &scratch, launcher, kept, binary_name, write)?;
            // A resource folder's packed form is no program: it is unpacked where it is installed.
            (path, hash, launcher.path.is_some().then_some(folder))
        }
        _ => return Err("the last build was in another launch mode".into()),
    };
    Ok(Output { path, hash, unpacked, _scratch: scratch })
}

/// The base PKG with these modules' entries replaced.
fn rewrite(base: &[u8], modules: &[Module]) -> Result<Vec<u8>, String> {
    let pkg = Pkg::parse(base)?;
    let blobs: Vec<(&Module, Vec<u8>)> =
        modules.iter().map(|m| m.derived.blob(&m.name).map(|b| (m, b))).collect::<Result<_, _>>()?;
    let pyz_entry = pkg.entries.iter().find(|e| e.typecode == b'z' && !e.compressed).ok_or("the PKG has no PYZ")?;
    let pyz = Pyz::parse(pyz_entry.blob)?;
    let mut in_pyz = HashMap::new();
    let mut in_pkg = HashMap::new();
    for (m, blob) in &blobs {
        if m.kind == "pyz" {
            pyz.modules.iter().find(|e| e.name == m.name).ok_or_else(|| format!("{} is not in the PYZ", m.name))?;
            in_pyz.insert(m.name.as_str(), &blob[..]);
        } else {
            let e =
                pkg.entries.iter().find(|e| e.name == m.name).ok_or_else(|| format!("{} is not in the PKG", m.name))?;
            let length = if e.compressed { m.derived.length.ok_or("no script length")? } else { blob.len() as u32 };
            in_pkg.insert(m.name.as_str(), (&blob[..], length));
        }
    }
    let new_pyz = pyz.rewrite(&in_pyz);
    in_pkg.insert(pyz_entry.name.as_str(), (&new_pyz[..], new_pyz.len() as u32));
    Ok(pkg.rewrite(&in_pkg))
}
