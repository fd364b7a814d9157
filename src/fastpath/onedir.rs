//! The fast path in extract-once mode, where the installed file is the launcher carrying the spec's
//! onedir folder packed (`src/launch/`).
//!
//! Why rewriting the onedir program is enough (PyInstaller 6, `building/api.py`): with
//! `exclude_binaries` (onedir), `PKG.assemble` keeps the PYZ, the entry scripts and the options in
//! the archive and hands every `BINARY`, `EXTENSION`, `DATA` and `ZIPFILE` entry on as a
//! dependency; `EXE.assemble` builds the program in the work folder exactly as in onefile (the
//! bootloader, then on Linux `objcopy --add-section pydata=<PKG>`); `COLLECT.assemble` copies that
//! program into the folder with `shutil.copyfile` and copies the dependencies beside it in
//! `_internal/`. So the program is the onefile form's executable with a smaller PKG, the project's
//! modules reach the folder only through that PKG (a project file COLLECT copies as data makes the
//! snapshot refuse its module, `build-support/fastpath.py`), and every other file of the folder is
//! a copy of an input that did not change. The same rewrite and self-test as in onefile mode
//! apply to the program; this module adds the folder and its packing:
//!
//! 1. after a stock build, the installed file's payload is kept and the kept folder re-packed
//!    from it by `pack.py`, in a fresh process: that must give the installed file's bytes (so the
//!    folder's files are the payload's members), and so must putting the program's entry alone
//!    in place (`launch::repack_program`); then every other entry of the folder is recorded with
//!    its digest ([`Kept`]). Otherwise the fast path is off for the spec;
//! 2. a fast path mirrors the kept folder with the new program in it, checks that every other
//!    entry is still the recorded one, and puts the new program's entry in place of the old one:
//!    `pack.py` writes a folder as its entries one after another, each depending only on its own
//!    file, and stores the program (no compression to reproduce), so this is what packing the
//!    whole folder gives. The smoke test starts that folder through the launcher without
//!    unpacking it (`launch::seed_cache`): every member but the program is the last smoke-tested
//!    payload's, byte for byte.

use super::helper::{Python, Scratch};
use crate::launch::{self, Base, Launcher};
use crate::workdir::SpecDir;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The last stock build's payload, kept beside the snapshot.
fn payload(dir: &SpecDir) -> PathBuf {
    dir.fastpath().join("payload")
}

/// What the onedir self-test proved of the kept folder: the fast path trusts it while both hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Kept {
    /// blake3 of the installed file's payload, kept beside the snapshot.
    pub payload_hash: String,
    /// Every entry of the kept folder but the program (`listing`).
    pub entries: BTreeMap<String, String>,
}

/// After the program's self-test: keeps the installed file's payload and checks that re-packing
/// the kept folder from it with `pack.py` gives the installed file, the program compressed anew
/// in a fresh process (so the folder's files are the payload's), and that putting the program's
/// entry alone in place (`launch::repack_program`, the fast path's way) gives it too.
pub(super) fn self_test(
    dir: &SpecDir,
    launcher: &Launcher,
    python: &Python,
    installed: &Path,
    program: &str,
) -> Result<Kept, String> {
    let packed = fs::read(installed).map_err(|e| format!("could not read {}: {e}", installed.display()))?;
    // A resource folder's packed form has no launcher in front.
    let launcher_len = match &launcher.path {
        Some(path) => fs::metadata(path).map_err(|e| e.to_string())?.len() as usize,
        None => 0,
    };
    let payload_bytes =
        launch::payload_of(&packed, launcher_len).ok_or("the installed file is not the launcher and a payload")?;
    crate::fsutil::write_atomic(&payload(dir), payload_bytes, false).map_err(|e| e.to_string())?;
    let scratch = Scratch::new(dir)?;
    let kept = launch::kept(&dir.root);
    let out = scratch.path().join(program);
    pack(launcher, python, &kept, program, &out, &payload(dir))?;
    if fs::read(&out).map_err(|e| e.to_string())? != packed {
        return Err("re-packing the onedir folder does not give the installed file's bytes".into());
    }
    let entries = listing(&kept, program)?;
    launch::repack_program(launcher, payload_bytes, &kept.join(program), program, &out)?;
    if fs::read(&out).map_err(|e| e.to_string())? != packed {
        return Err("putting the program's entry in place does not give the installed file's bytes".into());
    }
    Ok(Kept { payload_hash: blake3::hash(payload_bytes).to_hex().to_string(), entries })
}

