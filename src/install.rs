//! Putting a fresh binary where Tauri looks, atomically and only when its bytes changed (an
//! unchanged sidecar keeps its mtime, so tauri-build and `tauri dev` stay quiet).

use crate::error::{Error, IoContext, Result};
use crate::fsutil::{remove_set_aside, rename_into_place, temp_path};
use crate::hashing::{hash_file, hex};
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
    if dest_len == Some(src_len) && executable(dest) && hex(&hash_file(dest)?) == src_hash {
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
    rename_into_place(&tmp, dest)
}

#[cfg(test)]
mod tests {
    use super::*;
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
