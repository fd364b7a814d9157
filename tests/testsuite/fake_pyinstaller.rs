//! Fast tests of planning, fingerprints, cargo output, parallelism, errors and locking, with a
//! fake PyInstaller (see `tests/fake-pyinstaller`). The real path is in `tests/testsuite/end_to_end.rs`.

// The fake PyInstaller runs behind a `#!/bin/sh` interpreter script: Unix only.
#![cfg(unix)]

use crate::support;
use crate::support::{env, spec, two_specs, Fixture, TRIPLE};
use pyinstaller_build::{ErrorKind, Outcome};
use std::fs;
use std::time::{Duration, SystemTime};

fn outcomes(report: &pyinstaller_build::Report) -> Vec<(String, Outcome)> {
    report.specs.iter().map(|s| (s.name.clone(), s.outcome)).collect()
}

#[test]
fn first_build_builds_every_spec_and_installs_where_tauri_looks() {
    let _env = env::read();
    let f = two_specs();
    let report = f.build("debug").try_compile().unwrap();
    assert_eq!(outcomes(&report), [("headless".into(), Outcome::Built), ("worker".into(), Outcome::Built)]);
    let mut runs = f.runs();
    runs.sort_by_key(|r| r["spec"].as_str().unwrap().to_string());
    for (run, name) in runs.iter().zip(["headless", "worker"]) {
        let argv: Vec<&str> = run["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert!(argv.contains(&"--noconfirm") && !argv.contains(&"--clean"), "{argv:?}");
        let work = argv[argv.iter().position(|a| *a == "--workpath").unwrap() + 1];
        assert!(work.ends_with(&format!("{name}/work")) && work.contains("target/pyinstaller-build"), "{work}");
        assert_eq!(run["hashseed"], "0");
        assert!(run["config_dir"].as_str().unwrap().ends_with(&format!("{name}/config")));
        assert!(run["cwd"].as_str().unwrap().ends_with("app/python"));
    }
    assert!(f.run("headless").starts_with("headless import shared\nX = 1"));
    assert_eq!(report.specs[0].installed, f.installed("headless"));
    assert_eq!(report.specs[1].installed, f.root.join(format!("binaries/worker-{TRIPLE}")));
    let warnings = f.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("cargo:warning=pyinstaller-build: built headless in "), "{warnings:?}");
    assert!(warnings[0].contains("(no previous successful build; log: "), "{warnings:?}");
    let json = fs::read_to_string(f.tmp.path().join("target/debug/out/pyinstaller-build/report.json")).unwrap();
    let json: pyinstaller_build::Report = serde_json::from_str(&json).unwrap();
    assert_eq!(json.specs[1].fingerprint, report.specs[1].fingerprint);
}

#[test]
fn nothing_of_the_crates_is_left_in_the_binaries_folder_but_the_binaries() {
    let _env = env::read();
    let f = two_specs();
    // A lock file an older crate left there.
    fs::create_dir_all(f.root.join("binaries")).unwrap();
    fs::write(f.root.join("binaries/.pyinstaller-build.lock"), "").unwrap();
    f.build("debug").try_compile().unwrap();
    let mut names: Vec<String> =
        fs::read_dir(f.root.join("binaries")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, [format!("headless-{TRIPLE}"), format!("worker-{TRIPLE}")]);
}

#[test]
fn a_committed_placeholder_is_replaced_with_one_note_on_untracking_it() {
    let _env = env::read();
    let f = two_specs();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&f.root)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    // The app commits a placeholder at the output name, so that Tauri finds its externalBin.
    fs::create_dir_all(f.root.join("binaries")).unwrap();
    fs::write(f.installed("headless"), "placeholder\n").unwrap();
    git(&["init", "-q"]);
    git(&["add", "binaries"]);
    git(&["commit", "-q", "-m", "placeholder"]);
    f.build("debug").try_compile().unwrap();
    let notes: Vec<String> =
        f.warnings().into_iter().filter(|w| w.contains("a placeholder committed to git")).collect();
    assert_eq!(notes.len(), 1, "{:?}", f.warnings());
    assert!(
        notes[0].contains(&format!("git rm --cached headless-{TRIPLE}")) && notes[0].contains("`headless-*` line"),
        "{}",
        notes[0]
    );
    assert!(f.run("headless").starts_with("headless"), "the sidecar replaced it");
    // Said once: the file is the sidecar now, modified in git's eyes.
    f.write("shared.py", "X = 2\n");
    f.build("debug").try_compile().unwrap();
    assert!(!f.warnings().iter().any(|w| w.contains("placeholder committed")), "{:?}", f.warnings());
}

