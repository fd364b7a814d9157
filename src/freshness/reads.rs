//! What a PyInstaller run read, made into inputs of its spec.
//!
//! What PyInstaller *bundled* is not all a build depends on: the spec imports modules, hooks are
//! read from folders outside python-dir, folders are listed while imports are resolved (a module
//! that was not there can appear), and the spec reads environment variables. The runner traces
//! the run (`build-support/trace.py`, a PEP 578 audit hook in PyInstaller's own process and its
//! isolated children) and writes what it read, with each file's stat at the moment it was read.
//! This module turns that record into the spec's [`Reads`]:
//!
//! 1. [`settle`] after the run: sorts each read into project files (inputs by content, like the
//!    modules PyInstaller packaged), outside files and folders (hashed), project folders listed
//!    other than by the module search (by all their entries: a data folder PyInstaller collects),
//!    the names the module search looked up in each project folder ([`Lookup`]), paths checked
//!    for existence, and what is already an input (the interpreter's own files, installed
//!    distributions, the crate's folders); notes whether the run started a program the trace
//!    cannot follow ([`Reads::complete`]); and refuses a record in which anything read changed
//!    before the run ended.
//! 2. [`Reads::digest`] at every plan: the outside reads' current content, reusing a known hash
//!    while a file's stat is unchanged (a no-change build stats, it does not hash), so it joins
//!    the spec's fingerprint.
//! 3. [`Reads::watched`]: what cargo must watch for the build script to rerun.
//!
//! Paths are absolute, as read; `project`, `imported` and `data` are relative to python-dir.

use super::Changed;
use crate::hashing::{hash_file, hex};
use crate::project::Project;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// `[size, mtime_ns, ctime_ns, inode]` (ctime and inode are 0 off Unix). A content change keeps
/// all four only when a tool writes the same size and then restores both times, which takes
/// root (ctime cannot be set); a restored mtime alone (`cp -p`, `touch -d`) changes ctime.
pub(crate) type Stat = [i64; 4];

/// Environment variables never made inputs: they change between the tools that run cargo (an IDE
/// and a terminal, each `cargo` run) and name no input of their own, or the crate sets them.
const NOT_INPUTS: &[&str] = &[
    // rust-analyzer and IDE terminals rewrite it; PyInstaller finds no input through it (the
    // interpreter is fixed, and `ldd` resolves libraries by the loader's paths).
    "PATH",
    // The shell's and terminal's own state.
    "PWD",
    "OLDPWD",
    "SHLVL",
    "_",
    "TERM",
    "COLUMNS",
    "LINES",
    // Where temporary files go, not what they hold.
    "TMPDIR",
    "TMP",
    "TEMP",
    // Cargo's jobserver handles: new on every run.
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    // Set by the crate for PyInstaller.
    "PYTHONHASHSEED",
    "PYTHONDONTWRITEBYTECODE",
    "PYINSTALLER_CONFIG_DIR",
    "PYINSTALLER_BUILD_EXTRA_EXCLUDES",
    "PYINSTALLER_BUILD_TRACE",
    "PYINSTALLER_BUILD_TRACE_SCRIPT",
    "PYINSTALLER_BUILD_TRACE_CHILD",
    "PYINSTALLER_BUILD_NOT_PROJECT",
];

/// Whether a variable the spec read becomes an input (announced and fingerprinted).
pub(crate) fn env_is_input(name: &str) -> bool {
    !NOT_INPUTS.contains(&name)
}

/// Folders whose tree holds more entries than this are not given to cargo (it would scan them on
/// every build); their listing still joins the fingerprint.
const WATCH_LIMIT: usize = 2000;

/// What the runner and its traced children wrote.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Raw {
    /// `(path, stat when first read or None if missing, read twice with different stats)`.
    files: Vec<(PathBuf, Option<Stat>, bool)>,
    /// `(path, stat when first listed, the run itself created or removed an entry in it, listed
    /// only by importlib's path finder)`.
    dirs: Vec<(PathBuf, Option<Stat>, bool, bool)>,
    env: Vec<String>,
    /// Files of the modules imported in-process.
    imported: Vec<PathBuf>,
    /// Sources the Analysis collected as data files.
    #[serde(default)]
    data: Vec<PathBuf>,
    /// `(folder, names)`: what importlib's path finder looked up in each folder.
    #[serde(default)]
    lookups: Vec<(PathBuf, Vec<String>)>,
    /// `(path, stat when first checked or None if missing, is a folder)`: `os.stat`/`os.lstat`
    /// checks of paths the run never opened.
    #[serde(default)]
    probes: Vec<(PathBuf, Option<Stat>, bool)>,
    /// The programs the run started (their first argument).
    #[serde(default)]
    programs: Vec<String>,
    /// Files read by code other than PyInstaller's own (the spec, a hook, a child).
    #[serde(default)]
    consulted: Vec<PathBuf>,
    /// An Analysis came from PyInstaller's cache: what it read is not in this record.
    #[serde(default)]
    cached_analysis: bool,
}

