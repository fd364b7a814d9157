//! Onedir sidecars shipped through Tauri's `bundle.resources`: a sidecar with a `resource` key is
//! built onedir (as in extract-once mode, src/launch/) and installed as that folder, which the
//! app starts as `$RESOURCE/<folder>/<program>`.
//!
//! Until it is installed the sidecar is one file, the folder's packed form (the payload of
//! `build-support/pack.py` behind an empty launcher: `launch::Launcher::folder`), so the
//! fingerprint, the store, the shared cache and the smoke test's inputs treat it as any binary.
//! Installing it: [`stage`] unpacks that file into a hidden sibling of the folder (where the smoke
//! test runs the program), then [`install`] moves the old folder aside, renames the staged one
//! into place and removes the old one. The stamp records a digest of the installed folder
//! ([`digest`]): a crash between the renames leaves the folder missing, or not what the stamp
//! says, and the next build installs it again.

use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::launch::launcher;
use crate::tauri_config::{normalize, TauriConfig};
use std::fs;
use std::path::{Path, PathBuf};

/// The program's file name in the folder: the trailer's name, with `.exe` on Windows.
pub(crate) fn program_file(name: &str, target: &str) -> String {
    match target.contains("windows") && !name.ends_with(".exe") {
        true => format!("{name}.exe"),
        false => name.to_string(),
    }
}

/// Whether an entry of `bundle.resources` (a list's item or a map's key, relative to the app
/// folder) bundles every file under `folder` (relative too). Tauri walks a plain path that is a
/// folder recursively, while a glob's matches are only the files it names (a folder it matches
/// is skipped): `main/*` would leave `_internal/` out, `main/**/*` takes everything.
fn covers(entry: &str, folder: &Path) -> bool {
    let base = entry.strip_suffix("/**/*").or_else(|| entry.strip_suffix("/**")).unwrap_or(entry);
    !base.contains(['*', '?', '[']) && folder.starts_with(normalize(Path::new(base)))
}

/// Checks that the Tauri config bundles the resource folder of sidecar `key`: one clear error
/// naming the sidecar, the folder and the line to add otherwise.
pub(crate) fn check_covered(config: &TauriConfig, key: &str, folder: &str) -> Result<()> {
    let entries = config.resources();
    let wanted = normalize(Path::new(folder));
    if entries.iter().any(|e| covers(e, &wanted)) {
        return Ok(());
    }
    let name = &config.name;
    let listed = match entries.is_empty() {
        true => "it lists none".to_string(),
        false => format!("it lists {}", entries.iter().map(|e| format!("\"{e}\"")).collect::<Vec<_>>().join(", ")),
    };
    Err(Error::new(
        ErrorKind::Config,
        format!(
            "pyinstaller-build: the sidecar `{key}` is installed as the folder `{folder}` (resource = \"{folder}\"), but \
             \"bundle\": {{ \"resources\": [...] }} in {name} does not bundle all of it ({listed}; a glob other than \
             `<folder>/**/*` leaves its subfolders out), so the app would not find it.\n\
             Fix: add \"{}/\" to \"resources\" in {name}, or set `resource` to the folder it bundles.",
            wanted.display().to_string().replace('\\', "/")
        ),
    ))
}