#[test]
fn a_sidecar_no_longer_built_is_removed_if_it_is_still_what_the_crate_installed() {
    let _env = env::read();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    assert!(f.installed("worker").is_file());
    // worker.spec is built no more: its sidecar goes, said once; headless stays as it was.
    let headless = fs::read(f.installed("headless")).unwrap();
    f.build("debug").specs(["headless.spec"]).try_compile().unwrap();
    assert!(!f.installed("worker").exists());
    let removed: Vec<String> = f.warnings().into_iter().filter(|w| w.contains("removed")).collect();
    assert_eq!(removed.len(), 1, "{:?}", f.warnings());
    assert!(removed[0].contains(&format!("worker-{TRIPLE}")) && removed[0].contains("`worker`"), "{}", removed[0]);
    assert_eq!(fs::read(f.installed("headless")).unwrap(), headless);
    f.build("debug").specs(["headless.spec"]).try_compile().unwrap();
    assert!(f.warnings().is_empty(), "said once: {:?}", f.warnings());
    // Built again, then changed by hand: not the crate's to remove any more.
    f.build("debug").try_compile().unwrap();
    fs::write(f.installed("worker"), "the user's own file\n").unwrap();
    f.build("debug").specs(["headless.spec"]).try_compile().unwrap();
    assert_eq!(fs::read_to_string(f.installed("worker")).unwrap(), "the user's own file\n");
    // A spec that fails keeps every other output in place, stale or not.
    f.build("debug").try_compile().unwrap();
    f.write("headless.spec", "raise SystemExit('broken')\n");
    assert!(f.build("debug").specs(["headless.spec"]).try_compile().is_err());
    assert!(f.installed("worker").is_file());
}

#[test]
fn nothing_runs_and_nothing_is_written_when_nothing_changed() {
    let _env = env::read();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    f.take_runs();
    let written =
        || support::files_with_mtimes(&[f.root.join("binaries"), f.tmp.path().join("target/pyinstaller-build")]);
    let before = written();
    let mtime = fs::metadata(f.installed("worker")).unwrap().modified().unwrap();
    // Touching without changing is not a change.
    let src = f.root.join("python/shared.py");
    fs::File::options().append(true).open(&src).unwrap().set_modified(SystemTime::now()).unwrap();
    let report = f.build("debug").try_compile().unwrap();
    assert_eq!(outcomes(&report), [("headless".into(), Outcome::UpToDate), ("worker".into(), Outcome::UpToDate)]);
    assert!(f.take_runs().is_empty());
    assert!(f.warnings().is_empty(), "quiet when nothing happened: {:?}", f.warnings());
    assert_eq!(fs::metadata(f.installed("worker")).unwrap().modified().unwrap(), mtime);
    assert_eq!(written(), before, "nothing written to the binaries or the crate's folders");
}