impl Raw {
    /// The runner's record at `path` and its children's beside it (`<path>.child-<pid>.json`).
    pub(crate) fn read(path: &Path) -> Option<Raw> {
        let mut raw: Raw = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
        let name = path.file_name()?.to_string_lossy().into_owned();
        for e in fs::read_dir(path.parent()?).ok()?.flatten() {
            if e.file_name().to_string_lossy().starts_with(&format!("{name}.child-")) {
                if let Some(child) = fs::read(e.path()).ok().and_then(|b| serde_json::from_slice::<Raw>(&b).ok()) {
                    raw.files.extend(child.files);
                    raw.dirs.extend(child.dirs);
                    raw.env.extend(child.env);
                    raw.imported.extend(child.imported);
                    raw.lookups.extend(child.lookups);
                    raw.probes.extend(child.probes);
                    raw.programs.extend(child.programs);
                    raw.consulted.extend(child.consulted);
                }
            }
        }
        Some(raw)
    }

    /// Whether the run took an Analysis from PyInstaller's cache, so that this record lacks
    /// what the analysis read (its hooks, their children, the modules it looked for).
    pub(crate) fn cached_analysis(&self) -> bool {
        self.cached_analysis
    }

    /// Removes the records a run leaves, before the next.
    pub(crate) fn clear(path: &Path) {
        let _ = fs::remove_file(path);
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
        for e in path.parent().and_then(|p| fs::read_dir(p).ok()).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with(&format!("{name}.child-")) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// A file or folder outside python-dir that a build read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Read {
    pub path: PathBuf,
    /// Its stat when hashed; `None`: it did not exist.
    pub stat: Option<Stat>,
    /// blake3 of the file, or of a folder's sorted entry names.
    pub hash: Option<String>,
    /// A folder small enough for cargo to watch.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub watch: bool,
}

/// What one build read, kept in the spec's state (`state.json`, key `reads`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Reads {
    /// Project files read (relative to python-dir): inputs by content.
    pub project: Vec<String>,
    /// Project modules imported by PyInstaller's own processes (the spec, a hook's child).
    pub imported: Vec<String>,
    /// Project files the Analysis also collected as data files.
    pub data: Vec<String>,
    /// Project files whose content the spec, a hook or a child process read other than through
    /// PyInstaller's own analysis and compilation of them (`open().read()`, `runpy.run_path`):
    /// what they say can change what the build does beyond their own archive entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consulted: Vec<String>,
    /// Files outside python-dir and the toolchain.
    pub files: Vec<Read>,
    /// Folders outside python-dir and the toolchain whose listing was read.
    pub dirs: Vec<Read>,
    /// Environment variables read, with the values the build had (`None`: unset).
    pub env: Vec<(String, Option<String>)>,
    /// Project folders searched by importlib's path finder, with the names looked up there.
    #[serde(default)]
    pub lookups: Vec<Lookup>,
    /// Project paths checked for existence (`os.path.exists`) but never opened, relative to
    /// python-dir, and whether each was a folder (`None`: missing).
    #[serde(default)]
    pub probes: Vec<(String, Option<bool>)>,
    /// Whether this record says everything the run could depend on under python-dir: it was
    /// traced with lookups and probes, and started no program but PyInstaller's own tools and
    /// its traced children. Only then are files it never reached left out of the fingerprint
    /// (`fingerprint::inputs`); otherwise every file under python-dir counts.
    #[serde(default)]
    pub complete: bool,
}

/// A project folder importlib's path finder searched: what it finds there depends only on the
/// entries named like the names it looked up (`addon.py`, `addon.pyc`, `addon/`, `addon.*.so`),
/// not on an `icon.png` or a `Cargo.toml` beside them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Lookup {
    /// Relative to python-dir (`""`: python-dir itself).
    pub dir: String,
    pub names: Vec<String>,
    /// The folder's stat when its entries were read: unchanged, so are they.
    pub stat: Option<Stat>,
    /// The entries named like a looked-up name (folders with a trailing `/`).
    pub entries: Vec<String>,
}

