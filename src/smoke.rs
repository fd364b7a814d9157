//! The smoke test a fresh binary passes before it is installed: it exits 0, or, for a sidecar
//! that serves, it prints its ready text, after which the crate ends its whole process tree (a
//! onefile binary is a bootloader and the Python process it starts) and checks that nothing of it
//! is left running.

use crate::error::{log_tail, Error, ErrorKind, IoContext, Result};
use crate::process::{command_line, run_logged, Ended};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a fresh binary proves it starts: `smoke-test = ["--version"]` (it must exit 0) or
/// `smoke-test = { args = [...], ready = "text", timeout = 30 }` (it must print `text` on stdout or
/// stderr; then the crate stops it).
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
}

/// Runs the smoke test: `None` when it passed, else why not.
pub(crate) fn run(binary: &Path, test: &SmokeTest, default_timeout: Duration, log: &Path) -> Result<Option<String>> {
    let timeout = test.timeout.unwrap_or(default_timeout);
    let mut cmd = Command::new(binary);
    cmd.args(&test.args).current_dir(binary.parent().unwrap_or(Path::new(".")));
    let Some(ready) = &test.ready else {
        return Ok(match run_logged(&mut cmd, log, Some(timeout))? {
            Ended::Exited(status) if status.success() => None,
            Ended::Exited(status) => Some(format!("exited with {status}")),
            Ended::TimedOut => {
                Some(format!("did not finish within {} s (set `smoke-test-timeout` to allow more)", timeout.as_secs()))
            }
        });
    };
    until_ready(cmd, ready, timeout, log)
}

/// The smoke test as a build step: a failure is an error naming the sidecar, command and output.
pub(crate) fn check(label: &str, binary: &Path, test: &SmokeTest, default_timeout: Duration, log: &Path) -> Result<()> {
    let Some(failure) = run(binary, test, default_timeout, log)? else { return Ok(()) };
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

/// Runs `cmd` until it prints `ready`, then stops its process tree.
fn until_ready(mut cmd: Command, ready: &str, timeout: Duration, log: &Path) -> Result<Option<String>> {
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
        let (tx, file, printed, ready) = (tx.clone(), file.clone(), printed.clone(), ready.to_string());
        // Not joined: a process that left the group could hold the pipe open for ever.
        std::thread::spawn(move || watch(stream, &ready, &file, &printed, &tx));
    }
    drop(tx);
    let start = Instant::now();
    let failure = loop {
        if rx.try_recv().is_ok() {
            break None;
        }
        if let Some(status) = child.try_wait().at("could not wait for", log)? {
            // What it printed just before exiting may still be in the pipe.
            if rx.recv_timeout(Duration::from_millis(200)).is_ok() {
                break None;
            }
            let nothing =
                if printed.load(std::sync::atomic::Ordering::Relaxed) == 0 { "; it printed nothing" } else { "" };
            break Some(format!("exited with {status} before printing `{ready}`{nothing}"));
        }
        if start.elapsed() >= timeout {
            let nothing =
                if printed.load(std::sync::atomic::Ordering::Relaxed) == 0 { "; it printed nothing" } else { "" };
            break Some(format!(
                "did not print `{ready}` within {} s{nothing} (set `timeout` in `smoke-test` to allow more)",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let left = stop_tree(&mut child);
    let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
    let _ = writeln!(file, "\n[pyinstaller-build: {}]", failure.as_deref().unwrap_or("ready; stopped it"));
    Ok(match (failure, left) {
        (Some(f), _) => Some(f),
        (None, Some(left)) => Some(format!("printed `{ready}`, but {left}")),
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
        if said {
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
        assert_eq!(run(&bin, &test, Duration::from_secs(10), &log).unwrap(), None);
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
        let why = run(&script(tmp.path(), "echo 'port in use' >&2; exit 3"), &test, Duration::from_secs(5), &log);
        let why = why.unwrap().unwrap();
        assert!(why.contains("exited with") && why.contains("before printing `ready`"), "{why}");
        assert!(std::fs::read_to_string(&log).unwrap().contains("port in use"));
        let why = run(&script(tmp.path(), "exit 0"), &test, Duration::from_secs(5), &log).unwrap().unwrap();
        assert!(why.contains("printed nothing"), "{why}");
        let why =
            run(&script(tmp.path(), "echo starting; sleep 30"), &test, Duration::from_secs(5), &log).unwrap().unwrap();
        assert!(why.contains("did not print `ready` within 1 s") && !why.contains("nothing"), "{why}");
    }
}
