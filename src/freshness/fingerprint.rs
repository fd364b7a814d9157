//! What a spec's binary depends on, hashed.
//!
//! A fingerprint has two halves. The *context* is everything PyInstaller's own mtime-based cache
//! cannot see (toolchain, environment, target, settings, the project's file and folder set); the
//! *files* are the contents of the project files the spec depends on. The crate skips a build only
//! when both match what produced the installed binary; it lets PyInstaller reuse its cache only
//! when the context matches and every changed file has an mtime PyInstaller will notice.

use crate::project::Project;
use std::collections::BTreeSet;

/// Bumped whenever the fingerprint's layout or meaning changes, so old stamps never match.
const VERSION: &str = "pyinstaller-build fingerprint 4";

/// The variables that change what PyInstaller produces. They are announced with
/// `rerun-if-env-changed` and hashed; `PATH` is not (rust-analyzer rewrites it on every run).
pub(crate) const PYINSTALLER_ENV: &[&str] = &[
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONOPTIMIZE",
    "PYTHONNOUSERSITE",
    "PYTHONSAFEPATH",
    "PYTHONUTF8",
    "PYINSTALLER_STRICT_COLLECT_MODE",
    "PYINSTALLER_FORCE_UPX",
    "PYINSTALLER_ZLIB_COMPRESSION_LEVEL",
    "PYINSTALLER_STRICT_BUNDLE_CODESIGN_ERROR",
    "PYINSTALLER_VERIFY_BUNDLE_SIGNATURE",
    "SOURCE_DATE_EPOCH",
    "LD_LIBRARY_PATH",
    "DYLD_LIBRARY_PATH",
    "DYLD_FALLBACK_LIBRARY_PATH",
    "LIBPATH",
    "DJANGO_SETTINGS_MODULE",
    "XDG_DATA_DIRS",
    "CONDA_PREFIX",
];

