//! The smoke test a fresh binary passes before it is installed: it exits 0, or, for a sidecar
//! that serves, it prints its ready text, after which the crate ends its whole process tree (a
//! onefile binary is a bootloader and the Python process it starts) and checks that nothing of it
//! is left running.

use crate::error::{log_tail, Error, ErrorKind, IoContext, Result};
use crate::process::{command_line, run_logged, Ended};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a fresh binary proves it starts: `smoke-test = ["--version"]` (it must exit 0) or
/// `smoke-test = { args = [...], ready = "text", timeout = 30 }` (it must print `text` on stdout or
/// stderr and still run; then the crate stops it), optionally with a probe that proves it serves
/// (`port-env = "PORT"`, `http = "/health"`) and variables of its own (`env = { .. }`).
///
/// It runs as the app will run it: in the environment cargo was started with, without the
/// variables cargo sets for build scripts, with a scratch home, temporary and working folder that
/// are removed after (see the crate docs, "Smoke tests").
///
/// ```
/// use pyinstaller_build::SmokeTest;
/// let cli = SmokeTest::exits(["--version"]);
/// let server = SmokeTest::ready(["--port", "0"], "Waiting for commands").timeout(std::time::Duration::from_secs(30));
/// assert!(cli.ready.is_none() && server.ready.is_some());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmokeTest {
    /// The arguments the binary runs with.
    pub args: Vec<String>,
    /// Pass as soon as this text appears on stdout or stderr, then stop the binary; `None`: pass
    /// when it exits 0.
    pub ready: Option<String>,
    /// How long it may take (default: `smoke-test-timeout`, else 60 s).
    pub timeout: Option<Duration>,
    /// Variables set for the binary, on top of the environment it runs in.
    pub env: BTreeMap<String, String>,
    /// Tell the binary a free port in this variable, and pass only once something accepts
    /// connections on it (`127.0.0.1`). `{port}` in `args` is replaced with the same port.
    pub port_env: Option<String>,
    /// Pass only once `GET <this path>` on the port answers with a 2xx status.
    pub http: Option<String>,
}

impl SmokeTest {
    /// Passes when the binary, run with `args`, exits 0.
    ///
    /// ```
    /// let t = pyinstaller_build::SmokeTest::exits(["--version"]);
    /// assert_eq!(t.args, ["--version"]);
    /// ```
    pub fn exits<I, S>(args: I) -> SmokeTest
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        SmokeTest { args: args.into_iter().map(|s| s.as_ref().to_string()).collect(), ..SmokeTest::default() }
    }

    /// Passes when the binary, run with `args`, prints `ready` on stdout or stderr; it is then
    /// stopped (its whole process tree).
    ///
    /// ```
    /// let t = pyinstaller_build::SmokeTest::ready(["serve"], "Application startup complete");
    /// assert_eq!(t.ready.as_deref(), Some("Application startup complete"));
    /// ```
    pub fn ready<I, S>(args: I, ready: &str) -> SmokeTest
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        SmokeTest { ready: Some(ready.to_string()), ..SmokeTest::exits(args) }
    }

    /// How long it may take.
    ///
    /// ```
    /// pyinstaller_build::SmokeTest::exits(["--version"]).timeout(std::time::Duration::from_secs(120));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> SmokeTest {
        self.timeout = Some(timeout);
        self
    }

    /// Sets a variable for the binary (the app's own setting, `APP_ENV=test` say).
    ///
    /// ```
    /// pyinstaller_build::SmokeTest::exits(["--version"]).env("LOG_LEVEL", "debug");
    /// ```
    pub fn env(mut self, name: &str, value: &str) -> SmokeTest {
        self.env.insert(name.to_string(), value.to_string());
        self
    }

    /// Gives the binary a free port in variable `name` (and as `{port}` in its arguments); the
    /// test passes only once something accepts connections on it.
    ///
    /// ```
    /// pyinstaller_build::SmokeTest::ready(["serve"], "Uvicorn running").port_env("PORT");
    /// ```
    pub fn port_env(mut self, name: &str) -> SmokeTest {
        self.port_env = Some(name.to_string());
        self
    }

    /// Passes only once `GET path` on the port answers 2xx (needs a port: `port_env` or
    /// `{port}` in the arguments).
    ///
    /// ```
    /// pyinstaller_build::SmokeTest::ready(["--port", "{port}"], "ready").http("/health");
    /// ```
    pub fn http(mut self, path: &str) -> SmokeTest {
        self.http = Some(path.to_string());
        self
    }

    /// Whether the crate gives the binary a port.
    fn wants_port(&self) -> bool {
        self.port_env.is_some() || self.args.iter().any(|a| a.contains(PORT))
    }

    /// A server's test: it passes while the binary runs, and the crate then stops it.
    fn serves(&self) -> bool {
        self.ready.is_some() || self.wants_port() || self.http.is_some()
    }

    /// The settings error, if any, naming what to fix.
    pub(crate) fn validate(&self, label: &str) -> Result<()> {
        if self.http.is_some() && !self.wants_port() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "pyinstaller-build: the smoke test of `{label}` has `http` but no port to send it to.\n\
                     Fix: add `port-env = \"PORT\"` (the variable your server reads its port from), or `{PORT}` \
                     in its `args` (e.g. `args = [\"--port\", \"{PORT}\"]`)."
                ),
            ));
        }
        if self.http.as_deref().is_some_and(|p| !p.starts_with('/')) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("pyinstaller-build: the smoke test of `{label}`: `http` is a path starting with `/`, like \"/health\"."),
            ));
        }
        Ok(())
    }
}

