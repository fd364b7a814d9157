//! End to end, the fast path: edits rebuilt by rewriting the last build's archive must give the
//! very bytes a stock PyInstaller build of the same sources gives, and everything the fast path
//! cannot prove must be refused with its reason and built by PyInstaller.

use crate::support::e2e::*;
use std::fs;
use std::path::Path;

/// The fast-path fixture: one sidecar with a package, a namespace package (no `__init__.py`),
/// the multiprocessing and pkgutil runtime hooks, and a project hook that scans the code of a
/// module's importers.
fn fast_app() -> App {
    App::from("tests/fixtures/fast", "requirements = \"requirements.txt\"\n")
}

/// Builds, expecting the fast path for `app`, the binary to print `expected`, and the very bytes
/// of a stock `PYINSTALLER_BUILD_FORCE=1` build of the same sources.
fn assert_fast_and_identical(app: &App, what: &str, expected: &str) {
    let out = app.build(&[]);
    assert!(
        out.warnings().iter().any(|w| w.contains("rebuilt app in") && w.contains("by the fast path")),
        "{what}: expected the fast path: {}",
        out.stderr
    );
    assert_eq!(app.run("app"), expected, "{what}");
    let fast = fs::read(app.binary("app")).unwrap();
    let stock = app.cargo(&[], &[("PYINSTALLER_BUILD_FORCE", "1")]);
    assert!(stock.ok && stock.warnings().iter().any(|w| w.contains(": built app in")), "{}", stock.stderr);
    assert!(fs::read(app.binary("app")).unwrap() == fast, "{what}: the fast path's binary differs from PyInstaller's");
}

/// Builds, expecting PyInstaller to run because the fast path was refused for `reason`.
fn assert_refused(app: &App, what: &str, reason: &str, expected: &str) {
    let out = app.build(&[]);
    let built: Vec<&str> = out.warnings().into_iter().filter(|w| w.contains(": built app in")).collect();
    assert!(
        built.len() == 1 && built[0].contains("no fast path: ") && built[0].contains(reason),
        "{what}: expected PyInstaller to run because {reason:?}: {}",
        out.stderr
    );
    assert_eq!(app.run("app"), expected, "{what}");
}

#[test]
fn new_names_and_imports_of_bundled_modules_take_the_fast_path_byte_for_byte() {
    let app = fast_app();
    app.build(&[]);
    // A namespace package in the archive no longer disables the fast path.
    assert_eq!(app.run("app"), "app core 1 [\"-\"] tool 1 ['base']");
    let core = fs::read_to_string(app.root.join("python/proj/core.py")).unwrap();

    // New functions and a class, `import json` (bundled, first imported before this module) and
    // `from os import path` in a plain module; a new name in a package `__init__`; an edit in a
    // namespace package's module.
    app.write(
        "proj/core.py",
        &core.replace("import decimal\n", "import decimal\nimport json\nfrom os import path\n").replace(
            "def report():\n    return \"core %s\" % VALUE\n",
            "class Added:\n    NAME = \"added\"\n\n\ndef added():\n    return json.dumps(path.basename(\"/a/b\"))\n\n\n\
             def report():\n    return \"core %s %s %s\" % (VALUE, added(), Added.NAME)\n",
        ),
    );
    app.write("proj/__init__.py", "GREETING = \"hi\"\nEXTRA = \"x\"\n");
    app.write("nsp/tool.py", "TOOL = \"tool2\"\n");
    assert_fast_and_identical(&app, "new names and imports", "app core 1 \"b\" added [\"x\"] tool2 1 ['base']");

    // A removed function and a removed import whose module stays bundled (the standard library
    // imports decimal too).
    let core = fs::read_to_string(app.root.join("python/proj/core.py")).unwrap();
    app.write(
        "proj/core.py",
        &core.replace("import decimal\n", "").replace("def old_helper():\n    return \"old\"\n\n\n", ""),
    );
    assert_fast_and_identical(&app, "removed names and imports", "app core 1 \"b\" added [\"x\"] tool2 1 ['base']");
}

