//! End to end: an app adopted as it is: sidecars without a spec file, a server smoke-tested by
//! its ready line, Python sources and requirements outside the package folder, lockfiles, a
//! Poetry project's extra and a uv export naming its project, an unsupported PyInstaller, specs
//! placed by `tauri.conf.json` and run as their authors ran them. Real cargo, real PyInstaller,
//! real binaries.

use crate::support;
use crate::support::e2e::*;
use crate::support::env::Clean;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A copy of `tests/fixtures/adoption/<fixture>`, shaped like a Tauri template: the package in
/// `src-tauri/`, Python in `src/backends/`, requirements at the root.
struct Template {
    app: App,
    repo: PathBuf,
}

impl Template {
    fn new(fixture: &str, extra: &str) -> Template {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("app");
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_dir(&crate_dir.join("tests/fixtures/adoption").join(fixture), &repo);
        let root = repo.join("src-tauri");
        write_manifest(&root, extra);
        // Unique to this copy, so its first build really builds (never from the binary store).
        fs::write(repo.join("src/backends/fixture-id.txt"), repo.display().to_string()).unwrap();
        Template { app: App { _tmp: tmp, root }, repo }
    }

    fn python(&self, rel: &str) -> PathBuf {
        self.repo.join("src/backends").join(rel)
    }

    fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = fs::read_to_string(self.python(rel)).unwrap();
        assert!(text.contains(from), "{rel} has no `{from}`");
        fs::write(self.python(rel), text.replacen(from, to, 1)).unwrap();
    }

    fn binary(&self) -> PathBuf {
        self.app.root.join("bin/api").join(format!("main-{}", host_triple()))
    }

    /// The crate's cache folder for the project (python-dir is `src/backends`).
    fn cache(&self) -> PathBuf {
        support::e2e::work_folder(&self.repo.join("src/backends")).expect("the project's python-dir")
    }
}

/// Every file and folder under `dir`, to see that a build wrote nothing there.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        out.push(e.path());
        if e.file_type().unwrap().is_dir() {
            out.extend(tree(&e.path()));
        }
    }
    out.sort();
    out
}

/// Processes (not zombies) whose command line mentions `needle`: from /proc, else from `ps`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(procs) = fs::read_dir("/proc") else {
        let out = Command::new("ps").args(["-axo", "pid=,stat=,command="]).output_clean().expect("ps");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        return text
            .lines()
            .filter(|l| l.contains(needle) && !l.split_whitespace().nth(1).is_some_and(|s| s.starts_with('Z')))
            .map(str::to_string)
            .collect();
    };
    for p in procs.flatten() {
        let Ok(cmdline) = fs::read(p.path().join("cmdline")) else { continue };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let stat = fs::read_to_string(p.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit_once(')').is_some_and(|(_, f)| f.trim_start().starts_with('Z'));
        if cmdline.contains(needle) && !zombie {
            found.push(format!("{}: {cmdline}", p.file_name().to_string_lossy()));
        }
    }
    found
}