/// Stands for the port the crate picked, in a smoke test's arguments.
const PORT: &str = "{port}";

/// How long a server must keep running once it proved ready: a process that prints its ready
/// line and then dies (a failed import, a port in use) fails.
const SETTLE: Duration = Duration::from_millis(500);

/// What the stamp keeps of the smoke test a binary passed: a change re-tests the binary, never
/// rebuilds it.
pub(crate) fn digest(test: Option<&SmokeTest>, default_timeout: Duration) -> String {
    let text = format!("{test:?} {default_timeout:?}");
    blake3::hash(text.as_bytes()).to_hex()[..16].to_string()
}

/// Variables cargo sets for build scripts (its documented list), which the app never sees.
const CARGO_SET: &[&str] = &[
    "CARGO",
    "OUT_DIR",
    "TARGET",
    "HOST",
    "NUM_JOBS",
    "OPT_LEVEL",
    "DEBUG",
    "PROFILE",
    "RUSTC",
    "RUSTDOC",
    "RUSTC_LINKER",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    // rustup's proxy, which started cargo
    "RUSTUP_TOOLCHAIN",
    "RUST_RECURSION_COUNT",
];

/// Whether `name` is one cargo sets for build scripts: the list above, `CARGO_*` (the package's,
/// `CARGO_CFG_*`, `CARGO_FEATURE_*`, `CARGO_ENCODED_RUSTFLAGS`, `CARGO_MANIFEST_*`, ...) and the
/// `DEP_<links>_<key>` metadata of dependencies.
fn set_by_cargo(name: &str) -> bool {
    CARGO_SET.contains(&name)
        || name.starts_with("CARGO_")
        || name.starts_with("__CARGO")
        || name.strip_prefix("DEP_").is_some_and(|rest| rest.contains('_'))
}

/// The environment the app will give its sidecar, as far as a build script can know it: cargo's
/// own, without what cargo added for build scripts (its variables; its folders in the library
/// search path).
fn app_env(cargo_dirs: &[PathBuf]) -> Vec<(OsString, OsString)> {
    let mut vars = Vec::new();
    for (k, v) in std::env::vars_os() {
        let name = k.to_string_lossy();
        if set_by_cargo(&name) {
            continue;
        }
        let v = match crate::freshness::fingerprint::without_cargo_dirs(
            &name,
            Some(v.to_string_lossy().into_owned()),
            cargo_dirs,
        ) {
            Some(v) => OsString::from(v),
            None => continue,
        };
        vars.push((k, v));
    }
    vars
}

