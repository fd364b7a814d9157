//! End to end: python-dir holds the Rust crate and cargo's default target folder, as in most real
//! apps. `tests/fixtures/layout-crate` is a `src-tauri` folder with its specs at its root
//! (`python-dir = "."`); `tests/fixtures/layout-repo` a repository whose root holds the spec, its
//! package and a data folder, with the Tauri app in `tauri-gui/src-tauri` (`python-dir = "../.."`).
//! Neither sets `CARGO_TARGET_DIR`: the target folder, and the crate's managed environment in it,
//! lie inside python-dir. The build's own outputs, Rust sources, icons and configs are no inputs;
//! what PyInstaller reads, lists or looks up there is, hidden files and `dist/` folders included.

use crate::support::e2e::{copy_dir, host_triple, Output, CARGO};
use crate::support::env::Clean;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// A copy of a layout fixture: `repo` is the copy's root, `krate` its Cargo package.
struct Layout {
    _tmp: tempfile::TempDir,
    repo: PathBuf,
    krate: PathBuf,
    binaries: PathBuf,
}

impl Layout {
    fn new(fixture: &str, krate: &str, binaries: &str) -> Layout {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("app");
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_dir(&crate_dir.join("tests/fixtures").join(fixture), &repo);
        let krate = repo.join(krate);
        let manifest = fs::read_to_string(krate.join("Cargo.toml.in"))
            .unwrap()
            .replace("@CRATE@", &crate_dir.display().to_string())
            .replace("@EXTRA@", "");
        fs::write(krate.join("Cargo.toml"), manifest).unwrap();
        fs::remove_file(krate.join("Cargo.toml.in")).unwrap();
        // Same dependency versions as the crate's own: no registry lookup.
        fs::copy(crate_dir.join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
        let binaries = krate.join(binaries);
        Layout { _tmp: tmp, repo, krate, binaries }
    }

    /// `cargo <command>` in the package, with cargo's default target folder (inside python-dir).
    fn cargo(&self, command: &str, env: &[(&str, &str)]) -> Output {
        let _one = CARGO.lock().unwrap_or_else(|e| e.into_inner());
        let mut cmd = Command::new(env!("CARGO"));
        cmd.arg(command).current_dir(&self.krate).env_remove("CARGO_TARGET_DIR").env_remove("CARGO_BUILD_TARGET_DIR");
        // As the other fixtures build: no debug info or incremental state.
        cmd.env("CARGO_PROFILE_DEV_DEBUG", "false").env("CARGO_INCREMENTAL", "0");
        for var in ["PYINSTALLER_BUILD_SKIP", "PYINSTALLER_BUILD_FORCE", "PYINSTALLER_BUILD_CACHE_DIR"] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        let out = cmd.output_clean().unwrap();
        let out = Output { ok: out.status.success(), stderr: String::from_utf8_lossy(&out.stderr).into_owned() };
        assert!(out.ok, "cargo {command} failed:\n{}", out.stderr);
        out
    }

    fn binary(&self, name: &str) -> PathBuf {
        self.binaries.join(format!("{name}-{}", host_triple()))
    }

    fn run(&self, name: &str) -> String {
        let out = Command::new(self.binary(name)).output_clean().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.repo.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// Builds with `PYINSTALLER_BUILD_FORCE=1` (the oracle) and asserts each sidecar has the
    /// bytes it had; then a plain build, which must do nothing.
    fn assert_as_forced(&self, names: &[&str]) {
        let before: Vec<Vec<u8>> = names.iter().map(|n| fs::read(self.binary(n)).unwrap()).collect();
        self.cargo("build", &[("PYINSTALLER_BUILD_FORCE", "1")]);
        for (name, bytes) in names.iter().zip(before) {
            assert!(fs::read(self.binary(name)).unwrap() == bytes, "{name} differs from a forced build's");
        }
        quiet(&self.cargo("build", &[]), "the build after the forced one");
    }
}

/// The crate's warnings: none when nothing happened.
fn quiet(out: &Output, what: &str) {
    assert!(out.warnings().is_empty(), "{what} ran something:\n{}", out.stderr);
}

/// Asserts PyInstaller built `name`, and returns its warning.
fn built<'a>(out: &'a Output, name: &str) -> &'a str {
    let warnings = out.warnings();
    warnings
        .iter()
        .find(|w| w.contains(&format!("built {name} in")))
        .unwrap_or_else(|| panic!("PyInstaller did not build {name}:\n{}", out.stderr))
}

