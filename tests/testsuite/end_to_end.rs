//! End to end: real `cargo build` of a fixture crate whose build.rs calls this crate, real
//! PyInstaller (from the interpreter the crate discovers: `$VIRTUAL_ENV`, or `python3` on PATH),
//! real binaries, run and checked.

use crate::support;
use crate::support::e2e::*;
use crate::support::env::Clean;
use std::fs;
use std::process::Command;
use std::time::SystemTime;

#[test]
fn builds_once_then_only_what_an_edit_touched() {
    let app = App::new("");
    let first = app.build(&[]);
    assert_eq!(app.run("headless"), "headless hello True");
    assert_eq!(app.run("worker"), "worker hello 1");
    let warnings: Vec<&str> = first.warnings().into_iter().filter(|w| w.contains(": built ")).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("built headless in")), "{warnings:?}");

    // Nothing changed: nothing runs, nothing is said, the binaries keep their mtime.
    let (headless, worker) = (app.mtime("headless"), app.mtime("worker"));
    for _ in 0..2 {
        let again = app.build(&[]);
        assert!(again.warnings().is_empty(), "{}", again.stderr);
    }
    // Touched but unchanged: the script may rerun, but builds nothing.
    let now = SystemTime::now();
    for f in ["worker.py", "shared/__init__.py", "headless.spec"] {
        fs::File::options().append(true).open(app.root.join("python").join(f)).unwrap().set_modified(now).unwrap();
    }
    let touched = app.build(&[]);
    assert!(touched.warnings().is_empty(), "{}", touched.stderr);
    assert_eq!((app.mtime("headless"), app.mtime("worker")), (headless, worker));

    // A module only the worker imports: only the worker is rebuilt.
    app.write("worker_only.py", "WORKER_VALUE = 2\n");
    let edited = app.build(&[]);
    let warnings = edited.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("built worker in"), "{warnings:?}");
    assert_eq!(app.run("worker"), "worker hello 2");
    assert_eq!(app.mtime("headless"), headless);

    // A newly imported stdlib module is found and packaged.
    app.write("worker_only.py", "import json\nWORKER_VALUE = json.dumps({'n': 3})\n");
    app.build(&[]);
    assert_eq!(app.run("worker"), r#"worker hello {"n": 3}"#);
}

#[test]
fn a_revert_after_a_profile_switch_is_not_stale() {
    let app = App::new("specs = [\"worker.spec\"]");
    app.build(&[]);
    assert_eq!(app.run("worker"), "worker hello 1");
    app.write("worker_only.py", "WORKER_VALUE = 2\n");
    app.build(&["--release"]);
    assert_eq!(app.run("worker"), "worker hello 2");
    app.write("worker_only.py", "WORKER_VALUE = 1\n");
    let debug = app.build(&[]);
    assert_eq!(app.run("worker"), "worker hello 1", "{}", debug.stderr);
}

