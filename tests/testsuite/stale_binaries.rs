//! End to end: inputs shaped so that a skip or a fast path could install a sidecar other than
//! the one a `PYINSTALLER_BUILD_FORCE=1` build of the same sources gives. After every edit the
//! installed binary must print what a forced build's prints and have its very bytes.
//!
//! The fixture (`tests/fixtures/stale`) is an empty crate with a managed environment; each test
//! writes its own small stdlib-only app.

use crate::support::e2e::*;
use std::fs;

fn stale_app(extra: &str) -> App {
    App::from("tests/fixtures/stale", &format!("requirements = \"requirements.txt\"\n{extra}"))
}

/// The start of every app: `--version` is the smoke test.
const HEAD: &str = "import sys\nimport importlib.util\n\n";
const VERSION: &str = "if sys.argv[1:] == [\"--version\"]:\n    print(\"app 1.0\")\n    sys.exit(0)\n";
/// Prints which of these standard modules the binary bundled.
const FOUND: &str =
    "FOUND = \",\".join(n for n in (\"colorsys\", \"sched\", \"tabnanny\", \"netrc\") if importlib.util.find_spec(n))\n";

/// A onefile spec of `app.py` with these `Analysis` arguments, `prelude` before it and `exe_extra`
/// appended to `EXE`'s TOC arguments.
fn spec(prelude: &str, analysis: &str, exe_extra: &str) -> String {
    format!(
        "import os\n{prelude}\na = Analysis(['app.py'], {analysis})\npyz = PYZ(a.pure)\n\
         exe = EXE(pyz, a.scripts, a.binaries, a.datas, {exe_extra}[], name='app', debug=False, strip=False, \
         upx=False, console=True)\n"
    )
}

/// Builds (which must do real work: `expect` is `"fast path"`, or the words the refusal or the
/// reason must contain), checks the app prints `output`, then builds with
/// `PYINSTALLER_BUILD_FORCE=1`, which must print the same and give the same bytes, and a plain
/// build after that must do nothing.
fn step(app: &App, what: &str, expect: &str, output: &str) {
    let out = app.build(&[]);
    let warnings = out.warnings();
    let fast = warnings.iter().any(|w| w.contains("rebuilt app in") && w.contains("by the fast path"));
    let built = warnings.iter().find(|w| w.contains(": built app in"));
    match expect {
        "fast path" => assert!(fast, "{what}: expected the fast path:\n{}", out.stderr),
        reason => assert!(
            built.is_some_and(|w| w.contains(reason)),
            "{what}: expected PyInstaller to run, saying {reason:?}:\n{}",
            out.stderr
        ),
    }
    assert_eq!(app.run("app"), output, "{what}");
    let installed = fs::read(app.binary("app")).unwrap();
    let forced = app.cargo(&[], &[("PYINSTALLER_BUILD_FORCE", "1")]);
    assert!(forced.ok, "{}", forced.stderr);
    assert_eq!(app.run("app"), output, "{what}: a forced build prints something else");
    assert!(fs::read(app.binary("app")).unwrap() == installed, "{what}: the bytes differ from a forced build's");
    let again = app.build(&[]);
    assert!(again.warnings().is_empty(), "{what}: {}", again.stderr);
}