/// The smoke test's own home, temporary and working folders, removed on drop: nothing it writes
/// lands in the user's folders (an app's default data folder, a onefile binary's `_MEI*` folder).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let root = std::env::temp_dir().join(format!("pyinstaller-build-smoke-{}", crate::fsutil::unique()));
        let scratch = Scratch(root);
        for (_, dir) in scratch.vars() {
            std::fs::create_dir_all(&dir).at("could not create", &dir)?;
        }
        let root = scratch.0.clone();
        std::fs::create_dir_all(root.join("work")).at("could not create", &root.join("work"))?;
        #[cfg(unix)]
        let _ = std::fs::set_permissions(root.join("run"), std::os::unix::fs::PermissionsExt::from_mode(0o700));
        Ok(scratch)
    }

    /// The variables that point the binary at it.
    fn vars(&self) -> Vec<(&'static str, PathBuf)> {
        let (home, tmp) = (self.0.join("home"), self.0.join("tmp"));
        vec![
            ("HOME", home.clone()),
            ("USERPROFILE", home.clone()),
            ("XDG_CONFIG_HOME", home.join(".config")),
            ("XDG_DATA_HOME", home.join(".local/share")),
            ("XDG_STATE_HOME", home.join(".local/state")),
            ("XDG_CACHE_HOME", home.join(".cache")),
            ("XDG_RUNTIME_DIR", self.0.join("run")),
            ("APPDATA", home.join("AppData/Roaming")),
            ("LOCALAPPDATA", home.join("AppData/Local")),
            ("TMPDIR", tmp.clone()),
            ("TMP", tmp.clone()),
            ("TEMP", tmp),
            // Where an extract-once launcher unpacks (launch.rs): never the user's cache.
            ("PYINSTALLER_BUILD_LAUNCH_CACHE", self.launch_cache()),
        ]
    }

    /// Where an extract-once launcher under test unpacks, or finds its folder seeded.
    fn launch_cache(&self) -> PathBuf {
        self.0.join("home").join("launch-cache")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port nothing listens on now (the OS picked it), for the binary to serve on.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Error::io("could not find a free port on", Path::new("127.0.0.1"), e))?;
    Ok(listener.local_addr().map_err(|e| Error::io("could not find a free port on", Path::new("127.0.0.1"), e))?.port())
}

/// Runs the smoke test: `None` when it passed, else why not.
///
/// `cargo_dirs` are cargo's own folders, taken out of the library search path it passes on.
/// `unpacked`, for an extract-once `binary`, is the onedir folder it carries, put in the scratch
/// launcher cache first so that the launcher starts it without unpacking it (the fast path:
/// every member but the program is the last smoke-tested payload's, byte for byte).
pub(crate) fn run(
    binary: &Path,
    test: &SmokeTest,
    default_timeout: Duration,
    log: &Path,
    cargo_dirs: &[PathBuf],
    unpacked: Option<&Path>,
) -> Result<Option<String>> {
    let timeout = test.timeout.unwrap_or(default_timeout);
    let scratch = Scratch::new()?;
    if let Some(folder) = unpacked {
        // Not seeded, the launcher unpacks the folder itself: slower, as sound.
        let _ = crate::launch::seed_cache(binary, folder, &scratch.launch_cache());
    }
    let port = if test.wants_port() { Some(free_port()?) } else { None };
    let port_text = port.map(|p| p.to_string()).unwrap_or_default();
    let mut cmd = Command::new(binary);
    cmd.args(test.args.iter().map(|a| a.replace(PORT, &port_text)));
    cmd.env_clear().envs(app_env(cargo_dirs)).envs(scratch.vars()).current_dir(scratch.0.join("work"));
    cmd.envs(&test.env);
    if let (Some(var), Some(port)) = (&test.port_env, port) {
        cmd.env(var, port.to_string());
    }
    if !test.serves() {
        return Ok(match run_logged(&mut cmd, log, Some(timeout))? {
            Ended::Exited(status) if status.success() => None,
            Ended::Exited(status) => Some(format!("exited with {status}")),
            Ended::TimedOut => {
                Some(format!("did not finish within {} s (set `smoke-test-timeout` to allow more)", timeout.as_secs()))
            }
        });
    }
    let probe = port.map(|port| Probe { port, var: test.port_env.clone(), http: test.http.clone() });
    let result = until_ready(cmd, test.ready.as_deref(), probe.as_ref(), timeout, log);
    drop(scratch);
    result
}

