//! What macOS targets need, run here with the fake PyInstaller (`tests/fake-pyinstaller`) and a
//! fake `lipo`: the other architecture needs a universal2 interpreter, and
//! `<name>-universal-apple-darwin` is made only from halves built from the same sources.
//! (Windows' install over a running sidecar is a unit test in src/fsutil.rs.)

// The fake PyInstaller runs behind a `#!/bin/sh` interpreter script: Unix only.
#![cfg(unix)]

use crate::support;
use crate::support::env::{self, Env};
use crate::support::{spec, Fixture};
use pyinstaller_build::{Build, ErrorKind, Report, Result};
use std::fs;

const ARM: &str = "aarch64-apple-darwin";
const INTEL: &str = "x86_64-apple-darwin";

fn app() -> Fixture {
    Fixture::new(&[("worker.spec", &spec("worker", &["shared.py"])), ("worker.py", ""), ("shared.py", "X = 1\n")])
}

/// A build on a Mac of `triple`'s architecture, in that target's own OUT_DIR.
fn on_mac(f: &Fixture, triple: &str) -> Build {
    let mut b = f.build(&format!("{triple}/debug"));
    b.target(triple).host(triple);
    b
}

/// Runs `build` with a fake `lipo` (which concatenates its inputs) first on PATH.
fn with_lipo(env: &Env, f: &Fixture, build: &Build) -> Result<Report> {
    let bin = f.tmp.path().join("fake-bin");
    fs::create_dir_all(&bin).unwrap();
    let lipo = bin.join("lipo");
    fs::write(&lipo, "#!/bin/sh\n# lipo -create -output OUT A B\nout=$3; shift 3; cat \"$@\" > \"$out\"\n").unwrap();
    support::make_executable(&lipo);
    #[allow(clippy::disallowed_methods)] // the test's own PATH, put back when `_path` drops
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(&path));
    let _path = env.set(&[("PATH", std::env::join_paths(paths).unwrap())]);
    build.try_compile()
}

#[test]
fn the_other_mac_architecture_needs_a_universal2_interpreter() {
    let _env = env::read();
    let f = app();
    let mut b = on_mac(&f, INTEL);
    b.host(ARM);
    let err = b.try_compile().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CrossCompile);
    let msg = err.to_string();
    assert!(msg.contains("needs a universal2 Python") && msg.contains("PYINSTALLER_BUILD_PYTHON"), "{msg}");
    assert!(f.runs().is_empty(), "PyInstaller never ran");
    // Other pairs are still refused as before.
    let err = f.build("debug").target(ARM).host("x86_64-unknown-linux-gnu").try_compile().unwrap_err();
    assert!(err.to_string().contains("does not cross-compile"), "{err}");
}

#[test]
fn the_universal_sidecar_is_made_from_halves_of_the_same_sources_and_removed_when_they_differ() {
    let env = env::lock();
    let f = app();
    let dir = f.root.join("binaries");
    let universal = dir.join("worker-universal-apple-darwin");
    let half = |t: &str| fs::read(dir.join(format!("worker-{t}"))).unwrap();

    with_lipo(&env, &f, &on_mac(&f, ARM)).unwrap();
    assert!(!universal.exists(), "one half only");
    with_lipo(&env, &f, &on_mac(&f, INTEL)).unwrap();
    let both = fs::read(&universal).unwrap();
    assert_eq!(both, [half(INTEL), half(ARM)].concat(), "lipo of both installed halves");
    assert!(f.warnings().iter().any(|w| w.contains("made") && w.contains("worker-universal-apple-darwin")));

    // Nothing changed: nothing is made again, nothing said.
    let mtime = fs::metadata(&universal).unwrap().modified().unwrap();
    with_lipo(&env, &f, &on_mac(&f, ARM)).unwrap();
    assert!(f.warnings().is_empty(), "{:?}", f.warnings());
    assert_eq!(fs::metadata(&universal).unwrap().modified().unwrap(), mtime);

    // One half rebuilt after an edit: the universal file would mix two programs, so it goes.
    f.write("shared.py", "X = 2\n");
    with_lipo(&env, &f, &on_mac(&f, ARM)).unwrap();
    assert!(!universal.exists(), "a stale universal sidecar is never left to be bundled");
    assert!(f.warnings().iter().any(|w| w.contains("removed")), "{:?}", f.warnings());
    with_lipo(&env, &f, &on_mac(&f, INTEL)).unwrap();
    assert_eq!(fs::read(&universal).unwrap(), [half(INTEL), half(ARM)].concat());
    assert!(String::from_utf8_lossy(&fs::read(&universal).unwrap()).contains("X = 2"));
}