#[test]
fn imports_that_would_change_the_archive_elsewhere_run_pyinstaller() {
    let app = fast_app();
    app.build(&[]);
    let util = fs::read_to_string(app.root.join("python/proj/util.py")).unwrap();
    app.write("proj/util.py", &util.replace("import json\n", "import json\nimport wave\n").replace("[1]", "[2]"));
    assert_refused(
        &app,
        "an import of a module not bundled before",
        "proj.util imports wave, which the last build did not bundle",
        "app core 1 [\"-\"] tool 1 ['base']",
    );
    // Bundled already (multiprocessing imports it), but imported here it is walked before
    // multiprocessing, and PyInstaller would run pkgutil's runtime hook first.
    app.write(
        "proj/util.py",
        &util.replace("import json\n", "import json\nimport wave\nimport pkgutil\n").replace("\"-\")", "\"p\")"),
    );
    assert_refused(
        &app,
        "an import that reorders the runtime hooks",
        "util.py's imports changed the order of the runtime hooks",
        "app core 1 [\"p\"] tool 1 ['base']",
    );
    let entry = fs::read_to_string(app.root.join("python/app.py")).unwrap();
    app.write(
        "app.py",
        &entry.replace("import sys\n", "import heapq\nimport sys\n").replace("\"app\", ", "\"app!\", "),
    );
    assert_refused(
        &app,
        "a new base-library import in the entry script",
        "the entry script's imports changed",
        "app! core 1 [\"p\"] tool 1 ['base']",
    );
    // The project's hook reads the code of proj.registry's importers: any change of one may
    // change what it does.
    app.write("proj/plugins.py", "from proj.registry import REGISTRY\n\nNAMES = sorted(REGISTRY) + [\"more\"]\n");
    assert_refused(
        &app,
        "an edit of a module whose importers a hook scans",
        "a hook scans the code of proj.registry's importers",
        "app! core 1 [\"p\"] tool 1 ['base', 'more']",
    );
}

#[test]
fn fast_path_edits_are_byte_identical_to_a_stock_build() {
    let app = App::new("");
    app.build(&[]);
    let headless = fs::read_to_string(app.root.join("python/headless.py")).unwrap();
    let edits = [
        ("a module body", "worker_only.py", "WORKER_VALUE = 42\n".to_string(), &["worker"][..]),
        ("an entry script", "headless.py", headless.replace("f\"headless {", "f\"headless! {"), &["headless"][..]),
        ("a package __init__", "shared/__init__.py", "GREETING = \"howdy\"\n".to_string(), &["headless", "worker"][..]),
    ];
    let expected = [
        ("headless hello True", "worker hello 42"),
        ("headless! hello True", "worker hello 42"),
        ("headless! howdy True", "worker howdy 42"),
    ];
    for ((what, file, text, specs), (headless, worker)) in edits.into_iter().zip(expected) {
        app.write(file, &text);
        let out = app.build(&[]);
        let fast: Vec<&str> = out.warnings().into_iter().filter(|w| w.contains("by the fast path")).collect();
        assert_eq!(fast.len(), specs.len(), "{what}: {}", out.stderr);
        for spec in specs {
            assert!(fast.iter().any(|w| w.contains(&format!("rebuilt {spec} in"))), "{what}: {fast:?}");
        }
        assert!(!out.warnings().iter().any(|w| w.contains(": built ")), "{what}: PyInstaller ran: {}", out.stderr);
        assert_eq!((app.run("headless").as_str(), app.run("worker").as_str()), (headless, worker), "{what}");
        let fast_bytes: Vec<Vec<u8>> = specs.iter().map(|s| fs::read(app.binary(s)).unwrap()).collect();

        // PyInstaller itself, from scratch (--clean), on the same sources.
        let stock = app.cargo(&[], &[("PYINSTALLER_BUILD_FORCE", "1")]);
        assert!(
            stock.ok && stock.warnings().iter().filter(|w| w.contains(": built ")).count() == 2,
            "{}",
            stock.stderr
        );
        for (spec, fast) in specs.iter().zip(&fast_bytes) {
            assert!(
                fs::read(app.binary(spec)).unwrap() == *fast,
                "{what}: the fast path's {spec} differs from PyInstaller's"
            );
        }
    }
}

