//! Differential soundness: random project shapes and random edits, each built by the crate as a
//! user's `cargo build` would, then compared with a `PYINSTALLER_BUILD_FORCE=1` build of the same
//! tree copied to another path (the oracle). After every step the installed sidecar must be the
//! oracle's bytes (or, if two forced builds of one tree disagree, behave the same); a step whose
//! forced build fails must fail in the crate too and keep the installed binary.
//!
//! Knobs (environment variables of the test process; see the README's test section):
//! `PYINSTALLER_BUILD_DIFF_SEED` (first case's seed, default 1), `_STEPS` (random steps in all,
//! default 60), `_CASE_STEPS` (steps per project, default 20), `_SECONDS` (no new step after this,
//! default 420), `_CLASSES` (opt-in generators: `1,2,3,4,5,6,7,8` or `all`),
//! `_REPLAY` (`<seed>` or `<seed>:<i,j,...>`: one case, only those steps), `_SHRINK_SECONDS`
//! (default 300), `_PARALLEL` (`0`: the oracle waits for the crate's build).
//!
//! The opt-in classes (the numbering of the crate's soundness issue; each switched on once fixed):
//! 1 a spec that reads or runs a project module, 2 one source file under two module names (an
//! entry script imported as a module, a `pathex` inside python-dir), 3 entries a spec hands to
//! `EXE()` itself (its own TOC tuples, a `Tree()`), 4 files the project scan skips but
//! PyInstaller collects (hidden files, `dist/`, `build/` in a data folder), 5 a damaged sidecar
//! rebuilt on PyInstaller's cached analysis (no binary store, an in-place edit of the installed
//! hard link), 6 a package global named like an unbundled submodule, 7 an installed sidecar
//! whose execute bit was removed (cargo does not rerun the build script for a mode change), 8 a
//! quarter of the cases in extract-once mode (`launch = "extract-once"`: the onedir form packed
//! behind a launcher, where the fast path re-packs the folder).
// Symlinks, modes and shell-run sidecars: the harness runs where PyInstaller builds are tested.
#![cfg(unix)]

mod model;
mod ops;
mod rng;

use crate::support;
use crate::support::env::Clean;
use model::{Model, Rendered};
use ops::{Classes, Damage, Op};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
struct Knobs {
    seed: u64,
    steps: usize,
    case_steps: usize,
    seconds: u64,
    classes: Classes,
    replay: Option<(u64, Option<Vec<usize>>)>,
    shrink_seconds: u64,
    parallel: bool,
}