/// The checks both layouts share, from the first build to a body edit.
fn no_change_check_rust_edit_icon_and_body_edit(app: &Layout, names: &[&str], body: (&str, &str)) {
    let first = app.cargo("build", &[]);
    for name in names {
        built(&first, name);
    }
    // Said once: the layout works, and what it costs.
    let note = first.warnings().into_iter().filter(|w| w.contains("this layout works")).count();
    assert_eq!(note, 1, "{}", first.stderr);
    assert!(first.stderr.contains("cargo's target folder") && first.stderr.contains("Rust crate"));
    for i in 0..2 {
        quiet(&app.cargo("build", &[]), &format!("no-change build {i}"));
    }
    for i in 0..2 {
        quiet(&app.cargo("check", &[]), &format!("cargo check {i}"));
    }
    app.write(
        &app.krate.join("src/main.rs").strip_prefix(&app.repo).unwrap().to_string_lossy(),
        "fn main() {\n    println!(\"the app, edited\");\n}\n",
    );
    quiet(&app.cargo("build", &[]), "the build after a Rust edit");
    fs::write(app.krate.join("icons/128x128.png"), b"\x89PNG new icon").unwrap();
    quiet(&app.cargo("build", &[]), "the build after a new icon");
    let (file, text) = body;
    app.write(file, text);
    let out = app.cargo("build", &[]);
    let fast = out.warnings().into_iter().filter(|w| w.contains("by the fast path")).count();
    assert!(fast >= 1, "a body edit did not take the fast path:\n{}", out.stderr);
    assert!(!out.stderr.contains(" built "), "PyInstaller ran:\n{}", out.stderr);
}

#[test]
fn specs_at_the_crates_root_ignore_the_build_and_rust_and_take_the_fast_path() {
    let app = Layout::new("layout-crate", "", "dist");
    no_change_check_rust_edit_icon_and_body_edit(
        &app,
        &["reader", "writer"],
        ("src-python/common.py", "def greeting(who):\n    return \"hi from \" + who\n"),
    );
    assert_eq!(app.run("reader"), "hi from reader");
    assert_eq!(app.run("writer"), "hi from writer");
    // The tauri-build stand-in wrote its schema inside python-dir after the first build: no input.
    assert!(app.krate.join("gen/schemas/capabilities.json").is_file());
    app.assert_as_forced(&["reader", "writer"]);
}

#[test]
fn a_spec_at_the_repository_root_ignores_the_build_and_sees_what_pyinstaller_reaches() {
    let app = Layout::new("layout-repo", "tauri-gui/src-tauri", "bin");
    no_change_check_rust_edit_icon_and_body_edit(
        &app,
        &["agent"],
        ("agent/core.py", &fs::read_to_string(fixture("layout-repo/agent/core.py")).unwrap().replace("42", "43")),
    );
    assert_eq!(app.run("agent"), "answer=43 no addon app.css,index.html");

    // What the scan leaves out but PyInstaller collects or finds: each rebuilds.
    // A hidden file in a data folder the spec collects.
    app.write("static/.env", "MODE=dev\n");
    let out = app.cargo("build", &[]);
    assert!(built(&out, "agent").contains("the entries of static changed"), "{}", out.stderr);
    assert_eq!(app.run("agent"), "answer=43 no addon .env,app.css,index.html");
    // A frontend build's `dist/` in it.
    app.write("static/dist/bundle.js", "console.log(1)\n");
    let out = app.cargo("build", &[]);
    assert!(built(&out, "agent").contains("the entries of static changed"), "{}", out.stderr);
    assert_eq!(app.run("agent"), "answer=43 no addon .env,app.css,dist/bundle.js,index.html");
    // A sourceless module that satisfies `try: from agent import addon`, where the module
    // search looked.
    let src = app.repo.join("tauri-gui/addon-src/addon.py");
    app.write("tauri-gui/addon-src/addon.py", "NAME = 'addon 1'\n");
    let python = app.repo.join("tauri-gui/src-tauri/target/pyinstaller-build/envs");
    let python = fs::read_dir(&python)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("bin/python"))
        .find(|p| p.is_file())
        .expect("the managed environment's interpreter");
    let compiled = Command::new(python)
        .args(["-c", "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)"])
        .arg(&src)
        .arg(app.repo.join("agent/addon.pyc"))
        .status_clean()
        .unwrap();
    assert!(compiled.success());
    let out = app.cargo("build", &[]);
    let why = built(&out, "agent");
    assert!(why.contains("agent/addon.pyc is new, where agent.spec's last build's module search looked"), "{why}");
    assert_eq!(app.run("agent"), "answer=43 addon 1 .env,app.css,dist/bundle.js,index.html");
    app.assert_as_forced(&["agent"]);
}