/// A resource folder unpacked next to where it goes, not yet in place. Dropped before
/// [`install`] took it (a failed smoke test, a failed build), it is removed.
#[derive(Debug)]
pub(crate) struct Staged {
    pub dir: PathBuf,
    /// The program in it.
    pub program: PathBuf,
    /// blake3 of the packed file it came from.
    pub packed_hash: String,
    /// [`digest`] of `dir`.
    pub digest: String,
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Gone already once installed (renamed into place).
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Unpacks `packed` (whose blake3 is `packed_hash`) into a new hidden sibling of `target`, after
/// removing what an interrupted build left there (the crate's build lock is held: no other build
/// of this app is staging now).
pub(crate) fn stage(packed: &Path, packed_hash: &str, target: &Path, target_triple: &str) -> Result<Staged> {
    let parent = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).at("could not create", parent)?;
    remove_leftovers(target);
    let dir = sibling(target, "staging");
    let mut file = fs::File::open(packed).at("could not open", packed)?;
    let trailer = launcher::read_trailer(&mut file)
        .map_err(|why| Error::new(ErrorKind::BuildFailed, format!("pyinstaller-build: {}: {why}", packed.display())))?;
    // Made first: a failed unpack leaves nothing behind once it is dropped.
    let mut staged = Staged {
        program: dir.join(program_file(&trailer.name, target_triple)),
        dir,
        packed_hash: packed_hash.to_string(),
        digest: String::new(),
    };
    launcher::unpack(&mut file, &trailer, &staged.dir).at("could not unpack into", &staged.dir)?;
    staged.digest = digest(&staged.dir)
        .ok_or_else(|| Error::io("could not read", &staged.dir, std::io::Error::other("unreadable")))?;
    Ok(staged)
}

/// `.<folder name>.<what>-<unique>` next to `target`.
fn sibling(target: &Path, what: &str) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}.{what}-{}", crate::fsutil::unique()))
}

/// Staging folders and old folders set aside by an interrupted install of `target`.
pub(crate) fn remove_leftovers(target: &Path) {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let ours = |n: &str| [".staging-", ".old-"].iter().any(|w| n.starts_with(&format!(".{name}{w}")));
    let parent = target.parent().unwrap_or(Path::new("."));
    for e in fs::read_dir(parent).into_iter().flatten().flatten() {
        if ours(&e.file_name().to_string_lossy()) {
            let _ = match e.file_type().is_ok_and(|t| t.is_dir()) {
                true => fs::remove_dir_all(e.path()),
                false => fs::remove_file(e.path()),
            };
        }
    }
}

/// Puts the staged folder at `target` unless `target` already holds the same tree; returns
/// whether it wrote. A folder there that the crate did not make (not a PyInstaller onedir
/// folder, not a placeholder, not empty) is refused, never replaced.
pub(crate) fn install(staged: Staged, target: &Path) -> Result<bool> {
    if digest(target).is_some_and(|d| d == staged.digest) {
        return Ok(false);
    }
    // A file or a symbolic link there is the app's own: never renamed aside and lost.
    if fs::symlink_metadata(target).is_ok_and(|m| !m.is_dir()) {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "pyinstaller-build: {} is a file, not a folder, so it is not replaced by the sidecar's folder.\nFix: \
                 move it elsewhere, or point `resource` at a folder of the sidecar's own.",
                target.display()
            ),
        ));
    }
    if target.is_dir() && !replaceable(target, &staged) {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "pyinstaller-build: {} is a folder the crate did not make (no PyInstaller program or `_internal` folder \
                 in it), so it is not replaced by the sidecar.\nFix: move what it holds elsewhere, or point `resource` \
                 at a folder of the sidecar's own.",
                target.display()
            ),
        ));
    }
    swap(&staged.dir, target, &|from, to| fs::rename(from, to))?;
    Ok(true)
}

/// Whether the folder at `target` may be replaced: empty, a placeholder, or a onedir build.
fn replaceable(target: &Path, staged: &Staged) -> bool {
    let program = target.join(staged.program.file_name().unwrap_or_default());
    let empty = fs::read_dir(target).is_ok_and(|mut d| d.next().is_none());
    empty || program.is_file() || target.join("_internal").is_dir()
}

