//! Runs both sidecars, as a Tauri app would through its shell plugin, and prints their answers.

use std::process::Command;

fn ask(name: &str, path: &str, args: &[&str]) -> String {
    let out = Command::new(path).args(args).output().unwrap_or_else(|e| panic!("could not run {name} ({path}): {e}"));
    assert!(out.status.success(), "{name} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn main() {
    println!("{}", ask("stats", env!("SIDECAR_STATS"), &["3", "1", "4", "1", "5"]));
    println!("{}", ask("versions", env!("SIDECAR_VERSIONS"), &["1.10.0", "1.9.2", "1.10.0rc1"]));
}
