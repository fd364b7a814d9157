//! A Tauri v2 app (`tests/fixtures/tauri-app`) through a Tauri developer's day, with real cargo,
//! real PyInstaller and the real Tauri CLI (npm's `@tauri-apps/cli@2`, installed into the test's
//! target folder): `cargo check` and `cargo clippy` of a fresh clone with the skip switch, a
//! `cargo build` whose app calls its sidecar through tauri-plugin-shell under a virtual display,
//! and `tauri build --bundles deb` after `cargo build --release`, which must not run PyInstaller
//! again and must bundle the fresh sidecar. That sidecar is in the extract-once launch mode (one
//! file at the `externalBin` name, a launcher carrying the onedir program), so Tauri's contract is
//! checked for it; the `tauri dev` test keeps the default onefile mode.
//!
//! Needs Tauri's system libraries, `xvfb-run`, `dpkg-deb` and `npm` (`.ci/run` installs them);
//! without them the test says so and skips, except in CI.

use crate::support;
use crate::support::e2e::App;
use crate::support::env::Clean;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One test at a time: both apps are `tauri-fixture`, built into the one target folder, where
/// each runs the executable (and the sidecar copy) its own build just put there.
static ONE_APP: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One Tauri target folder for the debug run, the release build and `tauri build`: compiling
/// Tauri is most of this test's time.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("tauri-target")
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// `program` in the app with the shared target folder and without the crate's switches from the
/// caller's environment, plus `env`.
fn command(app: &App, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(program);
    // Without debug info or incremental state: nobody debugs the fixture, and Tauri's debug
    // info alone would be gigabytes of the test run's disk.
    cmd.args(args)
        .current_dir(&app.root)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .env("CARGO_INCREMENTAL", "0");
    for var in
        ["PYINSTALLER_BUILD_SKIP", "PYINSTALLER_BUILD_FORCE", "PYINSTALLER_BUILD_PYTHON", "PYINSTALLER_BUILD_CACHE_DIR"]
    {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd
}

/// Runs `command(...)` to its end and keeps what it printed.
fn run(app: &App, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = command(app, program, args, env)
        .output_clean()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", program.display()));
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn cargo(app: &App, args: &[&str], env: &[(&str, &str)]) -> Run {
    let r = run(app, Path::new(env!("CARGO")), args, env);
    assert!(r.ok, "cargo {args:?} failed:\n{}", r.stderr);
    r
}

/// What is missing for this test, with the fix.
fn missing() -> Option<(&'static str, &'static str)> {
    let libs = Command::new("pkg-config")
        .args(["--exists", "webkit2gtk-4.1", "gtk+-3.0", "ayatana-appindicator3-0.1", "librsvg-2.0"])
        .status_clean()
        .is_ok_and(|s| s.success());
    if !libs {
        return Some((
            "Tauri's system libraries (webkit2gtk-4.1, gtk-3, ayatana-appindicator, librsvg, pkg-config)",
            "apt-get install libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev pkg-config",
        ));
    }
    for (program, fix) in [
        ("xvfb-run", "apt-get install xvfb xauth"),
        ("dpkg-deb", "apt-get install dpkg"),
        ("npm", "install Node.js and npm"),
    ] {
        if which::which(program).is_err() {
            return Some((program, fix));
        }
    }
    None
}

/// The Tauri CLI from npm, installed once into the target folder (never into the sources).
fn tauri_cli() -> PathBuf {
    let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tauri-cli");
    let cli = prefix.join("node_modules/.bin/tauri");
    if !cli.exists() {
        fs::create_dir_all(&prefix).unwrap();
        let out = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg("@tauri-apps/cli@2")
            .output_clean()
            .unwrap();
        assert!(
            out.status.success(),
            "npm install @tauri-apps/cli@2 failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    cli
}

/// The crate's `built`/`rebuilt` lines: PyInstaller (or the fast path) ran.
fn built(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("pyinstaller-build: built") || l.contains("pyinstaller-build: rebuilt"))
        .collect()
}

#[test]
fn a_tauri_app_checks_with_placeholders_runs_its_sidecar_and_bundles_it() {
    if let Some((what, fix)) = missing() {
        if support::may_skip(what, fix) {
            return;
        }
    }
    let _one = ONE_APP.lock().unwrap_or_else(|e| e.into_inner());
    let cli = tauri_cli();
    let app = App::from("tests/fixtures/tauri-app", "launch = \"extract-once\"");
    // Where the launcher unpacks its program, instead of the user's cache folder: the app passes
    // its environment on to the sidecar.
    let unpack = app.root.join("launch-cache");
    let unpack = unpack.to_str().unwrap();
    let launch_cache = [("PYINSTALLER_BUILD_LAUNCH_CACHE", unpack)];
    // The fixture's own lock (Tauri's dependency tree, pinned), not the crate's.
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    fs::copy(crate_dir.join("tests/fixtures/tauri-app/Cargo.lock"), app.root.join("Cargo.lock")).unwrap();
    let sidecar = app.binary("answer");

    // A fresh clone, as rust-analyzer or a lint job sees it: tauri-build finds a placeholder.
    let skip = [("PYINSTALLER_BUILD_SKIP", "1")];
    let check = cargo(&app, &["check"], &skip);
    assert!(check.stderr.contains("placeholders stand in for answer"), "{}", check.stderr);
    let placeholder = Command::new(&sidecar).arg("--version").output_clean().unwrap();
    assert_eq!(placeholder.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&placeholder.stderr).contains("this is a pyinstaller-build placeholder"));
    cargo(&app, &["clippy", "--", "-D", "warnings"], &skip);
    // Skipping into a release build is refused: its bundle would ship the placeholder.
    let release = run(&app, Path::new(env!("CARGO")), &["build", "--release"], &skip);
    assert!(!release.ok && release.stderr.contains("not built (missing, or a placeholder"), "{}", release.stderr);

    // The next plain build installs the real sidecar; the app asks it through tauri-plugin-shell
    // (Tauri resolves its name and path) and prints the answer.
    let debug = cargo(&app, &["build"], &[]);
    assert_eq!(built(&debug.stderr).len(), 1, "{}", debug.stderr);
    // The fixture installs into its watched `binaries/` without a `.taurignore`: said once.
    let advice = "add the line `binaries/` to .taurignore";
    assert!(debug.stderr.contains(advice), "{}", debug.stderr);
    assert!(fs::read(&sidecar).unwrap().ends_with(b"PYIBLNC1"), "the sidecar is a launcher with its payload");
    let version = run(&app, &sidecar, &["--version"], &launch_cache);
    assert_eq!(version.stdout.trim(), "answer 1.0", "{}", version.stderr);
    let exe = target_dir().join("debug/tauri-fixture");
    let shown = run(&app, Path::new("xvfb-run"), &["-a", exe.to_str().unwrap()], &launch_cache);
    assert!(shown.ok, "the app failed:\n{}\n{}", shown.stdout, shown.stderr);
    assert!(shown.stdout.contains("sidecar said: the answer is 42"), "{}\n{}", shown.stdout, shown.stderr);

    // A release build of an edit, then `tauri build`: another OUT_DIR (other features), the same
    // sources, so no PyInstaller run: at most a reinstall from the crate's binary store.
    app.write(
        "answer.py",
        &fs::read_to_string(app.root.join("python/answer.py")).unwrap().replace("the answer", "the release answer"),
    );
    let release = cargo(&app, &["build", "--release"], &[]);
    assert_eq!(built(&release.stderr).len(), 1, "{}", release.stderr);
    let fresh = fs::read(&sidecar).unwrap();
    let log = fs::read_dir(target_dir().join("pyinstaller-build"))
        .unwrap()
        .map(|e| e.unwrap().path().join("answer/build.log"))
        .find(|p| p.is_file() && fs::read_to_string(p).unwrap().contains(&*app.root.to_string_lossy()))
        .expect("the spec's PyInstaller log");
    let log_mtime = fs::metadata(&log).unwrap().modified().unwrap();
    let bundled = run(&app, &cli, &["build", "--bundles", "deb"], &[]);
    assert!(bundled.ok, "tauri build failed:\n{}\n{}", bundled.stdout, bundled.stderr);
    assert!(built(&bundled.stderr).is_empty(), "tauri build ran PyInstaller again:\n{}", bundled.stderr);
    assert_eq!(fs::metadata(&log).unwrap().modified().unwrap(), log_mtime, "PyInstaller did not run");

    // The package holds the fresh sidecar where Tauri puts it, and it runs.
    let deb_dir = target_dir().join("release/bundle/deb");
    let deb = fs::read_dir(&deb_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb");
    let unpacked = app.root.join("unpacked");
    let out = Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked).output_clean().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let packaged = unpacked.join("usr/bin/answer");
    assert_eq!(fs::read(&packaged).unwrap(), fresh, "the package holds the sidecar just built");
    let answer = Command::new(&packaged).args(["6", "7"]).envs(launch_cache).output_clean().unwrap();
    assert_eq!(String::from_utf8_lossy(&answer.stdout).trim(), "the release answer is 42");
    assert!(unpacked.join("usr/bin/tauri-fixture").is_file(), "and the app beside it");
}

/// Lines a running program printed (stdout and stderr), each with when it arrived.
#[cfg(unix)]
struct Lines {
    rx: std::sync::mpsc::Receiver<(std::time::Instant, String)>,
    seen: Vec<(std::time::Instant, String)>,
}

#[cfg(unix)]
impl Lines {
    fn of(child: &mut std::process::Child) -> Lines {
        use std::io::BufRead;
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
        let stderr: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
        for stream in [stdout, stderr] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream).lines().map_while(|l| l.ok()) {
                    let _ = tx.send((std::time::Instant::now(), line));
                }
            });
        }
        Lines { rx, seen: Vec::new() }
    }

    /// Waits for a line containing `text`, printed after `since`; its arrival time.
    fn wait_for(&mut self, text: &str, since: std::time::Instant, timeout: std::time::Duration) -> std::time::Instant {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some((at, _)) = self.seen.iter().find(|(at, l)| *at >= since && l.contains(text)) {
                return *at;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("`{text}` did not appear within {timeout:?}; the output:\n{}", self.text()),
            }
        }
    }

    /// Everything printed so far, after a quiet `settle`.
    fn settle(&mut self, settle: std::time::Duration) {
        while let Ok(line) = self.rx.recv_timeout(settle) {
            self.seen.push(line);
        }
    }

    fn count_since(&self, text: &str, since: std::time::Instant) -> usize {
        self.seen.iter().filter(|(at, l)| *at >= since && l.contains(text)).count()
    }

    fn text(&self) -> String {
        self.seen.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join("\n")
    }
}