/// Moves `target` aside (if there), renames `staging` to `target`, removes the old folder. A
/// failure of the second rename puts the old folder back. A crash between the two leaves no
/// folder at `target`, which no stamp holds: the next build installs it again.
fn swap(staging: &Path, target: &Path, rename: &dyn Fn(&Path, &Path) -> std::io::Result<()>) -> Result<()> {
    let aside = sibling(target, "old");
    let moved = match fs::symlink_metadata(target) {
        Ok(_) => match rename(target, &aside) {
            Ok(()) => true,
            Err(e) => {
                let in_use = e.kind() == std::io::ErrorKind::PermissionDenied;
                let error = Error::io("could not replace", target, e);
                return Err(match in_use {
                    true => error.note("A program in it is probably running (the app): close it and build again."),
                    false => error,
                });
            }
        },
        Err(_) => false,
    };
    if let Err(e) = rename(staging, target) {
        if moved {
            let _ = rename(&aside, target);
        }
        return Err(Error::io("could not replace", target, e));
    }
    let _ = fs::File::open(target.parent().unwrap_or(Path::new("."))).and_then(|d| d.sync_all());
    // Fails only where a program still runs from it (Windows); a later install removes it.
    let _ = fs::remove_dir_all(&aside);
    Ok(())
}

/// blake3 of a folder's tree: each entry's path, kind, executable bit and content (a link's
/// target), in sorted order. `None` when `folder` is not a folder.
pub(crate) fn digest(folder: &Path) -> Option<String> {
    if !fs::symlink_metadata(folder).ok()?.is_dir() {
        return None;
    }
    let mut hash = blake3::Hasher::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let mut names: Vec<_> = fs::read_dir(folder.join(&rel)).ok()?.flatten().map(|e| e.file_name()).collect();
        names.sort();
        // Folders are walked after this one's entries, in reverse so they come out sorted.
        let mut folders = Vec::new();
        for name in names {
            let rel = rel.join(&name);
            let path = folder.join(&rel);
            let meta = fs::symlink_metadata(&path).ok()?;
            let id = rel.to_string_lossy().replace('\\', "/");
            hash.update(&(id.len() as u64).to_le_bytes()).update(id.as_bytes());
            if meta.is_symlink() {
                let to = fs::read_link(&path).ok()?;
                hash.update(b"l").update(to.as_os_str().as_encoded_bytes()).update(b"\0");
            } else if meta.is_dir() {
                hash.update(b"d");
                folders.push(rel);
            } else {
                hash.update(if crate::install::executable(&path) { b"x" } else { b"f" });
                hash.update(&meta.len().to_le_bytes());
                hash.update_reader(fs::File::open(&path).ok()?).ok()?;
            }
        }
        stack.extend(folders.into_iter().rev());
    }
    Some(hash.finalize().to_hex().to_string())
}