/// Programs PyInstaller and the standard library it uses start (`platform` runs `uname`,
/// `ctypes.util` runs `gcc`, `ld` and `file`); they read binaries and system libraries (recorded
/// as packaged), never the project's other files. Anything else (a spec's own `git describe` or
/// `npm run build`) may read any file.
const OWN_TOOLS: &[&str] = &[
    "file",
    "uname",
    "gcc",
    "cc",
    "ld",
    "ldd",
    "ldconfig",
    "objcopy",
    "objdump",
    "strip",
    "otool",
    "install_name_tool",
    "codesign",
    "lipo",
    "upx",
];

/// What is already an input, or no input at all: decided by the caller.
pub(crate) struct Known<'a> {
    pub project: &'a Project,
    /// The interpreter's own files and installed distributions.
    pub owned: &'a dyn Fn(&Path) -> bool,
    /// The crate's folders.
    pub skip: &'a [PathBuf],
    /// Cargo's target folders: never given to cargo to watch (they change on every build).
    pub outputs: &'a [PathBuf],
    /// Variables that are inputs already (the context's list).
    pub env_known: &'a [String],
    /// Reads a variable the way the plan will (announcing it to cargo).
    pub env_value: &'a dyn Fn(&str) -> Option<String>,
}

/// The settled reads of a run, or the path that changed before the run ended.
pub(crate) fn settle(raw: Raw, known: &Known) -> Result<Reads, PathBuf> {
    let project = known.project;
    let outside = |p: &Path| !(known.owned)(p) && !known.skip.iter().any(|s| p.starts_with(s));
    // Caches derived from sources the record holds anyway.
    // Unless collected as data: then the file itself is in the binary.
    let data: BTreeSet<&PathBuf> = raw.data.iter().collect();
    let cache = |p: &Path| p.components().any(|c| c.as_os_str() == "__pycache__") && !data.contains(&p.to_path_buf());
    let mut reads = Reads::default();
    let mut files = BTreeMap::new();
    let mut probed = BTreeMap::new();
    // A file checked for existence is an input like a file read (its stat says the same then);
    // a folder or a missing path is one by its kind.
    let probes = raw.probes.into_iter().filter_map(|(path, stat, dir)| match (stat, dir) {
        (Some(_), false) => Some((path, stat, false)),
        _ => {
            if let Some(rel) = project.relative(&path).filter(|_| outside(&path) && !cache(&path)) {
                probed.insert(rel, stat.map(|_| dir));
            }
            None
        }
    });
    let raw_files: Vec<_> = raw.files.into_iter().chain(probes).collect();
    for (path, stat, twice) in raw_files {
        if !outside(&path) || cache(&path) {
            continue;
        }
        if twice {
            return Err(path);
        }
        match project.relative(&path).filter(|r| project.files.contains_key(r)) {
            // Its content is the scan's, which the caller compares before and after the run.
            Some(rel) if stat_of(&path) == stat => {
                reads.project.push(rel);
            }
            Some(_) => return Err(path),
            None => {
                files.entry(path).or_insert(stat);
            }
        }
    }
    for (path, stat) in files {
        let hash = match stat {
            Some(_) => file_digest(&path),
            None => None,
        };
        // Stat after hashing: equal to the stat when read, the hash is of what was read.
        if stat_of(&path) != stat {
            return Err(path);
        }
        reads.files.push(Read { path, stat, hash, watch: false });
    }
    let scanned = |path: &Path| project.relative(path).is_some_and(|r| r.is_empty() || project.dirs.contains(&r));
    // A scanned folder the path finder alone listed: the names it looked up there decide
    // (below). Any other listing (a data folder PyInstaller collects, a glob in the spec) sees
    // every entry, hidden files and `dist/` folders included.
    let mut dirs: BTreeMap<PathBuf, (Option<Stat>, bool, bool)> = BTreeMap::new();
    for (path, stat, touched, finder) in raw.dirs {
        if outside(&path) {
            let entry = dirs.entry(path).or_insert((stat, touched, finder));
            entry.1 |= touched;
            entry.2 &= finder;
        }
    }
    // Their stats when listed, for the lookups below.
    let listed = dirs.clone();
    dirs.retain(|path, (_, _, finder)| !(*finder && scanned(path)));
    let holds_output = |path: &Path| known.skip.iter().chain(known.outputs).any(|s| s.starts_with(path));
    for (path, (stat, touched, _)) in dirs {
        let hash = listing(&path);
        let now = stat_of(&path);
        // A folder the run writes into changes under it by design; its listing after the run
        // is what the next build compares.
        if now != stat && !touched {
            return Err(path);
        }
        let watch = now.is_some() && !holds_output(&path) && small(&path);
        reads.dirs.push(Read { path, stat: now, hash, watch });
    }
    let mut lookups: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for (dir, names) in raw.lookups {
        if outside(&dir) && scanned(&dir) {
            lookups.entry(dir).or_default().extend(names);
        }
    }
    // A name found as a folder is a package or a namespace package: which it is depends on its
    // `__init__` files, which the finder checks by name.
    let packages: Vec<PathBuf> = lookups
        .iter()
        .flat_map(|(dir, names)| names.iter().map(move |n| dir.join(n)))
        .filter(|p| p.is_dir() && scanned(p))
        .collect();
    for p in packages {
        lookups.entry(p).or_default().insert("__init__".into());
    }
    for (dir, names) in lookups {
        let stat = stat_of(&dir);
        let names: Vec<String> = names.into_iter().collect();
        let entries = named_entries(&dir, &names);
        // Changed since it was listed (the run itself did not write there): what it found
        // may not be these entries.
        let when_listed = listed.get(&dir).filter(|(_, touched, _)| !touched).map(|(listed, _, _)| *listed);
        if stat_of(&dir) != stat || when_listed.is_some_and(|listed| listed != stat) {
            return Err(dir);
        }
        let dir = project.relative(&dir).unwrap_or_default();
        reads.lookups.push(Lookup { dir, names, stat, entries });
    }
    reads.probes = probed.into_iter().collect();
    reads.complete = raw.programs.iter().all(|p| {
        let name = Path::new(p).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        OWN_TOOLS.contains(&name.as_str())
    });
    let relative = |paths: Vec<PathBuf>| -> Vec<String> {
        let set: BTreeSet<String> =
            paths.iter().filter_map(|p| project.relative(p)).filter(|r| project.files.contains_key(r)).collect();
        set.into_iter().collect()
    };
    reads.project.sort();
    reads.project.dedup();
    reads.imported = relative(raw.imported);
    reads.data = relative(raw.data.clone());
    reads.consulted = relative(raw.consulted);
    let env: BTreeSet<String> =
        raw.env.into_iter().filter(|k| env_is_input(k) && !known.env_known.contains(k)).collect();
    reads.env = env.into_iter().map(|k| (k.clone(), (known.env_value)(&k))).collect();
    Ok(reads)
}