/// `tauri dev` on an app whose Python lives outside `src-tauri` (`../python`): the crate names
/// the missing watch folder; with it listed, a saved Python edit reaches the running app through
/// exactly one restart. Prints the edit-to-answer times of a Python and a Rust edit.
#[cfg(unix)]
#[test]
fn tauri_dev_brings_a_python_edit_outside_src_tauri_to_the_running_app() {
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};
    if let Some((what, fix)) = missing() {
        if support::may_skip(what, fix) {
            return;
        }
    }
    let _one = ONE_APP.lock().unwrap_or_else(|e| e.into_inner());
    let cli = tauri_cli();
    let app = App::from("tests/fixtures/tauri-app", "python-dir = \"../python\"");
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    fs::copy(crate_dir.join("tests/fixtures/tauri-app/Cargo.lock"), app.root.join("Cargo.lock")).unwrap();
    let python = app.root.parent().unwrap().join("python");
    fs::rename(app.root.join("python"), &python).unwrap();
    fs::write(app.root.join(".taurignore"), "binaries/\n").unwrap();

    // Without the watch folder, the first build says what `tauri dev` would miss.
    let first = cargo(&app, &["build"], &[]);
    assert_eq!(built(&first.stderr).len(), 1, "{}", first.stderr);
    let advice = r#"add "../python" to "build": { "additionalWatchFolders": [...] }"#;
    assert!(first.stderr.contains("`tauri dev` does not watch ../python"), "{}", first.stderr);
    assert!(first.stderr.contains(advice), "{}", first.stderr);

    let conf_path = app.root.join("tauri.conf.json");
    let conf = fs::read_to_string(&conf_path).unwrap();
    let conf =
        conf.replace(r#""frontendDist": "dist""#, r#""frontendDist": "dist", "additionalWatchFolders": ["../python"]"#);
    fs::write(&conf_path, conf).unwrap();

    let cli_path = cli.to_str().unwrap();
    let mut cmd = command(&app, Path::new("xvfb-run"), &["-a", cli_path, "dev"], &[("FIXTURE_STAY", "1")]);
    // Cargo's default for `tauri dev`'s profile, as a developer has it: the app crate's rebuild
    // after a build script reran reuses its incremental state.
    cmd.env_remove("CARGO_INCREMENTAL");
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).process_group(0);
    let mut child = cmd.spawn_clean().expect("xvfb-run tauri dev");
    // The whole group (xvfb-run, the CLI, cargo, the app, the sidecar) goes with the test.
    // (By the system call: a `kill` program may read `-<pgid>` as an option, or as every process.)
    struct Group(libc::pid_t);
    impl Drop for Group {
        fn drop(&mut self) {
            if self.0 > 1 {
                // SAFETY: a plain system call on a process group this test created.
                unsafe { libc::killpg(self.0, libc::SIGKILL) };
            }
        }
    }
    let _group = Group(child.id() as libc::pid_t);
    let mut lines = Lines::of(&mut child);
    let start = Instant::now();
    lines.wait_for("sidecar said: the answer is 42", start, Duration::from_secs(1200));
    lines.settle(Duration::from_secs(3));

    // Rounds of a Python body edit outside src-tauri and a Rust edit, alternating: each edit
    // restarts the app once and the new answer appears. The edit-to-answer times and where
    // they went are printed (the README's figures: `PYINSTALLER_BUILD_TAURI_DEV_ROUNDS=5`).
    #[allow(clippy::disallowed_methods)] // a test setting, not a build input
    let rounds: usize =
        std::env::var("PYINSTALLER_BUILD_TAURI_DEV_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let answer_py = python.join("answer.py");
    let main_rs = app.root.join("src/main.rs");
    let (mut py, mut rs) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        // The Python edit: one restart, one PyInstaller-free rebuild by the crate, the new answer.
        let word = format!("dev{round}");
        let answer = fs::read_to_string(&answer_py).unwrap();
        let answer = answer.replace(&format!("the dev{} answer", round - 1), "the answer");
        let edit = Instant::now();
        fs::write(&answer_py, answer.replace("the answer", &format!("the {word} answer"))).unwrap();
        let said = if round % 2 == 1 { "said" } else { "says" };
        let shown = lines.wait_for(&format!("sidecar {said}: the {word} answer is 42"), edit, Duration::from_secs(300));
        py.push(Loop::of(&lines, edit, shown));
        lines.settle(Duration::from_secs(5));
        assert_eq!(lines.count_since("sidecar s", edit), 1, "one restart per edit:\n{}", lines.text());
        let since_edit: Vec<&str> = lines.seen.iter().filter(|(at, _)| *at >= edit).map(|(_, l)| l.as_str()).collect();
        assert_eq!(built(&since_edit.join("\n")).len(), 1, "{}", lines.text());

        // A Rust edit, for comparison.
        let (from, to) =
            if round % 2 == 1 { ("sidecar said:", "sidecar says:") } else { ("sidecar says:", "sidecar said:") };
        let code = fs::read_to_string(&main_rs).unwrap();
        let edit = Instant::now();
        fs::write(&main_rs, code.replace(from, to)).unwrap();
        let shown = lines.wait_for(&format!("{to} the {word} answer is 42"), edit, Duration::from_secs(600));
        rs.push(Loop::of(&lines, edit, shown));
        lines.settle(Duration::from_secs(5));
    }
    for (what, runs) in [("Python", &py), ("Rust", &rs)] {
        let each: Vec<String> = runs.iter().map(|l| format!("{:.1}", l.total)).collect();
        let m = Loop::median(runs);
        eprintln!(
            "tauri dev, {what} edit to new answer: median {:.1} s of {} ({} s): the CLI noticed after {:.1} s, cargo \
             took {:.1} s (the crate's rebuild {:.1} s), the app and its sidecar {:.1} s",
            m.total,
            runs.len(),
            each.join(", "),
            m.noticed,
            m.cargo,
            m.script,
            m.app
        );
    }
}