#[test]
fn the_fast_path_refuses_what_it_cannot_prove_and_pyinstaller_builds_it() {
    let app = App::from(
        "tests/fixtures/sidecars",
        "requirements = \"requirements-fastpath.txt\"\nspecs = [\"worker.spec\"]\nenv = [\"SIDECAR_FLAVOR\"]\n",
    );
    // Its own environment: a package is installed into it below.
    let requirements = fs::read_to_string(app.root.join("python/requirements.txt")).unwrap();
    app.write("requirements-fastpath.txt", &format!("{requirements}\n# the fast-path refusal test's environment\n"));
    app.build(&[]);
    let mut value = 1;
    // Each step changes something, plus the module body so a fast path would otherwise apply.
    let mut step = |what: &str, change: &dyn Fn(&App), env: &[(&str, &str)], reason: &str| {
        change(&app);
        value += 1;
        let body = fs::read_to_string(app.root.join("python/worker_only.py")).unwrap();
        let body: String = body.lines().filter(|l| !l.starts_with("WORKER_VALUE")).map(|l| format!("{l}\n")).collect();
        app.write("worker_only.py", &format!("{body}WORKER_VALUE = {value}\n"));
        let out = app.cargo(&[], env);
        assert!(out.ok, "{what}: {}", out.stderr);
        // The refusal is named, as the reason itself when it is the same ("the toolchain ... changed").
        let built: Vec<&str> = out.warnings().into_iter().filter(|w| w.contains(": built worker in")).collect();
        assert!(
            built.len() == 1
                && (built[0].contains(&format!("no fast path: {reason}")) || built[0].contains(&format!("({reason};"))),
            "{what}: expected PyInstaller to run because {reason:?}: {}",
            out.stderr
        );
        assert_eq!(app.run("worker"), format!("worker hello {value}"), "{what}");
    };
    step(
        "a new import inside a function, of a module not bundled before",
        &|a| a.write("worker_only.py", "def later():\n    import wave\n"),
        &[],
        "worker_only imports wave, which the last build did not bundle",
    );
    let files_changed = "the toolchain, environment or settings changed";
    // Where the module search looked for `shared` (a package, which still wins) and for
    // `worker_only` (a module, which still wins over a folder of that name): PyInstaller decides.
    // A new file or folder no search looks at (`notes.txt`) changes nothing (tests/testsuite/layouts.rs).
    step(
        "a new module where an import was looked up",
        &|a| a.write("shared.py", "GREETING = 'shadowed'\n"),
        &[],
        "shared.py is new, where worker.spec's last build's module search looked for a module of that name",
    );
    step(
        "a new folder where an import was looked up",
        &|a| fs::create_dir(a.root.join("python/worker_only")).unwrap(),
        &[],
        "worker_only is new, where worker.spec's last build's module search looked for a module of that name",
    );
    step(
        "a spec edit",
        &|a| a.write("worker.spec", &(fs::read_to_string(a.root.join("python/worker.spec")).unwrap() + "# edited\n")),
        &[],
        "worker.spec changed and is not a module in the archive",
    );
    step("a changed env var", &|_| {}, &[("SIDECAR_FLAVOR", "spicy")], files_changed);
    step(
        "a changed compression level",
        &|a| {
            let manifest = fs::read_to_string(a.root.join("Cargo.toml")).unwrap();
            fs::write(a.root.join("Cargo.toml"), manifest + "compression = 2\n").unwrap();
        },
        &[("SIDECAR_FLAVOR", "spicy")],
        files_changed,
    );
    step("a changed installed package", &|a| install_fake_package(a), &[("SIDECAR_FLAVOR", "spicy")], files_changed);
    let env = [("SIDECAR_FLAVOR", "spicy")];
    step(
        "a tampered snapshot",
        &|a| {
            let base = fast_path_dir(a, "worker").join("base");
            let mut bytes = fs::read(&base).unwrap();
            bytes[100] ^= 0xff;
            fs::write(&base, bytes).unwrap();
        },
        &env,
        "the snapshot was modified after its self-test",
    );
    // A spec that patches PyInstaller's writer in-process: what the fast path would write (in a
    // fresh interpreter) differs, so the snapshot's self-test fails and disables it.
    let spec = fs::read_to_string(app.root.join("python/worker.spec")).unwrap();
    app.write(
        "worker.spec",
        &format!(
            "from PyInstaller.archive.writers import CArchiveWriter\nCArchiveWriter._COMPRESSION_LEVEL = 5\n{spec}"
        ),
    );
    let out = app.cargo(&[], &env);
    assert!(out.ok, "{}", out.stderr);
    // Its reason names the first entry that differs, and how.
    step(
        "a snapshot whose self-test failed",
        &|_| {},
        &env,
        "the snapshot's self-test failed: the rewritten PKG differs from PyInstaller's in the PKG's entry worker, \
         whose contents are the same: it is compressed otherwise",
    );

    // A syntax error fails before the fast path or PyInstaller runs (PyInstaller would drop the
    // module); the old binary stays.
    app.write("worker.spec", &spec);
    assert!(app.cargo(&[], &env).ok);
    app.write("worker_only.py", "WORKER_VALUE = (\n");
    let out = app.cargo(&[], &env);
    assert!(
        !out.ok && out.stderr.contains("does not compile") && out.stderr.contains("worker_only.py:1:16: "),
        "{}",
        out.stderr
    );
    assert_eq!(app.run("worker"), format!("worker hello {value}"));
}