#[test]
fn an_edit_rebuilds_only_the_specs_that_packaged_the_file() {
    let _env = env::read();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    f.take_runs();
    f.write("worker_only.py", "Y = 2\n");
    let report = f.build("debug").try_compile().unwrap();
    assert_eq!(outcomes(&report), [("headless".into(), Outcome::UpToDate), ("worker".into(), Outcome::Built)]);
    assert_eq!(f.take_runs(), ["worker"]);
    assert!(f.run("worker").contains("Y = 2"));
    assert_eq!(report.specs[1].reason, "worker_only.py changed: worker.spec's last build packaged it");
    // The fake leaves no archive to snapshot, so the warning also says why no fast path applied.
    let snapshot = report.specs[1].fast_path_refused.as_deref().unwrap_or_default();
    assert!(snapshot.starts_with("the snapshot failed"), "{snapshot}");
    assert!(
        f.warnings()[0].contains(
            "(worker_only.py changed: worker.spec's last build packaged it; no fast path: the snapshot failed"
        ),
        "{:?}",
        f.warnings()
    );
    f.write("shared.py", "X = 2\n");
    f.build("debug").try_compile().unwrap();
    let mut runs = f.take_runs();
    runs.sort();
    assert_eq!(runs, ["headless", "worker"]);
}

#[test]
fn a_new_module_or_folder_rebuilds_every_spec() {
    let _env = env::read();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    f.take_runs();
    f.write("json.py", "# shadows the stdlib\n");
    f.build("debug").try_compile().unwrap();
    assert_eq!(f.take_runs().len(), 2);
    fs::create_dir(f.root.join("python/collections")).unwrap();
    f.build("debug").try_compile().unwrap();
    assert_eq!(f.take_runs().len(), 2);
    // Caches, environments and hidden files are never inputs.
    f.write("__pycache__/json.cpython-311.pyc", "x");
    f.write(".venv/lib/x.py", "x");
    f.write(".notes.swp", "x");
    f.build("debug").try_compile().unwrap();
    assert!(f.take_runs().is_empty());
}

#[test]
fn an_edit_with_an_old_mtime_is_rebuilt_and_drops_pyinstallers_cache() {
    let _env = env::read();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    f.take_runs();
    // Fresh mtime: PyInstaller would notice, so its cache is kept.
    std::thread::sleep(Duration::from_millis(2100));
    f.write("worker_only.py", "Y = 2\n");
    f.build("debug").try_compile().unwrap();
    assert_eq!(f.runs()[0]["toc_existed"], true);
    f.take_runs();
    // Content changed but the mtime went back in time (cp -p, a cache restore): PyInstaller
    // would skip its analysis, so the crate drops its .toc files first.
    f.write("worker_only.py", "Y = 3\n");
    let old = SystemTime::now() - Duration::from_secs(86400 * 365);
    fs::File::options().append(true).open(f.root.join("python/worker_only.py")).unwrap().set_modified(old).unwrap();
    f.build("debug").try_compile().unwrap();
    let runs = f.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["toc_existed"], false);
    assert!(f.run("worker").contains("Y = 3"));
}

#[test]
fn a_deleted_sidecar_is_reinstalled_without_pyinstaller() {
    let _env = env::read();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    f.take_runs();
    fs::remove_file(f.installed("worker")).unwrap();
    let report = f.build("debug").try_compile().unwrap();
    assert_eq!(report.specs[1].outcome, Outcome::Restored);
    assert!(f.take_runs().is_empty());
    assert!(f.run("worker").starts_with("worker"));
}

#[test]
fn profiles_share_the_work_but_never_keep_each_others_binary() {
    let _env = env::read();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    f.take_runs();
    // Release, same sources: already built, nothing runs.
    let report = f.build("release").try_compile().unwrap();
    assert!(report.specs.iter().all(|s| s.outcome == Outcome::UpToDate), "{report:?}");
    assert!(f.take_runs().is_empty());
    // Edit, build release, revert, build debug: debug must not keep release's binary.
    f.write("worker_only.py", "Y = 2\n");
    f.build("release").try_compile().unwrap();
    assert!(f.run("worker").contains("Y = 2"));
    f.take_runs();
    f.write("worker_only.py", "Y = 1\n");
    let report = f.build("debug").try_compile().unwrap();
    // Built before from these very inputs: reinstalled from the store, no PyInstaller.
    assert_eq!(report.specs[1].outcome, Outcome::Restored);
    assert!(f.take_runs().is_empty());
    assert!(f.run("worker").contains("Y = 1"), "{}", f.run("worker"));
    assert!(f.warnings().iter().any(|w| w.contains("reinstalled worker")), "{:?}", f.warnings());
}

