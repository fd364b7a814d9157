//! End to end: everything a PyInstaller run reads is an input, not only what it bundled.
//!
//! The fixture (`tests/fixtures/soundness`, stdlib only) is a spec that imports project modules,
//! reads hooks and a `pathex` folder outside python-dir, reads an environment variable and
//! collects a module's source as a data file. Each case edits one of those, builds as a user
//! would, and checks that the installed binary behaves exactly as a forced build's does.

use crate::support;
use crate::support::e2e::*;
use crate::support::env::Clean;
use std::fs;
use std::path::{Path, PathBuf};

const FIXTURE: &str = "tests/fixtures/soundness";

/// The app's output.
fn output(app: &App) -> String {
    app.run("app")
}

/// Builds with `env`, which must build (not skip), and returns the app's output and the warnings.
fn rebuilt(app: &App, env: &[(&str, &str)]) -> (String, Vec<String>) {
    let out = app.cargo(&[], env);
    assert!(out.ok, "{}", out.stderr);
    let warnings: Vec<String> = out.warnings().into_iter().map(str::to_string).collect();
    assert!(
        warnings.iter().any(|w| w.contains(" app ") || w.contains(" app in")),
        "nothing was built:\n{}",
        out.stderr
    );
    (output(app), warnings)
}

/// Asserts `got` is what a forced build gives, then builds once more with `env` alone, which must
/// do nothing: the next step's rerun is then its own edit's doing, not the forced build's variable.
fn assert_as_forced(app: &App, got: &str, env: &[(&str, &str)]) {
    let mut forced_env = env.to_vec();
    forced_env.push(("PYINSTALLER_BUILD_FORCE", "1"));
    let forced = app.cargo(&[], &forced_env);
    assert!(forced.ok, "{}", forced.stderr);
    assert_eq!(got, output(app), "the build differs from a forced build");
    let plain = app.cargo(&[], env);
    assert!(plain.ok && plain.warnings().is_empty(), "{}", plain.stderr);
}

fn outside(app: &App, rel: &str) -> PathBuf {
    app.root.join("outside").join(rel)
}

fn managed() -> App {
    App::from(FIXTURE, "requirements = \"requirements.txt\"")
}

#[test]
fn what_the_spec_reads_outside_the_bundle_rebuilds() {
    let app = managed();
    app.build(&[]);
    let first = output(&app);
    assert_eq!(first, "label=one helper=one collected=one/'one' found=colorsys,sched");
    let again = app.build(&[]);
    assert!(again.warnings().is_empty(), "{}", again.stderr);

    // 1. A project module only the spec imports (its hidden imports).
    app.write("spec_config.py", "EXTRA_HIDDEN = ['tabnanny']\n");
    let (got, warnings) = rebuilt(&app, &[]);
    assert!(got.contains("found=colorsys,sched,tabnanny"), "{got}");
    assert!(warnings.iter().any(|w| w.contains("spec_config.py changed")), "{warnings:?}");
    assert_as_forced(&app, &got, &[]);

    // 3. A hook in a hookspath folder outside python-dir.
    fs::write(outside(&app, "hooks/hook-helper.py"), "hiddenimports = ['sched', 'netrc']\n").unwrap();
    let (got, warnings) = rebuilt(&app, &[]);
    assert!(got.contains("found=colorsys,sched,tabnanny,netrc"), "{got}");
    assert!(warnings.iter().any(|w| w.contains("hook-helper.py changed")), "{warnings:?}");
    assert_as_forced(&app, &got, &[]);

    // 4. A new module in a pathex folder, which an optional import now finds.
    fs::write(outside(&app, "lib/extra.py"), "").unwrap();
    let (got, warnings) = rebuilt(&app, &[]);
    assert!(got.ends_with(",extra"), "{got}");
    assert!(warnings.iter().any(|w| w.contains("the entries of") && w.contains("lib changed")), "{warnings:?}");
    assert_as_forced(&app, &got, &[]);

    // 6. A pathex module edited while PyInstaller runs (after its analysis read it): built again.
    fs::write(outside(&app, "edit-during-build"), "VALUE = 'two'\n").unwrap();
    fs::write(outside(&app, "lib/helper.py"), "VALUE = 'one'  # touched\n").unwrap();
    let (got, _) = rebuilt(&app, &[]);
    assert!(!outside(&app, "edit-during-build").exists(), "the spec did not edit during the build");
    assert!(got.contains("helper=two"), "{got}");
    assert_as_forced(&app, &got, &[]);
}

/// The interpreter of the app's managed environment, copied so the test may edit its
/// site-packages without touching the environment other tests share.
fn own_environment(app: &App, to: &Path) -> PathBuf {
    let probe = fs::read_dir(audit_of_dir(app))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("probe-"))
        .expect("the interpreter's probe");
    let probe: serde_json::Value = serde_json::from_slice(&fs::read(probe).unwrap()).unwrap();
    let python = PathBuf::from(probe["python"].as_str().unwrap());
    let env = python.parent().unwrap().parent().unwrap();
    let status = std::process::Command::new("cp").arg("-a").arg(env).arg(to).status_clean().unwrap();
    assert!(status.success());
    to.join("bin/python")
}

