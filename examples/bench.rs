//! The crate against the shell-script baseline and PyInstaller's own cache, side by side.
//!
//! `cargo run --release --example bench [-- --runs N] [--only TEXT]`
//!
//! `--only TEXT` measures only the scenarios whose name contains TEXT, or one of several parts
//! separated by `|` (after the same setup).
//!
//! Builds its own venv (pinned PyInstaller, pandas, numpy) and a copy of `examples/bench-app`
//! under `target/bench/`, then measures each scenario alternating the two contenders
//! (A B A B ...), and prints a markdown table (also written to `target/bench/results.json`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const SPECS: [&str; 2] = ["prism_headless.spec", "prism_worker.spec"];

struct Bench {
    dir: PathBuf,
    app: PathBuf,
    venv: PathBuf,
    target: PathBuf,
    edits: u32,
    /// `--only`: the scenarios to measure, by parts of their names separated by `|`.
    only: Option<String>,
}

#[derive(Clone, Copy, Default)]
struct Sample {
    secs: f64,
    peak_mb: f64,
    /// Of `secs`, the time the crate's smoke tests took (from its report).
    smoke_secs: f64,
}

struct Row {
    scenario: String,
    baseline_label: String,
    baseline: Vec<Sample>,
    krate: Vec<Sample>,
}

/// An edit of a file of the bench app.
type Change = fn(&mut Bench, &str);