#[test]
fn switching_back_rebuilds_when_the_binary_store_is_off() {
    let _env = env::read();
    let f = two_specs();
    f.build("debug").binary_cache_mb(0).try_compile().unwrap();
    f.write("worker_only.py", "Y = 2\n");
    f.build("debug").binary_cache_mb(0).try_compile().unwrap();
    f.take_runs();
    f.write("worker_only.py", "Y = 1\n");
    let report = f.build("debug").binary_cache_mb(0).try_compile().unwrap();
    assert_eq!(report.specs[1].outcome, Outcome::Built);
    assert_eq!(f.take_runs(), ["worker"]);
    assert!(f.run("worker").contains("Y = 1"));
}

#[test]
fn checkouts_sharing_a_target_folder_keep_what_each_installed() {
    let _env = env::read();
    // Cargo names OUT_DIR after the package's path relative to its workspace root: two checkouts
    // of one package sharing a target folder share it. Without a binary store, a lost record of
    // what a checkout installed would rebuild it.
    let (x, y) = (two_specs(), two_specs());
    let out = x.tmp.path().join("target/debug/out");
    let build = |f: &Fixture| f.build("debug").out_dir(&out).binary_cache_mb(0).try_compile().unwrap();
    build(&x);
    build(&y);
    for f in [&x, &y] {
        f.take_runs();
        let report = build(f);
        assert!(report.specs.iter().all(|s| s.outcome == Outcome::UpToDate), "{report:?}");
        assert!(f.take_runs().is_empty());
        assert!(f.warnings().is_empty(), "{:?}", f.warnings());
    }
}

#[test]
fn the_compression_level_is_passed_and_fingerprinted() {
    let _env = env::read();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    let levels = |f: &Fixture| f.runs().iter().map(|r| r["zlib_level"].clone()).collect::<Vec<_>>();
    assert_eq!(levels(&f), ["1", "1"], "debug builds default to level 1");
    f.take_runs();
    let c = pyinstaller_build::Compression { debug: Some(0), release: None };
    f.build("debug").compression(c).try_compile().unwrap();
    assert_eq!(levels(&f), ["0", "0"], "a new level rebuilds");
}

#[test]
fn a_failed_spec_keeps_the_old_binary_lets_the_others_install_and_retries() {
    let _env = env::read();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    let before = fs::read(f.installed("worker")).unwrap();
    f.write("worker.spec", &format!("FAIL\n{}", spec("worker", &["shared.py"])));
    f.write("shared.py", "X = 2\n");
    f.take_runs();
    let err = f.build("debug").try_compile().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BuildFailed);
    let msg = err.to_string();
    assert!(msg.contains("`worker.spec`") && msg.contains("SyntaxError") && msg.contains("build.log"), "{msg}");
    assert_eq!(fs::read(f.installed("worker")).unwrap(), before, "the good binary stays");
    assert!(f.run("headless").contains("X = 2"), "the other spec still installed");
    f.take_runs();
    // Not recorded as done: the next build tries again.
    assert!(f.build("debug").try_compile().is_err());
    assert_eq!(f.take_runs(), ["worker"]);
}

#[test]
fn a_failed_smoke_test_installs_nothing_and_retries() {
    let _env = env::read();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    let before = fs::read(f.installed("worker")).unwrap();
    f.write("worker_only.py", "Y = 2\n");
    let err = f.build("debug").smoke_test(["--fail"]).try_compile().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SmokeTestFailed);
    let msg = err.to_string();
    assert!(msg.contains("--fail") && msg.contains("exit status: 3") && msg.contains("left in place"), "{msg}");
    assert_eq!(fs::read(f.installed("worker")).unwrap(), before);
    f.take_runs();
    let report = f.build("debug").smoke_test(["--ok"]).try_compile().unwrap();
    // The smoke test is not part of the fingerprint: the failed spec builds again, the other,
    // whose inputs did not change, is only re-tested with the new smoke test.
    assert_eq!(f.take_runs(), ["worker"]);
    let headless = report.specs.iter().find(|s| s.name == "headless").unwrap();
    assert_eq!(headless.outcome, pyinstaller_build::Outcome::Retested);
    assert!(f.run("worker").contains("Y = 2"));
}