/// The smoke test as a build step: a failure is an error naming the sidecar, command and output.
pub(crate) fn check(
    label: &str,
    binary: &Path,
    test: &SmokeTest,
    default_timeout: Duration,
    log: &Path,
    cargo_dirs: &[PathBuf],
    unpacked: Option<&Path>,
) -> Result<()> {
    let Some(failure) = run(binary, test, default_timeout, log, cargo_dirs, unpacked)? else { return Ok(()) };
    let mut cmd = Command::new(binary);
    cmd.args(&test.args);
    Err(Error::new(
        ErrorKind::SmokeTestFailed,
        format!(
            "pyinstaller-build: the smoke test of `{label}` failed: `{}` {failure}.\n\
             Its output ({}):\n{}\
             The previously installed binary, if any, was left in place.\n\
             Fix: make the program succeed with these arguments, or change `smoke-test` in \
             [package.metadata.pyinstaller-build].",
            command_line(&cmd),
            log.display(),
            log_tail(log, 20)
        ),
    ))
}

/// The port the binary was given, and what proves it serves on it.
struct Probe {
    port: u16,
    /// The variable that told it (for messages).
    var: Option<String>,
    http: Option<String>,
}

impl Probe {
    /// `Ok` once it serves; `Err(why not yet)` otherwise.
    fn check(&self) -> std::result::Result<(), String> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))
            .map_err(|_| format!("nothing accepted connections on {addr}{}", self.given()))?;
        let Some(path) = &self.http else { return Ok(()) };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).map_err(|e| format!("GET {path} on {addr} failed: {e}"))?;
        let mut head = Vec::new();
        let mut buf = [0u8; 512];
        while !head.contains(&b'\n') && head.len() < 4096 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_string();
        let status = line.split_whitespace().nth(1).unwrap_or_default();
        match status.starts_with('2') && status.len() == 3 {
            true => Ok(()),
            false if line.is_empty() => Err(format!("GET {path} on {addr} got no answer")),
            false => Err(format!("GET {path} on {addr} answered `{line}`")),
        }
    }

    fn given(&self) -> String {
        match &self.var {
            Some(var) => format!(" (the port given in `{var}`)"),
            None => " (the port given as `{port}`)".to_string(),
        }
    }
}

