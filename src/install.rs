//! Putting a fresh binary where Tauri looks, atomically and only when its bytes changed (an
//! unchanged sidecar keeps its mtime, so tauri-build and `tauri dev` stay quiet).

use crate::error::{Error, IoContext, Result};
use std::fs;
use std::path::Path;

/// Copies `src`, whose blake3 is `src_hash`, to `dest` unless `dest` already holds the same
/// bytes; returns whether it wrote. Always a copy of its own, never a hard link to the store's
/// entry: a tool that rewrites the installed sidecar in place (a patcher, a signing step) must not
/// reach the stored binary, which other profiles and later switch-backs install from. On Linux
/// `fs::copy` is `copy_file_range`, which file systems that can (Btrfs, XFS) may serve by
/// sharing the blocks.
pub(crate) fn install(src: &Path, src_hash: &str, dest: &Path) -> Result<bool> {
    let dest_len = fs::metadata(dest).ok().filter(|m| m.is_file()).map(|m| m.len());
    let src_len = fs::metadata(src).at("could not read", src)?.len();
    if dest_len == Some(src_len)
        && executable(dest)
        && crate::project::hex(&crate::project::hash_file(dest)?) == src_hash
    {
        return Ok(false);
    }
    remove_set_aside(dest);
    copy_atomic(src, dest)?;
    Ok(true)
}

/// Whether the owner may run `path` (always on Windows, where no bit says so).
pub(crate) fn executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o100 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// Whether `dest` is a file git tracks, unchanged since it was committed: a placeholder an app
/// commits so that Tauri finds its `externalBin` before the sidecar is built. Asked only before
/// a real install (one `git status`); no git, or no repository, is no.
pub(crate) fn committed(dest: &Path) -> bool {
    let (Some(dir), Some(name)) = (dest.parent(), dest.file_name()) else { return false };
    if !dest.is_file() {
        return false;
    }
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["status", "--porcelain", "--ignored", "--"])
        .arg(name)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    // Tracked and unmodified is the one state `git status` prints nothing for.
    matches!(status, Ok(o) if o.status.success() && o.stdout.is_empty())
}

/// The one note for a committed placeholder the sidecar replaced: git sees it modified from now
/// on, and the build puts the sidecar there anyway (before `tauri_build::build()` looks for it).
pub(crate) fn untrack_note(dest: &Path, name: &str) -> String {
    let file = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!(
        "pyinstaller-build: replaced `{}`, a placeholder committed to git, with the built sidecar; git sees it \
         modified from now on. The build installs the sidecar before Tauri looks for it, so the placeholder is not \
         needed: untrack it once with `git rm --cached {file}` in that folder, and ignore the sidecars there with a \
         `{name}-*` line in its `.gitignore`.",
        dest.display()
    )
}

/// Tauri's `externalBin` file name: `<name>-<target>`, with `.exe` after the triple for Windows
/// targets (tauri-utils' `external_binaries`).
pub(crate) fn sidecar_file_name(name: &str, target: &str) -> String {
    let ext = if target.contains("windows") { ".exe" } else { "" };
    format!("{name}-{target}{ext}")
}

/// Renames `tmp` over `dest`. Windows refuses to replace (or delete) an executable that is
/// running, a sidecar under `tauri dev` say, but lets it be renamed: then the running file is
/// moved aside to `.<name>.<unique>.old` first, and removed by a later install once it has exited.
/// Readers see the old file or the new one, never half of one; if even the rename aside fails,
/// the old file stays and the error says to close the program.
fn replace(tmp: &Path, dest: &Path, rename: &dyn Fn(&Path, &Path) -> std::io::Result<()>) -> Result<()> {
    let Err(first) = rename(tmp, dest) else { return Ok(()) };
    let in_use = first.kind() == std::io::ErrorKind::PermissionDenied && dest.is_file();
    let aside = dest.with_file_name(format!(".{}.{}.old", file_name(dest), unique()));
    if !in_use || rename(dest, &aside).is_err() {
        let _ = fs::remove_file(tmp);
        let error = Error::io("could not replace", dest, first);
        return Err(match in_use {
            true => error.note("It is probably running (the app, or `tauri dev`): close it and build again."),
            false => error,
        });
    }
    rename(tmp, dest).map_err(|e| {
        let _ = rename(&aside, dest);
        let _ = fs::remove_file(tmp);
        Error::io("could not replace", dest, e)
    })?;
    // Fails while the old program still runs; a later install retries.
    let _ = fs::remove_file(&aside);
    Ok(())
}

