//! End to end, the fast path and marshal's process state: a one-character string constant (or
//! `""`) is marshalled as interned or not according to the history of the process that marshals
//! it, so the fast path must marshal each entry in the state PyInstaller's process had. Each
//! CPython the crate supports, where the machine has it (pyenv's), builds app shapes that tell
//! the states apart; every fast path must give a stock build's very bytes.

use crate::support;
use crate::support::e2e::*;
use std::fs;
use std::path::PathBuf;

/// The fixture's sidecars: the two-file reproducer (the entry script holds `"["`), a
/// spec that runs json's C encoder before its Analysis, a module set where only the third module
/// holds brackets, braces, `" "` and `":"`, and a web-service shape of forty modules.
const SIDECARS: [&str; 4] = ["repro", "jsonapp", "third", "service"];

/// pyenv's CPython `minor` (`"3.11"`), if the machine has it.
fn pyenv_python(minor: &str) -> Option<PathBuf> {
    let versions = PathBuf::from("/root/.pyenv/versions");
    let mut found: Vec<PathBuf> = fs::read_dir(versions)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().strip_prefix(minor).is_some_and(|rest| rest.starts_with('.')))
        .map(|e| e.path().join("bin/python"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}

/// The fixture built with `python` as the base of its managed environment.
fn app_with(python: &std::path::Path) -> App {
    App::from("tests/fixtures/interning", &format!("python = {:?}\n", python.display().to_string()))
}

fn snapshot(app: &App, spec: &str) -> serde_json::Value {
    serde_json::from_slice(&fs::read(fast_path_dir(app, spec).join("fastpath.json")).unwrap()).unwrap()
}

/// Every sidecar's snapshot passed its self-test.
fn assert_self_tests_passed(app: &App, when: &str) {
    for spec in SIDECARS {
        let s = snapshot(app, spec);
        assert!(
            s["disabled"].is_null() && s["base_hash"].is_string(),
            "{when}: {spec}'s fast path is off: {}",
            s["disabled"]
        );
    }
}

/// Applies the edits, expects every sidecar rebuilt by the fast path and printing `expected`,
/// then a `PYINSTALLER_BUILD_FORCE=1` build of the same sources must give the very same bytes.
fn assert_edits_fast_and_identical(app: &App, what: &str, edits: &[(&str, &str, &str)], expected: [&str; 4]) {
    for (file, from, to) in edits {
        let text = fs::read_to_string(app.root.join("python").join(file)).unwrap();
        assert!(text.contains(from), "{what}: {file} holds no {from:?}");
        app.write(file, &text.replacen(from, to, 1));
    }
    let out = app.build(&[]);
    for spec in SIDECARS {
        assert!(
            out.warnings().iter().any(|w| w.contains(&format!("rebuilt {spec} in")) && w.contains("by the fast path")),
            "{what}: expected the fast path for {spec}: {}",
            out.stderr
        );
    }
    assert!(!out.warnings().iter().any(|w| w.contains(": built ")), "{what}: PyInstaller ran: {}", out.stderr);
    let fast: Vec<Vec<u8>> = SIDECARS.iter().map(|s| fs::read(app.binary(s)).unwrap()).collect();
    for (spec, expected) in SIDECARS.iter().zip(expected) {
        assert_eq!(app.run(spec), expected, "{what}: {spec}");
    }
    let stock = app.cargo(&[], &[("PYINSTALLER_BUILD_FORCE", "1")]);
    assert!(stock.ok && stock.warnings().iter().filter(|w| w.contains(": built ")).count() == 4, "{}", stock.stderr);
    for (spec, fast) in SIDECARS.iter().zip(&fast) {
        assert!(
            fs::read(app.binary(spec)).unwrap() == *fast,
            "{what}: the fast path's {spec} differs from PyInstaller's"
        );
    }
    assert_self_tests_passed(app, what);
}

/// The shapes on pyenv's CPython `minor`: a first build whose self-tests pass, body edits that
/// take the fast path byte for byte, and (with `both_steps`) edits that add interning-sensitive
/// constants to modules that held none, which a self-test cannot see.
fn shapes_on(minor: &str, both_steps: bool) {
    let Some(python) = pyenv_python(minor) else {
        if support::may_skip(&format!("CPython {minor}"), &format!("install it: `pyenv install {minor}`")) {
            return;
        }
        unreachable!()
    };
    let app = app_with(&python);
    app.build(&[]);
    assert_self_tests_passed(&app, "the first build");
    let first = [
        "[ok]",
        "[a, b] {2}",
        "alpha beta [1] {k: 1} []{}:",
        "200 {'status': 'ok', 'version': '1.0.0'} | 200 {'id': 1, 'name': 'Ada'} | 200 [{'title': 'Desk lamp', \
         'price': 19.5}, {'title': 'Lamp shade', 'price': 7.0}] | 200 {'id': 7, 'item_ids': [1, 2]} | 404 \
         {'detail': 'no route for GET /missing'}",
    ];
    assert_eq!(SIDECARS.map(|s| app.run(s)), first.map(String::from));
    assert_edits_fast_and_identical(
        &app,
        "body edits",
        &[
            ("repro_mod.py", "\"ok\"", "\"ok, edited\""),
            ("json_mod.py", "\", \"", "\"; \""),
            ("third_c.py", "f\"[{len(mapping)}] {{", "f\"[{len(mapping)}]: {{"),
            ("webapp/middleware/logging.py", "--> {request.method}", "==> {request.method}"),
            ("webapp/routers/health.py", "\"ok\"", "\"up\""),
        ],
        ["[ok, edited]", "[a; b] {2}", "alpha beta [1]: {k: 1} []{}:", &first[3].replacen("'ok'", "'up'", 1)],
    );
    if !both_steps {
        return;
    }
    assert_edits_fast_and_identical(
        &app,
        "new one-character constants in modules that held none",
        &[
            ("repro_mod.py", "\"ok, edited\"", "\"ok\" + \"!\" + \"{}\""),
            ("json_mod.py", "def render", "SEP = \":\"\n\n\ndef render"),
            ("third_a.py", "\"alpha\"", "\"[\" + \"alpha\" + \"]\""),
            ("third_b.py", "\"beta\"", "\"{\" + \"beta\" + \"}\""),
            ("webapp/routers/admin.py", "\"*\"", "\"[\" + \"*\" + \"]\""),
        ],
        ["[ok!{}]", "[a; b] {2}", "[alpha] {beta} [1]: {k: 1} []{}:", &first[3].replacen("'ok'", "'up'", 1)],
    );
}

/// On pyenv's CPython `minor` (before 3.11): the snapshot is disabled, and an edit runs
/// PyInstaller saying why. One sidecar: the reason does not depend on the app.
fn refused_on(minor: &str) {
    let Some(python) = pyenv_python(minor) else {
        if support::may_skip(&format!("CPython {minor}"), &format!("install it: `pyenv install {minor}`")) {
            return;
        }
        unreachable!()
    };
    let app = app_with(&python);
    let manifest = fs::read_to_string(app.root.join("Cargo.toml")).unwrap();
    let spec_only = &manifest[..manifest.find("\n# The issue's reproducer").unwrap()];
    fs::write(app.root.join("Cargo.toml"), spec_only).unwrap();
    app.build(&[]);
    let reason = format!("on Python {minor} marshal's bytes depend on which names the whole PyInstaller process holds");
    let disabled = snapshot(&app, "jsonapp")["disabled"].as_str().map(String::from).unwrap_or_default();
    assert!(disabled.contains(&reason), "{minor}: {disabled}");
    app.write(
        "json_mod.py",
        &fs::read_to_string(app.root.join("python/json_mod.py")).unwrap().replacen("\", \"", "\"; \"", 1),
    );
    let out = app.build(&[]);
    let built: Vec<&str> = out.warnings().into_iter().filter(|w| w.contains(": built jsonapp in")).collect();
    assert!(built.len() == 1 && built[0].contains(&format!("no fast path: {reason}")), "{minor}: {}", out.stderr);
    assert_eq!(app.run("jsonapp"), "[a; b] {2}");
}

#[test]
fn interning_shapes_take_the_fast_path_byte_for_byte_on_python_3_11() {
    shapes_on("3.11", true);
}

#[test]
fn interning_shapes_take_the_fast_path_byte_for_byte_on_python_3_12() {
    shapes_on("3.12", false);
}

#[test]
fn interning_shapes_take_the_fast_path_byte_for_byte_on_python_3_13() {
    shapes_on("3.13", false);
}

#[test]
fn before_python_3_11_the_fast_path_is_refused_with_its_reason() {
    // The oldest and the newest of them: 3.9 behaves as both do (measured), and CI pays per version.
    for minor in ["3.8", "3.10"] {
        refused_on(minor);
    }
}