/// Runs `cmd` until it proves it serves (its `ready` text, then the probe), checks it keeps
/// running for a moment, then stops its process tree.
fn until_ready(
    mut cmd: Command,
    ready: Option<&str>,
    probe: Option<&Probe>,
    timeout: Duration,
    log: &Path,
) -> Result<Option<String>> {
    let mut file = File::create(log).at("could not create log", log)?;
    writeln!(file, "$ {}", command_line(&cmd)).at("could not write", log)?;
    let file = Arc::new(Mutex::new(file));
    // A server that waits for commands on stdin keeps running while stdin is open, as under
    // Tauri. (PYTHONUNBUFFERED would not help: a frozen program ignores PYTHON* variables.)
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = crate::process::spawn(&mut cmd).at("could not start", Path::new(cmd.get_program()))?;
    let (tx, rx) = mpsc::channel();
    let printed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let streams: [Option<Box<dyn Read + Send>>; 2] = [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    for stream in streams.into_iter().flatten() {
        let (tx, file, printed, ready) = (tx.clone(), file.clone(), printed.clone(), ready.unwrap_or("").to_string());
        // Not joined: a process that left the group could hold the pipe open for ever.
        std::thread::spawn(move || watch(stream, &ready, &file, &printed, &tx));
    }
    drop(tx);
    let start = Instant::now();
    let mut seen = ready.is_none();
    let mut served: Option<Instant> = None;
    let mut not_yet = String::new();
    let nothing = |printed: &std::sync::atomic::AtomicUsize| {
        if printed.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            "; it printed nothing"
        } else {
            ""
        }
    };
    let failure = loop {
        if !seen && rx.try_recv().is_ok() {
            seen = true;
        }
        if seen && served.is_none() {
            match probe.map_or(Ok(()), Probe::check) {
                Ok(()) => served = Some(Instant::now()),
                Err(why) => not_yet = why,
            }
        }
        if let Some(status) = child.try_wait().at("could not wait for", log)? {
            // What it printed just before exiting may still be in the pipe.
            if !seen && rx.recv_timeout(Duration::from_millis(200)).is_ok() {
                seen = true;
            }
            let ready = ready.unwrap_or_default();
            break Some(match (seen, ready.is_empty()) {
                (true, false) => format!(
                    "printed `{ready}`, then exited with {status}: it does not keep serving (see its output below)"
                ),
                (true, true) => format!("exited with {status} before it served: {not_yet}"),
                (false, _) => format!("exited with {status} before printing `{ready}`{}", nothing(&printed)),
            });
        }
        if served.is_some_and(|at| at.elapsed() >= SETTLE) {
            break None;
        }
        if start.elapsed() >= timeout {
            let secs = timeout.as_secs();
            break Some(match (seen, ready) {
                (false, Some(ready)) => format!(
                    "did not print `{ready}` within {secs} s{} (set `timeout` in `smoke-test` to allow more)",
                    nothing(&printed)
                ),
                _ => format!("did not serve within {secs} s: {not_yet} (set `timeout` in `smoke-test` to allow more)"),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let left = stop_tree(&mut child);
    let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
    let _ = writeln!(file, "\n[pyinstaller-build: {}]", failure.as_deref().unwrap_or("ready; stopped it"));
    Ok(match (failure, left) {
        (Some(f), _) => Some(f),
        (None, Some(left)) => Some(format!("was ready, but {left}")),
        (None, None) => None,
    })
}

/// Copies a stream into the log and says once when `ready` went by (also split across reads).
fn watch(
    mut stream: Box<dyn Read + Send>,
    ready: &str,
    file: &Mutex<File>,
    printed: &std::sync::atomic::AtomicUsize,
    tx: &mpsc::Sender<()>,
) {
    let mut seen: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    let mut said = false;
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        printed.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        let _ = file.lock().unwrap_or_else(|e| e.into_inner()).write_all(&buf[..n]);
        if said || ready.is_empty() {
            continue;
        }
        seen.extend_from_slice(&buf[..n]);
        if seen.windows(ready.len().max(1)).any(|w| w == ready.as_bytes()) {
            said = true;
            let _ = tx.send(());
        }
        let keep = seen.len().saturating_sub(ready.len());
        seen.drain(..keep);
    }
}

/// Ends the child's whole process tree; `Some(what)` when some of it is still running after.
fn stop_tree(child: &mut Child) -> Option<String> {
    #[cfg(unix)]
    {
        // Its own group (process_group(0)): the bootloader and the Python process it started.
        // SIGTERM first: the bootloader forwards it and removes its unpacked files.
        let group = child.id() as libc::pid_t;
        unsafe { libc::killpg(group, libc::SIGTERM) };
        let gone = |child: &mut Child, within: Duration| {
            let start = Instant::now();
            loop {
                let reaped = child.try_wait().ok().flatten().is_some();
                if reaped && !group_alive(group) {
                    return true;
                }
                if start.elapsed() >= within {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        if gone(child, Duration::from_secs(5)) {
            return None;
        }
        unsafe { libc::killpg(group, libc::SIGKILL) };
        let _ = child.wait();
        if gone(child, Duration::from_secs(2)) {
            return Some("it ignored SIGTERM for 5 s and was killed".into());
        }
        Some(format!("processes of its group {group} are still running after SIGKILL"))
    }
    #[cfg(windows)]
    {
        // The bootloader's child is in its tree: taskkill /T ends both.
        let _ = Command::new("taskkill").args(["/T", "/F", "/PID", &child.id().to_string()]).status();
        let _ = child.wait();
        None
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

/// Whether any process of the group still runs (zombies, which only wait to be reaped, do not).
#[cfg(unix)]
fn group_alive(group: libc::pid_t) -> bool {
    if cfg!(target_os = "linux") {
        let Ok(procs) = std::fs::read_dir("/proc") else { return unsafe { libc::killpg(group, 0) } == 0 };
        return procs.flatten().any(|p| {
            let Ok(stat) = std::fs::read_to_string(p.path().join("stat")) else { return false };
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
            let fields: Vec<&str> =
                stat.rsplit_once(')').map(|(_, f)| f.split_whitespace().collect()).unwrap_or_default();
            fields.len() > 2 && fields[0] != "Z" && fields[2].parse::<libc::pid_t>() == Ok(group)
        });
    }
    unsafe { libc::killpg(group, 0) == 0 }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        let path = dir.join("server.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn ready_text_passes_and_the_whole_tree_is_stopped() {
        let tmp = tempfile::tempdir().unwrap();
        let pids = tmp.path().join("pids");
        // A child that forks a grandchild, as a onefile bootloader does; the text split over two writes.
        let bin = script(
            tmp.path(),
            &format!(
                "sleep 300 & echo $! > {p}; printf 'Wait' >&2; sleep 0.1; echo 'ing for commands' >&2; wait",
                p = pids.display()
            ),
        );
        let log = tmp.path().join("smoke.log");
        let test = SmokeTest::ready(Vec::<String>::new(), "Waiting for commands");
        assert_eq!(run(&bin, &test, Duration::from_secs(10), &log, &[], None).unwrap(), None);
        let grandchild: i32 = std::fs::read_to_string(&pids).unwrap().trim().parse().unwrap();
        // Gone, or a zombie waiting for whoever adopted it to reap it.
        let stat = std::fs::read_to_string(format!("/proc/{grandchild}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(')').and_then(|(_, f)| f.split_whitespace().next().map(str::to_string));
        assert!(matches!(state.as_deref(), None | Some("Z")), "the grandchild was stopped too: {stat}");
    }

    #[test]
    fn early_exit_silence_and_timeout_fail_with_why() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("smoke.log");
        let test = SmokeTest::ready(Vec::<String>::new(), "ready").timeout(Duration::from_secs(1));
        let why =
            run(&script(tmp.path(), "echo 'port in use' >&2; exit 3"), &test, Duration::from_secs(5), &log, &[], None);
        let why = why.unwrap().unwrap();
        assert!(why.contains("exited with") && why.contains("before printing `ready`"), "{why}");
        assert!(std::fs::read_to_string(&log).unwrap().contains("port in use"));
        let why = run(&script(tmp.path(), "exit 0"), &test, Duration::from_secs(5), &log, &[], None).unwrap().unwrap();
        assert!(why.contains("printed nothing"), "{why}");
        let why = run(&script(tmp.path(), "echo starting; sleep 30"), &test, Duration::from_secs(5), &log, &[], None)
            .unwrap()
            .unwrap();
        assert!(why.contains("did not print `ready` within 1 s") && !why.contains("nothing"), "{why}");
    }

    #[test]
    fn a_process_that_exits_right_after_its_ready_line_fails() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("smoke.log");
        let test = SmokeTest::ready(Vec::<String>::new(), "PORT:").timeout(Duration::from_secs(5));
        let bin = script(tmp.path(), "echo PORT:8000; echo \"ModuleNotFoundError: No module named 'web'\" >&2; exit 1");
        let why = run(&bin, &test, Duration::from_secs(5), &log, &[], None).unwrap().unwrap();
        assert!(why.contains("printed `PORT:`, then exited with") && why.contains("does not keep serving"), "{why}");
        assert!(std::fs::read_to_string(&log).unwrap().contains("No module named 'web'"));
    }

    #[test]
    fn it_runs_as_the_app_will_without_cargos_variables_in_scratch_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("smoke.log");
        let seen = tmp.path().join("seen");
        // Whatever cargo set for this test process (CARGO_*, and the rest when run by cargo) is gone;
        // the smoke test's own variable is there; home, temp and cwd are its own, and go after.
        let bin = script(
            tmp.path(),
            &format!(
                "env | grep -E '^(CARGO|DEBUG|HOST|TARGET|OUT_DIR|PROFILE|OPT_LEVEL|NUM_JOBS|RUSTC|RUSTDOC)[_=]' && exit 7\n\
                 [ \"$APP_MODE\" = test ] || exit 8\n\
                 touch \"$HOME/data.db\" \"$TMPDIR/_MEI1\" \"$XDG_CONFIG_HOME/app.toml\" ./cwd-file || exit 9\n\
                 echo \"$HOME $TMPDIR $(pwd)\" > {}",
                seen.display()
            ),
        );
        let test = SmokeTest::exits(Vec::<String>::new()).env("APP_MODE", "test");
        assert_eq!(
            run(&bin, &test, Duration::from_secs(10), &log, &[], None).unwrap(),
            None,
            "{:?}",
            std::fs::read_to_string(&log)
        );
        let seen = std::fs::read_to_string(&seen).unwrap();
        let folders: Vec<&str> = seen.split_whitespace().collect();
        assert_eq!(folders.len(), 3, "{seen}");
        for folder in folders {
            assert!(folder.contains("pyinstaller-build-smoke-"), "{seen}");
            assert!(!Path::new(folder).exists(), "{folder} was removed after the test");
        }
    }

    #[test]
    fn set_by_cargo_is_cargos_documented_list() {
        for name in [
            "DEBUG",
            "HOST",
            "TARGET",
            "OUT_DIR",
            "CARGO_CFG_UNIX",
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTC_LINKER",
            "DEP_TAURI_DEV",
            "CARGO_MANIFEST_LINKS",
        ] {
            assert!(set_by_cargo(name), "{name}");
        }
        for name in ["HOME", "PATH", "DEPLOY", "DEBUG_LEVEL", "APP_HOST", "LD_LIBRARY_PATH"] {
            assert!(!set_by_cargo(name), "{name}");
        }
    }

    /// A one-file HTTP server: binds the port from `BIND_PORT`, else `PORT`, prints `ready` first
    /// (as uvicorn does), and stays up even when it cannot bind.
    fn server(dir: &Path) -> PathBuf {
        let py = dir.join("server.py");
        std::fs::write(
            &py,
            "import http.server, os, sys, time\n\
             print('ready', flush=True)\n\
             class H(http.server.BaseHTTPRequestHandler):\n\
             \x20   def do_GET(self):\n\
             \x20       self.send_response(200 if self.path == '/health' else 404); self.end_headers()\n\
             try:\n\
             \x20   s = http.server.HTTPServer(('127.0.0.1', int(os.environ.get('BIND_PORT') or os.environ['PORT'])), H)\n\
             except OSError as e:\n\
             \x20   print(e, file=sys.stderr, flush=True); time.sleep(60)\n\
             s.serve_forever()\n",
        )
        .unwrap();
        script(dir, &format!("exec python3 {}", py.display()))
    }

    #[test]
    fn the_port_probe_proves_serving() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("smoke.log");
        let bin = server(tmp.path());
        let test = SmokeTest::ready(Vec::<String>::new(), "ready").port_env("PORT").http("/health");
        assert_eq!(
            run(&bin, &test, Duration::from_secs(20), &log, &[], None).unwrap(),
            None,
            "{:?}",
            std::fs::read_to_string(&log)
        );
        let wrong = test.clone().http("/nope");
        let why = run(&bin, &wrong.timeout(Duration::from_secs(3)), Duration::from_secs(20), &log, &[], None)
            .unwrap()
            .unwrap();
        assert!(why.contains("GET /nope on 127.0.0.1:") && why.contains("404"), "{why}");
        // Its port taken: it printed its ready line and still runs, but serves nothing.
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let held = taken.local_addr().unwrap().port().to_string();
        let test = test.env("BIND_PORT", &held).timeout(Duration::from_secs(3));
        let why = run(&bin, &test, Duration::from_secs(20), &log, &[], None).unwrap().unwrap();
        assert!(why.contains("did not serve within 3 s: nothing accepted connections on 127.0.0.1:"), "{why}");
        assert!(why.contains("(the port given in `PORT`)"), "{why}");
        assert!(std::fs::read_to_string(&log).unwrap().contains("Address already in use"));
    }

    #[test]
    fn http_needs_a_port() {
        let e = SmokeTest::ready(["serve"], "up").http("/health").validate("api").unwrap_err();
        assert!(e.to_string().contains("`http` but no port") && e.to_string().contains("port-env"), "{e}");
        assert!(SmokeTest::ready(["--port", "{port}"], "up").http("/health").validate("api").is_ok());
    }
}