impl Reads {
    /// Adds what an earlier run read that this one did not: for a run that took its Analysis from
    /// PyInstaller's cache, whose output still depends on what that analysis read. Sound because
    /// the cache is only kept when the earlier record's inputs are unchanged (the plan compared
    /// them), so its stats and hashes are current.
    pub(crate) fn merge(&mut self, earlier: &Reads) {
        for (mine, theirs) in [
            (&mut self.project, &earlier.project),
            (&mut self.imported, &earlier.imported),
            (&mut self.data, &earlier.data),
            (&mut self.consulted, &earlier.consulted),
        ] {
            mine.extend(theirs.iter().cloned());
            mine.sort();
            mine.dedup();
        }
        for (mine, theirs) in [(&mut self.files, &earlier.files), (&mut self.dirs, &earlier.dirs)] {
            for r in theirs {
                if !mine.iter().any(|m| m.path == r.path) {
                    mine.push(r.clone());
                }
            }
            mine.sort_by(|a, b| a.path.cmp(&b.path));
        }
        for (k, v) in &earlier.env {
            if !self.env.iter().any(|(m, _)| m == k) {
                self.env.push((k.clone(), v.clone()));
            }
        }
        self.env.sort();
        // What the earlier Analysis's module search looked up and checked for stays watched.
        for theirs in &earlier.lookups {
            match self.lookups.iter_mut().find(|m| m.dir == theirs.dir) {
                Some(mine) => {
                    for (all, more) in [(&mut mine.names, &theirs.names), (&mut mine.entries, &theirs.entries)] {
                        all.extend(more.iter().cloned());
                        all.sort();
                        all.dedup();
                    }
                }
                None => self.lookups.push(theirs.clone()),
            }
        }
        self.lookups.sort_by(|a, b| a.dir.cmp(&b.dir));
        for probe in &earlier.probes {
            if !self.probes.iter().any(|(p, _)| *p == probe.0) {
                self.probes.push(probe.clone());
            }
        }
        self.probes.sort();
        self.complete &= earlier.complete;
    }

