//! Binaries already built, keyed by fingerprint: switching back to a state built before (a
//! revert, a branch switch, the other profile) reinstalls its binary without PyInstaller.
//!
//! `<cache>/binaries/<fingerprint>/{binary, entry.json}`, bounded in size; the least recently used
//! entries go first (a hit refreshes the entry's mtime).

use crate::error::{IoContext, Result};
use crate::fsutil::write_atomic;
use crate::hashing::{hash_file, hex};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub(crate) struct Store {
    pub dir: PathBuf,
    /// Most bytes kept; 0 disables the store.
    pub limit: u64,
}

/// A stored binary.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The executable's file name (`worker`, `worker.exe`).
    pub file_name: String,
    pub binary_hash: String,
}

impl Store {
    /// The binary built from `fingerprint`, if kept and intact.
    pub(crate) fn get(&self, fingerprint: &str) -> Option<(PathBuf, Entry)> {
        if self.limit == 0 {
            return None;
        }
        let dir = self.dir.join(fingerprint);
        let entry: Entry = serde_json::from_slice(&fs::read(dir.join("entry.json")).ok()?).ok()?;
        let binary = dir.join("binary");
        if hash_file(&binary).map(|h| hex(&h)).ok()? != entry.binary_hash {
            return None;
        }
        let _ = fs::File::options()
            .append(true)
            .open(dir.join("entry.json"))
            .and_then(|f| f.set_modified(SystemTime::now()));
        Some((binary, entry))
    }

    /// Keeps `binary` under `fingerprint`; with `take`, moves it in when it can. Returns where
    /// the binary is now. [`Store::trim`] runs once every spec is installed: until then another
    /// spec may be installing from an entry.
    pub(crate) fn put(&self, fingerprint: &str, binary: &Path, entry: &Entry, take: bool) -> Result<PathBuf> {
        if self.limit == 0 {
            return Ok(binary.to_path_buf());
        }
        let dir = self.dir.join(fingerprint);
        let stored = dir.join("binary");
        fs::create_dir_all(&dir).at("could not create", &dir)?;
        // A rename fails across file systems (a `cache-dir` elsewhere): copy then.
        if !(take && fs::rename(binary, &stored).is_ok()) {
            let bytes = fs::read(binary).at("could not read", binary)?;
            write_atomic(&stored, &bytes, true)?;
        }
        // Written last: an entry without it is never read.
        write_atomic(&dir.join("entry.json"), &serde_json::to_vec(entry).expect("serializable"), false)?;
        Ok(stored)
    }

    /// Evicts the least recently used entries beyond the limit, never those of `keep` (what
    /// this build installed).
    pub(crate) fn trim(&self, keep: &[&str]) -> Result<()> {
        if self.limit == 0 || !self.dir.is_dir() {
            return Ok(());
        }
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = fs::read_dir(&self.dir)
            .at("could not list", &self.dir)?
            .filter_map(|e| e.ok())
            .map(|e| {
                // An entry a crash left without its entry.json is never read: oldest of all.
                let used = fs::metadata(e.path().join("entry.json")).and_then(|m| m.modified());
                let size = fs::metadata(e.path().join("binary")).map(|m| m.len()).unwrap_or(0);
                (used.unwrap_or(SystemTime::UNIX_EPOCH), size, e.path())
            })
            .collect();
        entries.sort();
        let mut total: u64 = entries.iter().map(|e| e.1).sum::<u64>();
        let kept = |path: &Path| keep.iter().any(|k| path.file_name().is_some_and(|n| n == *k));
        for (_, size, path) in entries.into_iter().filter(|e| !kept(&e.2)) {
            if total <= self.limit {
                break;
            }
            fs::remove_dir_all(&path).at("could not evict", &path)?;
            total -= size;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry_for(path: &Path) -> Entry {
        Entry { file_name: "app".into(), binary_hash: hex(&hash_file(path).unwrap()) }
    }

    #[test]
    fn keeps_verifies_and_evicts_the_least_recently_used() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store { dir: tmp.path().join("store"), limit: 250 };
        let bin = |name: &str, byte: u8| {
            let p = tmp.path().join(name);
            fs::write(&p, vec![byte; 100]).unwrap();
            p
        };
        let (a, b, c) = (bin("a", 1), bin("b", 2), bin("c", 3));
        store.put("fa", &a, &entry_for(&a), false).unwrap();
        store.put("fb", &b, &entry_for(&b), false).unwrap();
        store.trim(&["fb"]).unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        for (fp, age) in [("fa", old), ("fb", old + Duration::from_secs(1))] {
            fs::File::options()
                .append(true)
                .open(store.dir.join(fp).join("entry.json"))
                .unwrap()
                .set_modified(age)
                .unwrap();
        }
        assert!(store.get("fa").is_some(), "a hit makes fa the most recently used");
        let entry = entry_for(&c);
        assert_eq!(store.put("fc", &c, &entry, true).unwrap(), store.dir.join("fc").join("binary"));
        assert!(!c.exists(), "taken: moved into the store");
        store.trim(&["fc"]).unwrap();
        assert!(store.get("fb").is_none(), "fb was least recently used: evicted");
        assert_eq!(fs::read(store.get("fa").unwrap().0).unwrap(), vec![1; 100]);
        assert!(store.get("fc").is_some());
        // A damaged entry is never used.
        fs::write(store.dir.join("fc").join("binary"), b"tampered").unwrap();
        assert!(store.get("fc").is_none());
        assert!(Store { dir: store.dir.clone(), limit: 0 }.get("fa").is_none(), "limit 0 disables the store");
        // An entry larger than the limit survives the trim of the build that installed it.
        let tiny = Store { dir: store.dir.clone(), limit: 50 };
        let d = bin("d", 4);
        let entry = entry_for(&d);
        let stored = tiny.put("fd", &d, &entry, true).unwrap();
        fs::create_dir_all(store.dir.join("crashed")).unwrap();
        tiny.trim(&["fd"]).unwrap();
        assert_eq!(fs::read(stored).unwrap(), vec![4; 100]);
        assert!(tiny.get("fa").is_none() && tiny.get("fc").is_none());
        assert!(!store.dir.join("crashed").exists(), "an entry without entry.json goes first");
    }
}