#[test]
fn a_first_build_that_failed_its_smoke_test_is_named_as_such_next_time() {
    let _env = env::read();
    let f = two_specs();
    let err = f.build("debug").smoke_test(["--fail"]).try_compile().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SmokeTestFailed);
    f.build("debug").smoke_test(["--ok"]).try_compile().unwrap();
    let warnings = f.warnings().join("\n");
    assert!(warnings.contains("(its last build failed its smoke test;"), "{warnings}");
}

#[test]
fn a_module_an_analysis_read_but_left_out_stays_an_input_when_the_analysis_is_reused() {
    let _env = env::read();
    let f = Fixture::new(&[
        ("app.spec", &format!("# reads: dropped.py\n{}", spec("app", &["kept.py"]))),
        ("app.py", ""),
        ("kept.py", "K = 1\n"),
        ("dropped.py", "D = 1\n"),
    ]);
    f.build("debug").try_compile().unwrap();
    assert_eq!(f.take_runs(), ["app"]);
    // A packaged module edited after the build's second: PyInstaller's cache is trusted, so its
    // analysis is reused and this run reads nothing of what the first analysis read.
    f.write("kept.py", "K = 2\n");
    let later = SystemTime::now() + Duration::from_secs(5);
    fs::File::options().append(true).open(f.root.join("python/kept.py")).unwrap().set_modified(later).unwrap();
    f.build("debug").try_compile().unwrap();
    let runs = f.runs();
    assert!(runs.len() == 1 && runs[0]["toc_existed"] == true, "the analysis was reused: {runs:?}");
    f.take_runs();
    // The module the analysis read but left out still counts: its edit rebuilds.
    f.write("dropped.py", "D = 2\n");
    f.build("debug").try_compile().unwrap();
    assert_eq!(f.take_runs(), ["app"], "an edit of a module the last analysis read went unseen");
}

#[test]
fn a_onedir_spec_is_refused_with_the_fix() {
    let _env = env::read();
    let f = Fixture::new(&[("app.spec", &format!("# onedir\n{}", spec("app", &[]))), ("app.py", "")]);
    let err = f.build("debug").try_compile().unwrap_err();
    assert!(err.to_string().contains("onedir") && err.to_string().contains("onefile"), "{err}");
}

#[test]
fn specs_build_in_parallel_up_to_jobs() {
    let _env = env::read();
    let f = Fixture::new(&[
        ("a.spec", &format!("# sleep: 1\n{}", spec("a", &[]))),
        ("b.spec", &format!("# sleep: 1\n{}", spec("b", &[]))),
        ("a.py", ""),
        ("b.py", ""),
    ]);
    let overlapped = |f: &Fixture| {
        let r = f.runs();
        let (a, b) = (&r[0], &r[1]);
        let overlap = a["start"].as_f64() < b["end"].as_f64() && b["start"].as_f64() < a["end"].as_f64();
        f.take_runs();
        overlap
    };
    f.build("debug").jobs(2).try_compile().unwrap();
    assert!(overlapped(&f));
    f.write("json.py", ""); // found where both specs looked for `json`
    f.build("debug").jobs(1).try_compile().unwrap();
    assert!(!overlapped(&f));
}

#[test]
fn inputs_edited_during_the_build_are_built_again() {
    let _env = env::read();
    let f = Fixture::new(&[
        ("app.spec", &format!("# edit: mod.py\n{}", spec("app", &["mod.py"]))),
        ("app.py", ""),
        ("mod.py", "V = 1\n"),
    ]);
    f.build("debug").try_compile().unwrap();
    let runs = f.runs();
    assert_eq!(runs.len(), 2, "rebuilt after the mid-build edit");
    assert_eq!(runs[1]["toc_existed"], false, "PyInstaller's cache was dropped");
    assert!(f.run("app").contains("# edited during the build"));
    f.take_runs();
    f.build("debug").try_compile().unwrap();
    assert!(f.take_runs().is_empty());
}