    /// Adds files the build packaged from outside python-dir, with their content now, unless
    /// already read.
    pub(crate) fn add_packaged(&mut self, paths: &[PathBuf]) {
        for path in paths {
            if !self.files.iter().any(|f| &f.path == path) {
                let stat = stat_of(path);
                let hash = file_digest(path);
                self.files.push(Read { path: path.clone(), stat, hash, watch: false });
            }
        }
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
    }

    /// The current content of every outside read and the current value of every variable, as
    /// one hash, and what differs from the build's. A file or folder whose stat is the one
    /// recorded keeps its recorded hash.
    /// `root` is python-dir, which the lookups and probes are relative to, and which the
    /// messages name paths relative to.
    pub(crate) fn digest(&self, root: &Path, env_value: &dyn Fn(&str) -> Option<String>) -> (String, Vec<Changed>) {
        let mut h = blake3::Hasher::new();
        let mut changed = Vec::new();
        let mut field = |tag: &str, value: &[u8]| {
            h.update(tag.as_bytes()).update(&(value.len() as u64).to_le_bytes()).update(value);
        };
        let shown = |p: &Path| match p.strip_prefix(root) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
            _ => p.display().to_string(),
        };
        field("complete", if self.complete { b"1" } else { b"0" });
        for l in &self.lookups {
            let dir = root.join(&l.dir);
            let stat = stat_of(&dir);
            let entries = if stat == l.stat { l.entries.clone() } else { named_entries(&dir, &l.names) };
            if entries != l.entries {
                let old: BTreeSet<&String> = l.entries.iter().collect();
                let new: BTreeSet<&String> = entries.iter().collect();
                changed.push(match (new.difference(&old).next(), old.difference(&new).next()) {
                    (Some(added), _) => Changed::LookupAdded(shown(&dir.join(added.trim_end_matches('/')))),
                    (None, Some(gone)) => Changed::LookupRemoved(shown(&dir.join(gone.trim_end_matches('/')))),
                    (None, None) => Changed::LookupOther(shown(&dir)),
                });
            }
            field("lookup", l.dir.as_bytes());
            for (tag, list) in [("name", &l.names), ("entry", &entries)] {
                for n in list {
                    field(tag, n.as_bytes());
                }
            }
        }
        for (rel, kind) in &self.probes {
            let path = root.join(rel);
            let now = fs::metadata(&path).ok().map(|m| m.is_dir());
            if now != *kind {
                changed.push(match now {
                    Some(_) => Changed::ProbeAppeared(shown(&path)),
                    None => Changed::ProbeRemoved(shown(&path)),
                });
            }
            field("probe", rel.as_bytes());
            field(
                "kind",
                match now {
                    None => b"missing",
                    Some(true) => b"dir",
                    Some(false) => b"file",
                },
            );
        }
        for (kind, reads) in [("file", &self.files), ("dir", &self.dirs)] {
            for r in reads {
                let stat = stat_of(&r.path);
                let hash = if stat == r.stat {
                    r.hash.clone()
                } else if kind == "file" {
                    stat.and_then(|_| file_digest(&r.path))
                } else {
                    listing(&r.path)
                };
                if hash != r.hash {
                    changed.push(match kind {
                        "file" => Changed::File(shown(&r.path)),
                        _ => Changed::Dir(shown(&r.path)),
                    });
                }
                field(kind, r.path.as_os_str().as_encoded_bytes());
                field("hash", hash.as_deref().unwrap_or("\0missing").as_bytes());
            }
        }
        for (k, old) in &self.env {
            let v = env_value(k);
            if &v != old {
                changed.push(Changed::Env(k.clone()));
            }
            field("env", k.as_bytes());
            field("value", v.as_deref().unwrap_or("\0unset").as_bytes());
        }
        (h.finalize().to_hex().to_string(), changed)
    }

    /// Existing files and small folders, for `rerun-if-changed`.
    pub(crate) fn watched(&self) -> impl Iterator<Item = &Path> {
        let files = self.files.iter().filter(|f| f.stat.is_some());
        files.chain(self.dirs.iter().filter(|d| d.watch)).map(|r| r.path.as_path())
    }
}

