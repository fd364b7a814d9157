//! End to end, the fast path: edits rebuilt by rewriting the last build's archive must give the
//! very bytes a stock PyInstaller build of the same sources gives, and everything the fast path
//! cannot prove must be refused with its reason and built by PyInstaller.

mod support;

use std::fs;
use std::path::Path;
use support::e2e::*;

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
    let changed = "worker_only.py's imports or global names changed";
    step(
        "a new import inside a function",
        &|a| a.write("worker_only.py", "def later():\n    import json\n"),
        &[],
        changed,
    );
    step("a new import", &|a| a.write("worker_only.py", "import json\n"), &[], changed);
    step("a new module-level global", &|a| a.write("worker_only.py", "EXTRA = 1\n"), &[], changed);
    let files_changed = "the toolchain, environment, settings or set of files changed";
    step("a new file", &|a| a.write("notes.txt", "new\n"), &[], files_changed);
    step("a new empty folder", &|a| fs::create_dir(a.root.join("python/empty")).unwrap(), &[], files_changed);
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
    step("a snapshot whose self-test failed", &|_| {}, &env, "the snapshot's self-test failed");

    // A syntax error: PyInstaller drops the module, the smoke test fails, the old binary stays.
    app.write("worker.spec", &spec);
    assert!(app.cargo(&[], &env).ok);
    app.write("worker_only.py", "WORKER_VALUE = (\n");
    let out = app.cargo(&[], &env);
    assert!(
        !out.ok && out.stderr.contains("the fast path was refused: worker_only.py does not compile"),
        "{}",
        out.stderr
    );
    assert_eq!(app.run("worker"), format!("worker hello {value}"));
}

/// Installs a tiny distribution straight into the test's managed environment.
fn install_fake_package(app: &App) {
    let envs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-target/pyinstaller-build/envs");
    let marker = "# the fast-path refusal test's environment";
    let env = fs::read_dir(&envs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.is_dir() && fs::read_to_string(p.with_extension("requirements.txt")).is_ok_and(|r| r.contains(marker))
        })
        .expect("the test's environment");
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
