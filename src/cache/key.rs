//! The shared tier's key: what the fingerprint hashes, with nothing that differs between two
//! machines holding the same inputs.
//!
//! The fingerprint names files by absolute path (the interpreter, the managed environment under
//! the target folder, files packaged from outside python-dir), so it cannot be shared. This key
//! hashes the same inputs with paths made relative: project files relative to python-dir, the
//! interpreter and libpython by content, each installed distribution by name, version and the
//! `(relative path, hash)` rows of its `RECORD`. What a build read or packaged outside
//! python-dir (files, folder listings, environment variables the spec read) is known only after
//! the build, so it is not in the key: the shared entry lists it by hash ([`Check`]), and a
//! reader takes the entry only when its own match.
//!
//! The key takes every project file (as the fingerprint does before a spec's first build), never
//! the narrower set PyInstaller's records give: a fresh checkout has no records, and both
//! machines must compute the same key.

use crate::freshness::fingerprint::{self, Context, Framed};
use crate::freshness::reads::Reads;
use crate::hashing::hash_file;
use crate::project::Project;
use crate::toolchain::Toolchain;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// Bumped whenever the key's layout or meaning changes, so old entries never match.
const VERSION: &str = "pyinstaller-build shared key 3";

/// Something outside python-dir that a build read or packaged, with what it held: the entry
/// is taken only where the reader's has the same (a file's content, a folder's entry names, an
/// environment variable's value, by hash: a value may be a secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Check {
    /// `file`, `dir` or `env`.
    pub kind: String,
    /// `$CHECKOUT/<relative path>` for a path under the package (a `pathex` folder), else the
    /// absolute path (a system library); a variable's name.
    pub name: String,
    /// blake3; `None`: missing or unset.
    pub blake3: Option<String>,
}

const CHECKOUT: &str = "$CHECKOUT/";
const ENV: &str = "$ENV/";

/// Where a reader resolves the names of [`Check`]s.
pub(crate) struct Places<'a> {
    /// The package's folder.
    pub checkout: &'a Path,
    /// The managed environment's folder, once it exists: `None` when a hit is looked up before
    /// the environment is created (then the entry's `$ENV` files cannot be read, and the
    /// entry says whether its environment was at the same path).
    pub env: Option<&'a Path>,
    /// Where the environment will be created, when it does not exist yet.
    pub env_to_be: Option<PathBuf>,
}

impl Check {
    /// The checks of what a build read (its recorded hashes and values), or `None` when one
    /// cannot be named portably (a path that is not UTF-8).
    pub(crate) fn of_reads(reads: &Reads, checkout: &Path) -> Option<Vec<Check>> {
        let mut checks = Vec::new();
        for (kind, list) in [("file", &reads.files), ("dir", &reads.dirs)] {
            for r in list {
                let name = portable_name(&r.path, CHECKOUT, Some(checkout))?;
                checks.push(Check { kind: kind.into(), name, blake3: r.hash.clone() });
            }
        }
        for (name, value) in &reads.env {
            let blake3 = value.as_ref().map(|v| blake3::hash(v.as_bytes()).to_hex().to_string());
            checks.push(Check { kind: "env".into(), name: name.clone(), blake3 });
        }
        Some(checks)
    }

    /// The checks of the environment's files a build packaged that the key does not cover
    /// (those no kept `RECORD` row names: a `RECORD` itself, whose console-script rows hold the
    /// environment's path; `INSTALLER`; files of a distribution without a `RECORD`), by content.
    /// Under the managed environment `env` they are named `$ENV/<relative path>`, elsewhere (a
    /// system site-packages) absolutely. `None` when one cannot be named portably.
    pub(crate) fn of_environment(files: &[PathBuf], env: Option<&Path>) -> Option<Vec<Check>> {
        let mut checks = Vec::new();
        for file in files {
            let name = portable_name(file, ENV, env)?;
            checks.push(Check { kind: "file".into(), name, blake3: crate::freshness::reads::file_digest(file) });
        }
        Some(checks)
    }

