//! File-system steps every part of the crate takes the same way: a write that readers never see
//! half done (a temp file beside the destination, then a rename, which also gets past Windows'
//! refusal to replace a running program), names unique per process and call, and a lock file
//! held across processes.

use crate::error::{Error, IoContext, Result};
use std::fs;
use std::path::{Path, PathBuf};

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
    rename_into_place(&tmp, dest)
}

/// Renames `tmp` (written beside `dest`) over `dest`, moving a running program aside first where
/// the system refuses to replace it (see [`replace`]).
pub(crate) fn rename_into_place(tmp: &Path, dest: &Path) -> Result<()> {
    replace(tmp, dest, &|from, to| fs::rename(from, to))
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
pub(crate) fn remove_set_aside(dest: &Path) {
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

/// A temp name next to `dest`.
pub(crate) fn temp_path(dest: &Path) -> PathBuf {
    let dir = dest.parent().unwrap_or(Path::new("."));
    dir.join(format!(".{}.{}.tmp", file_name(dest), unique()))
}

/// `<pid>-<n>`, unique per process and per call: two builds (or threads) may write the same
/// file or folder at once.
pub(crate) fn unique() -> String {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

/// Opens (creating it) the lock file at `path` and takes its exclusive lock, waiting for whoever
/// holds it; released when the file is dropped, or when its process dies.
pub(crate) fn lock_file(path: &Path) -> Result<fs::File> {
    let lock = fs::OpenOptions::new().create(true).append(true).open(path).at("could not open", path)?;
    lock.lock().at("could not lock", path)?;
    Ok(lock)
}

/// Removes a folder and what it holds; a missing folder is fine.
pub(crate) fn remove_dir(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at("could not remove", dir),
        _ => Ok(()),
    }
}

/// Whether any execute bit is set: PyInstaller asks `os.access(path, os.X_OK)`, which is true
/// for root when any of them is, and packs such a data file as a binary. Never on Windows, where
/// no bit says so.
pub(crate) fn any_execute_bit(meta: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

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
    fn a_write_is_whole_or_absent_and_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("new/folder/state.json");
        write_atomic(&dest, b"one", false).unwrap();
        write_atomic(&dest, b"two", true).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&dest).unwrap().permissions().mode() & 0o777, 0o755);
        }
        assert_eq!(fs::read_dir(dest.parent().unwrap()).unwrap().count(), 1, "no temp file is left behind");
        assert_ne!(unique(), unique());
    }

    #[test]
    fn a_lock_file_is_held_until_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("lock");
        let held = lock_file(&path).unwrap();
        let other = fs::OpenOptions::new().append(true).open(&path).unwrap();
        assert!(other.try_lock().is_err(), "held by the first handle");
        drop(held);
        assert!(other.try_lock().is_ok(), "released on drop");
    }
}
