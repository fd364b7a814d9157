//! What a user observes on every path of a build, pinned: for each scenario the exact set of
//! `cargo:rerun-if-env-changed` lines, the warnings and the error, compared with
//! `tests/testsuite/observed.txt`. A variable read on another path changes when cargo reruns the build
//! script, and a reworded warning changes what users grep for: a move of code that changes either
//! fails here. After a deliberate change, `PYINSTALLER_BUILD_BLESS=1 cargo test --test testsuite observed::`
//! rewrites the file; its diff is then part of the change.
//!
//! With the fake PyInstaller (`tests/fake-pyinstaller`), so it runs in seconds.
#![cfg(unix)]

use crate::support::env;
use crate::support::{spec, two_specs, Fixture};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// One scenario's observable output, with the fixture's paths and every duration replaced by
/// placeholders. Warnings are sorted: specs build in parallel, so their lines interleave.
fn observe(
    out: &mut String,
    name: &str,
    f: &Fixture,
    result: Result<pyinstaller_build::Report, pyinstaller_build::Error>,
) {
    let tmp = f.tmp.path().canonicalize().unwrap();
    let crate_dir = env!("CARGO_MANIFEST_DIR");
    let clean = |s: &str| {
        let s = s.replace(&tmp.display().to_string(), "<tmp>").replace(&f.tmp.path().display().to_string(), "<tmp>");
        // Commands are printed with their whole environment, which is the machine's.
        let s: Vec<&str> = s
            .lines()
            .map(|l| {
                if l.starts_with("Command: ") || l.starts_with("    $ ") {
                    "    <command and its environment>"
                } else {
                    l
                }
            })
            .collect();
        let s = s.join("\n").replace(crate_dir, "<crate>");
        normalize(&hashes(&smoke_dirs(&s)))
    };
    let lines = f.cargo_lines();
    let mut vars: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("cargo:rerun-if-env-changed=")).collect();
    vars.sort_unstable();
    vars.dedup();
    let mut warnings: Vec<String> = f.warnings().iter().map(|w| clean(w)).collect();
    warnings.sort();
    writeln!(out, "## {name}").unwrap();
    writeln!(out, "env: {}", vars.join(" ")).unwrap();
    for w in warnings {
        writeln!(out, "{w}").unwrap();
    }
    match result {
        Ok(report) => {
            let outcomes: Vec<String> = report.specs.iter().map(|s| format!("{} {:?}", s.name, s.outcome)).collect();
            writeln!(out, "ok: {}", outcomes.join(", ")).unwrap();
        }
        Err(e) => writeln!(out, "error {:?}: {}", e.kind(), clean(&e.to_string())).unwrap(),
    }
    out.push('\n');
}

/// The smoke test's scratch folders are named by process id and a counter.
fn smoke_dirs(s: &str) -> String {
    replace_runs(s, "pyinstaller-build-smoke-", |c| c.is_ascii_digit() || c == '-', "<n>")
}

/// Work folders are named by a hash of the python-dir's path, which is a new temporary folder.
fn hashes(s: &str) -> String {
    replace_runs(s, "/python-", |c| c.is_ascii_hexdigit(), "<hash>")
}