/// Removes an installed folder whole (moved aside first, so it is there or gone); whether it went.
pub(crate) fn remove(folder: &Path) -> bool {
    let aside = sibling(folder, "old");
    fs::rename(folder, &aside).is_ok() && {
        let _ = fs::remove_dir_all(&aside);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX: &str = "x86_64-unknown-linux-gnu";

    /// A packed folder as `launch::pack_folder` makes it for a resource folder (no launcher).
    fn packed(dir: &Path, files: &[(&str, &[u8])]) -> (PathBuf, String) {
        let src = dir.join("src");
        for (rel, bytes) in files {
            let path = src.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, bytes).unwrap();
        }
        let out = dir.join("main");
        let python = which::which("python3").unwrap();
        let launcher = crate::launch::Launcher::folder();
        crate::launch::pack_folder(&launcher, &python, &[], &src, "main", &out, None).unwrap();
        let hash = crate::hashing::hex(&crate::hashing::hash_file(&out).unwrap());
        (out, hash)
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        n.sort();
        n
    }

    #[test]
    fn a_packed_folder_is_staged_beside_its_place_and_renamed_into_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (file, hash) = packed(tmp.path(), &[("main", b"#!/bin/sh\necho v1\n"), ("_internal/lib.py", b"x = 1\n")]);
        let target = tmp.path().join("app/bin/python/main");
        let staged = stage(&file, &hash, &target, LINUX).unwrap();
        assert_eq!(staged.dir.parent(), target.parent(), "a sibling: the rename stays on one file system");
        assert!(staged.dir.file_name().unwrap().to_string_lossy().starts_with(".main.staging-"));
        assert_eq!(fs::read(&staged.program).unwrap(), b"#!/bin/sh\necho v1\n");
        let want = staged.digest.clone();
        assert!(install(staged, &target).unwrap());
        assert_eq!(digest(&target), Some(want.clone()));
        assert_eq!(names(target.parent().unwrap()), ["main"], "nothing else left beside it");
        assert_eq!(fs::read(target.join("_internal/lib.py")).unwrap(), b"x = 1\n");
        // The same tree again: nothing written.
        let again = stage(&file, &hash, &target, LINUX).unwrap();
        assert!(!install(again, &target).unwrap());
        assert_eq!(names(target.parent().unwrap()), ["main"], "the unused staging folder went with it");
        // A new build replaces it whole: no file of the old tree stays.
        let (file, hash) = packed(&tmp.path().join("v2"), &[("main", b"#!/bin/sh\necho v2\n")]);
        assert!(install(stage(&file, &hash, &target, LINUX).unwrap(), &target).unwrap());
        assert_eq!(names(&target), ["main"]);
        assert_ne!(digest(&target), Some(want));
        assert!(remove(&target) && !target.exists());
    }

    #[test]
    fn a_crash_between_the_renames_leaves_no_folder_a_later_build_trusts() {
        let tmp = tempfile::tempdir().unwrap();
        let (old, old_hash) = packed(&tmp.path().join("a"), &[("main", b"old"), ("_internal/a", b"a")]);
        let (new, new_hash) = packed(&tmp.path().join("b"), &[("main", b"new"), ("_internal/b", b"b")]);
        let target = tmp.path().join("bin/main");
        assert!(install(stage(&old, &old_hash, &target, LINUX).unwrap(), &target).unwrap());
        let recorded = digest(&target).unwrap();
        // The process dies right after moving the old folder aside: the second rename never runs.
        let staged = stage(&new, &new_hash, &target, LINUX).unwrap();
        let calls = std::cell::Cell::new(0);
        let crash = |from: &Path, to: &Path| {
            calls.set(calls.get() + 1);
            match calls.get() {
                1 => fs::rename(from, to),
                _ => panic!("killed"),
            }
        };
        let dir = staged.dir.clone();
        let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| swap(&dir, &target, &crash)));
        assert!(died.is_err());
        std::mem::forget(staged); // A dead process cleans nothing up.
        assert!(!target.exists(), "no half folder at the target");
        assert_eq!(digest(&target), None, "so the stamp's record does not hold and the next build installs");
        // The next build: leftovers (the staging and the old folder) go, the new folder goes in.
        assert_eq!(names(tmp.path().join("bin").as_path()).len(), 2);
        assert!(install(stage(&new, &new_hash, &target, LINUX).unwrap(), &target).unwrap());
        assert_eq!(names(tmp.path().join("bin").as_path()), ["main"]);
        assert_ne!(digest(&target).unwrap(), recorded);
        assert_eq!(fs::read(target.join("main")).unwrap(), b"new");
        // A failing second rename puts the old folder back.
        let (file, hash) = packed(&tmp.path().join("c"), &[("main", b"third")]);
        let staged = stage(&file, &hash, &target, LINUX).unwrap();
        let calls = std::cell::Cell::new(0);
        let fails = |from: &Path, to: &Path| {
            calls.set(calls.get() + 1);
            match calls.get() {
                2 => Err(std::io::Error::other("disk full")),
                _ => fs::rename(from, to),
            }
        };
        assert!(swap(&staged.dir, &target, &fails).is_err());
        assert_eq!(fs::read(target.join("main")).unwrap(), b"new", "the installed folder is kept");
    }

    #[test]
    fn a_folder_the_crate_did_not_make_is_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let (file, hash) = packed(tmp.path(), &[("main", b"prog")]);
        let target = tmp.path().join("res/main");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("notes.txt"), b"the user's").unwrap();
        let e = install(stage(&file, &hash, &target, LINUX).unwrap(), &target).unwrap_err().to_string();
        assert!(e.contains("a folder the crate did not make") && e.contains("point `resource`"), "{e}");
        assert_eq!(names(&target), ["notes.txt"]);
        assert_eq!(names(tmp.path().join("res").as_path()), ["main"], "the staging folder is removed");
        // A file at the folder's place is the app's own too.
        let file_there = tmp.path().join("res/other");
        fs::write(&file_there, b"the user's file").unwrap();
        let e = install(stage(&file, &hash, &file_there, LINUX).unwrap(), &file_there).unwrap_err().to_string();
        assert!(e.contains("is a file, not a folder"), "{e}");
        assert_eq!(fs::read(&file_there).unwrap(), b"the user's file");
        fs::remove_file(&file_there).unwrap();
        // An old onedir build (its program there) and a placeholder folder are replaced.
        fs::write(target.join("main"), crate::skip::placeholder_text("main")).unwrap();
        assert!(install(stage(&file, &hash, &target, LINUX).unwrap(), &target).unwrap());
        assert_eq!(names(&target), ["main"]);
    }

    #[test]
    fn the_digest_sees_content_names_and_the_execute_bit() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("d");
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("sub/a"), b"1").unwrap();
        let first = digest(&d).unwrap();
        fs::write(d.join("sub/a"), b"2").unwrap();
        let second = digest(&d).unwrap();
        assert_ne!(first, second);
        fs::rename(d.join("sub/a"), d.join("sub/b")).unwrap();
        assert_ne!(digest(&d).unwrap(), second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let before = digest(&d).unwrap();
            fs::set_permissions(d.join("sub/b"), fs::Permissions::from_mode(0o755)).unwrap();
            assert_ne!(digest(&d).unwrap(), before);
        }
        assert_eq!(digest(&tmp.path().join("none")), None);
    }

    #[test]
    fn resources_must_bundle_the_whole_folder() {
        let folder = Path::new("bin/python/main");
        for yes in ["bin/python/main/", "bin/python/main", "./bin/python/", "bin", "bin/python/main/**/*", "bin/**"] {
            assert!(covers(yes, folder), "{yes}");
        }
        for no in ["bin/python/main/*", "bin/python/other/", "bin/python/main/main", "bin/*/main/"] {
            assert!(!covers(no, folder), "{no}");
        }
        let tmp = tempfile::tempdir().unwrap();
        let conf = |text: &str| {
            fs::write(tmp.path().join("tauri.conf.json"), text).unwrap();
            TauriConfig::read(tmp.path(), "linux", None).unwrap()
        };
        // A list, and a map (its keys are the sources).
        assert!(check_covered(&conf(r#"{"bundle": {"resources": ["bin/python/main/"]}}"#), "main", "bin/python/main")
            .is_ok());
        let map = conf(r#"{"bundle": {"resources": {"bin/python/main/": "python/"}}}"#);
        assert!(check_covered(&map, "main", "bin/python/main").is_ok());
        let e = check_covered(&conf(r#"{"bundle": {"resources": ["bin/python/main/*"]}}"#), "main", "bin/python/main")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the sidecar `main` is installed as the folder `bin/python/main`")
                && e.contains("it lists \"bin/python/main/*\"")
                && e.contains("add \"bin/python/main/\" to \"resources\" in tauri.conf.json"),
            "{e}"
        );
        let e = check_covered(&conf(r#"{"bundle": {}}"#), "main", "bin/python/main").unwrap_err().to_string();
        assert!(e.contains("it lists none"), "{e}");
    }
}
