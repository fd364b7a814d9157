//! Putting a fresh binary where Tauri looks, atomically and only when its bytes changed (an
//! unchanged sidecar keeps its mtime, so tauri-build and `tauri dev` stay quiet).

use crate::error::{Error, IoContext, Result};
use std::fs;
use std::path::Path;

/// Copies `src`, whose blake3 is `src_hash`, to `dest` unless `dest` already holds the same
/// bytes; returns whether it wrote. With `link`, `src` is the store's copy, which the crate never
/// rewrites in place and hash-checks before reusing, so on Unix a hard link to it is as good as a
/// copy, and 50 MB cheaper. (On Windows a running sidecar would pin the store's entry.)
pub(crate) fn install(src: &Path, src_hash: &str, dest: &Path, link: bool) -> Result<bool> {
    let dest_len = fs::metadata(dest).ok().filter(|m| m.is_file()).map(|m| m.len());
    let src_len = fs::metadata(src).at("could not read", src)?.len();
    if dest_len == Some(src_len) && crate::workdir::hex(&crate::project::hash_file(dest)?) == src_hash {
        return Ok(false);
    }
    if cfg!(unix) && link && link_atomic(src, dest).is_ok() {
        return Ok(true);
    }
    let bytes = fs::read(src).at("could not read", src)?;
    write_atomic(dest, &bytes, true)?;
    Ok(true)
}

/// Hard-links `src` to `dest` through a temp name and a rename. The link gets a fresh mtime, as a
/// copy would (tools that watch `dest` see a new binary), and mode 755, whatever a `chmod` of an
/// earlier link did.
fn link_atomic(src: &Path, dest: &Path) -> std::io::Result<()> {
    let tmp = temp_path(dest);
    fs::hard_link(src, &tmp)?;
    let done = fs::File::options()
        .append(true)
        .open(&tmp)
        .and_then(|f| {
            f.set_modified(std::time::SystemTime::now())?;
            #[cfg(unix)]
            f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
            Ok(())
        })
        .and_then(|_| fs::rename(&tmp, dest));
    if done.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    done
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
    fs::rename(&tmp, dest).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io("could not replace", dest, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::hash_file;
    use crate::workdir::hex;
    use std::time::Duration;

    #[test]
    fn installs_only_changed_bytes_by_copy_or_by_link() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dest) = (tmp.path().join("src"), tmp.path().join("bin").join("app"));
        fs::write(&src, b"first").unwrap();
        let hash = hex(&hash_file(&src).unwrap());
        assert!(install(&src, &hash, &dest, false).unwrap(), "a missing binary is written");
        assert!(!install(&src, &hash, &dest, true).unwrap(), "the same bytes are left alone");
        assert_eq!(fs::read(&dest).unwrap(), b"first");

        let stored = tmp.path().join("stored");
        fs::write(&stored, b"second").unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        fs::File::options().append(true).open(&stored).unwrap().set_modified(old).unwrap();
        assert!(install(&stored, &hex(&hash_file(&stored).unwrap()), &dest, true).unwrap());
        assert_eq!(fs::read(&dest).unwrap(), b"second");
        let modified = fs::metadata(&dest).unwrap().modified().unwrap();
        assert!(modified > old + Duration::from_secs(3000), "a linked binary looks new, as a copy would");
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(fs::metadata(&dest).unwrap().nlink(), 2, "linked, not copied");
            assert_eq!(fs::metadata(&dest).unwrap().mode() & 0o777, 0o755, "executable, whatever it was");
        }
        let leftovers = fs::read_dir(dest.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp file is left behind");
    }
}