#[allow(clippy::disallowed_methods)] // test settings, not build inputs
fn knob(name: &str) -> Option<String> {
    std::env::var(format!("PYINSTALLER_BUILD_DIFF_{name}")).ok().filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> T {
    knob(name)
        .map(|v| v.parse().unwrap_or_else(|_| panic!("PYINSTALLER_BUILD_DIFF_{name}={v:?}: not a number")))
        .unwrap_or(default)
}

impl Knobs {
    fn from_env() -> Knobs {
        let classes = match knob("CLASSES").as_deref() {
            None => Classes::default(),
            Some("all") => Classes((1..=8).collect()),
            Some(list) => Classes(
                list.split(',').map(|c| c.trim().parse().expect("PYINSTALLER_BUILD_DIFF_CLASSES: numbers")).collect(),
            ),
        };
        let replay = knob("REPLAY").map(|r| match r.split_once(':') {
            Some((seed, steps)) => (
                seed.parse().expect("PYINSTALLER_BUILD_DIFF_REPLAY: <seed>:<i,j,...>"),
                Some(steps.split(',').filter(|s| !s.is_empty()).map(|s| s.parse().expect("a step number")).collect()),
            ),
            None => (r.parse().expect("PYINSTALLER_BUILD_DIFF_REPLAY: <seed>"), None),
        });
        Knobs {
            seed: number("SEED", 1),
            steps: number("STEPS", 60),
            case_steps: number("CASE_STEPS", 20),
            seconds: number("SECONDS", 420),
            classes,
            replay,
            shrink_seconds: number("SHRINK_SECONDS", 300),
            parallel: number("PARALLEL", 1) != 0,
        }
    }

    /// The command that replays `seed` with only `steps`.
    fn replay_command(&self, seed: u64, steps: &[usize]) -> String {
        let list: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
        let classes: Vec<String> = self.classes.0.iter().map(|c| c.to_string()).collect();
        format!(
            "PYINSTALLER_BUILD_DIFF_REPLAY={seed}:{} PYINSTALLER_BUILD_DIFF_CASE_STEPS={} \
             PYINSTALLER_BUILD_DIFF_CLASSES={} cargo test --test testsuite differential:: -- --nocapture",
            list.join(","),
            self.case_steps,
            if classes.is_empty() { "''".to_string() } else { classes.join(",") }
        )
    }
}

/// A seed's project and its steps.
struct Plan {
    seed: u64,
    shape: Model,
    /// Extra keys of the crate's metadata table.
    extra: String,
    ops: Vec<Op>,
}

impl Plan {
    fn generate(seed: u64, steps: usize, classes: &Classes) -> Plan {
        let mut rng = rng::Rng::new(seed);
        let shape = ops::shape(&mut rng, classes);
        // Without the binary store, a damaged sidecar with unchanged inputs runs PyInstaller on
        // its cache (class 5).
        let mut extra = if classes.on(5) && rng.chance(30) { "binary-cache-mb = 0\n" } else { "" }.to_string();
        if shape.extract_once {
            extra.push_str("launch = \"extract-once\"\n");
        }
        let mut model = shape.clone();
        let mut history = vec![model.clone()];
        let mut ops = Vec::new();
        for step in 0..steps {
            let op = ops::generate(&mut rng, &model, step, classes);
            match &op {
                Op::Revert(n) => model = history[*n].clone(),
                op => {
                    op.apply(&mut model);
                }
            }
            history.push(model.clone());
            ops.push(op);
        }
        Plan { seed, shape, extra, ops }
    }
}

/// What a discrepancy looked like.
#[derive(Debug)]
struct Failure {
    /// Index in the plan of the step after which it showed (`None`: the first build).
    step: Option<usize>,
    what: String,
}

#[derive(Default)]
struct Stats {
    steps: usize,
    outcomes: BTreeMap<&'static str, usize>,
    /// The outcomes of the cases in extract-once mode (class 8), also counted in `outcomes`.
    extract_once: BTreeMap<&'static str, usize>,
    oracle_builds: usize,
    oracle_reused: usize,
    nondeterministic: usize,
    crate_time: Duration,
    oracle_time: Duration,
}

/// A crate app and its oracle copy, in one temporary folder.
struct Sandbox {
    tmp: tempfile::TempDir,
    app: PathBuf,
    oracle: PathBuf,
    rendered: BTreeMap<String, Rendered>,
    /// Oracle results by tree key.
    oracles: HashMap<String, Oracle>,
}

#[derive(Clone)]
struct Oracle {
    ok: bool,
    /// The forced build's binary, kept in the sandbox (`None` when it failed).
    binary: Option<PathBuf>,
    hash: Option<String>,
    stderr: String,
}

const NAME: &str = "app";

fn oracle_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("diff-oracle-target")
}

impl Sandbox {
    fn new(extra: &str) -> Sandbox {
        let tmp = tempfile::tempdir().unwrap();
        let app = tmp.path().join("app");
        let oracle = tmp.path().join("elsewhere").join("app");
        for root in [&app, &oracle] {
            support::e2e::copy_fixture("tests/fixtures/differential", root, extra);
        }
        fs::create_dir_all(tmp.path().join("oracle-binaries")).unwrap();
        Sandbox { tmp, app, oracle, rendered: BTreeMap::new(), oracles: HashMap::new() }
    }

    fn installed(&self) -> PathBuf {
        self.app.join("binaries").join(format!("{NAME}-{}", triple()))
    }