/// The edits that change a module's analysis yet take the fast path.
fn new_names_and_imports() -> [(&'static str, Change); 2] {
    [
        ("edit: new function (a module only the pandas sidecar imports)", Bench::add_function),
        ("edit: new import of a bundled module (same module)", Bench::add_bundled_import),
    ]
}

fn main() {
    let runs = std::env::args().skip_while(|a| a != "--runs").nth(1).map_or(3, |n| n.parse().expect("--runs N"));
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = crate_dir.join("target/bench");
    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    let mut b = Bench { app: dir.join("app"), venv: dir.join("venv"), target: dir.join("target"), dir, edits: 0, only };
    b.setup(crate_dir);
    let mut rows = Vec::new();

    if b.wants("clean build") {
        eprintln!("== clean builds");
        rows.push(b.compare(
            "clean build (both specs)",
            "script: `pyinstaller --clean` per spec",
            runs,
            |b| b.baseline(true),
            |b| {
                // A new value each run, so cargo reruns the build script.
                let force = format!("run-{}", b.next_edit());
                b.cargo(&[("PYINSTALLER_BUILD_FORCE", &force)])
            },
        ));
    }

    // Both contenders warm: every later row starts from their caches.
    b.cargo(&[]);
    b.baseline(false);
    if b.wants("no change") {
        eprintln!("== no change");
        rows.push(b.compare(
            "no change",
            "PyInstaller's cache: `pyinstaller` per spec",
            runs,
            |b| b.baseline(false),
            |b| b.cargo(&[]),
        ));
    }
    if b.wants("touched") {
        rows.push(b.compare(
            "every .py touched, none changed",
            "PyInstaller's cache",
            runs,
            Bench::baseline_after_touch,
            |b| {
                b.touch_all();
                b.cargo(&[])
            },
        ));
        let script = b.build_script_command();
        rows.push(b.compare(
            "  build script alone, after touch",
            "PyInstaller's cache",
            runs,
            Bench::baseline_after_touch,
            |b| {
                b.touch_all();
                let mut sh = Command::new("sh");
                sh.arg("-c").arg(&script).env("VIRTUAL_ENV", &b.venv).stdout(Stdio::null());
                time(|| run(&mut sh))
            },
        ));
    }
    for (label, file) in [
        ("edit: body of a module only the pandas sidecar imports", "prism/tables.py"),
        ("edit: body of the entry script (pandas sidecar)", "prism_headless.py"),
        ("edit: body of a module both import", "prism/core.py"),
    ] {
        if !b.wants(label) {
            continue;
        }
        eprintln!("== {label}");
        rows.push(b.after_each(label, runs, |b| {
            b.edit(file);
        }));
    }

    let file = "prism/tables.py";
    // Each run relative to the last PyInstaller build: one more function, one more import.
    for (label, change) in new_names_and_imports() {
        if b.wants(label) {
            eprintln!("== {label}");
            rows.push(b.after_each(label, runs, |b| change(b, file)));
        }
    }
    let label = "edit: import a module not bundled before";
    if b.wants(label) {
        eprintln!("== {label}");
        rows.push(b.after_each(label, runs, |b| b.add_unbundled_import(file)));
    }

    if b.wants("branch switch") {
        eprintln!("== branch switch back");
        rows.push(b.compare(
            "branch switch back (edit, build, revert, build)",
            "PyInstaller's cache",
            runs,
            |b| {
                let old = b.edit(file);
                b.baseline(false);
                b.write(file, &old);
                b.baseline(false)
            },
            |b| {
                let old = b.edit(file);
                b.cargo(&[]);
                b.write(file, &old);
                b.cargo(&[])
            },
        ));
    }

    // The baseline never smoke-tests: the like-for-like figure for the crate is without one.
    let label = "edit: body of a module only the pandas sidecar imports, no smoke test (like the baseline)";
    let later: Vec<(String, Change)> = new_names_and_imports()
        .into_iter()
        .map(|(l, c)| (format!("{l}, no smoke test (like the baseline)"), c))
        .chain([(label.to_string(), (|b: &mut Bench, f: &str| drop(b.edit(f))) as Change)])
        .filter(|(l, _)| b.wants(l))
        .collect();
    if !later.is_empty() {
        eprintln!("== edits without smoke test");
        b.without_smoke_test();
        for (label, change) in later {
            eprintln!("== {label}");
            rows.push(b.after_each(&label, runs, |b| change(b, file)));
        }
    }

    rows.extend(shared_cache_rows(&mut b, runs));
    b.report(&rows, runs);
}

/// Against the local HTTP cache `.ci/cache-servers start` runs (skipped without it): a fresh
/// checkout in the bench's venv, then one whose environment the crate would create from
/// hash-pinned requirements; the cache is written by a checkout at another path (a teammate's).
#[allow(clippy::disallowed_methods)] // bench settings, not build inputs
fn shared_cache_rows(b: &mut Bench, runs: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    let rows_to_measure = [
        ("fresh checkout, empty target folder, shared cache warm (environment present)", "", false),
        (
            "fresh checkout, empty target folder, shared cache warm (hash-pinned requirements: no environment)",
            " (creates the environment)",
            true,
        ),
    ];
    let http = std::env::var("PYINSTALLER_BUILD_TEST_HTTP_CACHE").ok().filter(|v| !v.is_empty());
    for (scenario, baseline, pinned) in rows_to_measure {
        let Some(http) = http.as_ref().filter(|_| b.wants(scenario)) else { continue };
        eprintln!("== {scenario}");
        let auth = std::env::var("PYINSTALLER_BUILD_TEST_HTTP_CACHE_AUTH").unwrap_or_default();
        let (user, password) = auth.split_once(':').unwrap_or_default();
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos();
        let url = format!("{http}/bench-{nanos}");
        let writer = [
            ("PYINSTALLER_BUILD_CACHE_URL", url.as_str()),
            ("PYINSTALLER_BUILD_CACHE_USERNAME", user),
            ("PYINSTALLER_BUILD_CACHE_PASSWORD", password),
        ];
        b.fresh_checkout_at("teammate", &writer, pinned);
        let reader = [("PYINSTALLER_BUILD_CACHE_URL", url.as_str()), ("PYINSTALLER_BUILD_CACHE_MODE", "read-only")];
        rows.push(b.compare(
            scenario,
            &format!("the crate without a shared cache{baseline}"),
            runs,
            |b| b.fresh_checkout(&[], pinned),
            |b| b.fresh_checkout(&reader, pinned),
        ));
    }
    rows
}

impl Bench {
    fn setup(&mut self, crate_dir: &Path) {
        if !self.venv.join("bin/python").exists() {
            eprintln!("== creating {} (pinned PyInstaller, pandas, numpy)", self.venv.display());
            run(Command::new("python3").arg("-m").arg("venv").arg(&self.venv));
            run(Command::new(self.venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(crate_dir.join("examples/bench-app/requirements.txt")));
        }
        // A snapshot of the crate: edits to the working tree while the bench runs don't leak in.
        let snapshot = self.dir.join("crate");
        let _ = fs::remove_dir_all(&snapshot);
        for part in ["src", "build-support"] {
            copy_dir(&crate_dir.join(part), &snapshot.join(part));
        }
        let manifest = fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
        let package = manifest.split("[workspace]").next().unwrap();
        fs::write(snapshot.join("Cargo.toml"), format!("{package}\n[workspace]\n")).unwrap();
        fs::copy(crate_dir.join("README.md"), snapshot.join("README.md")).unwrap();
        let _ = fs::remove_dir_all(&self.app);
        // The crate's cache (its binary store above all) from an earlier run: the same edits would
        // be reinstalled from it instead of built.
        let _ = fs::remove_dir_all(self.target.join("pyinstaller-build"));
        copy_dir(&crate_dir.join("examples/bench-app"), &self.app);
        let manifest = fs::read_to_string(self.app.join("Cargo.toml.in"))
            .unwrap()
            .replace("@CRATE@", &snapshot.display().to_string())
            .replace("@EXTRA@", "");
        fs::write(self.app.join("Cargo.toml"), manifest).unwrap();
        fs::copy(crate_dir.join("Cargo.lock"), self.app.join("Cargo.lock")).unwrap();
        eprintln!("== compiling the bench app and building its sidecars once");
        self.cargo(&[]);
    }

    /// Runs A and B alternately, `runs` times each.
    fn compare(
        &mut self,
        scenario: &str,
        baseline_label: &str,
        runs: usize,
        mut a: impl FnMut(&mut Bench) -> Sample,
        mut b: impl FnMut(&mut Bench) -> Sample,
    ) -> Row {
        let mut row =
            Row { scenario: scenario.into(), baseline_label: baseline_label.into(), baseline: vec![], krate: vec![] };
        for i in 0..runs {
            row.baseline.push(a(self));
            row.krate.push(b(self));
            eprintln!("  run {}: baseline {:.2} s, crate {:.2} s", i + 1, row.baseline[i].secs, row.krate[i].secs);
        }
        row
    }

    /// Before each run of either contender, `change`; then PyInstaller with its own cache against
    /// the crate.
    fn after_each(&mut self, scenario: &str, runs: usize, change: impl Fn(&mut Bench)) -> Row {
        let baseline = |b: &mut Bench| {
            change(b);
            b.baseline(false)
        };
        let krate = |b: &mut Bench| {
            change(b);
            b.cargo(&[])
        };
        self.compare(scenario, "PyInstaller's cache", runs, baseline, krate)
    }

    /// `cargo build` of a new copy of the app at another path with an empty crate folder (cargo's
    /// compiled crates are kept: the crate's build script is what is measured).
    /// `cargo build` of a fresh copy of the app, with its own (empty) crate folders; with
    /// `pinned`, in the environment the crate creates from `requirements-hashed.txt` (else in the
    /// bench's venv).
    fn fresh_checkout(&mut self, env: &[(&str, &str)], pinned: bool) -> Sample {
        self.fresh_checkout_at("checkout", env, pinned)
    }

    /// [`Bench::fresh_checkout`] in the folder `name`: another name, another path.
    fn fresh_checkout_at(&mut self, name: &str, env: &[(&str, &str)], pinned: bool) -> Sample {
        let checkout = self.dir.join(name);
        let _ = fs::remove_dir_all(&checkout);
        copy_dir(&self.app, &checkout.join("app"));
        let _ = fs::remove_dir_all(checkout.join("app/binaries"));
        let cache = checkout.join("pyinstaller-build");
        let mut cmd = Command::new(env!("CARGO"));
        if pinned {
            let manifest = checkout.join("app/Cargo.toml");
            let text = fs::read_to_string(&manifest).unwrap();
            // The metadata table is the manifest's last.
            fs::write(&manifest, format!("{text}\nrequirements = \"../requirements-hashed.txt\"\n")).unwrap();
            cmd.env_remove("VIRTUAL_ENV");
        } else {
            cmd.env("VIRTUAL_ENV", &self.venv);
        }
        cmd.arg("build")
            .current_dir(checkout.join("app"))
            .env("CARGO_TARGET_DIR", &self.target)
            .env("PYINSTALLER_BUILD_CACHE_DIR", &cache)
            .envs(env.iter().copied())
            .stderr(fs::File::create(self.dir.join("last-cargo.log")).unwrap());
        let sample = measured(cmd);
        let log = fs::read_to_string(self.dir.join("last-cargo.log")).unwrap_or_default();
        for line in log.lines().filter(|l| l.contains("pyinstaller-build:")) {
            eprintln!("    {line}");
        }
        sample
    }

    /// `cargo build` of the bench app.
    fn cargo(&self, env: &[(&str, &str)]) -> Sample {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.arg("build")
            .current_dir(&self.app)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("VIRTUAL_ENV", &self.venv)
            .envs(env.iter().copied())
            .stderr(fs::File::create(self.dir.join("last-cargo.log")).unwrap());
        let start = SystemTime::now();
        let mut sample = measured(cmd);
        sample.smoke_secs = self.smoke_secs_since(start);
        sample
    }

    /// The smoke tests' time in the crate's report, if the build script wrote one after `start`.
    fn smoke_secs_since(&self, start: SystemTime) -> f64 {
        let reports = fs::read_dir(self.target.join("debug/build")).into_iter().flatten().flatten().filter_map(|e| {
            let report = e.path().join("out/pyinstaller-build/report.json");
            let mtime = fs::metadata(&report).and_then(|m| m.modified()).ok()?;
            (mtime >= start).then_some(report)
        });
        let mut secs = 0.0;
        for report in reports {
            let json: serde_json::Value = serde_json::from_slice(&fs::read(report).unwrap()).unwrap();
            secs +=
                json["specs"].as_array().into_iter().flatten().filter_map(|s| s["smoke_test"].as_f64()).sum::<f64>();
        }
        secs
    }

    /// The shell script teams run today: each spec in turn, with PyInstaller's own cache
    /// (`clean = false`) or without it (`--clean`, what the script does).
    fn baseline(&self, clean: bool) -> Sample {
        let script = SPECS
            .iter()
            .map(|s| {
                let c = if clean { "--clean " } else { "" };
                format!("'{}' -m PyInstaller {c}--noconfirm --log-level WARN --workpath ../baseline/build --distpath ../baseline/dist {s}", self.venv.join("bin/python").display())
            })
            .collect::<Vec<_>>()
            .join(" && ");
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!("set -e; {script}")).current_dir(self.app.join("python")).stderr(Stdio::null());
        measured(cmd)
    }

    fn baseline_after_touch(&mut self) -> Sample {
        self.touch_all();
        self.baseline(false)
    }

    fn next_edit(&mut self) -> u32 {
        self.edits += 1;
        self.edits
    }

    /// A real change to the body of `file` (a new value for its `REVISION`); returns the
    /// previous content.
    fn edit(&mut self, file: &str) -> String {
        let n = self.next_edit();
        let path = self.app.join("python").join(file);
        let old = fs::read_to_string(&path).unwrap();
        let line = old.lines().find(|l| l.starts_with("REVISION = ")).expect("a REVISION line");
        let value = line.split_whitespace().nth(2).unwrap();
        fs::write(&path, old.replacen(line, &line.replacen(value, &n.to_string(), 1), 1)).unwrap();
        old
    }

    /// Drops the app's smoke test (a settings change: one PyInstaller build follows).
    fn without_smoke_test(&mut self) {
        let manifest = fs::read_to_string(self.app.join("Cargo.toml")).unwrap();
        let kept: String =
            manifest.lines().filter(|l| !l.starts_with("smoke-test")).map(|l| format!("{l}\n")).collect();
        fs::write(self.app.join("Cargo.toml"), kept).unwrap();
        self.cargo(&[]);
    }

    /// Whether `--only` lets this scenario run.
    fn wants(&self, scenario: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.split('|').any(|part| scenario.contains(part)))
    }

    /// Appends `text` (numbered by `{n}`) to `file`.
    fn append(&mut self, file: &str, text: &str) {
        let n = self.next_edit();
        let path = self.app.join("python").join(file);
        let old = fs::read_to_string(&path).unwrap();
        fs::write(&path, format!("{old}\n{}\n", text.replace("{n}", &n.to_string()))).unwrap();
    }

    /// A new function: a new global name, which PyInstaller's analysis sees.
    fn add_function(&mut self, file: &str) {
        self.append(file, "\ndef bench_function_{n}():\n    return {n}");
    }

    /// A new import of a module the app already bundles, imported before this module.
    fn add_bundled_import(&mut self, file: &str) {
        self.append(file, "import collections as bench_import_{n}");
    }

    /// A new import of a standard-library module the app does not bundle yet: PyInstaller runs.
    fn add_unbundled_import(&mut self, file: &str) {
        const UNBUNDLED: [&str; 8] =
            ["tabnanny", "pyclbr", "sched", "colorsys", "wave", "netrc", "fileinput", "sndhdr"];
        let module = UNBUNDLED[self.edits as usize % UNBUNDLED.len()];
        self.append(file, &format!("import {module} as bench_unbundled_{{n}}"));
    }

    fn write(&self, file: &str, text: &str) {
        fs::write(self.app.join("python").join(file), text).unwrap();
    }

    fn touch_all(&self) {
        let now = SystemTime::now();
        for f in ["prism/__init__.py", "prism/core.py", "prism/tables.py", "prism_headless.py", "prism_worker.py"] {
            fs::File::options().append(true).open(self.app.join("python").join(f)).unwrap().set_modified(now).unwrap();
        }
    }

    /// The exact command cargo runs the app's build script with, to time it alone.
    fn build_script_command(&self) -> String {
        self.touch_all();
        let out = Command::new(env!("CARGO"))
            .args(["build", "-vv"])
            .current_dir(&self.app)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("VIRTUAL_ENV", &self.venv)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        let line = text.lines().find(|l| l.contains("build-script-build`")).expect("cargo -vv shows the build script");
        line.trim().trim_start_matches("Running `").trim_end_matches('`').to_string()
    }

    fn report(&self, rows: &[Row], runs: usize) {
        let python = self.venv.join("bin/python");
        let versions = String::from_utf8(
            Command::new(&python)
                .arg("-c")
                .arg("import sys, PyInstaller, pandas, numpy; print(sys.version.split()[0], PyInstaller.__version__, pandas.__version__, numpy.__version__)")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let v: Vec<&str> = versions.split_whitespace().collect();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut md = format!(
            "{cores} cores; Python {}, PyInstaller {}, pandas {}, numpy {}; median (min–max) of {runs} runs, alternating.\n\n\
             | scenario | baseline | baseline s | crate s | ratio | crate's smoke tests s | peak MB baseline / crate |\n|---|---|---|---|---|---|---|\n",
            v[0], v[1], v[2], v[3]
        );
        let mut json = Vec::new();
        for r in rows {
            let (b, c) = (stats(&r.baseline), stats(&r.krate));
            let (bm, cm) = (
                median(r.baseline.iter().map(|s| s.peak_mb).collect()),
                median(r.krate.iter().map(|s| s.peak_mb).collect()),
            );
            md += &format!(
                "| {} | {} | {:.2} ({:.2}–{:.2}) | {:.2} ({:.2}–{:.2}) | {:.1}× | {:.2} | {} / {} |\n",
                r.scenario,
                r.baseline_label,
                b.0,
                b.1,
                b.2,
                c.0,
                c.1,
                c.2,
                b.0 / c.0,
                median(r.krate.iter().map(|s| s.smoke_secs).collect()),
                mb(bm),
                mb(cm)
            );
            json.push(serde_json::json!({
                "scenario": r.scenario, "baseline": r.baseline_label,
                "baseline_secs": r.baseline.iter().map(|s| s.secs).collect::<Vec<_>>(),
                "crate_secs": r.krate.iter().map(|s| s.secs).collect::<Vec<_>>(),
                "baseline_peak_mb": r.baseline.iter().map(|s| s.peak_mb).collect::<Vec<_>>(),
                "crate_peak_mb": r.krate.iter().map(|s| s.peak_mb).collect::<Vec<_>>(),
                "crate_smoke_test_secs": r.krate.iter().map(|s| s.smoke_secs).collect::<Vec<_>>(),
                "ratio": b.0 / c.0,
            }));
        }
        println!("{md}");
        let out = serde_json::json!({
            "cores": cores, "python": v[0], "pyinstaller": v[1], "pandas": v[2], "numpy": v[3], "runs": runs,
            "rows": json, "markdown": md,
        });
        fs::write(self.dir.join("results.json"), serde_json::to_string_pretty(&out).unwrap()).unwrap();
        eprintln!("written to {}", self.dir.join("results.json").display());
    }
}

/// Wall time and the peak of the summed resident memory of the command's whole process group.
/// (Memory is read from `/proc`: elsewhere the peak shows as 0.)
fn measured(mut cmd: Command) -> Sample {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.stdout(Stdio::null());
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let pgid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(group_rss_kb(pgid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let status = child.wait().unwrap();
    let secs = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    assert!(status.success(), "{cmd:?} failed (cargo's output: target/bench/last-cargo.log)");
    Sample { secs, peak_mb: peak.load(Ordering::Relaxed) as f64 / 1024.0, smoke_secs: 0.0 }
}

fn group_rss_kb(pgid: u32) -> u64 {
    let mut total = 0;
    for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = fs::read_to_string(e.path().join("stat")) else { continue };
        // Fields after the `(comm)`: state ppid pgrp ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|p| p.parse::<u32>().ok()) == Some(pgid) {
            let statm = fs::read_to_string(e.path().join("statm")).unwrap_or_default();
            let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
            total += pages * 4;
        }
    }
    total
}

/// Peak memory, or a dash where it was not sampled (the build script timed on its own).
fn mb(peak: f64) -> String {
    if peak == 0.0 {
        "–".into()
    } else {
        format!("{peak:.0}")
    }
}

fn time(f: impl FnOnce()) -> Sample {
    let start = Instant::now();
    f();
    Sample { secs: start.elapsed().as_secs_f64(), peak_mb: 0.0, smoke_secs: 0.0 }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

fn stats(samples: &[Sample]) -> (f64, f64, f64) {
    let v: Vec<f64> = samples.iter().map(|s| s.secs).collect();
    (median(v.clone()), v.iter().cloned().fold(f64::INFINITY, f64::min), v.iter().cloned().fold(0.0, f64::max))
}

fn run(cmd: &mut Command) {
    assert!(cmd.status().unwrap().success(), "{cmd:?} failed");
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
