//! End to end: a broken module never ships, and the smoke test runs the sidecar as the app will.
//!
//! The fixture (`tests/fixtures/broken`, stdlib only) is a CLI that handles `--help` before it
//! imports its package, so a smoke test of `--help` passes whatever the package holds: exactly
//! the sidecar a PyInstaller build with a broken module used to ship.

use crate::support;
use crate::support::e2e::*;
use std::fs;
use std::path::PathBuf;

const FIXTURE: &str = "tests/fixtures/broken";

fn app(smoke_test: &str) -> App {
    App::from(FIXTURE, &format!("requirements = \"requirements.txt\"\nsmoke-test = {smoke_test}"))
}

/// Replaces the `smoke-test` line of the copy's Cargo.toml.
fn set_smoke_test(app: &App, smoke_test: &str) {
    let path = app.root.join("Cargo.toml");
    let text = fs::read_to_string(&path).unwrap();
    let line = text.lines().find(|l| l.starts_with("smoke-test = ")).unwrap().to_string();
    fs::write(&path, text.replace(&line, &format!("smoke-test = {smoke_test}"))).unwrap();
}

fn built(out: &support::e2e::Output) -> bool {
    out.warnings().iter().any(|w| w.contains(": built app in") || w.contains("rebuilt app in"))
}