/// Starts the installed server on a free port, asks it over TCP, ends it by its stdin command.
fn ask_server(binary: &Path) -> String {
    let mut child = Command::new(binary)
        .args(["--port", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn_clean()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let port: u16 = line.trim().strip_prefix("listening on ").expect(&line).parse().unwrap();
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    child.stdin.take().unwrap().write_all(b"quit\n").unwrap();
    assert!(child.wait().unwrap().success());
    assert!(response.starts_with("HTTP/1.0 200"), "{response}");
    response.rsplit("\r\n\r\n").next().unwrap().trim().to_string()
}

#[test]
fn a_template_shaped_app_builds_its_server_sidecar_from_metadata_alone() {
    let t = Template::new("template", "");
    let sources = tree(&t.repo.join("src"));
    let first = t.app.build(&[]);
    let warnings = first.warnings();
    assert!(warnings.iter().any(|w| w.contains("built main in")), "{}", first.stderr);
    assert!(t.binary().is_file(), "installed into binaries-dir `bin/api`");
    // The pasted command line's options that the crate decides itself: one note, `-y` unsaid.
    let notes: Vec<_> = warnings.iter().filter(|w| w.contains("left out")).collect();
    assert_eq!(notes.len(), 1, "{}", first.stderr);
    assert!(
        notes[0].contains("sidecar `main`: left out `--clean`, `--distpath src-tauri/bin/api` from its options")
            && notes[0].contains("binaries-dir")
            && !notes[0].contains("noconfirm"),
        "{}",
        notes[0]
    );
    // The smoke test waited for the ready line, then stopped the bootloader and its Python child.
    let smoke = fs::read_to_string(t.cache().join("main/smoke.log")).unwrap();
    assert!(smoke.contains("Waiting for commands") && smoke.contains("ready; stopped it"), "{smoke}");
    let cache = t.cache().display().to_string();
    assert_eq!(processes_mentioning(&cache), Vec::<String>::new(), "the smoke test left processes running");
    assert_eq!(tree(&t.repo.join("src")), sources, "nothing is written into the sources");
    assert!(t.cache().join("main/spec/main.spec").is_file(), "the spec is generated in the cache");

    // The installed sidecar serves: the bundled data file and the namespace package's module.
    assert_eq!(ask_server(&t.binary()), "hello from static prediction=1");

    // Nothing changed: quiet.
    let again = t.app.build(&[]);
    assert!(again.warnings().is_empty(), "{}", again.stderr);

    // An edit of inference/*.py takes the fast path.
    t.edit("inference/model.py", "prediction=1", "prediction=2");
    let fast = t.app.build(&[]);
    assert!(
        fast.warnings()
            .iter()
            .any(|w| w.contains("rebuilt main") && w.contains("by the fast path") && w.contains("; smoke test ")),
        "{}",
        fast.stderr
    );
    assert_eq!(ask_server(&t.binary()), "hello from static prediction=2");

    // A server that exits early, prints nothing, or never gets ready fails its smoke test with
    // its output shown, and the previous binary stays.
    let good = fs::read(t.binary()).unwrap();
    let cases = [
        (
            "    args = parser.parse_args()\n",
            "    args = parser.parse_args()\n    sys.exit('port %d is taken' % args.port)\n",
            "before printing `Waiting for commands`",
            "port 0 is taken",
        ),
        (
            "    parser = argparse.ArgumentParser()\n",
            "    return\n    parser = argparse.ArgumentParser()\n",
            "printed nothing",
            "exit status: 0",
        ),
        (
            "    print(\"Waiting for commands\", flush=True)\n",
            "    threading.Event().wait()\n",
            "did not print `Waiting for commands` within 15 s",
            "listening on",
        ),
    ];
    let main_py = fs::read_to_string(t.python("main.py")).unwrap();
    for (from, to, why, shown) in cases {
        fs::write(t.python("main.py"), main_py.replacen(from, to, 1)).unwrap();
        let out = t.app.cargo(&[], &[]);
        assert!(!out.ok, "{}", out.stderr);
        assert!(
            out.stderr.contains("the smoke test of `main` failed") && out.stderr.contains(why),
            "{why}:\n{}",
            out.stderr
        );
        assert!(out.stderr.contains(shown), "the output is shown ({shown}):\n{}", out.stderr);
        assert_eq!(fs::read(t.binary()).unwrap(), good, "the previous binary is kept");
        assert_eq!(processes_mentioning(&cache), Vec::<String>::new(), "the failed smoke test left processes running");
    }
    fs::write(t.python("main.py"), &main_py).unwrap();
    t.app.build(&[]);
    assert_eq!(ask_server(&t.binary()), "hello from static prediction=2");
    assert_eq!(tree(&t.repo.join("src")), sources, "nothing is written into the sources");
}

#[test]
fn options_that_fight_the_crate_and_a_name_used_twice_are_clear_errors() {
    let t = Template::new("template", "");
    // Skipped, a sidecar without a spec file still gets its placeholder, named by its key.
    let skipped = t.app.cargo(&[], &[("PYINSTALLER_BUILD_SKIP", "1")]);
    assert!(skipped.ok, "{}", skipped.stderr);
    assert!(String::from_utf8_lossy(&fs::read(t.binary()).unwrap()).contains("pyinstaller-build placeholder"));
    fs::remove_file(t.binary()).unwrap();

    let manifest = fs::read_to_string(t.app.root.join("Cargo.toml")).unwrap();
    let with_options = |options: &str| {
        let bad =
            format!("[package.metadata.pyinstaller-build.sidecars.bad]\nscript = \"main.py\"\noptions = [{options}]\n");
        fs::write(
            t.app.root.join("Cargo.toml"),
            manifest.replace(
                "[package.metadata.pyinstaller-build.sidecars.main]",
                &format!("{bad}\n[package.metadata.pyinstaller-build.sidecars.main]"),
            ),
        )
        .unwrap();
    };
    // All at once, before any environment is made or Python runs (here there is none to run).
    with_options("\"--onedir\", \"-n\", \"x\", \"--clean\", \"--upx-dir=u\", \"--distpath\", \"d\"");
    let out = t.app.cargo(&[], &[("PYINSTALLER_BUILD_PYTHON", "/no/such/python")]);
    assert!(!out.ok);
    for named in ["sidecar `bad`: `-D/--onedir`", "`-n/--name`", "`--upx-dir`", "fight the crate"] {
        assert!(out.stderr.contains(named), "{named}:\n{}", out.stderr);
    }
    assert!(!out.stderr.contains("`--clean` (") && !out.stderr.contains("/no/such/python"), "{}", out.stderr);
    // Abbreviated, as PyInstaller's parser takes them: its own check names them all.
    with_options("\"--spec\", \"s\", \"--log=DEBUG\"");
    let out = t.app.cargo(&[], &[]);
    assert!(!out.ok);
    for named in ["sidecar `bad`", "`--specpath`", "`--log-level`", "fight the crate"] {
        assert!(out.stderr.contains(named), "{named}:\n{}", out.stderr);
    }
    assert!(!t.binary().exists(), "nothing was built");
    fs::write(t.app.root.join("Cargo.toml"), &manifest).unwrap();
    fs::write(t.python("main.spec"), "# a spec named like the sidecar\n").unwrap();
    let out = t.app.cargo(&[], &[]);
    assert!(!out.ok);
    assert!(out.stderr.contains("the sidecar `main` and the spec `main.spec` share a name"), "{}", out.stderr);
}

// The fake PyInstaller runs behind a `#!/bin/sh` interpreter script.
#[cfg(unix)]
#[test]
fn an_unsupported_pyinstaller_fails_before_building_naming_its_version() {
    let _env = support::env::read();
    let f = support::Fixture::new(&[("worker.spec", &support::spec("worker", &[])), ("worker.py", "")]);
    let python = f.tmp.path().join("python-with-pyinstaller-5");
    fs::write(&python, format!("#!/bin/sh\nFAKE_PYINSTALLER_VERSION=5.13.0 exec '{}' \"$@\"\n", f.python.display()))
        .unwrap();
    support::make_executable(&python);
    let err = f.build("debug").python(&python).try_compile().unwrap_err();
    assert!(err.to_string().contains("PyInstaller 5.13.0") && err.to_string().contains(">=6,<7"), "{err}");
    assert!(f.runs().is_empty(), "PyInstaller never ran");
    assert!(!f.installed("worker").exists());
}

/// The locked sidecar's output, run from the binaries folder.
fn locked_output(app: &App) -> String {
    app.run("locked")
}

#[test]
fn a_uv_lock_installs_exactly_its_versions_and_only_a_changed_lock_rebuilds() {
    // A spec file and a sidecar without one, side by side.
    let extra = "requirements = \"../locks/uv/uv.lock\"\nspecs = [\"extra/hello.spec\"]";
    let app = App::from("tests/fixtures/adoption/locked", extra);
    let first = app.build(&[]);
    assert!(first.warnings().iter().any(|w| w.contains("built locked in")), "{}", first.stderr);
    assert!(first.warnings().iter().any(|w| w.contains("built hello in")), "{}", first.stderr);
    assert_eq!(app.run("hello"), "hello from a spec file");
    assert_eq!(locked_output(&app), "packaging 26.3");
    // Unchanged: nothing runs, nothing is said.
    let again = app.build(&[]);
    assert!(again.warnings().is_empty(), "{}", again.stderr);
    // The lock moves packaging to 25.0: another environment (created unless an earlier run left
    // it in the shared target folder), a rebuilt sidecar.
    for file in ["uv.lock", "pyproject.toml"] {
        fs::copy(app.root.join("locks/uv-changed").join(file), app.root.join("locks/uv").join(file)).unwrap();
    }
    let changed = app.build(&[]);
    let warnings = changed.warnings();
    assert!(warnings.iter().any(|w| w.contains("built locked in")), "{warnings:?}");
    assert_eq!(locked_output(&app), "packaging 25.0");
    // A lock that no longer matches its pyproject.toml is uv's error, shown.
    let pyproject = app.root.join("locks/uv/pyproject.toml");
    let text = fs::read_to_string(&pyproject).unwrap();
    fs::write(&pyproject, text.replace("packaging==25.0", "packaging==24.2")).unwrap();
    let stale = app.cargo(&[], &[]);
    assert!(!stale.ok);
    assert!(stale.stderr.contains("uv could not export") && stale.stderr.contains("uv lock"), "{}", stale.stderr);
    assert_eq!(locked_output(&app), "packaging 25.0", "the previous binary is kept");
}

#[test]
fn a_poetry_lock_installs_exactly_its_versions() {
    let app = App::from("tests/fixtures/adoption/locked", "requirements = \"../locks/poetry/poetry.lock\"");
    let first = app.build(&[]);
    assert!(first.warnings().iter().any(|w| w.contains("built locked in")), "{}", first.stderr);
    assert_eq!(locked_output(&app), "packaging 26.3");
    let again = app.build(&[]);
    assert!(again.warnings().is_empty(), "{}", again.stderr);
}

#[test]
fn the_audit_suggests_only_what_optional_imports_reach_and_verifies_a_server() {
    let app = App::from("tests/fixtures/adoption/audit-server", "");
    let first = app.build(&[]);
    let warning = first.warnings().into_iter().find(|w| w.contains("could likely be excluded")).map(str::to_string);
    let warning = warning.unwrap_or_else(|| panic!("no audit warning:\n{}", first.stderr));
    assert!(warning.contains("optional_blob") && !warning.contains("needed_blob"), "{warning}");
    let audit = audit_of(&app, "app");
    assert!(audit.imports_known, "{audit:#?}");
    let find =
        |name: &str| audit.packages.iter().find(|p| p.package == name).unwrap_or_else(|| panic!("{name}: {audit:#?}"));
    // facade imports needed_blob at module level: the app needs it to start, and says why.
    let needed = find("needed_blob");
    assert!(needed.suggestion.is_none() && needed.bytes > 250_000, "{needed:?}");
    assert_eq!(needed.required_by, ["app.py", "facade", "needed_blob"], "{needed:?}");
    // optional_blob is only tried: a fair candidate, with the optional import named.
    let optional = find("optional_blob");
    assert!(optional.required_by.is_empty(), "{optional:?}");
    assert_eq!(optional.optional_import.as_deref(), Some("facade → optional_blob (in a try)"), "{optional:?}");
    assert!(optional.suggestion.as_deref().unwrap_or("").contains("only optional imports reach it"), "{optional:?}");
    let table = fs::read_to_string(audit_of_dir(&app).join("app/audit.md")).unwrap();
    assert!(table.contains("| app.py → facade → needed_blob |"), "{table}");

    // Verify mode with a ready-line smoke test: the server is started, found ready and stopped
    // for each scratch build.
    let out = app.cargo(&[], &[("PYINSTALLER_BUILD_AUDIT", "verify")]);
    assert!(out.ok, "{}", out.stderr);
    let line = "verified `options = [..., \"--exclude-module\", \"optional_blob\"]`";
    assert!(out.warnings().iter().any(|w| w.contains(line)), "{}", out.stderr);
    let verified = audit_of(&app, "app").verified.expect("verified");
    assert_eq!(verified.results.iter().map(|r| r.package.as_str()).collect::<Vec<_>>(), ["optional_blob"]);
    assert!(verified.results[0].safe && verified.combined_ok, "{verified:?}");
    let cache = audit_of_dir(&app).display().to_string();
    assert_eq!(processes_mentioning(&cache), Vec::<String>::new(), "verify left servers running");
}

#[test]
fn requirements_without_pyinstaller_build_with_the_crates_and_the_audit_maps_import_names() {
    let app = App::from("tests/fixtures/adoption/provided", "");
    let first = app.build(&[]);
    assert!(first.warnings().iter().any(|w| w.contains("built app in")), "{}", first.stderr);
    assert_eq!(app.run_with("app", &["--version"]), "app 2.9.0.post0");
    assert_eq!(app.run("app"), "2024 2.9.0.post0 True");
    // The environment the crate made: the requirements and the PyInstaller it added, which is
    // part of its identity (the warning says so when this run created it).
    let envs = work_folder(&app.root.join("python")).unwrap().parent().unwrap().join("envs");
    let env = fs::read_dir(&envs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            fs::read_to_string(p.join(".pyinstaller-build-ready")).is_ok_and(|r| {
                r.contains("python-dateutil==2.9.0.post0") && r.contains("provided by the crate: pyinstaller==6.22.3")
            })
        })
        .unwrap_or_else(|| panic!("no environment with the provided PyInstaller in {}", envs.display()));
    let version = Command::new(env.join("bin/python")).args(["-m", "PyInstaller", "--version"]).output_clean().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), "6.22.3");
    if let Some(created) = first.warnings().into_iter().find(|w| w.contains("created the Python environment")) {
        assert!(
            created.contains("with `pyinstaller==6.22.3` added") && created.contains("requirements.txt"),
            "{created}"
        );
    }

    // The audit, every package a candidate by size: none the project imports, by any name.
    let audit = audit_of(&app, "app");
    let find =
        |name: &str| audit.packages.iter().find(|p| p.package == name).unwrap_or_else(|| panic!("{name}: {audit:#?}"));
    // The metadata copy_metadata bundled is named by its distribution; the project imports it as
    // `dateutil`.
    let metadata = find("python_dateutil");
    assert_eq!(metadata.distribution.as_deref(), Some("python-dateutil"), "{metadata:?}");
    assert!(metadata.imported_by_project && metadata.imported_as == ["dateutil"], "{metadata:?}");
    let dateutil = find("dateutil");
    assert!(dateutil.imported_by_project && dateutil.distribution.as_deref() == Some("python-dateutil"));
    // six only inside a function: still the project's, and said so.
    let six = find("six");
    assert!(six.imported_by_project && six.lazily_imported_by == ["app.py"], "{six:?}");
    for p in [metadata, dateutil, six] {
        assert!(p.suggestion.is_none() && p.verify_first.is_none(), "{p:?}");
    }
    let table = fs::read_to_string(audit_of_dir(&app).join("app/audit.md")).unwrap();
    assert!(table.contains("| six | ") && table.contains("| lazily imported by app.py |"), "{table}");
    assert!(table.contains("| yes, as dateutil |"), "{table}");

    // Nothing changed: nothing runs, nothing is said.
    let again = app.build(&[]);
    assert!(again.warnings().is_empty(), "{}", again.stderr);
}