    /// Writes what changed between the last rendering and `model`'s, as an editor or `git` would:
    /// changed files rewritten, removed ones deleted (and folders left empty), links replaced.
    fn materialize(&mut self, model: &Model, touch: Option<&str>) {
        let next = model.render();
        for path in self.rendered.keys() {
            if !next.contains_key(path) {
                let full = self.app.join(path);
                fs::remove_file(&full).unwrap();
                let mut dir = full.parent().map(Path::to_path_buf);
                while let Some(d) = dir {
                    if d == self.app || fs::remove_dir(&d).is_err() {
                        break;
                    }
                    dir = d.parent().map(Path::to_path_buf);
                }
            }
        }
        for (path, r) in &next {
            if self.rendered.get(path) == Some(r) && touch != Some(path.as_str()) {
                continue;
            }
            let full = self.app.join(path);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            let was_link = fs::symlink_metadata(&full).is_ok_and(|m| m.file_type().is_symlink());
            match r {
                Rendered::Link(target) => {
                    let _ = fs::remove_file(&full);
                    std::os::unix::fs::symlink(target, &full).unwrap();
                }
                Rendered::File(bytes, exec) => {
                    if was_link {
                        fs::remove_file(&full).unwrap();
                    }
                    fs::write(&full, bytes).unwrap();
                    set_exec(&full, *exec);
                }
            }
        }
        self.rendered = next;
    }

    /// The tree's identity: every file under python/ and outside/ (`__pycache__` aside) with its
    /// kind, mode and bytes, the environment and the manifest.
    fn key(&self, env: &BTreeMap<String, String>) -> String {
        let mut h = blake3::Hasher::new();
        for (rel, kind) in walk(&self.app) {
            h.update(rel.as_bytes());
            h.update(&kind);
        }
        h.update(format!("{env:?}").as_bytes());
        h.update(&fs::read(self.app.join("Cargo.toml")).unwrap());
        h.finalize().to_hex().to_string()
    }

    /// Copies the tree to the oracle's path, `__pycache__` aside.
    fn sync_oracle(&self) {
        for top in ["python", "outside"] {
            let _ = fs::remove_dir_all(self.oracle.join(top));
            copy_tree(&self.app.join(top), &self.oracle.join(top));
        }
    }

    fn build_oracle(&self, env: &BTreeMap<String, String>, n: usize) -> (Oracle, Duration) {
        let (ok, stderr, took) = cargo(&self.oracle, &oracle_target(), env, true);
        let built = self.oracle.join("binaries").join(format!("{NAME}-{}", triple()));
        let (binary, hash) = if ok {
            let keep = self.tmp.path().join("oracle-binaries").join(n.to_string());
            fs::copy(&built, &keep).unwrap();
            let hash = blake3::hash(&fs::read(&keep).unwrap()).to_hex().to_string();
            (Some(keep), Some(hash))
        } else {
            (None, None)
        };
        (Oracle { ok, binary, hash, stderr }, took)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for (dir, target) in [(&self.app, None), (&self.oracle, Some(oracle_target()))] {
            let folder = match target {
                None => support::e2e::work_folder(&dir.join("python")),
                Some(t) => work_folder_in(&t, &dir.join("python")),
            };
            if let Some(f) = folder {
                let _ = fs::remove_dir_all(f);
            }
        }
    }
}

/// `work_folder` for another target folder.
fn work_folder_in(target: &Path, dir: &Path) -> Option<PathBuf> {
    let canonical = dir.canonicalize().ok()?;
    let name = canonical.file_name()?.to_string_lossy().into_owned();
    let hash = blake3::hash(canonical.as_os_str().as_encoded_bytes()).to_hex();
    Some(target.join("pyinstaller-build").join(format!("{name}-{}", &hash[..12])))
}

fn triple() -> &'static str {
    static T: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    T.get_or_init(support::e2e::host_triple)
}

fn set_exec(path: &Path, exec: bool) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 })).unwrap();
}

/// Every entry under `root`'s python/ and outside/, sorted, with its kind, mode and content.
fn walk(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            if e.file_name() == "__pycache__" {
                continue;
            }
            let path = e.path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let meta = fs::symlink_metadata(&path).unwrap();
            use std::os::unix::fs::PermissionsExt;
            if meta.file_type().is_symlink() {
                let mut kind = b"link:".to_vec();
                kind.extend(fs::read_link(&path).unwrap().as_os_str().as_encoded_bytes());
                out.push((rel, kind));
            } else if meta.is_dir() {
                out.push((rel, b"dir".to_vec()));
                go(root, &path, out);
            } else {
                let mut kind = format!("file:{:o}:", meta.permissions().mode() & 0o111).into_bytes();
                kind.extend(fs::read(&path).unwrap());
                out.push((rel, kind));
            }
        }
    }
    let mut out = Vec::new();
    for top in ["python", "outside"] {
        go(root, &root.join(top), &mut out);
    }
    out.sort();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    let Ok(entries) = fs::read_dir(from) else { return };
    fs::create_dir_all(to).unwrap();
    for e in entries.flatten() {
        if e.file_name() == "__pycache__" {
            continue;
        }
        let meta = fs::symlink_metadata(e.path()).unwrap();
        let dest = to.join(e.file_name());
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(e.path()).unwrap(), &dest).unwrap();
        } else if meta.is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// `cargo build` of a fixture in `target`, with exactly the model's variables set.