/// The entries of `dir` that the path finder could take for one of `names`: `name`,
/// `name.<anything>`, and for a name `*.<suffix>` (what `importlib.metadata` looks for) any
/// entry ending in it, in any case; folders end in `/`.
fn named_entries(dir: &Path, names: &[String]) -> Vec<String> {
    let mut found: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.split('.').next().unwrap_or_default();
            let suffix = |n: &String| n.strip_prefix('*').is_some_and(|s| name.to_lowercase().ends_with(s));
            if !names.iter().any(|n| n == stem || n == &name || suffix(n)) {
                return None;
            }
            let folder = fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
            Some(if folder { format!("{name}/") } else { name })
        })
        .collect();
    found.sort();
    found
}

/// A file outside the project as the build used it: blake3 of its content, and `+x` when it has
/// an execute bit (PyInstaller packs an executable data file as a binary, so that the bit is
/// restored, and COLLECT keeps it). A `chmod` changes the ctime in its stat, so it is hashed again.
pub(crate) fn file_digest(path: &Path) -> Option<String> {
    let content = hex(&hash_file(path).ok()?);
    match crate::fsutil::any_execute_bit(&fs::metadata(path).ok()?) {
        true => Some(content + "+x"),
        false => Some(content),
    }
}

pub(crate) fn stat_of(path: &Path) -> Option<Stat> {
    let m = fs::metadata(path).ok()?;
    let mtime =
        m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as i64);
    #[cfg(unix)]
    let (ctime, ino) = {
        use std::os::unix::fs::MetadataExt;
        (m.ctime() * 1_000_000_000 + m.ctime_nsec(), m.ino() as i64)
    };
    #[cfg(not(unix))]
    let (ctime, ino) = (0, 0);
    Some([m.len() as i64, mtime, ctime, ino])
}

/// blake3 of a folder's sorted entry names, or `None` if it cannot be listed.
pub(crate) fn listing(dir: &Path) -> Option<String> {
    let mut names: Vec<Vec<u8>> =
        fs::read_dir(dir).ok()?.flatten().map(|e| e.file_name().as_encoded_bytes().to_vec()).collect();
    names.sort();
    let mut h = blake3::Hasher::new();
    for n in names {
        h.update(&(n.len() as u64).to_le_bytes()).update(&n);
    }
    Some(h.finalize().to_hex().to_string())
}