    /// The file or folder it names, for cargo to watch (not a variable, not the environment's).
    pub(crate) fn watched(&self, places: &Places) -> Option<PathBuf> {
        if self.in_environment() {
            return None;
        }
        self.path(places)
    }

    /// The file or folder it names on this machine; `None` for a variable, or an `$ENV` file
    /// before the environment exists.
    fn path(&self, places: &Places) -> Option<PathBuf> {
        if self.kind == "env" {
            None
        } else if let Some(rel) = self.name.strip_prefix(CHECKOUT) {
            Some(places.checkout.join(rel))
        } else if let Some(rel) = self.name.strip_prefix(ENV) {
            places.env.map(|e| e.join(rel))
        } else {
            Some(PathBuf::from(&self.name))
        }
    }

    /// Whether it names a file in the managed environment.
    pub(crate) fn in_environment(&self) -> bool {
        self.name.starts_with(ENV)
    }

    /// Whether this machine has what the build had.
    #[cfg(test)]
    pub(crate) fn holds(&self, places: &Places, env_value: &dyn Fn(&str) -> Option<String>) -> bool {
        self.mismatch(places, env_value).is_none()
    }

    /// What this machine has otherwise than the build had (`the file ... has another content
    /// here`), `None` when it has the same.
    pub(crate) fn mismatch(&self, places: &Places, env_value: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        let path = self.path(places);
        let now = match (self.kind.as_str(), &path) {
            ("env", _) => env_value(&self.name).map(|v| blake3::hash(v.as_bytes()).to_hex().to_string()),
            ("file", Some(path)) => crate::freshness::reads::file_digest(path),
            ("dir", Some(path)) => crate::freshness::reads::listing(path),
            _ => return Some(format!("its build packaged `{}`, and this machine has no such file yet", self.name)),
        };
        if now == self.blake3 {
            return None;
        }
        let (what, name) = match (self.kind.as_str(), &path) {
            ("env", _) => ("the variable", self.name.clone()),
            ("dir", Some(path)) => ("the folder", path.display().to_string()),
            (_, Some(path)) => ("the file", path.display().to_string()),
            _ => ("the file", self.name.clone()),
        };
        let (listed, set) = match self.kind.as_str() {
            "dir" => ("lists other entries", "exists"),
            "env" => ("has another value", "is set"),
            _ => ("has another content", "exists"),
        };
        Some(match (&self.blake3, now) {
            (Some(_), None) => format!("its build read {what} {name}, which is missing or unset here"),
            (None, Some(_)) => format!("{what} {name} {set} here, and did not where it was built"),
            _ => format!("{what} {name} {listed} here than where it was built"),
        })
    }
}

/// `<tag><path relative to base>` for a path under `base`, else the absolute path; `None` when
/// it is not UTF-8 (it could not be named on another machine).
fn portable_name(path: &Path, tag: &str, base: Option<&Path>) -> Option<String> {
    match base.and_then(|b| path.strip_prefix(b).ok()) {
        Some(rel) => Some(format!("{tag}{}", rel.to_str()?)),
        None => Some(path.to_str()?.to_string()),
    }
}

/// The toolchain without its paths: computed once per build (it reads the interpreter,
/// libpython and every `RECORD`).
pub(crate) fn toolchain_digest(toolchain: &Toolchain) -> String {
    let mut h = Framed::new();
    h.field("version", &toolchain.version);
    h.field("platform", &toolchain.platform);
    h.field("pyinstaller", toolchain.pyinstaller.as_deref().unwrap_or("-"));
    // A venv's `python` is a link to the base interpreter: its content is the binary's.
    for (what, file) in [("interpreter", Some(&toolchain.python)), ("libpython", toolchain.libpython.as_ref())] {
        match file.map(|f| hash_file(f)) {
            Some(Ok(hash)) => h.bytes(what, &hash),
            _ => h.field(what, "\0none"),
        }
    }
    for (name, rows) in distributions(&toolchain.site_dirs) {
        h.field("distribution", &name);
        for row in rows {
            h.field("row", &row);
        }
    }
    h.finish()
}

