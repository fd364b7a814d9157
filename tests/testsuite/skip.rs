//! `PYINSTALLER_BUILD_SKIP=1` keeps the build working: placeholders where sidecars are missing,
//! never a real sidecar touched, never a placeholder in a release build. Fast, with the fake
//! PyInstaller (`tests/fake-pyinstaller`).

// The fake PyInstaller runs behind a `#!/bin/sh` interpreter script: Unix only.
#![cfg(unix)]

use crate::support;
use crate::support::env::{self, Env};
use crate::support::{spec, Fixture};
use pyinstaller_build::{Build, ErrorKind, Outcome, Report, Result};
use std::fs;
use std::process::Command;

fn two_specs() -> Fixture {
    Fixture::new(&[
        ("headless.spec", &spec("headless", &["shared.py"])),
        ("worker.spec", &spec("worker", &["shared.py"])),
        ("headless.py", "import shared\n"),
        ("worker.py", "import shared\n"),
        ("shared.py", "X = 1\n"),
    ])
}

/// Runs `build` with the process environment `vars` set, then put back.
fn with_env(env: &Env, vars: &[(&str, &str)], build: &Build) -> Result<Report> {
    let _vars = env.set(vars);
    build.try_compile()
}

fn skipped(env: &Env, f: &Fixture, profile: &str) -> Result<Report> {
    with_env(env, &[("PYINSTALLER_BUILD_SKIP", "1")], &f.build(profile))
}

fn outcomes(report: &Report) -> Vec<(String, Outcome)> {
    report.specs.iter().map(|s| (s.name.clone(), s.outcome)).collect()
}

#[test]
fn a_fresh_clone_gets_placeholders_that_say_they_were_skipped_and_the_next_build_replaces_them() {
    let env = env::lock();
    let f = two_specs();
    let report = skipped(&env, &f, "debug").unwrap();
    assert_eq!(outcomes(&report), [("headless".into(), Outcome::Placeholder), ("worker".into(), Outcome::Placeholder)]);
    assert!(f.runs().is_empty(), "no PyInstaller run");
    assert_eq!(report.specs[1].installed, f.installed("worker"));
    let out = Command::new(f.installed("worker")).arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a placeholder never passes for a sidecar");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("worker: this is a pyinstaller-build placeholder") && stderr.contains("PYINSTALLER_BUILD_SKIP")
    );
    let warnings = f.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("placeholders stand in for headless, worker"), "{warnings:?}");
    let lines = f.cargo_lines();
    assert!(lines.contains(&format!("cargo:rerun-if-changed={}", f.installed("worker").display())), "{lines:#?}");
    assert!(lines.contains(&"cargo:rerun-if-env-changed=PYINSTALLER_BUILD_SKIP".to_string()));
    // Never stamped, never stored: nothing but the placeholders (and no temp file) was written.
    let out_dir = f.tmp.path().join("target/debug/out");
    assert!(!out_dir.exists(), "no stamp or report in OUT_DIR");
    assert!(!f.tmp.path().join("target/pyinstaller-build/binaries").exists(), "nothing in the binary store");
    let mut written: Vec<String> =
        fs::read_dir(f.root.join("binaries")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    written.sort();
    assert_eq!(written, [format!("headless-{}", support::TRIPLE), format!("worker-{}", support::TRIPLE)]);

    // Skipping again leaves the placeholders alone and still reports them.
    let mtime = fs::metadata(f.installed("worker")).unwrap().modified().unwrap();
    let report = skipped(&env, &f, "debug").unwrap();
    assert_eq!(report.specs[1].outcome, Outcome::Placeholder);
    assert_eq!(fs::metadata(f.installed("worker")).unwrap().modified().unwrap(), mtime);

    // The next real build builds and replaces them.
    let report = f.build("debug").try_compile().unwrap();
    assert_eq!(outcomes(&report), [("headless".into(), Outcome::Built), ("worker".into(), Outcome::Built)]);
    assert!(f.run("worker").starts_with("worker import shared"), "{}", f.run("worker"));
}