fn cargo(root: &Path, target: &Path, env: &BTreeMap<String, String>, force: bool) -> (bool, String, Duration) {
    let mut cmd = support::e2e::fixture_cargo(root);
    cmd.env("CARGO_TARGET_DIR", target).arg("build");
    for var in [
        "PYINSTALLER_BUILD_SKIP",
        "PYINSTALLER_BUILD_FORCE",
        "PYINSTALLER_BUILD_PYTHON",
        "PYINSTALLER_BUILD_CACHE_DIR",
        "PYINSTALLER_BUILD_CACHE_URL",
        "DIFF_FLAVOR",
        "DIFF_UNUSED",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env);
    if force {
        cmd.env("PYINSTALLER_BUILD_FORCE", "1");
    }
    let start = Instant::now();
    let out = cmd.output_clean().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned(), start.elapsed())
}

/// What the crate did, from its warning line (cargo shows a fresh build script's warnings again,
/// so a script cargo did not run did nothing).
fn outcome(ok: bool, stderr: &str) -> &'static str {
    if ok && !stderr.contains("Compiling e2e-differential") {
        return "not run by cargo";
    }
    let warned =
        |s: &str| stderr.lines().any(|l| l.starts_with("warning") && l.contains("pyinstaller-build:") && l.contains(s));
    if !ok {
        "failed"
    } else if warned("by the fast path") {
        "fast path"
    } else if warned("reinstalled") {
        "store"
    } else if warned(": built app") {
        "built"
    } else {
        "skipped"
    }
}

/// The reason in the crate's warning (what changed, why no fast path).
fn why(stderr: &str) -> Option<String> {
    let line = stderr.lines().find(|l| l.starts_with("warning") && l.contains("pyinstaller-build: "))?;
    let text = line.split_once("pyinstaller-build: ")?.1;
    let text = text.split_once(" s (").map_or(text, |(_, r)| r);
    Some(text.split("; log: ").next().unwrap_or(text).trim_end_matches(')').chars().take(160).collect())
}