/// Each `*.dist-info` (its name holds the distribution's name and version) with the `RECORD`
/// rows that do not depend on where the environment is, and each `.pth` file's content.
///
/// pip writes the environment's absolute interpreter path into console-script shebangs, so the
/// rows of files outside site-packages (`../../../bin/...`) and pip's own bookkeeping files are
/// dropped; a build that packages one of those anyway lists it as a check
/// ([`Check::of_environment`]).
fn distributions(site_dirs: &[PathBuf]) -> Vec<(String, Vec<String>)> {
    let mut all = Vec::new();
    for dir in site_dirs {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".dist-info") {
                let record = fs::read_to_string(entry.path().join("RECORD")).unwrap_or_default();
                let mut rows: Vec<String> =
                    record.lines().filter(|row| kept(row).is_some()).map(str::to_string).collect();
                rows.sort();
                all.push((name, rows));
            } else if name.ends_with(".pth") {
                all.push((name, vec![fs::read_to_string(entry.path()).unwrap_or_default()]));
            }
        }
    }
    all.sort();
    all
}

/// The path a `RECORD` row names, when the key keeps the row: it has a hash, names a file
/// under site-packages, and is not pip's bookkeeping.
fn kept(row: &str) -> Option<&str> {
    let mut fields = row.rsplitn(3, ',');
    let (_size, hash, path) = (fields.next(), fields.next(), fields.next().unwrap_or(""));
    let file = path.rsplit('/').next().unwrap_or(path);
    let keep = hash.is_some_and(|h| !h.is_empty())
        && !path.starts_with("..")
        && !path.starts_with('/')
        && !["INSTALLER", "REQUESTED", "direct_url.json", "RECORD"].contains(&file);
    keep.then_some(path.trim_matches('"'))
}

/// Whether the environment's `files` a build packaged are those an environment made at any other
/// path from the same inputs has: the environment at `env` is relocatable (uv wrote
/// `relocatable = true` into its `pyvenv.cfg`, and its console scripts, whose hashes `RECORD`
/// holds, without its path), and no such file names the environment's or the checkout's
/// folder (a `direct_url.json` of a local install, an editable install's `.pth`).
pub(crate) fn path_free(env: &Path, files: &[PathBuf], checkout: &Path) -> bool {
    let cfg = fs::read_to_string(env.join("pyvenv.cfg")).unwrap_or_default();
    let relocatable =
        cfg.lines().any(|l| l.split_once('=').is_some_and(|(k, v)| k.trim() == "relocatable" && v.trim() == "true"));
    let folders: Vec<&[u8]> = [env, checkout].iter().filter_map(|p| p.to_str()).map(str::as_bytes).collect();
    let names = |bytes: &[u8]| folders.iter().any(|f| !f.is_empty() && bytes.windows(f.len()).any(|w| w == *f));
    relocatable && files.iter().all(|f| fs::read(f).is_ok_and(|bytes| !names(&bytes)))
}

/// The managed (virtual) environment's folder, when the interpreter runs in one.
pub(crate) fn env_root(toolchain: &Toolchain) -> Option<PathBuf> {
    let root = toolchain.python.parent()?.parent()?;
    root.join("pyvenv.cfg").is_file().then(|| root.to_path_buf())
}

/// Of the files a build packaged, those of the environment (its site-packages, or anywhere
/// under a virtual environment's folder) that the key does not cover: no kept `RECORD` row
/// names them. The interpreter's own library is covered by the interpreter's identity.
pub(crate) fn uncovered(packaged: &[PathBuf], toolchain: &Toolchain) -> Vec<PathBuf> {
    let mut covered = std::collections::HashSet::new();
    for dir in &toolchain.site_dirs {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().ends_with(".dist-info") {
                let record = fs::read_to_string(entry.path().join("RECORD")).unwrap_or_default();
                covered.extend(record.lines().filter_map(kept).map(|p| dir.join(p)));
            }
        }
    }
    let env = env_root(toolchain);
    let in_env = |p: &Path| {
        toolchain.site_dirs.iter().any(|d| p.starts_with(d)) || env.as_ref().is_some_and(|e| p.starts_with(e))
    };
    packaged.iter().filter(|p| in_env(p) && !covered.contains(*p)).cloned().collect()
}