/// Removes, when dropped, the environments made for an app's checkout: an editable install of
/// its project ties them to it (its `.pth` names the checkout), so no later run reuses them.
struct CheckoutEnvs<'a>(&'a App);

impl Drop for CheckoutEnvs<'_> {
    fn drop(&mut self) {
        let envs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-target/pyinstaller-build/envs");
        let root = self.0.root.display().to_string();
        for env in fs::read_dir(&envs).into_iter().flatten().flatten().map(|e| e.path()) {
            let lib = env.join("lib");
            let sites = fs::read_dir(&lib).into_iter().flatten().flatten().map(|p| p.path().join("site-packages"));
            let pth = sites.flat_map(|s| fs::read_dir(s).into_iter().flatten().flatten()).map(|e| e.path());
            let names_root = |p: &PathBuf| {
                p.extension().is_some_and(|x| x == "pth") && fs::read_to_string(p).is_ok_and(|t| t.contains(&root))
            };
            if env.is_dir() && pth.into_iter().any(|p| names_root(&p)) {
                let _ = fs::remove_dir_all(&env);
                for beside in ["lock", "log", "requirements.txt", "requirements.local.txt"] {
                    let _ = fs::remove_file(env.with_extension(beside));
                }
            }
        }
    }
}

#[test]
fn a_poetry_project_with_an_extra_and_a_uv_export_naming_its_project_adopt_as_they_are() {
    for (fixture, sidecar, answer) in [
        // A Poetry project: its lockfile with the `server` extra its sidecar imports, and the
        // project itself, whose installed version the sidecar reports.
        ("poetry-extra", "server", "srvapp 0.4.2 six 1.17.0"),
        // A `uv export` in a subfolder, hash-pinned, naming the project as `-e .` (the
        // project's folder, not the file's).
        ("uv-export", "worker", "uvapp 1.2.3 six 1.17.0"),
    ] {
        let app = App::from(&format!("tests/fixtures/adoption/{fixture}"), "");
        let _envs = CheckoutEnvs(&app);
        let first = app.build(&[]);
        assert!(first.warnings().iter().any(|w| w.contains(&format!("built {sidecar} in"))), "{}", first.stderr);
        assert_eq!(app.run(sidecar), answer);
        let again = app.build(&[]);
        assert!(again.warnings().is_empty(), "{}", again.stderr);
    }
}

