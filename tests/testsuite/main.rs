//! The crate's tests, as one test binary with a module per area (cargo's own `testsuite` shape):
//! `support` is compiled once and the suite links once. `cargo test --test testsuite <area>::`
//! runs one area, e.g. `cargo test --test testsuite skip::`.
//!
//! Fast, with the fake PyInstaller (`tests/fake-pyinstaller`), in this process: `fake_pyinstaller`,
//! `skip`, `platforms` and `observed` (what a user sees on every path, pinned). End to end, real
//! `cargo build`s of fixture crates (`tests/fixtures`) with real PyInstaller: `end_to_end`,
//! `adoption`, `broken`, `layouts`, `soundness`, `stale_binaries`, `fastpath_edits`,
//! `fastpath_interning`, `launch`, `shared_cache` (against real servers), `tauri` (a Tauri v2 app
//! and the Tauri CLI) and `differential` (random edits, each build compared with a forced build).
//! `python_helpers` runs the Python helpers' own unit tests.
//!
//! Every area shares this process and runs beside the others, so what a test changes for the
//! whole process goes through `support`: environment variables through [`support::env`] (set
//! under its lock, restored on drop, never seen by a process another test starts), the fixtures'
//! shared target folder through `support::e2e::CARGO`.

mod support;

mod adoption;
mod broken;
mod differential;
mod end_to_end;
mod fake_pyinstaller;
mod fastpath_edits;
mod fastpath_interning;
mod launch;
mod layouts;
mod observed;
mod platforms;
mod python_helpers;
mod shared_cache;
mod skip;
mod soundness;
mod stale_binaries;
mod tauri;