#[test]
fn failures_name_the_cause_and_keep_the_previous_binary() {
    let app = App::new("specs = [\"worker.spec\"]");
    app.build(&[]);
    let good = fs::read(app.binary("worker")).unwrap();

    // A broken spec.
    let spec = fs::read_to_string(app.root.join("python/worker.spec")).unwrap();
    app.write("worker.spec", &spec.replace("pyz = PYZ(a.pure)", "pyz = PYZ(a.pure"));
    let out = app.cargo(&[], &[]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("PyInstaller failed for `worker.spec`") && out.stderr.contains("SyntaxError"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read(app.binary("worker")).unwrap(), good);

    // A program that fails its smoke test.
    app.write("worker.spec", &spec);
    app.write("worker_only.py", "raise SystemExit('worker cannot start')\n");
    let out = app.cargo(&[], &[]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("smoke test of `worker.spec` failed") && out.stderr.contains("worker cannot start"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read(app.binary("worker")).unwrap(), good);

    // Fixed: the next build retries and installs.
    app.write("worker_only.py", "WORKER_VALUE = 4\n");
    app.build(&[]);
    assert_eq!(app.run("worker"), "worker hello 4");
}

#[test]
fn a_missing_interpreter_or_python_dir_is_explained() {
    let app = App::new("");
    let out = app.cargo(&[], &[("PYINSTALLER_BUILD_PYTHON", "/no/such/python3")]);
    assert!(!out.ok);
    assert!(out.stderr.contains("PYINSTALLER_BUILD_PYTHON names the interpreter `/no/such/python3`"), "{}", out.stderr);

    fs::rename(app.root.join("python"), app.root.join("py")).unwrap();
    let out = app.cargo(&[], &[]);
    assert!(!out.ok);
    assert!(out.stderr.contains("the Python folder") && out.stderr.contains("does not exist"), "{}", out.stderr);
    assert!(!app.binary("worker").exists());
}

#[test]
fn a_killed_build_is_never_taken_as_done() {
    // A fake PyInstaller that takes 3 s, so the build can be killed while it runs.
    let app = App::unmanaged("specs = [\"worker.spec\"]");
    let log = app.root.join("runs.jsonl");
    let python = support::fake_python(&app.root, &log);
    let env = [("PYINSTALLER_BUILD_PYTHON", python.to_str().unwrap()), ("FAKE_PYINSTALLER_SLEEP", "3")];

    let _one = CARGO.lock().unwrap_or_else(|e| e.into_inner());
    let mut cargo = support::e2e::fixture_cargo(&app.root)
        .arg("build")
        .envs(env)
        .stderr(std::process::Stdio::null())
        .spawn_clean()
        .unwrap();
    let started = log.with_extension("jsonl.started");
    while !started.exists() {
        assert!(cargo.try_wait().unwrap().is_none(), "cargo ended before PyInstaller started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SIGKILL to cargo and its build script; PyInstaller is orphaned and keeps running.
    cargo.kill().unwrap();
    cargo.wait().unwrap();
    Command::new("pkill").args(["-KILL", "-f", "e2e-sidecars-.*/build-script-build"]).status_clean().unwrap();
    drop(_one);

    let out = app.cargo(&[], &env);
    assert!(out.ok, "{}", out.stderr);
    let runs = support::runs_in(&log);
    assert_eq!(runs.len(), 2, "the killed run was not taken as done: {runs:?}");
    let (orphan, next) = (&runs[0], &runs[1]);
    assert!(next["start"].as_f64() >= orphan["end"].as_f64(), "the next build waited for the orphan: {runs:?}");
    assert!(app.run("worker").starts_with("worker"));
}

#[test]
fn a_changed_requirements_file_gets_a_new_environment() {
    let app = App::new("specs = [\"worker.spec\"]");
    app.build(&[]);
    let before = fs::read(app.binary("worker")).unwrap();
    let requirements = fs::read_to_string(app.root.join("python/requirements.txt")).unwrap();

    // Offline, a requirements file never installed cannot be: a clear error, nothing touched.
    // Unique per run: the managed environments live in the target folder all runs share.
    app.write("requirements.txt", &format!("{requirements}# offline edit in {}\n", app.root.display()));
    let out = app.cargo(&[], &[("CARGO_NET_OFFLINE", "true")]);
    assert!(!out.ok);
    assert!(out.stderr.contains("offline (CARGO_NET_OFFLINE is set) and no environment exists yet"), "{}", out.stderr);
    assert_eq!(fs::read(app.binary("worker")).unwrap(), before);

    // Online: a fresh environment, and the sidecar rebuilt in it.
    let out = app.build(&[]);
    let warnings = out.warnings();
    assert!(warnings.iter().any(|w| w.contains("created the Python environment")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("built worker in")), "{warnings:?}");
    assert_eq!(app.run("worker"), "worker hello 1");
}

#[test]
fn the_audit_accounts_for_the_binary_and_verify_proves_which_excludes_are_safe() {
    let app = App::from("tests/fixtures/audit", "");
    let first = app.build(&[]);
    let warning = first.warnings().into_iter().find(|w| w.contains("could likely be excluded")).map(str::to_string);
    let warning = warning.unwrap_or_else(|| panic!("no audit warning:\n{}", first.stderr));
    // facade imports needed_blob at module level (the app needs it), optional_blob in a try.
    assert!(
        !warning.contains("needed_blob") && warning.contains("optional_blob") && warning.contains("audit.md"),
        "{warning}"
    );
    let audit = audit_of(&app, "app");
    let find =
        |name: &str| audit.packages.iter().find(|p| p.package == name).unwrap_or_else(|| panic!("{name}: {audit:#?}"));
    // Imported by the project: never suggested, however big.
    let facade = find("facade");
    assert!(facade.imported_by_project && facade.suggestion.is_none() && facade.bytes > 250_000, "{facade:?}");
    for blob in ["needed_blob", "optional_blob"] {
        let p = find(blob);
        assert!(!p.imported_by_project && p.bytes > 250_000, "{p:?}");
        assert_eq!(p.suggestion.is_some(), blob == "optional_blob", "{p:?}");
        assert_eq!(p.chain.first().map(String::as_str), Some("app.py"), "{p:?}");
        assert!(p.chain.contains(&"facade".to_string()) && p.chain.last() == Some(&blob.to_string()), "{p:?}");
    }
    let cache = audit_of_dir(&app);
    assert_sizes_add_up(&audit, &cache.join("app/work/app/app.pkg"));

    // Same candidates after a rebuild: nothing new to say.
    app.write("app.py", &(fs::read_to_string(app.root.join("python/app.py")).unwrap() + "# edited\n"));
    let again = app.build(&[]);
    assert!(again.warnings().iter().any(|w| w.contains("built app")), "{}", again.stderr);
    assert!(!again.warnings().iter().any(|w| w.contains("could likely be excluded")), "{}", again.stderr);

    // Verify mode: scratch builds prove the candidate safe.
    let installed = fs::read(app.binary("app")).unwrap();
    let out = app.cargo(&[], &[("PYINSTALLER_BUILD_AUDIT", "verify")]);
    assert!(out.ok, "{}", out.stderr);
    assert!(out.warnings().iter().any(|w| w.contains("verified `excludes=['optional_blob'],`")), "{}", out.stderr);
    let verified = audit_of(&app, "app").verified.expect("verified");
    let result = |name: &str| verified.results.iter().find(|r| r.package == name).unwrap().clone();
    let optional = result("optional_blob");
    assert!(optional.safe && optional.bytes_saved > 250_000, "{optional:?}");
    assert!(!verified.results.iter().any(|r| r.package == "needed_blob"), "a required package is never tried");
    assert!(verified.combined_ok && verified.combined_bytes_saved > 250_000, "{verified:?}");
    assert_eq!(fs::read(app.binary("app")).unwrap(), installed, "verify never replaces the installed binary");
    assert!(
        fs::read_to_string(app.root.join("python/app.spec")).unwrap().contains("excludes=[]"),
        "the spec is untouched"
    );
}

#[test]
fn the_audit_of_a_pandas_sidecar() {
    let app =
        App::from("examples/bench-app", "requirements = \"../requirements.txt\"\nspecs = [\"prism_headless.spec\"]");
    app.build(&[]);
    assert_eq!(
        app.run_with("prism_headless", &["1", "2", "3"]),
        r#"{"kind": "summary", "payload": {"mean": 2.0, "std": 0.816496580927726}}"#
    );
    let audit = audit_of(&app, "prism_headless");
    for direct in ["pandas", "numpy"] {
        let p = audit.packages.iter().find(|p| p.package == direct).unwrap();
        assert!(p.imported_by_project && p.suggestion.is_none() && p.bytes > 1_000_000, "{p:?}");
    }
    assert_sizes_add_up(&audit, &audit_of_dir(&app).join("prism_headless/work/prism_headless/prism_headless.pkg"));
}

#[test]
fn two_clean_builds_of_the_same_sources_are_byte_identical() {
    let app = App::new("specs = [\"worker.spec\"]");
    app.build(&[]);
    let (first, mtime) = (fs::read(app.binary("worker")).unwrap(), app.mtime("worker"));
    // Wipes PyInstaller's work folder and builds with --clean: PYTHONHASHSEED=0 makes it reproducible.
    let out = app.cargo(&[], &[("PYINSTALLER_BUILD_FORCE", "1")]);
    assert!(out.ok && out.warnings().iter().any(|w| w.contains("built worker in")), "{}", out.stderr);
    assert_eq!(fs::read(app.binary("worker")).unwrap(), first, "a clean rebuild gives the same bytes");
    assert_eq!(app.mtime("worker"), mtime, "same bytes: the installed sidecar was not rewritten");
}