/// A project module whose text the spec reads (`open().read()`) and one it runs
/// (`runpy.run_path`): both are inputs of the spec, so a body edit is no fast path.
#[test]
fn project_files_the_spec_reads_without_importing_refuse_the_fast_path() {
    let app = stale_app("");
    app.write(
        "app.py",
        &format!(
            "{HEAD}import plugins\nimport settings\n\n{VERSION}{FOUND}print(plugins.NAME, settings.NAME, FOUND)\n"
        ),
    );
    app.write("plugins.py", "# needs: colorsys\nNAME = \"p1\"\n");
    app.write("settings.py", "HIDDEN = [\"sched\"]\nNAME = \"s1\"\n");
    app.write(
        "app.spec",
        &spec(
            "import re, runpy\n\
             hidden = re.findall(r'needs: (\\w+)', open(os.path.join(SPECPATH, 'plugins.py')).read())\n\
             hidden += runpy.run_path(os.path.join(SPECPATH, 'settings.py'))['HIDDEN']\n",
            "hiddenimports=hidden",
            "",
        ),
    );
    step(&app, "first build", "no previous successful build", "p1 s1 colorsys,sched");
    app.write("plugins.py", "# needs: tabnanny\nNAME = \"p2\"\n");
    step(&app, "a file the spec reads", "plugins.py is read by the spec", "p2 s1 sched,tabnanny");
    app.write("settings.py", "HIDDEN = [\"netrc\"]\nNAME = \"s2\"\n");
    step(&app, "a file the spec runs", "settings.py is read by the spec", "p2 s2 tabnanny,netrc");
    // A module nothing but PyInstaller's analysis reads still takes the fast path.
    app.write(
        "app.py",
        &format!(
            "{HEAD}import plugins\nimport settings\n\n{VERSION}{FOUND}print(plugins.NAME, settings.NAME, FOUND, 3)\n"
        ),
    );
    step(&app, "the entry script", "fast path", "p2 s2 tabnanny,netrc 3");
}

/// One source file, several archive entries: the entry script that a module also imports (a
/// PKG script and a PYZ module), and a module reachable under two names through `pathex`.
#[test]
fn every_archive_entry_made_from_an_edited_file_is_rewritten() {
    let app = stale_app("");
    app.write(
        "app.py",
        &format!(
            "{HEAD}import helper\nimport shared\nfrom lib import shared as also\n\nVALUE = \"a1\"\n\n\
             if __name__ == \"__main__\":\n    {}\n    print(VALUE, helper.value(), shared.V, also.V)\n",
            VERSION.trim_end().replace('\n', "\n    ")
        ),
    );
    app.write("helper.py", "def value():\n    import app\n    return app.VALUE\n");
    fs::create_dir_all(app.root.join("python/lib")).unwrap();
    app.write("lib/shared.py", "V = \"s1\"\n");
    app.write("app.spec", &spec("", "pathex=[os.path.join(SPECPATH, 'lib')]", ""));
    step(&app, "first build", "no previous successful build", "a1 a1 s1 s1");
    let text = fs::read_to_string(app.root.join("python/app.py")).unwrap();
    app.write("app.py", &text.replace("\"a1\"", "\"a2\""));
    step(&app, "the entry script, also a module", "fast path", "a2 a2 s1 s1");
    app.write("lib/shared.py", "V = \"s2\"\n");
    step(&app, "a module under two names", "fast path", "a2 a2 s2 s2");
}

/// Entries the spec hands to `EXE()` itself: a TOC tuple of a module's source, and a `Tree()`
/// of a package. The module's data copy is in the archive too, so an edit is no fast path.
#[test]
fn what_the_spec_packs_itself_is_taken_from_the_archive() {
    let app = stale_app("");
    app.write(
        "app.py",
        &format!(
            "{HEAD}import os\nimport util\nfrom pkg import mod\n\n{VERSION}\
             def copy(rel):\n    with open(os.path.join(sys._MEIPASS, rel)) as f:\n        return f.read().split('\"')[1]\n\n\
             print(util.V, copy('src/util.py'), mod.V, copy('pkgsrc/mod.py'))\n"
        ),
    );
    app.write("util.py", "V = \"u1\"\n");
    fs::create_dir_all(app.root.join("python/pkg")).unwrap();
    app.write("pkg/__init__.py", "");
    app.write("pkg/mod.py", "V = \"m1\"\n");
    app.write(
        "app.spec",
        &spec(
            "",
            "",
            "[('src/util.py', os.path.join(SPECPATH, 'util.py'), 'DATA')], \
             Tree(os.path.join(SPECPATH, 'pkg'), prefix='pkgsrc', excludes=['__pycache__']), ",
        ),
    );
    step(&app, "first build", "no previous successful build", "u1 u1 m1 m1");
    app.write("util.py", "V = \"u2\"\n");
    step(&app, "a module the spec packs as a TOC tuple", "util.py is also packed as src/util.py", "u2 u2 m1 m1");
    app.write("pkg/mod.py", "V = \"m2\"\n");
    step(&app, "a module in a Tree()", "mod.py is also packed as pkgsrc/mod.py", "u2 u2 m2 m2");
}

