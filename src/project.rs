//! The Python project: every file under python-dir that can change a sidecar, with its hash.
//!
//! One walk per build script run hashes everything (a few ms for a typical project), so every
//! spec's fingerprint and the after-build "did anything change while PyInstaller ran?" check read
//! the same snapshot.

use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::hashing::hash_file;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Folders never looked into: caches, environments, build outputs, VCS and editor state.
/// Anything holding a `pyvenv.cfg` is an environment whatever its name, and anything holding a
/// `CACHEDIR.TAG` a tool's cache or output (cargo marks its target folders so). What PyInstaller
/// reads or lists in them is an input all the same, by its trace (reads.rs).
const EXCLUDED_DIRS: &[&str] = &["__pycache__", ".venv", "venv", "build", "dist", "node_modules", "site-packages"];

/// A snapshot of python-dir. Paths are relative to it, with `/` separators, so the fingerprint
/// survives moving the project.
#[derive(Clone, Debug, Default)]
pub(crate) struct Project {
    pub root: PathBuf,
    /// Every file that counts, with its blake3.
    pub files: BTreeMap<String, [u8; 32]>,
    /// Every folder that counts (a new empty folder can become a namespace package).
    pub dirs: BTreeSet<String>,
    /// The files with an execute bit: PyInstaller packs an executable data file as a binary, so
    /// that its mode is restored (`building/api.py`, `PKG`), and COLLECT keeps the bit.
    pub executable: BTreeSet<String>,
    /// The files that are symbolic links, with their targets as written: PyInstaller 6 packs a
    /// collected link whose target it also collects as a link (`toc_process_symbolic_links`), so
    /// a link replaced by a copy of its target is another binary.
    pub links: BTreeMap<String, String>,
    /// Folders that hold an excluded folder: cargo cannot watch them without scanning it.
    pub dirs_with_excluded: BTreeSet<String>,
    /// Excluded folders marked with a `CACHEDIR.TAG` (cargo's target folder), relative.
    pub tagged: Vec<String>,
    /// Folders holding a `Cargo.toml`: Rust crates inside python-dir, relative.
    pub crates: Vec<String>,
}

impl Project {
    /// Walks and hashes `root`. `skip` are folders the crate writes to, in case they live inside.
    pub(crate) fn scan(root: &Path, skip: &[PathBuf]) -> Result<Project> {
        let meta = fs::metadata(root).map_err(|_| {
            Error::new(
                ErrorKind::NoSpecs,
                format!(
                    "pyinstaller-build: the Python folder `{}` does not exist.\n\
                     Fix: create it with your `.spec` files, or set `python-dir` in \
                     [package.metadata.pyinstaller-build] (relative to the package's Cargo.toml).",
                    root.display()
                ),
            )
        })?;
        if !meta.is_dir() {
            return Err(Error::new(
                ErrorKind::NoSpecs,
                format!(
                    "pyinstaller-build: `{}` is not a folder; set `python-dir` to the folder holding your specs.",
                    root.display()
                ),
            ));
        }
        let mut project = Project { root: root.to_path_buf(), ..Project::default() };
        project.walk(root, "", skip, 0)?;
        Ok(project)
    }