/// A copy of `tests/fixtures/adoption/tauri-shaped` (the package in `src-tauri/`, Python in
/// `python/`) in a git repository whose only commit holds the placeholder the app committed at its
/// triple-named sidecar's path, as apps do so that Tauri finds the file.
struct Shaped {
    app: App,
    repo: PathBuf,
}

impl Drop for Shaped {
    /// The crate's work folder for `python/`, which `App`'s own clean-up (under `src-tauri`)
    /// does not reach.
    fn drop(&mut self) {
        if let Some(folder) = work_folder(&self.repo.join("python")) {
            let _ = fs::remove_dir_all(folder);
        }
    }
}

fn tauri_shaped(extra: &str) -> Shaped {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("app");
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&crate_dir.join("tests/fixtures/adoption/tauri-shaped"), &repo);
    let root = repo.join("src-tauri");
    write_manifest(&root, extra);
    // Unique to this copy, so its first build really builds (never from the binary store).
    let id = repo.display().to_string();
    fs::write(repo.join("python/fixture-id.txt"), &id).unwrap();
    for spec in ["sidecar.spec", "entrypoint.spec", "server.spec"] {
        let path = repo.join("python").join(spec);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, format!("{text}# fixture copy: {id}\n")).unwrap();
    }
    let placeholder = root.join("binaries").join(format!("app-sidecar-{}", host_triple()));
    fs::create_dir_all(placeholder.parent().unwrap()).unwrap();
    fs::write(&placeholder, "#!/bin/sh\necho 'run `make sidecar` first' >&2\nexit 1\n").unwrap();
    support::make_executable(&placeholder);
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(&repo)
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
            .args(args)
            .output_clean()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "src-tauri/binaries"]);
    git(&["commit", "-q", "-m", "placeholder"]);
    Shaped { app: App { _tmp: tmp, root }, repo }
}