/// The toolchain part of the key before the environment exists: what determines it
/// (`venv::pinned_basis`). Never equal to a [`toolchain_digest`].
pub(crate) fn pinned_digest(basis: &[String]) -> String {
    let mut h = Framed::new();
    h.field("pinned", "requirements, base interpreter, installer");
    for line in basis {
        h.field("basis", line);
    }
    h.finish()
}

/// The key of `spec`'s binary in the shared tier: the fingerprint's own fields (one list, so
/// nothing that changes the binary can be left out of one of them), with the portable
/// `toolchain` digest in place of the toolchain's paths, every project file as an input, and
/// what the build reads outside python-dir left to the entry's [`Check`]s.
pub(crate) fn shared_key(toolchain: &str, ctx: &Context, project: &Project, spec: &str) -> String {
    let inputs = fingerprint::inputs(project, spec, None, false);
    let portable = Context { toolchain: format!("{VERSION}\n{toolchain}"), ..ctx.clone() };
    let context = fingerprint::context_hash(&portable, project, spec, &inputs, "", false);
    fingerprint::fingerprint(&context, project, &inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A managed environment at `root`: an interpreter, one distribution whose RECORD names its
    /// console script by a path outside site-packages (with the environment's own shebang).
    fn env_at(root: &Path, python_bytes: &[u8]) -> Toolchain {
        let site = root.join("lib/python3.11/site-packages");
        let dist = site.join("demo-1.0.dist-info");
        fs::create_dir_all(&dist).unwrap();
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::write(root.join("bin/python"), python_bytes).unwrap();
        fs::write(site.join("demo.py"), "X = 1\n").unwrap();
        let script = format!("#!{}/bin/python\n", root.display());
        fs::write(root.join("bin/demo"), &script).unwrap();
        let script_hash = crate::hashing::hex(blake3::hash(script.as_bytes()).as_bytes());
        fs::write(
            dist.join("RECORD"),
            format!(
                "demo.py,sha256=abc,6\n../../../bin/demo,sha256={script_hash},{}\ndemo-1.0.dist-info/INSTALLER,sha256=x,4\n\
                 demo-1.0.dist-info/RECORD,,\n",
                script.len()
            ),
        )
        .unwrap();
        Toolchain {
            python: root.join("bin/python"),
            version: "3.11.7 (main) [GCC 12.2.0]".into(),
            platform: "linux-x86_64".into(),
            site_dirs: vec![site],
            prefixes: vec![root.to_path_buf()],
            pyinstaller: Some("6.22.3".into()),
            site_hash: String::new(),
            libpython: None,
        }
    }

    fn project_at(files: &[(&str, u8)]) -> Project {
        let mut p = Project { root: PathBuf::from("/somewhere/python"), ..Project::default() };
        for (f, h) in files {
            p.files.insert(f.to_string(), [*h; 32]);
        }
        p
    }

    fn ctx() -> Context {
        Context {
            toolchain: String::new(),
            target: "x86_64-unknown-linux-gnu".into(),
            env: vec![],
            settings: "s".into(),
        }
    }

    #[test]
    fn the_key_is_the_same_at_any_path_and_sees_every_input() {
        let tmp = tempfile::tempdir().unwrap();
        let a = env_at(&tmp.path().join("a/target/envs/env-1"), b"python");
        let b = env_at(&tmp.path().join("elsewhere/b/env"), b"python");
        assert_ne!(
            fs::read(a.site_dirs[0].join("demo-1.0.dist-info/RECORD")).unwrap(),
            fs::read(b.site_dirs[0].join("demo-1.0.dist-info/RECORD")).unwrap()
        );
        let (ta, tb) = (toolchain_digest(&a), toolchain_digest(&b));
        assert_eq!(ta, tb, "environment paths and shebangs are not in the key");
        let files = [("app.spec", 1), ("app.py", 2), ("data.txt", 3)];
        let mut pa = project_at(&files);
        let mut pb = project_at(&files);
        pb.root = PathBuf::from("/other/checkout/python");
        let key = shared_key(&ta, &ctx(), &pa, "app.spec");
        assert_eq!(key, shared_key(&tb, &ctx(), &pb, "app.spec"), "the checkout path is not in the key");

        // Each input changes the key.
        let c = env_at(&tmp.path().join("c"), b"another python");
        assert_ne!(toolchain_digest(&c), ta, "the interpreter by content");
        fs::write(b.site_dirs[0].join("demo-1.0.dist-info/RECORD"), "demo.py,sha256=def,6\n").unwrap();
        assert_ne!(toolchain_digest(&b), ta, "a distribution's files");
        let mut v = a.clone();
        v.version = "3.11.8".into();
        assert_ne!(toolchain_digest(&v), ta);
        pa.files.insert("app.py".into(), [9; 32]);
        assert_ne!(shared_key(&ta, &ctx(), &pa, "app.spec"), key, "a source's content");
        let mut new_module = pb.clone();
        new_module.files.insert("json.py".into(), [1; 32]);
        assert_ne!(shared_key(&ta, &ctx(), &new_module, "app.spec"), key);
        let mut c = ctx();
        c.env.push(("PYTHONOPTIMIZE".into(), Some("1".into())));
        assert_ne!(shared_key(&ta, &c, &pb, "app.spec"), key);
        let mut c = ctx();
        c.target = "aarch64-unknown-linux-gnu".into();
        assert_ne!(shared_key(&ta, &c, &pb, "app.spec"), key);
        let mut c = ctx();
        c.settings = "other".into();
        assert_ne!(shared_key(&ta, &c, &pb, "app.spec"), key);
    }

    fn at(checkout: &Path) -> Places<'_> {
        Places { checkout, env: None, env_to_be: None }
    }

    #[test]
    fn environment_files_no_kept_row_covers_are_checked_by_content_under_the_environment() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a/env"), tmp.path().join("b/env"));
        let (ta, tb) = (env_at(&a, b"python"), env_at(&b, b"python"));
        for root in [&a, &b] {
            fs::write(root.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        }
        assert_eq!(env_root(&ta).as_deref(), Some(a.as_path()));
        let site = &ta.site_dirs[0];
        let packaged = [
            site.join("demo.py"),                       // a kept row: in the key
            site.join("demo-1.0.dist-info/RECORD"),     // holds the script's env-specific hash
            site.join("demo-1.0.dist-info/INSTALLER"),  // pip's bookkeeping: not in the key
            a.join("bin/demo"),                         // outside site-packages
            PathBuf::from("/usr/lib/python3.11/os.py"), // the interpreter's own library
        ];
        fs::write(site.join("demo-1.0.dist-info/INSTALLER"), "pip\n").unwrap();
        fs::write(tb.site_dirs[0].join("demo-1.0.dist-info/INSTALLER"), "pip\n").unwrap();
        let uncovered = uncovered(&packaged, &ta);
        assert_eq!(uncovered, packaged[1..4].to_vec());
        let checks = Check::of_environment(&uncovered, Some(&a)).unwrap();
        assert_eq!(checks[0].name, "$ENV/lib/python3.11/site-packages/demo-1.0.dist-info/RECORD");
        assert!(checks.iter().all(Check::in_environment));
        let with_env = |env: &Path| {
            checks.iter().map(|c| c.holds(&Places { env: Some(env), ..at(tmp.path()) }, &|_| None)).collect::<Vec<_>>()
        };
        assert_eq!(with_env(&a), [true, true, true]);
        // Another environment path: its RECORD and script differ (the shebang), its INSTALLER not.
        assert_eq!(with_env(&b), [false, true, false]);
        assert!(!checks[1].holds(&at(tmp.path()), &|_| None), "no environment: an `$ENV` file cannot hold");
    }

    #[test]
    fn an_environment_is_path_free_when_relocatable_and_its_packaged_files_name_no_folder_of_this_machine() {
        let tmp = tempfile::tempdir().unwrap();
        let (env, checkout) = (tmp.path().join("target/envs/env-1"), tmp.path().join("app"));
        fs::create_dir_all(&env).unwrap();
        let record = env.join("RECORD");
        fs::write(&record, "../../../bin/demo,sha256=abc,60\n").unwrap();
        let files = [record.clone()];
        fs::write(env.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        assert!(!path_free(&env, &files, &checkout), "not relocatable: its scripts name it");
        fs::write(env.join("pyvenv.cfg"), "home = /usr/bin\nrelocatable = true\n").unwrap();
        assert!(path_free(&env, &files, &checkout));
        // A local install's direct_url.json, an editable install's .pth: they name a folder.
        let direct_url = env.join("direct_url.json");
        fs::write(&direct_url, format!("{{\"url\": \"file://{}/wheels/x.whl\"}}", checkout.display())).unwrap();
        assert!(!path_free(&env, &[record.clone(), direct_url], &checkout));
        let pth = env.join("__editable__.x.pth");
        fs::write(&pth, format!("{}/lib\n", env.display())).unwrap();
        assert!(!path_free(&env, &[record, pth], &checkout));
    }

    #[test]
    fn checks_name_checkout_files_relatively_and_hash_values() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        for dir in [&a, &b] {
            fs::create_dir_all(dir.join("vendor")).unwrap();
            fs::write(dir.join("vendor/lib.py"), "X = 1\n").unwrap();
        }
        let outside = tmp.path().join("libz.so");
        fs::write(&outside, "z").unwrap();
        let read = |path: PathBuf, hash: Option<String>| crate::freshness::reads::Read {
            path,
            stat: None,
            hash,
            watch: false,
        };
        let reads = Reads {
            files: vec![
                read(a.join("vendor/lib.py"), Some(crate::hashing::hex(&hash_file(&a.join("vendor/lib.py")).unwrap()))),
                read(outside.clone(), Some(crate::hashing::hex(&hash_file(&outside).unwrap()))),
                read(a.join("absent.cfg"), None),
            ],
            dirs: vec![read(a.join("vendor"), crate::freshness::reads::listing(&a.join("vendor")))],
            env: vec![("APP_TOKEN".into(), Some("secret".into())), ("APP_UNSET".into(), None)],
            ..Reads::default()
        };
        let checks = Check::of_reads(&reads, &a).unwrap();
        assert_eq!(checks[0].name, "$CHECKOUT/vendor/lib.py");
        assert_eq!(checks[1].name, outside.to_str().unwrap());
        assert!(!serde_json::to_string(&checks).unwrap().contains("secret"), "values are hashed");
        let env = |k: &str| (k == "APP_TOKEN").then(|| "secret".to_string());
        assert!(checks.iter().all(|c| c.holds(&at(&b), &env)), "another checkout with the same files");
        fs::write(b.join("vendor/lib.py"), "X = 2\n").unwrap();
        assert!(!checks[0].holds(&at(&b), &env), "another content: the entry is not taken");
        fs::write(b.join("vendor/new.py"), "").unwrap();
        assert!(!checks[3].holds(&at(&b), &env), "another listing");
        fs::write(b.join("absent.cfg"), "").unwrap();
        assert!(!checks[2].holds(&at(&b), &env), "a file the build did not find");
        let other = |k: &str| (k == "APP_TOKEN").then(|| "other".to_string());
        assert!(!checks[4].holds(&at(&b), &other) && checks[5].holds(&at(&b), &other));
        assert!(!checks[5].holds(&at(&b), &|_| Some("set".into())));
    }
}