    fn walk(&mut self, dir: &Path, rel: &str, skip: &[PathBuf], depth: usize) -> Result<()> {
        if depth > 64 {
            return Ok(()); // a symlink loop
        }
        let mut entries: Vec<_> = fs::read_dir(dir).at("could not list", dir)?.filter_map(|e| e.ok()).collect();
        entries.sort_by_key(|e| e.file_name());
        let mut has_excluded = false;
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let child = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let Ok(meta) = fs::metadata(&path) else {
                continue;
            }; // a dangling symlink
            if meta.is_dir() {
                if excluded_dir(&name, &path) || skip.iter().any(|s| path.starts_with(s)) {
                    has_excluded = true;
                    if path.join("CACHEDIR.TAG").is_file() {
                        self.tagged.push(child);
                    }
                    continue;
                }
                self.dirs.insert(child.clone());
                self.walk(&path, &child, skip, depth + 1)?;
            } else if !excluded_file(&name) {
                if name == "Cargo.toml" {
                    self.crates.push(rel.to_string());
                }
                if crate::fsutil::any_execute_bit(&meta) {
                    self.executable.insert(child.clone());
                }
                // The entry's type comes with the listing: only links cost a `readlink`.
                let link = entry.file_type().is_ok_and(|t| t.is_symlink());
                if let Some(target) = link.then(|| fs::read_link(&path).ok()).flatten() {
                    self.links.insert(child.clone(), target.to_string_lossy().into_owned());
                }
                self.files.insert(child, hash_file(&path)?);
            }
        }
        if has_excluded {
            self.dirs_with_excluded.insert(rel.to_string());
        }
        Ok(())
    }

    /// The specs to build: `patterns` (paths or globs relative to python-dir), or every `*.spec`
    /// directly in python-dir.
    pub(crate) fn specs(&self, patterns: &[String]) -> Result<Vec<String>> {
        let default = ["*.spec".to_string()];
        let patterns = if patterns.is_empty() { &default[..] } else { patterns };
        let mut specs = BTreeSet::new();
        for pattern in patterns {
            let full = self.root.join(pattern);
            let matches: Vec<PathBuf> = glob::glob(&full.to_string_lossy())
                .map_err(|e| {
                    Error::new(ErrorKind::Config, format!("pyinstaller-build: bad spec pattern `{pattern}`: {e}"))
                })?
                .filter_map(|p| p.ok())
                .collect();
            if matches.is_empty() && patterns != default {
                return Err(Error::new(
                    ErrorKind::NoSpecs,
                    format!(
                        "pyinstaller-build: the spec `{pattern}` listed in `specs` matches no file in `{}`.\n\
                         Fix: correct the name, or remove `specs` to build every *.spec there.",
                        self.root.display()
                    ),
                ));
            }
            for m in matches {
                let rel = m.strip_prefix(&self.root).unwrap_or(&m).to_string_lossy().replace('\\', "/");
                if !self.files.contains_key(&rel) {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!("pyinstaller-build: spec `{}` lies in a folder the crate ignores (caches, venvs, build/dist, hidden).", m.display()),
                    ));
                }
                specs.insert(rel);
            }
        }
        if specs.is_empty() {
            return Err(Error::new(
                ErrorKind::NoSpecs,
                format!(
                    "pyinstaller-build: no `.spec` file in `{}`.\n\
                     Fix: create one with `pyi-makespec --onefile your_script.py` there, or list \
                     yours in `specs`.",
                    self.root.display()
                ),
            ));
        }
        let mut stems = BTreeSet::new();
        for spec in &specs {
            if !stems.insert(spec_stem(spec)) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("pyinstaller-build: two specs are named `{}`; PyInstaller's work folders would collide. Rename one.", spec_stem(spec)),
                ));
            }
        }
        Ok(specs.into_iter().collect())
    }

    /// Absolute path of a project-relative path.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Project-relative path of an absolute one, if it lies in the project.
    pub(crate) fn relative(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    }
}

/// A spec's name without folder and `.spec`: PyInstaller names its work folder after it.
pub(crate) fn spec_stem(spec: &str) -> String {
    let name = spec.rsplit('/').next().unwrap_or(spec);
    name.strip_suffix(".spec").unwrap_or(name).to_string()
}

fn excluded_dir(name: &str, path: &Path) -> bool {
    name.starts_with('.')
        || EXCLUDED_DIRS.contains(&name)
        || path.join("pyvenv.cfg").exists()
        || path.join("CACHEDIR.TAG").is_file()
}

fn excluded_file(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(".pyc") || name.ends_with(".pyo") || name.ends_with('~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_skips_caches_envs_outputs_and_hidden() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for f in [
            "a.spec",
            "main.py",
            "pkg/mod.py",
            "pkg/__pycache__/mod.cpython-311.pyc",
            ".venv/bin/python",
            "env2/pyvenv.cfg",
            "build/x/y.toc",
            "dist/bin",
            "target/CACHEDIR.TAG",
            "target/debug/build.rs.o",
            "tool/Cargo.toml",
            ".git/HEAD",
            "notes.txt",
            "pkg/.mod.py.swp",
        ] {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, f).unwrap();
        }
        fs::create_dir_all(root.join("empty")).unwrap();
        let project = Project::scan(root, &[]).unwrap();
        let files: Vec<_> = project.files.keys().cloned().collect();
        assert_eq!(files, ["a.spec", "main.py", "notes.txt", "pkg/mod.py", "tool/Cargo.toml"]);
        assert_eq!(project.dirs.iter().cloned().collect::<Vec<_>>(), ["empty", "pkg", "tool"]);
        assert_eq!(project.tagged, ["target"]);
        assert_eq!(project.crates, ["tool"]);
        assert!(project.dirs_with_excluded.contains("") && project.dirs_with_excluded.contains("pkg"));
        assert_eq!(project.specs(&[]).unwrap(), ["a.spec"]);
        let err = project.specs(&["nope.spec".into()]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoSpecs);
        assert!(err.to_string().contains("nope.spec"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn scan_records_execute_bits_and_symbolic_links() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("run.sh"), "echo").unwrap();
        fs::set_permissions(tmp.path().join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(tmp.path().join("v2.json"), "{}").unwrap();
        std::os::unix::fs::symlink("v2.json", tmp.path().join("current.json")).unwrap();
        let p = Project::scan(tmp.path(), &[]).unwrap();
        assert_eq!(p.executable.iter().collect::<Vec<_>>(), ["run.sh"]);
        assert_eq!(p.links, BTreeMap::from([("current.json".to_string(), "v2.json".to_string())]));
        assert_eq!(p.files["current.json"], p.files["v2.json"], "a link counts by its target's content too");
    }

    #[test]
    fn spec_stem_drops_folder_and_extension() {
        assert_eq!(spec_stem("sub/worker.spec"), "worker");
        assert_eq!(spec_stem("headless.spec"), "headless");
    }
}
