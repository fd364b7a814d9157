//! End to end, the extract-once launch mode: a onefile spec unchanged (the fixture's worker, stdlib
//! only), built onedir by real PyInstaller and installed as a launcher that carries it; launched
//! as Tauri would launch it, with a scratch cache folder (`PYINSTALLER_BUILD_LAUNCH_CACHE`).
//! Linux only: it looks at processes through /proc (the Windows and macOS launcher code is
//! compile-checked).
#![cfg(target_os = "linux")]

use crate::support::e2e::*;
use crate::support::env::Clean;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const WORKER: &str = r#"import sys
import time

from shared import GREETING
from worker_only import WORKER_VALUE

if sys.argv[1:] == ["--version"]:
    print("worker 1.0")
    sys.exit(0)
if sys.argv[1:] == ["--sleep"]:
    print("sleeping", flush=True)
    time.sleep(120)
    sys.exit(0)
print(f"worker {GREETING} {WORKER_VALUE} {sys.argv[0]} {sys.argv[1:]}")
"#;

/// Runs the installed sidecar (or `binary`) with its cache in `cache`; returns its stdout.
fn launch(binary: &Path, cache: &Path, args: &[&str]) -> String {
    let out = Command::new(binary).args(args).env("PYINSTALLER_BUILD_LAUNCH_CACHE", cache).output_clean().unwrap();
    assert!(out.status.success(), "{}: {}", binary.display(), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.stderr.is_empty(),
        "a launch from a writable cache says nothing: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Starts `binary --sleep` with its cache in `cache`; the running child and the first line it
/// printed (once it printed it, the program is running).
fn start_sleeping(binary: &Path, cache: &Path) -> (std::process::Child, String) {
    let mut child = Command::new(binary)
        .arg("--sleep")
        .env("PYINSTALLER_BUILD_LAUNCH_CACHE", cache)
        .stdout(Stdio::piped())
        .spawn_clean()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (child, line)
}

/// The entries of `cache/worker`, sorted.
fn ids(cache: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(cache.join("worker"))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// Every file under `dir` with its modification time and inode: unchanged means not extracted again.
fn snapshot(dir: &Path) -> Vec<(PathBuf, SystemTime, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        let meta = fs::symlink_metadata(e.path()).unwrap();
        if meta.is_dir() {
            out.extend(snapshot(&e.path()));
        }
        out.push((e.path(), meta.modified().unwrap(), meta.ino()));
    }
    out.sort();
    out
}

/// PIDs of processes whose executable lies under `dir` (Linux's /proc).
fn running_from(dir: &Path) -> Vec<u32> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe.starts_with(dir)))
        .collect()
}

/// The bytes of every file under `dir` (symbolic links not followed, as the audit counts).
fn files_size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| match fs::symlink_metadata(&p).unwrap() {
            m if m.is_dir() => files_size(&p),
            m if m.is_file() => m.len(),
            _ => 0,
        })
        .sum()
}