/// Where one edit-to-new-answer loop under `tauri dev` went, from the lines the CLI, cargo and
/// the app printed (each timed on arrival).
#[cfg(unix)]
#[derive(Clone, Copy)]
struct Loop {
    total: f64,
    /// Until the CLI said the file changed (its watcher's debounce).
    noticed: f64,
    /// From then until cargo's `Finished` line.
    cargo: f64,
    /// Of which the crate's rebuild of the sidecar, as its warning line gives it.
    script: f64,
    /// From `Finished` until the new answer.
    app: f64,
}

#[cfg(unix)]
impl Loop {
    fn of(lines: &Lines, edit: std::time::Instant, shown: std::time::Instant) -> Loop {
        let at = |text: &str| {
            lines.seen.iter().find(|(at, l)| *at >= edit && *at <= shown && l.contains(text)).map(|(at, _)| *at)
        };
        let secs = |a: std::time::Instant, b: std::time::Instant| b.saturating_duration_since(a).as_secs_f64();
        let noticed = at("changed. Rebuilding").unwrap_or(edit);
        let finished = at("Finished").unwrap_or(shown);
        // The crate's own figure: "pyinstaller-build: rebuilt answer in 0.4 s by the fast path".
        let script = lines
            .seen
            .iter()
            .filter(|(at, _)| *at >= edit && *at <= shown)
            .find_map(|(_, l)| l.split_once("pyinstaller-build: rebuilt ").map(|(_, rest)| rest))
            .and_then(|rest| rest.split_once(" in ")?.1.split_once(" s")?.0.parse().ok())
            .unwrap_or(0.0);
        Loop {
            total: secs(edit, shown),
            noticed: secs(edit, noticed),
            cargo: secs(noticed, finished),
            script,
            app: secs(finished, shown),
        }
    }

    /// The run with the median total.
    fn median(runs: &[Loop]) -> Loop {
        let mut sorted = runs.to_vec();
        sorted.sort_by(|a, b| a.total.total_cmp(&b.total));
        sorted[sorted.len() / 2]
    }
}