/// A binary's behaviour: exit status and stdout. (An extract-once sidecar unpacks beside it, not
/// into the user's cache folder.)
fn behaviour(binary: &Path) -> String {
    let cache = binary.with_extension("launch-cache");
    match Command::new(binary).env("PYINSTALLER_BUILD_LAUNCH_CACHE", cache).output_clean() {
        Ok(out) => format!("{}\n{}", out.status, String::from_utf8_lossy(&out.stdout)),
        Err(e) => format!("cannot run: {e}"),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn damage(path: &Path, how: Damage) {
    let Ok(bytes) = fs::read(path) else { return };
    match how {
        Damage::Delete => fs::remove_file(path).unwrap(),
        Damage::Truncate | Damage::Append => {
            let mut b = bytes.clone();
            if how == Damage::Truncate {
                b.truncate(b.len() / 2);
            } else {
                b.push(0);
            }
            let tmp = path.with_extension("tmp");
            fs::write(&tmp, b).unwrap();
            set_exec(&tmp, true);
            fs::rename(tmp, path).unwrap();
        }
        Damage::InPlace => {
            use std::io::{Seek, SeekFrom, Write};
            let mut f = fs::OpenOptions::new().write(true).open(path).unwrap();
            f.seek(SeekFrom::Start(bytes.len() as u64 - 1)).unwrap();
            f.write_all(&[bytes[bytes.len() - 1] ^ 0xff]).unwrap();
        }
        Damage::NotExecutable => set_exec(path, false),
    }
}

/// Runs `plan` (only the steps in `only`, if given) until a discrepancy, the step budget or the
/// deadline; returns the steps it ran clean.
fn run(
    plan: &Plan,
    only: Option<&[usize]>,
    knobs: &Knobs,
    stats: &mut Stats,
    budget: usize,
    deadline: Instant,
) -> Result<usize, Failure> {
    let mut sb = Sandbox::new(&plan.extra);
    let mut model = plan.shape.clone();
    // An input unique to this run: nothing comes from a binary store an earlier run filled.
    let nonce = format!("{}-{:?}", std::process::id(), Instant::now());
    model.files.insert("python/pj_run.txt".into(), model::File::Text(nonce));
    // The tree after each step (the initial one first), for reverts.
    let mut history: Vec<(usize, Model)> = vec![(0, model.clone())];
    let steps: Vec<usize> = match only {
        Some(list) => list.iter().copied().filter(|&i| i < plan.ops.len()).collect(),
        None => (0..plan.ops.len()).collect(),
    };
    let mut clean = 0;
    sb.materialize(&model, None);
    let mut queue = steps.iter().copied().map(Some).collect::<Vec<_>>();
    queue.insert(0, None);
    for step in queue {
        if step.is_some() && (clean >= budget || Instant::now() > deadline) {
            break;
        }
        let label = match step {
            None => "first build".to_string(),
            Some(i) => format!("step {i}: {}", plan.ops[i]),
        };
        if let Some(i) = step {
            let op = &plan.ops[i];
            match op {
                Op::Revert(n) => {
                    // The tree as it was before step n: after the last kept step before it.
                    model = history.iter().rev().find(|(at, _)| *at <= *n).map(|(_, m)| m.clone()).unwrap();
                    sb.materialize(&model, None);
                }
                Op::Damage(how) => damage(&sb.installed(), *how),
                Op::Touch(p) => sb.materialize(&model, Some(p)),
                op => {
                    op.apply(&mut model);
                    sb.materialize(&model, None);
                }
            }
            history.push((i + 1, model.clone()));
        }
        let key = sb.key(&model.env);
        let before = fs::read(sb.installed()).ok();
        let cached = sb.oracles.get(&key).cloned();
        let reused = cached.is_some();
        if cached.is_none() {
            sb.sync_oracle();
        }
        let ((ok, stderr, took), oracle) = if let Some(o) = cached {
            stats.oracle_reused += 1;
            (cargo(&sb.app, &support_target(), &model.env, false), o)
        } else {
            let n = sb.oracles.len();
            let (crate_build, (o, otook)) = if knobs.parallel {
                std::thread::scope(|s| {
                    let oracle = s.spawn(|| sb.build_oracle(&model.env, n));
                    let c = cargo(&sb.app, &support_target(), &model.env, false);
                    (c, oracle.join().unwrap())
                })
            } else {
                let c = cargo(&sb.app, &support_target(), &model.env, false);
                (c, sb.build_oracle(&model.env, n))
            };
            stats.oracle_builds += 1;
            stats.oracle_time += otook;
            sb.oracles.insert(key.clone(), o.clone());
            (crate_build, o)
        };
        stats.crate_time += took;
        let what = outcome(ok, &stderr);
        *stats.outcomes.entry(what).or_default() += 1;
        if plan.shape.extract_once {
            *stats.extract_once.entry(what).or_default() += 1;
        }
        eprintln!(
            "[seed {}{} {label}] crate: {what} in {:.1} s{}; forced build: {}{}",
            plan.seed,
            if plan.shape.extract_once { " extract-once" } else { "" },
            took.as_secs_f64(),
            why(&stderr).filter(|_| what != "not run by cargo").map(|w| format!(" ({w})")).unwrap_or_default(),
            if oracle.ok { "built" } else { "fails" },
            if reused { " (same tree as before)" } else { "" }
        );
        let after = fs::read(sb.installed()).ok();
        let fail = |what: String| Err(Failure { step, what });
        match (oracle.ok, ok) {
            (true, false) => {
                return fail(format!("the crate's build failed, a forced build succeeds:\n{}", tail(&stderr, 30)))
            }
            (false, true) => {
                return fail(format!(
                    "the crate's build succeeded ({what}), a forced build fails:\n{}",
                    tail(&oracle.stderr, 30)
                ))
            }
            (false, false) => {
                if after != before {
                    return fail("a failed build changed the installed binary".into());
                }
            }
            (true, true) => {
                let Some(after) = after else { return fail("no binary installed".into()) };
                let got = blake3::hash(&after).to_hex().to_string();
                if Some(&got) != oracle.hash.as_ref() {
                    // Is PyInstaller deterministic on this tree? Build it forced once more.
                    sb.sync_oracle();
                    let (again, _) = sb.build_oracle(&model.env, 10_000 + sb.oracles.len());
                    let ours = behaviour(&sb.installed());
                    let theirs = behaviour(oracle.binary.as_ref().unwrap());
                    if again.hash == oracle.hash || ours != theirs {
                        return fail(format!(
                            "the installed binary ({what}, {} bytes) differs from a forced build's ({}; two forced \
                             builds {}).\n--- the crate's binary prints:\n{ours}\n--- the forced build's prints:\n{theirs}",
                            after.len(),
                            fs::metadata(oracle.binary.as_ref().unwrap()).map(|m| m.len()).unwrap_or(0),
                            if again.hash == oracle.hash { "agree" } else { "disagree" },
                        ));
                    }
                    stats.nondeterministic += 1;
                }
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(sb.installed()).unwrap().permissions().mode();
                if mode & 0o111 == 0 {
                    return fail("the installed binary is not executable".into());
                }
            }
        }
        if step.is_some() {
            clean += 1;
            stats.steps += 1;
        }
    }
    Ok(clean)
}

fn support_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-target")
}

/// Drops steps while the case still fails; returns the smallest failing list found.
fn shrink(plan: &Plan, failing: &Failure, knobs: &Knobs) -> (Vec<usize>, Failure) {
    let Some(last) = failing.step else { return (vec![], Failure { step: None, what: failing.what.clone() }) };
    let mut kept: Vec<usize> = (0..=last).collect();
    let mut best = Failure { step: failing.step, what: failing.what.clone() };
    let until = Instant::now() + Duration::from_secs(knobs.shrink_seconds);
    let mut chunk = kept.len().div_ceil(2);
    let mut scratch = Stats::default();
    while chunk >= 1 && Instant::now() < until {
        let mut i = 0;
        let mut progressed = false;
        while i + 1 < kept.len() && Instant::now() < until {
            // Never drop the step that shows the discrepancy.
            let end = (i + chunk).min(kept.len() - 1);
            let candidate: Vec<usize> = kept[..i].iter().chain(&kept[end..]).copied().collect();
            eprintln!("shrinking: trying {} steps", candidate.len());
            match run(
                plan,
                Some(&candidate),
                knobs,
                &mut scratch,
                usize::MAX,
                Instant::now() + Duration::from_secs(86_400),
            ) {
                Err(f) => {
                    kept = match f.step {
                        Some(s) => candidate.into_iter().filter(|&x| x <= s).collect(),
                        None => vec![],
                    };
                    best = f;
                    progressed = true;
                }
                Ok(_) => i += chunk,
            }
        }
        if !progressed {
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2).max(1);
            if chunk == 1 && kept.len() <= 1 {
                break;
            }
        }
    }
    (kept, best)
}