/// Installs a tiny distribution straight into the test's managed environment.
fn install_fake_package(app: &App) {
    let envs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-target/pyinstaller-build/envs");
    // The environment this app's last PyInstaller run read from, as its record of reads names it
    // (the shared target folder holds other tests' and older runs' environments).
    let reads = fs::read_to_string(fast_path_dir(app, "worker").with_file_name("reads.json")).unwrap();
    let name = reads
        .match_indices("env-")
        .map(|(at, _)| reads[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect::<String>())
        .find(|name| envs.join(name).is_dir())
        .expect("the test's environment, in the record of reads");
    let env = envs.join(name);
    let site = fs::read_dir(env.join("lib")).unwrap().next().unwrap().unwrap().path().join("site-packages");
    // Unique to this run: the environment outlives it in the shared target folder.
    let record = format!("fastpath_probe.py,,\n# {}\n", app.root.display());
    fs::create_dir_all(site.join("fastpath_probe-1.0.dist-info")).unwrap();
    fs::write(site.join("fastpath_probe.py"), "X = 1\n").unwrap();
    fs::write(
        site.join("fastpath_probe-1.0.dist-info/METADATA"),
        "Metadata-Version: 2.1\nName: fastpath-probe\nVersion: 1.0\n",
    )
    .unwrap();
    fs::write(site.join("fastpath_probe-1.0.dist-info/RECORD"), record).unwrap();
}

/// PyInstaller before 6.16 names a code object's file by stripping the longest folder of its own
/// search path that prefixes it (`sys.path` + `pathex`, where Analysis puts the entry script's
/// folder): an entry script in a folder of its own is packed as `app.py`, its module beside it as
/// `helpers.py`. The fast path must strip the very same folders, or its self-test fails on the
/// script's name and every edit costs a full PyInstaller build.
#[test]
fn an_entry_script_in_its_own_folder_takes_the_fast_path_with_pyinstaller_6_11() {
    let app = App::from("tests/fixtures/fast-pathex", "requirements = \"requirements.txt\"\n");
    app.build(&[]);
    assert_eq!(app.run("app"), "app hello");
    let snapshot: serde_json::Value =
        serde_json::from_slice(&fs::read(fast_path_dir(&app, "app").join("fastpath.json")).unwrap()).unwrap();
    assert!(snapshot["disabled"].is_null(), "the fast path is off: {}", snapshot["disabled"]);

    let script = fs::read_to_string(app.root.join("python/server/app.py")).unwrap();
    app.write("server/app.py", &script.replace("print(\"app\", ", "print(\"app!\", "));
    app.write("server/helpers.py", "def greeting():\n    return \"howdy\"\n");
    assert_fast_and_identical(&app, "body edits of the script and its module", "app! howdy");
}