#[test]
fn an_installed_sidecar_is_never_touched_by_a_skipped_build() {
    let env = env::lock();
    let f = two_specs();
    f.build("debug").try_compile().unwrap();
    f.take_runs();
    let bytes = fs::read(f.installed("worker")).unwrap();
    let mtime = fs::metadata(f.installed("worker")).unwrap().modified().unwrap();
    // Even with its source edited: skipping means not building.
    f.write("shared.py", "X = 2\n");
    let report = skipped(&env, &f, "debug").unwrap();
    assert_eq!(outcomes(&report), [("headless".into(), Outcome::Skipped), ("worker".into(), Outcome::Skipped)]);
    assert!(f.take_runs().is_empty());
    assert_eq!(fs::read(f.installed("worker")).unwrap(), bytes);
    assert_eq!(fs::metadata(f.installed("worker")).unwrap().modified().unwrap(), mtime);
    assert!(f.warnings()[0].contains("sidecars were not built"), "{:?}", f.warnings());
    // A release build may skip when every sidecar is real: the bundle gets real binaries.
    let report =
        with_env(&env, &[("PYINSTALLER_BUILD_SKIP", "1"), ("PROFILE", "release")], &f.build("release")).unwrap();
    assert_eq!(report.specs[0].outcome, Outcome::Skipped);
    // And the next real build sees the edit.
    let report = f.build("debug").try_compile().unwrap();
    assert_eq!(report.specs[1].outcome, Outcome::Built);
    assert!(f.run("worker").contains("X = 2"));
}

#[test]
fn a_release_build_refuses_to_skip_into_a_placeholder() {
    let env = env::lock();
    let f = two_specs();
    let release_skip = |f: &Fixture, vars: &[(&str, &str)]| {
        let mut all = vec![("PYINSTALLER_BUILD_SKIP", "1")];
        all.extend_from_slice(vars);
        with_env(&env, &all, &f.build("release"))
    };
    // Missing: no placeholder is written, the build fails naming each sidecar and the fix.
    let err = release_skip(&f, &[("PROFILE", "release")]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let msg = err.to_string();
    assert!(msg.contains(&f.installed("worker").display().to_string()) && msg.contains("(`headless.spec`)"), "{msg}");
    assert!(msg.contains("unset PYINSTALLER_BUILD_SKIP"), "{msg}");
    assert!(!f.installed("worker").exists(), "nothing written");
    // A placeholder left by a skipped debug build counts as missing; so does `tauri build`
    // (its debug builds too: the `tauri` crate tells build scripts with DEP_TAURI_DEV=false).
    skipped(&env, &f, "debug").unwrap();
    let err = release_skip(&f, &[("PROFILE", "release")]).unwrap_err();
    assert!(err.to_string().contains("placeholder"), "{err}");
    let err = release_skip(&f, &[("PROFILE", "debug"), ("DEP_TAURI_DEV", "false")]).unwrap_err();
    assert!(err.to_string().contains("release build"), "{err}");
    assert!(release_skip(&f, &[("PROFILE", "debug"), ("DEP_TAURI_DEV", "true")]).is_ok(), "tauri dev may skip");
}

#[test]
fn names_come_from_the_spec_literal_or_the_last_build_and_triples_from_target() {
    let env = env::lock();
    // `name=NAME` is evaluated by PyInstaller only (the fake reads the comment).
    let f = Fixture::new(&[
        (
            "dyn.spec",
            "# name='dynamic'\nNAME = 'dyn' + 'amic'\na = Analysis(['dyn.py'])\nexe = EXE(a.scripts, name=NAME)\n",
        ),
        ("dyn.py", ""),
    ]);
    let report = skipped(&env, &f, "debug").unwrap();
    assert!(report.specs.is_empty(), "unknown name: no placeholder");
    let warnings = f.warnings();
    assert!(
        warnings.iter().any(|w| w.contains("no placeholder for `dyn.spec`") && w.contains("literal")),
        "{warnings:?}"
    );
    f.build("debug").try_compile().unwrap();
    fs::remove_file(f.installed("dynamic")).unwrap();
    let report = skipped(&env, &f, "debug").unwrap();
    assert_eq!(outcomes(&report), [("dynamic".into(), Outcome::Placeholder)], "named by its last build");

    // Checking for another platform is what skipping is for: no cross-compile error, and the
    // placeholder has the name Tauri looks for there (`.exe` after the triple on Windows).
    let g = two_specs();
    let build = |target: &str| {
        let mut b = g.build("debug");
        b.target(target);
        with_env(&env, &[("PYINSTALLER_BUILD_SKIP", "1")], &b)
    };
    let report = build("x86_64-pc-windows-gnu").unwrap();
    let exe = g.root.join("binaries/worker-x86_64-pc-windows-gnu.exe");
    assert_eq!(report.specs[1].installed, exe);
    assert!(fs::read_to_string(&exe).unwrap().contains("pyinstaller-build placeholder"));
    let report = build("aarch64-apple-darwin").unwrap();
    assert!(g.root.join("binaries/worker-aarch64-apple-darwin").is_file());
    assert_eq!(report.specs[0].outcome, Outcome::Placeholder);
    assert!(build("aarch64-linux-android").unwrap().specs.is_empty(), "mobile: nothing, as without the switch");
}