/// The installed file for the kept folder with `program` replaced by `write`'s file: its path in
/// `scratch`, its hash, and the folder it packs (in `scratch`). Only the program's entry is
/// encoded anew; the folder's other entries must be the self-tested ones.
pub(super) fn repack(
    dir: &SpecDir,
    scratch: &Scratch,
    launcher: &Launcher,
    kept: &Kept,
    program: &str,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(PathBuf, blake3::Hash, PathBuf), String> {
    let base = fs::read(payload(dir)).map_err(|e| format!("could not read the kept payload: {e}"))?;
    if blake3::hash(&base).to_hex().as_str() != kept.payload_hash {
        return Err("the kept payload was modified after its self-test".into());
    }
    let folder = scratch.path().join("onedir");
    mirror(&launch::kept(&dir.root), &folder, Some(program))?;
    write(&folder.join(program))?;
    // Beside the folder, not in it: the folder and the program usually share a name.
    let out = scratch.path().join("packed").join(program);
    fs::create_dir_all(scratch.path().join("packed")).map_err(|e| e.to_string())?;
    let now = listing(&folder, program)?;
    if now != kept.entries {
        let differs = now.keys().chain(kept.entries.keys()).find(|k| now.get(*k) != kept.entries.get(*k));
        return Err(format!("{} in the onedir folder is not the last build's", differs.map_or("a file", |k| k)));
    }
    launch::repack_program(launcher, &base, &folder.join(program), program, &out)?;
    let bytes = fs::read(&out).map_err(|e| format!("could not read {}: {e}", out.display()))?;
    Ok((out, blake3::hash(&bytes), folder))
}

/// Every entry of `folder` but its top-level `program`, by its '/'-separated path: `d` for a
/// folder, `l <target>` for a link, `f <0o755 or 0o644, as pack.py records it> <blake3>` for a file.
fn listing(folder: &Path, program: &str) -> Result<BTreeMap<String, String>, String> {
    fn walk(dir: &Path, rel: &str, skip: Option<&str>, out: &mut BTreeMap<String, String>) -> std::io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if skip == Some(name.as_str()) {
                continue;
            }
            let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let kind = entry.file_type()?;
            let what = if kind.is_symlink() {
                format!("l {}", fs::read_link(entry.path())?.display())
            } else if kind.is_dir() {
                walk(&entry.path(), &path, None, out)?;
                "d".to_string()
            } else {
                let digest = crate::hashing::hash_file(&entry.path()).map_err(std::io::Error::other)?;
                format!("f {:o} {}", launch::file_mode(&entry.path())?, crate::hashing::hex(&digest))
            };
            out.insert(path, what);
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(folder, "", Some(program), &mut out).map_err(|e| format!("could not read {}: {e}", folder.display()))?;
    Ok(out)
}

/// `launch::pack_folder` from the kept payload, the program always compressed anew; an error
/// unless the folder held the payload's entries and nothing but the program differed.
fn pack(
    launcher: &Launcher,
    python: &Python,
    folder: &Path,
    program: &str,
    out: &Path,
    base: &Path,
) -> Result<(), String> {
    let base = Base { payload: base, fresh: &[program] };
    let repacked = launch::pack_folder(launcher, python.python, python.env, folder, program, out, Some(base))?
        .ok_or("pack.py gave no answer")?;
    if !repacked.same_entries {
        return Err("the onedir folder's files are not the last build's".into());
    }
    if let Some(other) = repacked.fresh.iter().find(|f| *f != program) {
        return Err(format!("{other} in the onedir folder is not the last build's"));
    }
    Ok(())
}

/// A copy of the folder `from` at `to` (hard links where the file system allows), without its
/// `program`.
fn mirror(from: &Path, to: &Path, program: Option<&str>) -> Result<(), String> {
    let err = |p: &Path, e: std::io::Error| format!("could not mirror {}: {e}", p.display());
    fs::create_dir_all(to).map_err(|e| err(to, e))?;
    for entry in fs::read_dir(from).map_err(|e| err(from, e))? {
        let entry = entry.map_err(|e| err(from, e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| err(&src, e))?;
        if program.is_some_and(|p| entry.file_name() == p) {
            continue;
        } else if kind.is_symlink() {
            let target = fs::read_link(&src).map_err(|e| err(&src, e))?;
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, &dst).map_err(|e| err(&dst, e))?;
            #[cfg(not(unix))]
            return Err(format!("{} is a symbolic link ({})", src.display(), target.display()));
        } else if kind.is_dir() {
            mirror(&src, &dst, None)?;
        } else if fs::hard_link(&src, &dst).is_err() {
            fs::copy(&src, &dst).map_err(|e| err(&src, e))?;
        }
    }
    Ok(())
}

// Symbolic links in the kept folder: Unix.
#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_mirror_is_the_folder_without_its_program() {
        let tmp = tempfile::tempdir().unwrap();
        let (from, to) = (tmp.path().join("kept"), tmp.path().join("mirror"));
        fs::create_dir_all(from.join("_internal/lib")).unwrap();
        fs::write(from.join("app"), b"program").unwrap();
        fs::write(from.join("_internal/lib/a.so"), b"library").unwrap();
        fs::write(from.join("_internal/app"), b"not the program: a file of that name further down").unwrap();
        std::os::unix::fs::symlink("lib/a.so", from.join("_internal/link")).unwrap();
        mirror(&from, &to, Some("app")).unwrap();
        assert!(!to.join("app").exists(), "the program is left for the fast path to write");
        assert_eq!(fs::read(to.join("_internal/lib/a.so")).unwrap(), b"library");
        assert_eq!(fs::read(to.join("_internal/app")).unwrap(), fs::read(from.join("_internal/app")).unwrap());
        assert_eq!(fs::read_link(to.join("_internal/link")).unwrap(), Path::new("lib/a.so"));
        // The kept folder is untouched.
        assert_eq!(fs::read(from.join("app")).unwrap(), b"program");
    }
}
