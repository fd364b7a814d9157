//! The Python helpers' own unit tests (`tests/python/`, standard `unittest`), run with `python3`:
//! how the audit maps import names to distributions and reads the project's imports.

use crate::support::env::Clean;
use std::path::Path;
use std::process::Command;

#[test]
fn the_python_helpers_unit_tests_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .args(["-m", "unittest", "discover", "-v", "-s"])
        .arg(dir.join("tests/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output_clean()
        .expect("python3 runs");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Ran ") && log.trim_end().ends_with("OK"), "{log}");
}