#[test]
fn the_installed_sidecar_is_always_what_a_forced_build_makes() {
    // The fixtures' target folder is the harness's alone while it runs (cargo's lock would
    // serialize other areas' builds with its own anyway): its time budget goes to its steps.
    let _one = support::e2e::CARGO.lock().unwrap_or_else(|e| e.into_inner());
    let knobs = Knobs::from_env();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(knobs.seconds);
    let mut stats = Stats::default();
    let mut cases = 0;
    let mut found = Vec::new();
    let seeds: Vec<u64> = match &knobs.replay {
        Some((seed, _)) => vec![*seed],
        None => (knobs.seed..).take(10_000).collect(),
    };
    for seed in seeds {
        if stats.steps >= knobs.steps || Instant::now() > deadline {
            break;
        }
        let plan = Plan::generate(seed, knobs.case_steps, &knobs.classes);
        let only = knobs.replay.as_ref().and_then(|(_, s)| s.clone());
        let budget = if knobs.replay.is_some() { usize::MAX } else { knobs.steps - stats.steps };
        let deadline = if knobs.replay.is_some() { Instant::now() + Duration::from_secs(86_400) } else { deadline };
        cases += 1;
        if let Err(failure) = run(&plan, only.as_deref(), &knobs, &mut stats, budget, deadline) {
            eprintln!("seed {seed}: a discrepancy ({}); shrinking its steps", failure.what);
            let (kept, failure) = if knobs.replay.is_some() || knobs.shrink_seconds == 0 {
                (only.clone().unwrap_or_else(|| (0..=failure.step.unwrap_or(0)).collect()), failure)
            } else {
                shrink(&plan, &failure, &knobs)
            };
            let steps: Vec<String> = kept
                .iter()
                .map(|&i| match plan.ops[i].class() {
                    0 => format!("  {i}: {}", plan.ops[i]),
                    c => format!("  {i}: {} (opt-in class {c})", plan.ops[i]),
                })
                .collect();
            let mut involved: Vec<u8> = kept.iter().map(|&i| plan.ops[i].class()).filter(|&c| c != 0).collect();
            involved.extend(plan.shape.spec.flags.iter().map(|f| model::flag_class(f)).filter(|&c| c != 0));
            if plan.extra.contains("binary-cache-mb") {
                involved.push(5);
            }
            if plan.shape.extract_once {
                involved.push(8);
            }
            involved.sort();
            involved.dedup();
            let report = format!(
                "seed {seed}: after {}, the crate's sidecar is not what a forced build makes: {}\n\
                 project flags: {:?}{}\nopt-in classes in play: {}\nsteps:\n{}\nreplay: {}",
                match failure.step {
                    Some(s) => format!("step {s} ({})", plan.ops[s]),
                    None => "the first build".into(),
                },
                failure.what,
                plan.shape.spec.flags,
                if plan.extra.is_empty() { String::new() } else { format!(", {}", plan.extra.trim()) },
                if involved.is_empty() { "none: a new class?".to_string() } else { format!("{involved:?}") },
                steps.join("\n"),
                knobs.replay_command(seed, &kept),
            );
            eprintln!("\n{report}\n");
            // On to the next seed: a long run reports every discrepancy it meets.
            found.push(report);
        }
    }
    eprintln!(
        "differential: {} random steps ran clean in {cases} projects in {:.0} s; the crate: {:?} (in extract-once \
         mode: {:?}); forced builds: {} ({:.0} s), reused {}, nondeterministic {}; the crate's builds {:.0} s",
        stats.steps,
        start.elapsed().as_secs_f64(),
        stats.outcomes,
        stats.extract_once,
        stats.oracle_builds,
        stats.oracle_time.as_secs_f64(),
        stats.oracle_reused,
        stats.nondeterministic,
        stats.crate_time.as_secs_f64(),
    );
    assert!(found.is_empty(), "{} discrepancies:\n\n{}", found.len(), found.join("\n\n"));
}