#[test]
fn env_vars_the_spec_reads_and_pth_files_rebuild_and_path_does_not() {
    let app = managed();
    app.build(&[]);
    let env_dir = app._tmp.path().join("venv");
    let python = own_environment(&app, &env_dir);
    let site = fs::read_dir(env_dir.join("lib")).unwrap().next().unwrap().unwrap().path().join("site-packages");
    let manifest = fs::read_to_string(app.root.join("Cargo.toml")).unwrap();
    let manifest =
        manifest.replace("requirements = \"requirements.txt\"", &format!("python = \"{}\"", python.display()));
    fs::write(app.root.join("Cargo.toml"), manifest).unwrap();
    let pth = site.join("outside-pthdir.pth");
    fs::write(&pth, format!("{}\n", outside(&app, "pthdir").display())).unwrap();
    let (got, _) = rebuilt(&app, &[]);
    assert!(got.ends_with(",pthmod"), "{got}");
    assert_as_forced(&app, &got, &[]);

    // 5. The .pth file removed: cargo reruns the script, which sees the changed environment.
    fs::remove_file(&pth).unwrap();
    let (got, _) = rebuilt(&app, &[]);
    assert!(!got.contains("pthmod"), "{got}");
    assert_as_forced(&app, &got, &[]);

    // A variable the spec reads, never listed in `env`.
    let rich = [("APP_FLAVOR", "rich")];
    let (got, warnings) = rebuilt(&app, &rich);
    assert!(got.contains("wave"), "{got}");
    assert!(warnings.iter().any(|w| w.contains("the environment variable APP_FLAVOR changed")), "{warnings:?}");
    assert_as_forced(&app, &got, &rich);

    // PATH changes between tools (an IDE, a terminal) and changes nothing.
    let before = app.mtime("app");
    #[allow(clippy::disallowed_methods)]
    let path = {
        let _env = support::env::read(); // the PATH no test has changed
        format!("{}:{}", app._tmp.path().display(), std::env::var("PATH").unwrap_or_default())
    };
    let out = app.cargo(&[], &[("APP_FLAVOR", "rich"), ("PATH", &path)]);
    assert!(out.ok && out.warnings().is_empty(), "{}", out.stderr);
    assert_eq!(app.mtime("app"), before);
    assert_eq!(output(&app), got);
}

#[test]
fn the_fast_path_never_rewrites_a_module_the_build_runs_or_also_copies() {
    let app = managed();
    app.build(&[]);

    // The fast path applies to this spec: an edit of the entry script's body.
    app.write("app.py", &fs::read_to_string(app.root.join("python/app.py")).unwrap().replace("label=", "label:"));
    let (got, warnings) = rebuilt(&app, &[]);
    assert!(warnings.iter().any(|w| w.contains("by the fast path")), "{warnings:?}");
    assert!(got.starts_with("label:one"), "{got}");

    // 2. A module the spec imports too (its hidden imports): a body edit runs PyInstaller.
    app.write("build_config.py", "HIDDEN = ['colorsys', 'wave']\nLABEL = 'two'\n");
    let (got, warnings) = rebuilt(&app, &[]);
    assert!(
        warnings.iter().any(|w| w.contains("built app") && w.contains("imported by the spec or a hook")),
        "{warnings:?}"
    );
    assert!(got.starts_with("label:two") && got.contains("wave"), "{got}");
    assert_as_forced(&app, &got, &[]);

    // 7. A module collected as source too (`pyz+py`): both copies are the new one.
    app.write("collected.py", "VALUE = 'two'\n");
    let (got, warnings) = rebuilt(&app, &[]);
    assert!(warnings.iter().any(|w| w.contains("also collected as a data file")), "{warnings:?}");
    assert!(got.contains("collected=two/'two'"), "{got}");
    assert_as_forced(&app, &got, &[]);

    // 8. The execute bit of a file packed as data, its content unchanged: PyInstaller packs an
    // executable data file as a binary (so that the bit is restored), so the bytes differ.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let collected = app.root.join("python/collected.py");
        fs::set_permissions(&collected, fs::Permissions::from_mode(0o755)).unwrap();
        // Cargo compares mtimes, which a mode change leaves alone: the build script runs again
        // on the next edit of anything it watches, here the same file rewritten as it was.
        fs::write(&collected, fs::read(&collected).unwrap()).unwrap();
        let (_, warnings) = rebuilt(&app, &[]);
        assert!(warnings.iter().any(|w| w.contains("built app") && w.contains("collected.py changed")), "{warnings:?}");
        let built = fs::read(app.binary("app")).unwrap();
        let forced = app.cargo(&[], &[("PYINSTALLER_BUILD_FORCE", "1")]);
        assert!(forced.ok, "{}", forced.stderr);
        assert!(built == fs::read(app.binary("app")).unwrap(), "the build's bytes differ from a forced build's");
    }
}