/// Whether a folder's tree holds at most [`WATCH_LIMIT`] entries.
fn small(dir: &Path) -> bool {
    let mut left = WATCH_LIMIT;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            if left == 0 {
                return false;
            }
            left -= 1;
            if fs::metadata(e.path()).is_ok_and(|m| m.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture {
        _tmp: tempfile::TempDir,
        project: Project,
        outside: PathBuf,
        toolchain: PathBuf,
        cache: PathBuf,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        for f in ["py/app.spec", "py/conf.py", "out/hooks/hook-x.py", "out/lib/m.py", "env/lib/os.py", "cache/w/x"] {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, f).unwrap();
        }
        let project = Project::scan(&root.join("py"), &[]).unwrap();
        Fixture {
            project,
            outside: root.join("out"),
            toolchain: root.join("env"),
            cache: root.join("cache"),
            _tmp: tmp,
        }
    }

    fn raw(f: &Fixture, files: &[&Path], dirs: &[&Path], env: &[&str]) -> Raw {
        Raw {
            files: files.iter().map(|p| (p.to_path_buf(), stat_of(p), false)).collect(),
            // python-dir itself listed by the path finder, the rest by something else.
            dirs: dirs.iter().map(|p| (p.to_path_buf(), stat_of(p), false, *p == f.project.root)).collect(),
            env: env.iter().map(|s| s.to_string()).collect(),
            imported: vec![f.project.path("conf.py")],
            data: vec![],
            lookups: vec![],
            probes: vec![],
            programs: vec!["/usr/bin/ldd".into()],
            consulted: vec![f.project.path("conf.py")],
            cached_analysis: false,
        }
    }

    fn settle_in(f: &Fixture, raw: Raw) -> Result<Reads, PathBuf> {
        let owned = |p: &Path| p.starts_with(&f.toolchain);
        let skip = [f.cache.clone()];
        let known = Known {
            project: &f.project,
            owned: &owned,
            skip: &skip,
            outputs: &[],
            env_known: &["PYTHONPATH".to_string()],
            env_value: &|k| Some(format!("value of {k}")),
        };
        settle(raw, &known)
    }

    #[test]
    fn reads_are_sorted_into_project_outside_and_already_known() {
        let f = fixture();
        let (hook, lib) = (f.outside.join("hooks/hook-x.py"), f.outside.join("lib"));
        let files = [&*f.project.path("conf.py"), &hook, &f.toolchain.join("lib/os.py"), &f.cache.join("w/x")];
        let dirs = [&*lib, &f.project.root, &f.toolchain.join("lib")];
        let reads =
            settle_in(&f, raw(&f, &files, &dirs, &["APP_FLAVOR", "PATH", "PYTHONPATH", "CARGO_MAKEFLAGS"])).unwrap();
        assert_eq!(reads.project, ["conf.py"]);
        assert_eq!(reads.imported, ["conf.py"]);
        assert_eq!(reads.consulted, ["conf.py"]);
        assert_eq!(reads.files.iter().map(|r| &r.path).collect::<Vec<_>>(), [&hook]);
        assert_eq!(reads.dirs.iter().map(|r| (&r.path, r.watch)).collect::<Vec<_>>(), [(&lib, true)]);
        assert_eq!(reads.env, [("APP_FLAVOR".to_string(), Some("value of APP_FLAVOR".to_string()))]);
        assert_eq!(reads.watched().collect::<Vec<_>>(), [hook.as_path(), lib.as_path()]);
    }

    #[test]
    fn a_read_that_changed_before_the_run_ended_is_refused() {
        let f = fixture();
        let hook = f.outside.join("hooks/hook-x.py");
        let mut r = raw(&f, &[&hook], &[], &[]);
        fs::write(&hook, "hiddenimports = ['edited meanwhile']").unwrap();
        assert_eq!(settle_in(&f, r).unwrap_err(), hook);
        // Read twice with different stats.
        r = raw(&f, &[&hook], &[], &[]);
        r.files[0].2 = true;
        assert_eq!(settle_in(&f, r).unwrap_err(), hook);
        // A folder that gained an entry, unless the run itself wrote into it.
        let lib = f.outside.join("lib");
        let r = raw(&f, &[], &[&lib], &[]);
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(lib.join("new.py"), "").unwrap();
        assert_eq!(settle_in(&f, r).unwrap_err(), lib);
        let mut r = raw(&f, &[], &[&lib], &[]);
        fs::write(lib.join("generated.py"), "").unwrap();
        r.dirs[0].2 = true;
        assert!(settle_in(&f, r).is_ok());
    }

    #[test]
    fn the_digest_sees_content_listings_and_values_and_reuses_hashes_while_the_stat_holds() {
        let f = fixture();
        let (hook, lib) = (f.outside.join("hooks/hook-x.py"), f.outside.join("lib"));
        let reads = settle_in(&f, raw(&f, &[&hook], &[&lib], &["APP_FLAVOR"])).unwrap();
        let env = |k: &str| Some(format!("value of {k}"));
        let (d0, changed) = reads.digest(&f.project.root, &env);
        assert!(changed.is_empty(), "{changed:?}");
        // The recorded hash is what a file with the recorded stat counts as: no hashing.
        let mut stale = reads.clone();
        stale.files[0].hash = Some("recorded".into());
        assert_ne!(stale.digest(&f.project.root, &env).0, d0);
        assert_eq!(reads.digest(&f.project.root, &|_| None).1, [Changed::Env("APP_FLAVOR".into())]);
        fs::write(&hook, "hiddenimports = ['y']").unwrap();
        fs::write(lib.join("extra.py"), "").unwrap();
        let (d1, changed) = reads.digest(&f.project.root, &env);
        assert_ne!(d1, d0);
        assert_eq!(changed, [Changed::File(hook.display().to_string()), Changed::Dir(lib.display().to_string())]);
        // Its execute bit alone: PyInstaller would pack it as a binary.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let now = settle_in(&f, raw(&f, &[&hook], &[], &[])).unwrap();
            assert!(now.digest(&f.project.root, &env).1.is_empty());
            fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
            assert_eq!(now.digest(&f.project.root, &env).1, [Changed::File(hook.display().to_string())]);
            assert_eq!(file_digest(&hook), Some(hex(&hash_file(&hook).unwrap()) + "+x"));
        }
        fs::remove_file(&hook).unwrap();
        assert_ne!(reads.digest(&f.project.root, &env).0, d1);
    }

    #[test]
    fn in_python_dir_the_names_looked_up_the_paths_checked_and_other_listings_count() {
        let f = fixture();
        let root = f.project.root.clone();
        fs::create_dir_all(root.join("static")).unwrap();
        fs::write(root.join("static/index.html"), "").unwrap();
        let project = Project::scan(&root, &[]).unwrap();
        let f = Fixture { project, ..f };
        let mut r = raw(&f, &[], &[&root, &root.join("static")], &[]);
        r.lookups = vec![(root.clone(), vec!["addon".into(), "conf".into()])];
        r.probes =
            vec![(root.join("extra.json"), None, false), (root.join("static"), stat_of(&root.join("static")), true)];
        let reads = settle_in(&f, r).unwrap();
        assert!(reads.complete);
        // The finder's listing of python-dir is replaced by its lookups; the data folder's is kept.
        assert_eq!(reads.dirs.iter().map(|d| &d.path).collect::<Vec<_>>(), [&root.join("static")]);
        assert_eq!(reads.lookups.len(), 1);
        assert_eq!(reads.lookups[0].entries, ["conf.py"]);
        assert_eq!(reads.probes, [("extra.json".to_string(), None), ("static".to_string(), Some(true))]);
        let env = |_: &str| None;
        let (d0, changed) = reads.digest(&root, &env);
        assert!(changed.is_empty(), "{changed:?}");
        // Nothing the finder could take for `addon` or `conf`, nothing checked: no change.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(root.join("icon.png"), "").unwrap();
        fs::write(root.join("Cargo.toml"), "").unwrap();
        assert_eq!(reads.digest(&root, &env), (d0.clone(), vec![]));
        // A sourceless module satisfying `import addon`, a hidden file in the data folder, a
        // file the spec checks for.
        fs::write(root.join("addon.pyc"), "").unwrap();
        fs::write(root.join("static/.env"), "").unwrap();
        fs::write(root.join("extra.json"), "{}").unwrap();
        let (d1, changed) = reads.digest(&root, &env);
        assert_ne!(d1, d0);
        assert_eq!(
            changed,
            [
                Changed::LookupAdded("addon.pyc".into()),
                Changed::ProbeAppeared("extra.json".into()),
                Changed::Dir("static".into()),
            ]
        );
        // A program the trace does not follow: every file under python-dir counts again.
        let mut r = raw(&f, &[], &[], &[]);
        r.programs.push("/usr/bin/git".into());
        assert!(!settle_in(&f, r).unwrap().complete);
    }

    #[test]
    fn a_merge_keeps_the_earlier_reads_this_run_did_not_make() {
        let f = fixture();
        let (hook, lib) = (f.outside.join("hooks/hook-x.py"), f.outside.join("lib"));
        let earlier = settle_in(&f, raw(&f, &[&hook, &f.project.path("conf.py")], &[&lib], &["APP_FLAVOR"])).unwrap();
        let mut r = raw(&f, &[], &[], &["OTHER"]);
        r.imported.clear();
        r.consulted.clear();
        let mut reads = settle_in(&f, r).unwrap();
        reads.merge(&earlier);
        assert_eq!(reads.project, ["conf.py"]);
        assert_eq!(
            (reads.imported.clone(), reads.consulted.clone()),
            (earlier.imported.clone(), earlier.consulted.clone())
        );
        assert_eq!((&reads.files, &reads.dirs), (&earlier.files, &earlier.dirs));
        let names: Vec<&str> = reads.env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["APP_FLAVOR", "OTHER"]);
        assert_eq!(reads.digest(&f.project.root, &|k| Some(format!("value of {k}"))).1, Vec::<Changed>::new());
    }

    #[test]
    fn path_and_per_run_variables_are_not_inputs() {
        for v in ["PATH", "CARGO_MAKEFLAGS", "TERM", "PYTHONHASHSEED"] {
            assert!(!env_is_input(v), "{v}");
        }
        for v in ["APP_FLAVOR", "HOME", "LANG", "PROFILE"] {
            assert!(env_is_input(v), "{v}");
        }
    }
}