/// The generators themselves, without building: a seed always gives the same project and steps,
/// and every module they write is valid Python unless a step broke it on purpose (else a step
/// would test the interpreter's error, not the crate).
#[test]
fn plans_are_reproducible_and_write_valid_python() {
    let all = Classes((1..=8).collect());
    let tmp = tempfile::tempdir().unwrap();
    let mut files = 0;
    for seed in 0..40 {
        let plan = Plan::generate(seed, 20, &all);
        let again = Plan::generate(seed, 20, &all);
        assert_eq!(format!("{:?}", plan.ops), format!("{:?}", again.ops), "seed {seed}");
        assert_eq!(plan.shape, again.shape, "seed {seed}");
        let mut model = plan.shape.clone();
        let mut history = vec![model.clone()];
        for (i, op) in plan.ops.iter().enumerate() {
            match op {
                Op::Revert(n) => model = history[*n].clone(),
                op => {
                    op.apply(&mut model);
                }
            }
            history.push(model.clone());
            if i % 5 != 4 {
                continue;
            }
            for (path, r) in model.render() {
                let broken = matches!(model.files.get(&path), Some(model::File::Module(m)) if m.broken);
                if let (Rendered::File(bytes, _), false) = (r, broken) {
                    if path.ends_with(".py") || path.ends_with(".spec") {
                        let dest = tmp.path().join(format!("{seed}/{i}")).join(path.replace(".spec", ".py"));
                        fs::create_dir_all(dest.parent().unwrap()).unwrap();
                        fs::write(dest, bytes).unwrap();
                        files += 1;
                    }
                }
            }
        }
    }
    let out = Command::new("python3").args(["-m", "compileall", "-q"]).arg(tmp.path()).output_clean().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(files > 500, "{files}");
}