#[test]
fn tauri_conf_json_decides_names_and_places_and_specs_run_as_their_authors_ran_them() {
    // First without the key that renames `entrypoint`: every spec builds and installs, and the
    // entry nobody provides is one error naming it and the key to add.
    let shaped = tauri_shaped("");
    let (app, repo) = (&shaped.app, &shaped.repo);
    let triple = host_triple();
    let at = |rel: &str| app.root.join(format!("{rel}-{triple}"));
    let out = app.cargo(&[], &[]);
    assert!(!out.ok, "{}", out.stderr);
    let warnings = out.warnings();
    for built in ["built app-sidecar in", "built entrypoint in", "built server in"] {
        assert!(warnings.iter().any(|w| w.contains(built)), "{built}:\n{}", out.stderr);
    }
    for said in [
        "tauri.conf.json lists an entry in \"bundle\": { \"externalBin\": [...] } that no sidecar provides",
        &format!("\"binaries/statements\": binaries/statements-{triple} is missing"),
        &format!("Sidecars installed at no entry: `entrypoint` (binaries/entrypoint-{triple})"),
        "[package.metadata.pyinstaller-build.sidecars.entrypoint]",
        "install-as = \"binaries/statements\"\n",
    ] {
        assert!(out.stderr.contains(said), "{said}:\n{}", out.stderr);
    }
    // The triple-named spec's output went where the entry points, replacing the committed
    // placeholder (with the one note on untracking it), never under a doubled triple.
    assert_eq!(
        Command::new(at("binaries/app-sidecar")).output_clean().unwrap().stdout,
        b"the sidecar, not the placeholder\n"
    );
    assert!(warnings.iter().any(|w| w.contains("a placeholder committed to git") && w.contains("git rm --cached")));
    assert!(!at(&format!("binaries/app-sidecar-{triple}")).exists(), "a doubled triple");
    // The spec that reads `Path.cwd()` and APP_PYINSTALLER_EXCLUDE_WEBUI ran from the repository's
    // root with the variable set; its entry is in another folder.
    let server = Command::new(at("bin/python/server")).output_clean().unwrap();
    assert_eq!(String::from_utf8_lossy(&server.stdout).trim(), "served from the repository's assets no webui");

    // The key: the same binary goes to its entry, without PyInstaller, and the file at the old
    // name, which the crate installed, goes.
    let install_as =
        "\n[package.metadata.pyinstaller-build.sidecars.entrypoint]\ninstall-as = \"binaries/statements\"\n";
    let manifest = app.root.join("Cargo.toml");
    fs::write(&manifest, fs::read_to_string(&manifest).unwrap() + install_as).unwrap();
    let keyed = app.build(&[]);
    let warnings = keyed.warnings();
    assert!(warnings.iter().any(|w| w.contains("reinstalled statements")), "{}", keyed.stderr);
    assert!(
        warnings.iter().any(|w| w.contains(&format!("removed `{}`", at("binaries/entrypoint").display()))),
        "{}",
        keyed.stderr
    );
    assert!(!warnings.iter().any(|w| w.contains(": built ")), "{}", keyed.stderr);
    assert_eq!(Command::new(at("binaries/statements")).output_clean().unwrap().stdout, b"statements\n");
    assert!(!at("binaries/entrypoint").exists());

    // Nothing changed: nothing runs, nothing is said.
    let again = app.build(&[]);
    assert!(again.warnings().is_empty(), "{}", again.stderr);

    // A file the spec read from the cwd, outside python-dir, is an input by content; so is the
    // sidecar's `pyinstaller-env`: each rebuilds the server alone.
    fs::write(repo.join("assets/banner.txt"), "a new banner\n").unwrap();
    let text = fs::read_to_string(&manifest).unwrap();
    let edited = app.build(&[]);
    let warnings = edited.warnings();
    assert!(warnings.iter().any(|w| w.contains("built server in") && w.contains("banner.txt")), "{}", edited.stderr);
    assert_eq!(warnings.iter().filter(|w| w.contains(": built ")).count(), 1, "{}", edited.stderr);
    let server = Command::new(at("bin/python/server")).output_clean().unwrap();
    assert_eq!(String::from_utf8_lossy(&server.stdout).trim(), "a new banner no webui");
    fs::write(
        &manifest,
        text.replace(
            "APP_PYINSTALLER_EXCLUDE_WEBUI = \"1\" }",
            "APP_PYINSTALLER_EXCLUDE_WEBUI = \"1\", APP_EDITION = \"pro\" }",
        ),
    )
    .unwrap();
    let env_edit = app.build(&[]);
    let warnings = env_edit.warnings();
    assert!(warnings.iter().any(|w| w.contains("built server in")), "{}", env_edit.stderr);
    assert_eq!(warnings.iter().filter(|w| w.contains(": built ")).count(), 1, "{}", env_edit.stderr);
    // The variable changes no byte of the binary, so nothing was written and cargo keeps the
    // build script fresh, replaying its last warnings: that nothing ran is seen in the state.
    let state = work_folder(&repo.join("python")).unwrap().join("server/state.json");
    let built = fs::read(&state).unwrap();
    let again = app.build(&[]);
    assert!(again.warnings().iter().all(|w| env_edit.warnings().contains(w)), "{}", again.stderr);
    assert_eq!(fs::read(&state).unwrap(), built, "the server was built again:\n{}", again.stderr);
}