/// Removes what [`replace`] set aside for `dest` earlier, where the program has exited since.
fn remove_set_aside(dest: &Path) {
    let prefix = format!(".{}.", file_name(dest));
    let dir = dest.parent().unwrap_or(Path::new("."));
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && name.ends_with(".old") {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Copies `src` to `dest` through a temp name and a rename. The copy gets a fresh mtime (a clone
/// may keep the source's), so tools that watch `dest` see a new binary, and mode 755.
fn copy_atomic(src: &Path, dest: &Path) -> Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).at("could not create", dir)?;
    let tmp = temp_path(dest);
    let copied = fs::copy(src, &tmp).and_then(|_| {
        let f = fs::File::options().append(true).open(&tmp)?;
        f.set_modified(std::time::SystemTime::now())?;
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        Ok(())
    });
    if let Err(e) = copied {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("could not copy", src, e));
    }
    replace(&tmp, dest, &|from, to| fs::rename(from, to))
}

/// A temp name next to `dest`.
fn temp_path(dest: &Path) -> std::path::PathBuf {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.join(format!(".{name}.{}.tmp", unique()))
}

/// `<pid>-<n>`, unique per process and per call: two builds (or threads) may write the same
/// file or folder at once.
pub(crate) fn unique() -> String {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

/// Writes through a temp file in the same folder and a rename, so readers see the old file or
/// the new one, never half of one.
pub(crate) fn write_atomic(dest: &Path, bytes: &[u8], executable: bool) -> Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).at("could not create", dir)?;
    let tmp = temp_path(dest);
    fs::write(&tmp, bytes).at("could not write", &tmp)?;
    #[cfg(unix)]
    if executable {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).at("could not set permissions of", &tmp)?;
    }
    #[cfg(not(unix))]
    let _ = executable;
    replace(&tmp, dest, &|from, to| fs::rename(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{hash_file, hex};
    use std::cell::RefCell;
    use std::io::Write;
    use std::time::Duration;

    #[cfg(unix)]
    #[test]
    fn a_sidecar_that_lost_its_execute_bit_is_installed_again() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (src, dest) = (dir.path().join("stored"), dir.path().join("installed"));
        fs::write(&src, b"binary").unwrap();
        let hash = hex(&hash_file(&src).unwrap());
        assert!(install(&src, &hash, &dest).unwrap());
        assert!(!install(&src, &hash, &dest).unwrap(), "same bytes, runnable: nothing written");
        fs::set_permissions(&dest, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!executable(&dest));
        assert!(install(&src, &hash, &dest).unwrap(), "same bytes, not runnable: written again");
        assert!(executable(&dest));
    }

    /// `rename` as Windows does it while `running` holds the executable at that path: it can be
    /// renamed, not replaced. Tracks the running program as it is renamed aside.
    fn windows_rename<'a>(
        running: &'a RefCell<Option<std::path::PathBuf>>,
    ) -> impl Fn(&Path, &Path) -> std::io::Result<()> + 'a {
        move |from, to| {
            if running.borrow().as_deref() == Some(to) {
                return Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
            }
            fs::rename(from, to)?;
            if running.borrow().as_deref() == Some(from) {
                *running.borrow_mut() = Some(to.to_path_buf());
            }
            Ok(())
        }
    }

    #[test]
    fn a_running_sidecar_is_renamed_aside_and_removed_once_it_exits() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("worker-x86_64-pc-windows-msvc.exe");
        fs::write(&dest, b"old").unwrap();
        let running = RefCell::new(Some(dest.clone()));
        let rename = windows_rename(&running);
        let new = tmp.path().join("new.tmp");
        fs::write(&new, b"new").unwrap();
        // While it runs, the remove of the renamed file fails too: emulate by keeping it.
        replace(&new, &dest, &rename).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new", "the new sidecar is in place");
        let aside = running.borrow().clone().unwrap();
        assert_ne!(aside, dest, "the running program was moved aside");
        assert!(aside.file_name().unwrap().to_string_lossy().starts_with(".worker-x86_64-pc-windows-msvc.exe."));
        // (On Unix the remove just succeeded; on Windows it fails while the program runs.)
        fs::write(&aside, b"old").unwrap();
        *running.borrow_mut() = None;
        remove_set_aside(&dest);
        let left: Vec<_> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, [dest.file_name().unwrap()], "the set-aside file is cleaned up once it exited");
    }

    #[test]
    fn a_sidecar_that_cannot_be_moved_is_left_whole_and_the_error_says_to_close_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("worker.exe");
        fs::write(&dest, b"old").unwrap();
        let tmp_file = tmp.path().join("new.tmp");
        fs::write(&tmp_file, b"new").unwrap();
        let locked = |_: &Path, _: &Path| Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        let err = replace(&tmp_file, &dest, &locked).unwrap_err();
        assert!(err.to_string().contains("close it and build again"), "{err}");
        assert_eq!(fs::read(&dest).unwrap(), b"old", "never half-written");
        assert!(!tmp_file.exists(), "the temp file is removed");
    }

    #[test]
    fn sidecar_names_follow_tauri() {
        assert_eq!(sidecar_file_name("w", "x86_64-unknown-linux-gnu"), "w-x86_64-unknown-linux-gnu");
        assert_eq!(sidecar_file_name("w", "x86_64-pc-windows-msvc"), "w-x86_64-pc-windows-msvc.exe");
        assert_eq!(sidecar_file_name("w", "aarch64-pc-windows-gnullvm"), "w-aarch64-pc-windows-gnullvm.exe");
        assert_eq!(sidecar_file_name("w", "universal-apple-darwin"), "w-universal-apple-darwin");
    }

    #[test]
    fn installs_only_changed_bytes_as_a_copy_of_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dest) = (tmp.path().join("src"), tmp.path().join("bin").join("app"));
        fs::write(&src, b"first").unwrap();
        let hash = hex(&hash_file(&src).unwrap());
        assert!(install(&src, &hash, &dest).unwrap(), "a missing binary is written");
        assert!(!install(&src, &hash, &dest).unwrap(), "the same bytes are left alone");
        assert_eq!(fs::read(&dest).unwrap(), b"first");

        let stored = tmp.path().join("stored");
        fs::write(&stored, b"second").unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        fs::File::options().append(true).open(&stored).unwrap().set_modified(old).unwrap();
        assert!(install(&stored, &hex(&hash_file(&stored).unwrap()), &dest).unwrap());
        assert_eq!(fs::read(&dest).unwrap(), b"second");
        let modified = fs::metadata(&dest).unwrap().modified().unwrap();
        assert!(modified > old + Duration::from_secs(3000), "the installed binary looks new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(fs::metadata(&dest).unwrap().nlink(), 1, "copied, not linked");
            assert_eq!(fs::metadata(&dest).unwrap().mode() & 0o777, 0o755, "executable, whatever it was");
        }
        // Edited in place, as a patching tool does: the stored copy keeps its bytes.
        fs::OpenOptions::new().write(true).open(&dest).unwrap().write_all(b"SE").unwrap();
        assert_eq!(fs::read(&stored).unwrap(), b"second");
        let leftovers = fs::read_dir(dest.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp file is left behind");
    }
}