#[test]
fn a_broken_module_fails_the_build_keeps_the_binary_and_its_fix_comes_from_the_store() {
    let app = app("[\"--help\"]");
    app.build(&[]);
    assert_eq!(app.run("app"), "app 1");
    app.write("pkg/shared.py", "VALUE = 2\n");
    app.build(&[]);
    assert_eq!(app.run("app"), "app 2");
    let good = fs::read(app.binary("app")).unwrap();

    // A syntax error: the build fails at once with where and why; nothing is built or installed.
    app.write("pkg/shared.py", "VALUE = 3\ndef broken(:\n    pass\n");
    let out = app.cargo(&[], &[]);
    assert!(!out.ok, "a syntax error must fail the build:\n{}", out.stderr);
    assert!(out.stderr.contains("pkg/shared.py:2:12: "), "{}", out.stderr);
    assert!(out.stderr.contains("2 | def broken(:"), "{}", out.stderr);
    assert!(out.stderr.contains("installed sidecars were left in place"), "{}", out.stderr);
    assert!(!built(&out), "{}", out.stderr);
    assert_eq!(fs::read(app.binary("app")).unwrap(), good, "the previous binary stays");

    // The fix back to sources built before: their binary comes from the store, no PyInstaller.
    app.write("pkg/shared.py", "VALUE = 1\n");
    let out = app.build(&[]);
    assert!(out.warnings().iter().any(|w| w.contains("reinstalled app")), "{}", out.stderr);
    assert!(!built(&out), "{}", out.stderr);
    assert_eq!(app.run("app"), "app 1");

    // A top-level import PyInstaller cannot find: named with its importer before anything is
    // installed, never as a ModuleNotFoundError at the first start.
    app.write("pkg/shared.py", "import notinstalled_xyz\nVALUE = 4\n");
    let out = app.cargo(&[], &[]);
    assert!(!out.ok, "a missing top-level import must fail the build:\n{}", out.stderr);
    assert!(out.stderr.contains("`notinstalled_xyz`, imported at the top level of pkg/shared.py"), "{}", out.stderr);
    assert!(out.stderr.contains("add the distribution that provides `notinstalled_xyz`"), "{}", out.stderr);
    assert_eq!(app.run("app"), "app 1", "the previous binary stays");
    // Going back to the sources of that binary runs no PyInstaller: the failed run kept the last
    // good build's record.
    app.write("pkg/shared.py", "VALUE = 1\n");
    let out = app.build(&[]);
    assert!(!built(&out), "{}", out.stderr);
    assert_eq!(app.run("app"), "app 1");

    // The same import made optional builds quietly, and the message says what is true: the last
    // good build's record was kept, so what changed since is named.
    app.write("pkg/shared.py", "try:\n    import notinstalled_xyz\nexcept ImportError:\n    pass\nVALUE = 5\n");
    let out = app.build(&[]);
    assert!(
        out.warnings().iter().any(|w| w.contains(": built app in") && w.contains("pkg/shared.py changed")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("notinstalled_xyz"), "{}", out.stderr);
    assert_eq!(app.run("app"), "app 5");

    // A smoke-test edit re-tests the binary it has: no PyInstaller, no new binary.
    let mtime = app.mtime("app");
    set_smoke_test(&app, "[\"--help\", \"again\"]");
    let out = app.build(&[]);
    assert!(out.warnings().iter().any(|w| w.contains("re-tested app")), "{}", out.stderr);
    assert!(!built(&out), "{}", out.stderr);
    assert_eq!(app.mtime("app"), mtime);
    // Once passed, it is recorded: the build script's next run (cargo would otherwise replay the
    // last run's warnings) does nothing.
    let manifest = fs::File::options().append(true).open(app.root.join("Cargo.toml")).unwrap();
    manifest.set_modified(std::time::SystemTime::now()).unwrap();
    let again = app.build(&[]);
    assert!(again.warnings().is_empty(), "{}", again.stderr);

    // `allow-missing-imports` makes the missing import a warning that names it.
    let manifest = fs::read_to_string(app.root.join("Cargo.toml")).unwrap();
    let allowed = manifest.replace("smoke-test = ", "allow-missing-imports = true\nsmoke-test = ");
    fs::write(app.root.join("Cargo.toml"), allowed).unwrap();
    app.write("pkg/shared.py", "import notinstalled_xyz\nVALUE = 6\n");
    let out = app.build(&[]);
    assert!(
        out.warnings().iter().any(|w| w.contains("`notinstalled_xyz`, imported at the top level of pkg/shared.py")
            && w.contains("allowed by `allow-missing-imports`")),
        "{}",
        out.stderr
    );
    assert!(built(&out), "{}", out.stderr);
}

#[test]
fn the_smoke_test_runs_as_the_app_will_and_a_server_must_serve() {
    // The user's real home, as cargo gets it.
    #[allow(clippy::disallowed_methods)]
    let home = PathBuf::from(std::env::var_os("HOME").unwrap()).join(".pyinstaller-build-e2e");
    let _ = fs::remove_dir_all(&home);
    // Exits non-zero if it sees any variable cargo sets for build scripts or misses its own,
    // and writes its data under its home.
    let app = app("{ args = [\"--check-env\"], env = { APP_MODE = \"smoke\" } }");
    let out = app.build(&[]);
    assert!(built(&out), "{}", out.stderr);
    assert!(!home.exists(), "the smoke test wrote into the real home: {}", home.display());

    // A server whose port is taken prints its ready line and keeps running, serving nothing:
    // the probe fails it. (Only the smoke test changed: the binary is re-tested, not rebuilt.)
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let server = "{ args = [\"--serve\"], ready = \"ready\", port-env = \"PORT\", http = \"/health\", timeout = 10";
    set_smoke_test(&app, &format!("{server}, env = {{ BIND_PORT = \"{port}\" }} }}"));
    let out = app.cargo(&[], &[]);
    assert!(!out.ok, "a server that does not serve must fail:\n{}", out.stderr);
    assert!(out.stderr.contains("nothing accepted connections on 127.0.0.1:"), "{}", out.stderr);
    assert!(out.stderr.contains("Address already in use"), "its output is shown:\n{}", out.stderr);
    assert!(!built(&out), "{}", out.stderr);

    // Serving on the port the crate gave it, with /health answering: passes.
    set_smoke_test(&app, &format!("{server} }}"));
    let out = app.build(&[]);
    assert!(out.warnings().iter().any(|w| w.contains("re-tested app")), "{}", out.stderr);
    drop(taken);
}