/// Library search paths: cargo prepends its own folders for build scripts, differently for
/// `cargo build`, `clippy` and `test`. Those are dropped, both from the fingerprint and from what
/// PyInstaller sees, so the user's own value is what counts.
const LIBRARY_PATHS: &[&str] = &["LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "DYLD_FALLBACK_LIBRARY_PATH"];

/// `value` of `var`, without the entries under `cargo_dirs` if it is a library search path.
pub(crate) fn without_cargo_dirs(
    var: &str,
    value: Option<String>,
    cargo_dirs: &[std::path::PathBuf],
) -> Option<String> {
    if !LIBRARY_PATHS.contains(&var) {
        return value;
    }
    let value = value?;
    let sep = if cfg!(windows) { ';' } else { ':' };
    let kept: Vec<&str> = value
        .split(sep)
        .filter(|e| !e.is_empty() && !cargo_dirs.iter().any(|d| std::path::Path::new(e).starts_with(d)))
        .collect();
    (!kept.is_empty()).then(|| kept.join(&sep.to_string()))
}

/// The spec-independent part of the context.
#[derive(Clone, Debug)]
pub(crate) struct Context {
    pub toolchain: String,
    pub target: String,
    /// `(name, value)` of every variable in [`PYINSTALLER_ENV`] and the user's `env` list.
    pub env: Vec<(String, Option<String>)>,
    /// Settings that change what "built" means (none now: the smoke test is kept in the stamp,
    /// and a change of it re-tests the installed binary).
    pub settings: String,
}

/// The project files one spec depends on.
///
/// Before its first build the crate cannot know which modules a spec packages, so it takes every
/// `.py` file; afterwards `records` (from PyInstaller's own Analysis TOC, with the files its run
/// read) names them, so an edit to a module only another spec imports leaves this one alone.
/// Every non-Python file counts for every spec (configs, hooks, data, icons: when unsure,
/// rebuild), except the other specs, unless the last run's record is `traced` completely
/// (`Reads::complete`): then only what it packaged or read counts, and what it could have found
/// (the folders it listed, the names it looked up, the paths it checked) is in its reads' digest.
pub(crate) fn inputs(project: &Project, spec: &str, records: Option<&[String]>, traced: bool) -> BTreeSet<String> {
    let traced = traced && records.is_some();
    let mut inputs: BTreeSet<String> = project
        .files
        .keys()
        .filter(|_| !traced)
        .filter(|f| {
            let name = f.rsplit('/').next().unwrap_or(f);
            let is_py = f.ends_with(".py");
            let is_hook = is_py && (name.starts_with("hook-") || name.starts_with("pyi_rth"));
            let other_spec = f.ends_with(".spec") && f.as_str() != spec;
            (!is_py && !other_spec) || is_hook || (is_py && records.is_none())
        })
        .cloned()
        .collect();
    inputs.insert(spec.to_string());
    if let Some(records) = records {
        inputs.extend(records.iter().cloned());
    }
    inputs
}

/// Hash of everything but file contents.
///
/// `external` is the digest of what the spec's last build read or packaged from outside
/// python-dir and the toolchain (`Reads::digest`: a `pathex` folder, hooks, system libraries,
/// listed folders, environment variables): PyInstaller's cache does not notice their changes
/// either, so they belong here.
pub(crate) fn context_hash(
    ctx: &Context,
    project: &Project,
    spec: &str,
    inputs: &BTreeSet<String>,
    external: &str,
    traced: bool,
) -> String {
    let mut h = Framed::new();
    h.field("version", VERSION);
    h.field("spec", spec);
    h.field("external", external);
    h.field("target", &ctx.target);
    h.field("toolchain", &ctx.toolchain);
    for (k, v) in &ctx.env {
        h.field("env", k);
        h.field("value", v.as_deref().unwrap_or("\0unset"));
    }
    h.field("settings", &ctx.settings);
    // Adding or removing a module can change what an unchanged import resolves to. A traced
    // run's reads say where its module search looked (in `external`).
    for f in project.files.keys().filter(|f| f.ends_with(".py") && !traced) {
        h.field("module", f);
    }
    for d in project.dirs.iter().filter(|_| !traced) {
        h.field("dir", d);
    }
    for i in inputs {
        h.field("input", i);
    }
    h.finish()
}

/// The full fingerprint: the context plus the content of every input.
pub(crate) fn fingerprint(context: &str, project: &Project, inputs: &BTreeSet<String>) -> String {
    let mut h = Framed::new();
    h.field("context", context);
    for i in inputs {
        h.field("file", i);
        match project.files.get(i) {
            Some(hash) => h.bytes("hash", hash),
            None => h.field("hash", "\0missing"),
        }
        if project.executable.contains(i) {
            h.field("mode", "executable");
        }
        if let Some(target) = project.links.get(i) {
            h.field("link", target);
        }
    }
    h.finish()
}

/// Tagged, length-prefixed fields, so no two different inputs hash alike by concatenation.
pub(crate) struct Framed(blake3::Hasher);

impl Framed {
    pub(crate) fn new() -> Self {
        Framed(blake3::Hasher::new())
    }
    pub(crate) fn bytes(&mut self, tag: &str, value: &[u8]) {
        self.0.update(tag.as_bytes()).update(&(value.len() as u64).to_le_bytes()).update(value);
    }
    pub(crate) fn field(&mut self, tag: &str, value: &str) {
        self.bytes(tag, value.as_bytes());
    }
    pub(crate) fn finish(self) -> String {
        self.0.finalize().to_hex().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, u8)]) -> Project {
        let mut p = Project::default();
        for (f, h) in files {
            p.files.insert(f.to_string(), [*h; 32]);
        }
        p
    }

    fn ctx() -> Context {
        Context {
            toolchain: "py".into(),
            target: "x86_64-unknown-linux-gnu".into(),
            env: vec![],
            settings: String::new(),
        }
    }

    #[test]
    fn cargos_own_library_folders_are_not_the_users() {
        let dirs = vec!["/t/target".into(), "/rust/toolchain".into()];
        let v = Some("/t/target/debug:/rust/toolchain/lib:/opt/lib:/t/target/debug/build/x/out".to_string());
        assert_eq!(without_cargo_dirs("LD_LIBRARY_PATH", v.clone(), &dirs).as_deref(), Some("/opt/lib"));
        assert_eq!(without_cargo_dirs("LD_LIBRARY_PATH", Some("/t/target/debug".into()), &dirs), None);
        assert_eq!(without_cargo_dirs("PYTHONPATH", v.clone(), &dirs), v);
    }

    #[test]
    fn records_narrow_the_python_inputs() {
        let p =
            project(&[("a.spec", 1), ("b.spec", 2), ("a.py", 3), ("b.py", 4), ("hooks/hook-x.py", 5), ("cfg.toml", 6)]);
        let all = inputs(&p, "a.spec", None, false);
        assert_eq!(
            all.iter().map(String::as_str).collect::<Vec<_>>(),
            ["a.py", "a.spec", "b.py", "cfg.toml", "hooks/hook-x.py"]
        );
        let recorded = inputs(&p, "a.spec", Some(&["a.py".to_string()]), false);
        assert_eq!(
            recorded.iter().map(String::as_str).collect::<Vec<_>>(),
            ["a.py", "a.spec", "cfg.toml", "hooks/hook-x.py"]
        );
    }

    #[test]
    fn after_a_complete_trace_only_what_the_run_used_counts() {
        let p = project(&[("a.spec", 1), ("a.py", 3), ("src/main.rs", 4), ("Cargo.toml", 5), ("icons/i.png", 6)]);
        let used = ["a.py".to_string()];
        let traced = inputs(&p, "a.spec", Some(&used), true);
        assert_eq!(traced.iter().map(String::as_str).collect::<Vec<_>>(), ["a.py", "a.spec"]);
        // A new module or folder no lookup reached changes nothing either: the reads' digest
        // (`external`) holds what the module search could find.
        let fp = |p: &Project| fingerprint(&context_hash(&ctx(), p, "a.spec", &traced, "reads", true), p, &traced);
        let mut more = p.clone();
        more.files.insert("src/other.py".into(), [7; 32]);
        more.files.insert("Cargo.toml".into(), [8; 32]);
        more.dirs.insert("gen".into());
        assert_eq!(fp(&p), fp(&more));
        // Untraced (the run started a program of its own): every file counts.
        assert!(inputs(&p, "a.spec", Some(&used), false).contains("src/main.rs"));
    }

    #[test]
    fn fingerprint_sees_content_new_modules_env_and_target() {
        let base = project(&[("a.spec", 1), ("a.py", 3), ("b.py", 4)]);
        let fp = |p: &Project, c: &Context| {
            let i = inputs(p, "a.spec", Some(&["a.py".to_string()]), false);
            fingerprint(&context_hash(c, p, "a.spec", &i, "", false), p, &i)
        };
        let f0 = fp(&base, &ctx());
        assert_eq!(f0, fp(&base, &ctx()));
        // b.py is not an input of a.spec: its content does not matter...
        assert_eq!(f0, fp(&project(&[("a.spec", 1), ("a.py", 3), ("b.py", 9)]), &ctx()));
        // ...but the existence of a new module does (it can shadow an import).
        assert_ne!(f0, fp(&project(&[("a.spec", 1), ("a.py", 3), ("b.py", 4), ("json.py", 1)]), &ctx()));
        assert_ne!(f0, fp(&project(&[("a.spec", 1), ("a.py", 8), ("b.py", 4)]), &ctx()));
        let mut dirs = base.clone();
        dirs.dirs.insert("json".into());
        assert_ne!(f0, fp(&dirs, &ctx()));
        // An input's execute bit: PyInstaller packs an executable data file as a binary.
        let mut executable = base.clone();
        executable.executable.insert("a.py".into());
        assert_ne!(f0, fp(&executable, &ctx()));
        // Not an input's.
        executable.executable = ["b.py".to_string()].into();
        assert_eq!(f0, fp(&executable, &ctx()));
        // An input that is a symbolic link, and where it points: PyInstaller 6 packs a link.
        let mut linked = base.clone();
        linked.links.insert("a.py".into(), "real/a.py".into());
        assert_ne!(f0, fp(&linked, &ctx()));
        let mut elsewhere = linked.clone();
        elsewhere.links.insert("a.py".into(), "other/a.py".into());
        assert_ne!(fp(&linked, &ctx()), fp(&elsewhere, &ctx()));
        let mut c = ctx();
        c.env.push(("PYTHONOPTIMIZE".into(), Some("1".into())));
        assert_ne!(f0, fp(&base, &c));
        let mut c = ctx();
        c.target = "aarch64-unknown-linux-gnu".into();
        assert_ne!(f0, fp(&base, &c));
    }
}