#[test]
fn an_extract_once_sidecar_unpacks_once_and_is_one_process() {
    let app = App::new("specs = [\"worker.spec\"]\nlaunch = \"extract-once\"");
    app.write("worker.py", WORKER);
    let first = app.build(&[]);
    assert!(first.warnings().iter().any(|w| w.contains("built worker in")), "{}", first.stderr);
    let binary = app.binary("worker");
    let bytes = fs::read(&binary).unwrap();
    assert!(bytes.ends_with(b"PYIBLNC1"), "the installed file is a launcher with a payload");
    // The audit counts the onedir program and every file beside it, on disk.
    let audit = audit_of(&app, "worker");
    let onedir = audit_of_dir(&app).join("worker/onedir");
    assert_eq!(audit.binary_bytes, files_size(&onedir), "{}: {audit:#?}", onedir.display());
    assert!(audit.packages.iter().any(|p| p.package == "(python runtime)" && p.bytes > 1_000_000), "{audit:#?}");

    // First launch: extracts into the cache; argv[0] and the arguments reach Python.
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    let expected = format!("worker hello 1 {} ['a b', '-x']", binary.display());
    assert_eq!(launch(&binary, &cache, &["a b", "-x"]), expected);
    let entries = ids(&cache);
    assert_eq!(entries.len(), 1, "one id, no leftovers: {entries:?}");
    let folder = cache.join("worker").join(&entries[0]);
    assert!(folder.join(".complete").is_file() && folder.join("worker").is_file() && folder.join("_internal").is_dir());

    // A later launch runs what is there: nothing is written again.
    let before = snapshot(&folder);
    assert_eq!(launch(&binary, &cache, &["a b", "-x"]), expected);
    assert_eq!(snapshot(&folder), before, "the second launch extracted again");
    assert_eq!(ids(&cache), entries);

    // Two first launches at once: both answer, one folder remains.
    let both = scratch.path().join("both");
    let spawn = || {
        Command::new(&binary)
            .env("PYINSTALLER_BUILD_LAUNCH_CACHE", &both)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn_clean()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("worker hello 1 "));
    }
    assert_eq!(ids(&both), entries, "one folder, no temporary ones left");

    // A half folder (no marker: a copy cut short, a planted one) is never run: replaced.
    let half = scratch.path().join("half");
    fs::create_dir_all(half.join("worker").join(&entries[0]).join("_internal")).unwrap();
    fs::write(half.join("worker").join(&entries[0]).join("worker"), "#!/bin/sh\necho planted\n").unwrap();
    assert_eq!(launch(&binary, &half, &["a b", "-x"]), expected);
    assert!(half.join("worker").join(&entries[0]).join(".complete").is_file());
    // A launch killed while it extracts, then a normal launch.
    let killed = scratch.path().join("killed");
    for delay in [0, 5, 20] {
        let mut child = Command::new(&binary).env("PYINSTALLER_BUILD_LAUNCH_CACHE", &killed).spawn_clean().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert_eq!(launch(&binary, &killed, &["a b", "-x"]), expected);

    // A cache folder that cannot be made: a private folder in the temporary folder, said once.
    let unwritable = scratch.path().join("a-file");
    fs::write(&unwritable, "").unwrap();
    fs::create_dir_all(scratch.path().join("tmp")).unwrap();
    let out = Command::new(&binary)
        .env("PYINSTALLER_BUILD_LAUNCH_CACHE", unwritable.join("cache"))
        .env("TMPDIR", scratch.path().join("tmp"))
        .output_clean()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("worker hello 1 "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot use the cache folder") && stderr.contains("unpacking into"), "{stderr}");
    assert!(fs::read_dir(scratch.path().join("tmp")).unwrap().count() == 1, "its own folder in TMPDIR");

    // One process: the launcher becomes the program (same PID); killing it leaves no Python.
    let (mut child, line) = start_sleeping(&binary, &cache);
    assert_eq!(line.trim(), "sleeping");
    let exe = fs::read_link(format!("/proc/{}/exe", child.id())).unwrap();
    assert_eq!(exe, folder.join("worker"), "the launcher's PID runs the onedir program");
    assert_eq!(running_from(&folder), [child.id()], "one process");
    child.kill().unwrap();
    child.wait().unwrap();
    let start = Instant::now();
    while !running_from(&folder).is_empty() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(running_from(&folder), Vec::<u32>::new(), "a process outlived the killed launcher");

    // Nothing changed: nothing runs.
    let again = app.build(&[]);
    assert!(again.warnings().is_empty(), "{}", again.stderr);

    // An edit takes the fast path (the onedir program's archive rewritten, the folder re-packed,
    // and the warning says so); the new id replaces the old one in the cache, except while the
    // old one runs.
    let old = scratch.path().join("old-worker");
    fs::copy(&binary, &old).unwrap();
    let (mut running, _) = start_sleeping(&old, &cache);
    app.write("worker_only.py", "WORKER_VALUE = 2\n");
    let edited = app.build(&[]);
    let warning = edited.warnings().join("\n");
    assert!(
        warning.contains("rebuilt worker in") && warning.contains("by the fast path") && warning.contains("re-packed"),
        "{warning}"
    );
    assert_eq!(launch(&binary, &cache, &[]), format!("worker hello 2 {} []", binary.display()));
    let now = ids(&cache);
    assert_eq!(now.len(), 2, "the running id is kept: {now:?}");
    running.kill().unwrap();
    running.wait().unwrap();
    // Pruned by the next launch that extracts (here: into a cache whose new id was removed).
    fs::remove_dir_all(cache.join("worker").join(now.iter().find(|n| **n != entries[0]).unwrap())).unwrap();
    launch(&binary, &cache, &[]);
    assert_eq!(ids(&cache).len(), 1, "the old id, no longer running, is pruned: {:?}", ids(&cache));
    assert!(!ids(&cache).contains(&entries[0]));

    // What the fast path installed is what a forced build of the same sources installs.
    let built = fs::read(&binary).unwrap();
    let forced = app.cargo(&[], &[("PYINSTALLER_BUILD_FORCE", "1")]);
    assert!(forced.ok && forced.warnings().iter().any(|w| w.contains("built worker in")), "{}", forced.stderr);
    assert_eq!(fs::read(&binary).unwrap(), built, "a forced build gives the same bytes");

    // The fast path's smoke test runs the new program (its folder put in the scratch cache, not
    // unpacked): an edit that breaks it fails the build and keeps the installed launcher.
    let pyinstaller_log = audit_of_dir(&app).join("worker/build.log");
    let logged = fs::metadata(&pyinstaller_log).unwrap().modified().unwrap();
    app.write("worker_only.py", "raise SystemExit(3)\n");
    let broken = app.cargo(&[], &[]);
    assert!(!broken.ok && broken.stderr.contains("the smoke test of `worker.spec` failed"), "{}", broken.stderr);
    let still = fs::metadata(&pyinstaller_log).unwrap().modified().unwrap();
    assert_eq!(still, logged, "the fast path's build was tested, no PyInstaller run's");
    assert_eq!(fs::read(&binary).unwrap(), built, "the installed launcher was kept");
    // A file of the kept folder changed (by hand, or by a program run from it): the fast path
    // refuses and PyInstaller builds.
    let kept_file = audit_of_dir(&app).join("worker/onedir/_internal/base_library.zip");
    let mut damaged = fs::read(&kept_file).unwrap();
    damaged.push(0);
    fs::write(&kept_file, damaged).unwrap();
    app.write("worker_only.py", "WORKER_VALUE = 3\n");
    let rebuilt = app.build(&[]);
    let warning = rebuilt.warnings().join("\n");
    assert!(
        warning.contains("built worker in")
            && warning.contains("base_library.zip in the onedir folder is not the last build's"),
        "{warning}"
    );
    assert_eq!(launch(&binary, &cache, &[]), format!("worker hello 3 {} []", binary.display()));
    app.write("worker_only.py", "WORKER_VALUE = 2\n");
    let back_to_2 = app.build(&[]);
    assert!(back_to_2.ok, "{}", back_to_2.stderr);
    assert_eq!(fs::read(&binary).unwrap(), built, "the same sources, the same bytes");

    // The mode is part of the fingerprint: onefile builds anew; back in extract-once mode, the
    // same launcher is installed again (from the binary store when the last build's reads give
    // the same key, else built: PyInstaller's cache decides what a run reads).
    let manifest = fs::read_to_string(app.root.join("Cargo.toml")).unwrap();
    fs::write(app.root.join("Cargo.toml"), manifest.replace("\"extract-once\"", "\"onefile\"")).unwrap();
    let onefile = app.build(&[]);
    assert!(onefile.warnings().iter().any(|w| w.contains("built worker in")), "{}", onefile.stderr);
    assert!(!fs::read(&binary).unwrap().ends_with(b"PYIBLNC1"), "a onefile binary");
    assert_eq!(app.run("worker"), format!("worker hello 2 {} []", binary.display()));
    fs::write(app.root.join("Cargo.toml"), manifest).unwrap();
    let back = app.build(&[]);
    let back_warnings = back.warnings().join("\n");
    assert!(back_warnings.contains("reinstalled worker") || back_warnings.contains("built worker"), "{back_warnings}");
    assert_eq!(fs::read(&binary).unwrap(), built, "the same launcher is back");
}

#[test]
fn an_unknown_launch_value_is_a_clear_error() {
    let app = App::new("launch = \"fast\"");
    let out = app.cargo(&[], &[]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("`launch` is \"onefile\" or \"extract-once\", not \"fast\""),
        "the error names the key and the accepted values: {}",
        out.stderr
    );
}

/// Every file and link under `dir`, with its content (a link's target), by relative path.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let (path, kind) = (e.path(), e.file_type().unwrap());
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            if kind.is_symlink() {
                out.insert(rel, fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes());
            } else if kind.is_dir() {
                stack.push(path);
            } else {
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// What the folder holding a resource folder holds (staging or set-aside folders would show).
fn beside(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_onedir_sidecar_in_bundle_resources_is_installed_as_its_folder() {
    let app = App::new(
        "specs = [\"main.spec\"]\n\
         [package.metadata.pyinstaller-build.sidecars.main]\nresource = \"bin/python/main\"",
    );
    // The app's own onedir spec, with its COLLECT, as `pyi-makespec --onedir` writes it.
    app.write(
        "main.py",
        "import sys\nfrom main_only import VALUE\n\nif sys.argv[1:] == ['--version']:\n    print('main 1.0')\n    \
         sys.exit(0)\nprint(f'main {VALUE} {sys.argv[1:]}')\n",
    );
    app.write("main_only.py", "VALUE = 1\n");
    app.write(
        "main.spec",
        "a = Analysis(['main.py'], pathex=[], binaries=[], datas=[], hiddenimports=[], hookspath=[], hooksconfig={},\n\
         \x20            runtime_hooks=[], excludes=[], noarchive=False, optimize=0)\n\
         pyz = PYZ(a.pure)\n\
         exe = EXE(pyz, a.scripts, [], exclude_binaries=True, name='main', debug=False, bootloader_ignore_signals=False,\n\
         \x20         strip=False, upx=False, console=True)\n\
         coll = COLLECT(exe, a.binaries, a.datas, strip=False, upx=False, upx_exclude=[], name='main')\n",
    );
    app.set_id(&app.root.display().to_string());
    fs::write(
        app.root.join("tauri.conf.json"),
        r#"{"bundle": {"resources": ["bin/python/main/", "bin/python/moved/"]}}"#,
    )
    .unwrap();
    let folder = app.root.join("bin/python/main");
    let program = folder.join("main");
    let run = |program: &Path, args: &[&str]| {
        let out = Command::new(program).args(args).output_clean().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let ran = |out: &Output| {
        out.warnings().iter().filter(|w| !w.contains("tauri dev")).map(|w| w.to_string()).collect::<Vec<_>>()
    };

    // Skipped (rust-analyzer, a lint job): tauri-build needs the folder, so it gets one holding a
    // placeholder program, which the first real build replaces.
    let skipped = app.cargo(&[], &[("PYINSTALLER_BUILD_SKIP", "1")]);
    assert!(skipped.ok, "{}", skipped.stderr);
    assert!(fs::read_to_string(&program).unwrap().contains("pyinstaller-build placeholder"));

    let first = app.build(&[]);
    assert!(ran(&first).iter().any(|w| w.contains("built main in")), "{}", first.stderr);
    assert!(folder.join("_internal").is_dir(), "the onedir folder itself, not a file");
    assert_eq!(run(&program, &["a b"]), "main 1 ['a b']");
    assert_eq!(beside(&folder), ["main"], "no staging or old folder left beside it");
    let installed = tree(&folder);

    // Nothing changed: nothing runs, nothing is written.
    let again = app.build(&[]);
    assert!(ran(&again).is_empty(), "{}", again.stderr);
    assert_eq!(tree(&folder), installed);

    // An edit rebuilds and replaces the folder whole.
    app.write("main_only.py", "VALUE = 2\n");
    let edited = app.build(&[]);
    assert!(ran(&edited).iter().any(|w| w.contains("built main in")), "{}", edited.stderr);
    assert_eq!(run(&program, &[]), "main 2 []");
    assert_eq!(beside(&folder), ["main"]);
    let edited_tree = tree(&folder);
    assert_ne!(edited_tree, installed);

    // A forced build of the same sources installs the very same folder.
    let forced = app.cargo(&[], &[("PYINSTALLER_BUILD_FORCE", "1")]);
    assert!(forced.ok && ran(&forced).iter().any(|w| w.contains("built main in")), "{}", forced.stderr);
    assert_eq!(tree(&folder), edited_tree, "a forced build gives the same folder bytes");

    // A broken edit (its smoke test fails) keeps the installed folder, and leaves nothing beside it.
    let good = fs::read_to_string(app.root.join("python/main.py")).unwrap();
    app.write("main.py", &good.replace("sys.exit(0)", "sys.exit(3)"));
    let broken = app.cargo(&[], &[]);
    assert!(!broken.ok && broken.stderr.contains("smoke test"), "{}", broken.stderr);
    assert_eq!(tree(&folder), edited_tree, "the installed folder is kept");
    assert_eq!(beside(&folder), ["main"], "the staged folder that failed is removed");

    // Fixed, and moved to another resource folder: installed there from the store (no
    // PyInstaller run), and the folder the crate installed before is removed.
    app.write("main.py", &good);
    let manifest = fs::read_to_string(app.root.join("Cargo.toml")).unwrap();
    fs::write(app.root.join("Cargo.toml"), manifest.replace("bin/python/main\"", "bin/python/moved\"")).unwrap();
    let moved = app.build(&[]);
    let warnings = ran(&moved).join("\n");
    assert!(warnings.contains("reinstalled main") && warnings.contains("which now goes elsewhere"), "{warnings}");
    assert_eq!(tree(&app.root.join("bin/python/moved")), edited_tree);
    assert_eq!(beside(&folder), ["moved"]);
}