/// `from pkg import name`, where `name` is a global of `pkg` and `pkg/name.py` exists but was
/// never bundled: modulegraph looks for the submodule first, so a stock build bundles it.
#[test]
fn from_a_package_import_a_global_named_like_an_unbundled_submodule() {
    let app = stale_app("");
    app.write(
        "app.py",
        &format!(
            "{HEAD}import pkg.user\n\n{VERSION}\
             print(pkg.user.VALUE, importlib.util.find_spec(\"pkg.name\") is not None)\n"
        ),
    );
    fs::create_dir_all(app.root.join("python/pkg")).unwrap();
    app.write("pkg/__init__.py", "name = \"global\"\n");
    app.write("pkg/name.py", "X = \"submodule\"\n");
    app.write("pkg/user.py", "VALUE = \"u1\"\n");
    app.write("app.spec", &spec("", "", ""));
    step(&app, "first build", "no previous successful build", "u1 False");
    app.write("pkg/user.py", "from pkg import name\n\nVALUE = name\n");
    step(&app, "the import", "modulegraph looks for the submodule pkg.name first", "global True");
}

/// A sidecar damaged in place is reinstalled from the store, whose copy it no longer shares.
#[test]
fn editing_the_installed_sidecar_in_place_leaves_the_stored_copy_intact() {
    let app = stale_app("");
    app.write("app.py", &format!("{HEAD}{VERSION}print(\"one\")\n"));
    app.write("app.spec", &spec("", "", ""));
    // Not `step`: its forced build would leave the installed file linked to no stored entry.
    app.build(&[]);
    assert_eq!(app.run("app"), "one");
    let good = fs::read(app.binary("app")).unwrap();
    // Rewritten in place (same inode, same length), as an editor or a patching tool may.
    let mut bytes = good.clone();
    let n = bytes.len();
    bytes[n - 100..].iter_mut().for_each(|b| *b ^= 0xff);
    fs::OpenOptions::new()
        .write(true)
        .open(app.binary("app"))
        .map(|mut f| std::io::Write::write_all(&mut f, &bytes))
        .unwrap()
        .unwrap();
    let out = app.build(&[]);
    assert!(
        out.warnings().iter().any(|w| w.contains("reinstalled app (built before from these very inputs")),
        "{}",
        out.stderr
    );
    assert!(fs::read(app.binary("app")).unwrap() == good);
}

/// With no store to restore from, a deleted sidecar is rebuilt by a PyInstaller run that reuses
/// its cached analysis (no hook runs): what the analysis read stays an input.
#[test]
fn a_rebuild_from_the_cached_analysis_keeps_what_the_analysis_read() {
    let app = stale_app("binary-cache-mb = 0");
    app.write("app.py", &format!("{HEAD}import helper\n\n{VERSION}{FOUND}print(helper.NAME, FOUND)\n"));
    app.write("helper.py", "NAME = \"h\"\n");
    // Outside python-dir: an input only through the record of what the run read.
    let hook = app.root.join("outside/hooks/hook-helper.py");
    fs::create_dir_all(hook.parent().unwrap()).unwrap();
    fs::write(&hook, "hiddenimports = ['colorsys']\n").unwrap();
    app.write("app.spec", &spec("", "hookspath=[os.path.join(SPECPATH, '..', 'outside', 'hooks')]", ""));
    step(&app, "first build", "no previous successful build", "h colorsys");
    fs::remove_file(app.binary("app")).unwrap();
    // No forced build here: it would analyse afresh and record everything again.
    let out = app.build(&[]);
    assert!(out.warnings().iter().any(|w| w.contains("built app in") && w.contains("missing")), "{}", out.stderr);
    assert_eq!(app.run("app"), "h colorsys");
    fs::write(&hook, "hiddenimports = ['sched']\n").unwrap();
    step(&app, "the hook", "hook-helper.py", "h sched");
}