#[test]
fn two_builds_at_once_run_pyinstaller_once() {
    let _env = env::read();
    let f = Fixture::new(&[("app.spec", &format!("# sleep: 1\n{}", spec("app", &[]))), ("app.py", "")]);
    std::thread::scope(|s| {
        let debug = s.spawn(|| f.build("debug").try_compile().unwrap());
        let release = s.spawn(|| f.build("release").try_compile().unwrap());
        let mut outcomes = vec![debug.join().unwrap().specs[0].outcome, release.join().unwrap().specs[0].outcome];
        outcomes.sort_by_key(|o| *o != Outcome::Built);
        // The second found the work done: same bytes already installed, nothing written.
        assert_eq!(outcomes, [Outcome::Built, Outcome::UpToDate]);
    });
    assert_eq!(f.take_runs(), ["app"]);
}

#[test]
fn emits_rerun_lines_for_inputs_binaries_and_env_but_not_ignored_folders() {
    let _env = env::read();
    let f = two_specs();
    f.write("pkg/mod.py", "");
    f.write("pkg/__pycache__/mod.pyc", "");
    f.write("data/a.txt", "");
    f.build("debug").try_compile().unwrap();
    let lines = f.cargo_lines();
    let py = f.root.join("python").canonicalize().unwrap();
    let has = |l: String| assert!(lines.contains(&l), "missing {l} in {lines:#?}");
    has(format!("cargo:rerun-if-changed={}", py.join("data").display()));
    has(format!("cargo:rerun-if-changed={}", py.join("pkg/mod.py").display()));
    has(format!("cargo:rerun-if-changed={}", py.join("worker.spec").display()));
    has(format!("cargo:rerun-if-changed={}", f.installed("worker").display()));
    has(format!("cargo:rerun-if-changed={}", f.root.join("Cargo.toml").display()));
    for var in
        ["PYINSTALLER_BUILD_SKIP", "PYINSTALLER_BUILD_FORCE", "PYINSTALLER_BUILD_PYTHON", "PYTHONPATH", "DOCS_RS"]
    {
        has(format!("cargo:rerun-if-env-changed={var}"));
    }
    let watched: Vec<_> = lines.iter().filter_map(|l| l.strip_prefix("cargo:rerun-if-changed=")).collect();
    assert!(!watched.contains(&py.to_str().unwrap()), "python/ holds __pycache__ via pkg: never scanned whole");
    assert!(!watched.iter().any(|w| w.ends_with("/pkg") || w.contains("__pycache__")), "{watched:#?}");
    assert!(!lines.iter().any(|l| l == "cargo:rerun-if-env-changed=PATH"));
}

#[test]
fn force_wipes_the_work_folder_and_passes_clean() {
    let env = env::lock();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    f.take_runs();
    let result = {
        let _force = env.set(&[("PYINSTALLER_BUILD_FORCE", "1")]);
        f.build("debug").try_compile()
    };
    result.unwrap();
    let runs = f.runs();
    assert_eq!(runs.len(), 2);
    for run in &runs {
        assert!(run["argv"].as_array().unwrap().iter().any(|a| a == "--clean"));
        assert_eq!(run["toc_existed"], false);
    }
}

#[test]
fn the_skip_switch_builds_nothing_and_warns_once() {
    // The placeholders it leaves are tested in tests/testsuite/skip.rs.
    let env = env::lock();
    let f = two_specs();
    let report = {
        let _skip = env.set(&[("PYINSTALLER_BUILD_SKIP", "1")]);
        f.build("debug").try_compile()
    };
    assert!(report.unwrap().specs.iter().all(|s| s.outcome == Outcome::Placeholder));
    assert!(f.runs().is_empty());
    assert_eq!(f.warnings().len(), 1, "{:?}", f.warnings());
}