/// `s` with the run of `keep` characters after each `prefix` replaced by `by`.
fn replace_runs(s: &str, prefix: &str, keep: impl Fn(char) -> bool, by: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find(prefix) {
        out.push_str(&rest[..at + prefix.len()]);
        rest = &rest[at + prefix.len()..];
        let end = rest.find(|c: char| !keep(c)).unwrap_or(rest.len());
        if end > 0 {
            out.push_str(by);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Durations (`0.3 s`, `12 ms`, `1.0s`) become `<t>`: they are the only thing that varies between
/// runs of the same scenario.
fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric());
        if starts_number {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            let rest: String = chars[j..].iter().take(4).collect();
            let unit = [" ms", "ms", " s", "s"]
                .into_iter()
                .find(|u| rest.starts_with(u) && !rest[u.len()..].starts_with(|c: char| c.is_alphanumeric()));
            if let Some(unit) = unit {
                out.push_str("<t>");
                i = j + unit.len();
                continue;
            }
            out.extend(&chars[i..j]);
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[test]
fn every_path_observes_what_it_did_before() {
    // Scenarios set process variables (skip, force, docs.rs): no other test may read meanwhile.
    let env = env::lock();
    let mut out = String::new();

    let f = two_specs();
    let r = f.build("debug").try_compile();
    observe(&mut out, "first build", &f, r);
    let r = f.build("debug").try_compile();
    observe(&mut out, "no change", &f, r);
    f.write("worker_only.py", "Y = 2\n");
    let r = f.build("debug").try_compile();
    observe(&mut out, "a module edited", &f, r);
    fs::remove_file(f.installed("headless")).unwrap();
    let r = f.build("debug").try_compile();
    observe(&mut out, "an installed sidecar deleted", &f, r);
    let r = f.build("release").try_compile();
    observe(&mut out, "another profile", &f, r);
    let r = f.build("debug").smoke_test(["--ok"]).try_compile();
    observe(&mut out, "only the smoke test changed", &f, r);
    f.write("worker_only.py", "Y = 3\n");
    let r = f.build("debug").smoke_test(["--fail"]).try_compile();
    observe(&mut out, "a failed smoke test", &f, r);
    f.write("worker.spec", &format!("FAIL\n{}", spec("worker", &["shared.py"])));
    f.write("shared.py", "X = 2\n");
    let r = f.build("debug").try_compile();
    observe(&mut out, "a failed spec", &f, r);
    f.write("worker.spec", &spec("worker", &["shared.py", "worker_only.py"]));

    let with_var = |var: &str, build: &dyn Fn() -> Result<pyinstaller_build::Report, pyinstaller_build::Error>| {
        let _var = env.set(&[(var, "1")]);
        build()
    };
    let r = with_var("PYINSTALLER_BUILD_FORCE", &|| f.build("debug").try_compile());
    observe(&mut out, "forced", &f, r);
    let r = with_var("PYINSTALLER_BUILD_SKIP", &|| f.build("debug").try_compile());
    observe(&mut out, "skip switch", &f, r);
    let r = with_var("DOCS_RS", &|| f.build("debug").try_compile());
    observe(&mut out, "docs.rs", &f, r);
    let r = f.build("debug").target("aarch64-unknown-linux-gnu").try_compile();
    observe(&mut out, "a cross target", &f, r);
    let r = f.build("debug").target("aarch64-linux-android").try_compile();
    observe(&mut out, "a mobile target", &f, r);
    let r = f.build("debug").python("/no/such/python").try_compile();
    observe(&mut out, "no interpreter", &f, r);
    let r = f.build("debug").python_dir("nope").try_compile();
    observe(&mut out, "no python-dir", &f, r);

    let empty = Fixture::new(&[("main.py", "")]);
    let r = empty.build("debug").try_compile();
    observe(&mut out, "no spec", &empty, r);

    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testsuite/observed.txt");
    #[allow(clippy::disallowed_methods)] // a switch of this test, not a build input
    let bless = std::env::var_os("PYINSTALLER_BUILD_BLESS").is_some();
    if bless {
        fs::write(&golden, &out).unwrap();
        return;
    }
    let expected = fs::read_to_string(&golden).unwrap_or_default();
    if expected != out {
        let diff: Vec<String> = expected
            .lines()
            .zip(out.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(5)
            .map(|(i, (a, b))| format!("line {}:\n  pinned:   {a}\n  observed: {b}", i + 1))
            .collect();
        panic!(
            "what a user observes changed ({} pinned lines, {} observed); first differences:\n{}\n\nIf the change is \
             deliberate: PYINSTALLER_BUILD_BLESS=1 cargo test --test testsuite observed::, and commit \
             tests/testsuite/observed.txt.\n\nObserved:\n{out}",
            expected.lines().count(),
            out.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn durations_are_the_only_thing_normalized() {
    assert_eq!(normalize("built app in 0.3 s (12 ms of it)"), "built app in <t> (<t> of it)");
    assert_eq!(normalize("x86_64 line 9 of 3.11s v2"), "x86_64 line 9 of <t> v2");
    assert_eq!(normalize("3 specs"), "3 specs");
    assert_eq!(hashes("x/python-a52832c53f1d/headless"), "x/python-<hash>/headless");
    assert_eq!(smoke_dirs("/tmp/pyinstaller-build-smoke-16808-40/home"), "/tmp/pyinstaller-build-smoke-<n>/home");
}