#[test]
fn cross_targets_are_refused_and_mobile_targets_skipped() {
    let _env = env::read();
    let f = two_specs();
    let err = f.build("debug").target("aarch64-unknown-linux-gnu").try_compile().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CrossCompile);
    assert!(err.to_string().contains("aarch64-unknown-linux-gnu") && err.to_string().contains("cross-compile"));
    let report = f.build("debug").target("aarch64-linux-android").try_compile().unwrap();
    assert!(report.specs.is_empty() && f.runs().is_empty());
}

#[test]
fn a_missing_interpreter_or_pyinstaller_names_the_fix() {
    let _env = env::read();
    let f = two_specs();
    let err = f.build("debug").python("/no/such/python").try_compile().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InterpreterNotFound);
    assert!(err.to_string().contains("/no/such/python"), "{err}");
    // An interpreter without PyInstaller (-S hides site-packages, where a real one may be).
    let bare = f.tmp.path().join("bare-python");
    fs::write(&bare, "#!/bin/sh\nexec python3 -S \"$@\"\n").unwrap();
    support::make_executable(&bare);
    let err = f.build("debug").python(&bare).try_compile().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PyInstallerMissing, "{err}");
    assert!(err.to_string().contains("-m pip install pyinstaller"), "{err}");
    // Or the line that lets the crate provide it, and where it goes.
    let manifest = f.root.join("Cargo.toml").display().to_string();
    assert!(
        err.to_string().contains("requirements = \"requirements.txt\"") && err.to_string().contains(&manifest),
        "{err}"
    );
}

#[test]
fn a_missing_python_dir_or_spec_is_a_clear_error() {
    let _env = env::read();
    let f = two_specs();
    let err = f.build("debug").python_dir("nope").try_compile().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoSpecs);
    assert!(err.to_string().contains("nope") && err.to_string().contains("python-dir"), "{err}");
    let err = f.build("debug").specs(["missing.spec"]).try_compile().unwrap_err();
    assert!(err.to_string().contains("missing.spec"), "{err}");
    let empty = Fixture::new(&[("main.py", "")]);
    let err = empty.build("debug").try_compile().unwrap_err();
    assert!(err.to_string().contains("pyi-makespec"), "{err}");
}

#[test]
fn a_changed_toolchain_environment_rebuilds() {
    let env = env::lock();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    f.take_runs();
    let result = {
        let _optimize = env.set(&[("PYTHONOPTIMIZE", "1")]);
        f.build("debug").try_compile()
    };
    result.unwrap();
    let runs = f.runs();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r["toc_existed"] == false), "PyInstaller does not track env: cache dropped");
    assert!(f.warnings()[0].contains("the toolchain, environment or settings changed"));
}

#[test]
fn a_module_packaged_from_outside_python_dir_is_an_input() {
    let _env = env::read();
    let f = Fixture::new(&[("app.spec", &spec("app", &["../vendor/lib.py"])), ("app.py", "import lib\n")]);
    let vendor = f.root.join("vendor/lib.py");
    fs::create_dir_all(vendor.parent().unwrap()).unwrap();
    fs::write(&vendor, "V = 1\n").unwrap();
    f.build("debug").try_compile().unwrap();
    assert!(f.run("app").contains("V = 1"));
    let watched = format!("cargo:rerun-if-changed={}", vendor.canonicalize().unwrap().display());
    assert!(f.cargo_lines().contains(&watched), "{:#?}", f.cargo_lines());
    f.take_runs();
    f.build("debug").try_compile().unwrap();
    assert!(f.take_runs().is_empty(), "unchanged: nothing runs");
    // PyInstaller's cache would not notice (same second, or an old mtime): the crate does.
    fs::write(&vendor, "V = 2\n").unwrap();
    let report = f.build("debug").try_compile().unwrap();
    assert_eq!(report.specs[0].outcome, Outcome::Built);
    assert_eq!(f.runs()[0]["toc_existed"], false, "PyInstaller's cache was dropped");
    assert!(f.run("app").contains("V = 2"));
}
