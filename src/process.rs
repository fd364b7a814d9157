//! Every child process goes through here: its command line and full output go to a log file,
//! "not found" becomes an error with a hint, and a timeout kills the whole process group (a onefile
//! binary is a bootloader that forks the real program).

use crate::error::{Error, ErrorKind, IoContext, Result};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// `cmd.spawn()`, retried while the program is "text file busy": a binary the crate just wrote
/// (the fast path's, smoke-tested at once) stays open for writing in any child another build
/// thread forked meanwhile, until that child's exec closes it.
pub(crate) fn spawn(cmd: &mut Command) -> std::io::Result<std::process::Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            // ETXTBSY on Linux and macOS.
            Err(e) if e.raw_os_error() == Some(26) && cfg!(unix) && tries < 50 => {
                tries += 1;
                thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// How a logged child ended.
pub(crate) enum Ended {
    Exited(ExitStatus),
    TimedOut,
}

/// Runs `cmd` with stdin closed and stdout+stderr appended to `log`.
pub(crate) fn run_logged(cmd: &mut Command, log: &Path, timeout: Option<Duration>) -> Result<Ended> {
    let mut file = File::create(log).at("could not create log", log)?;
    writeln!(file, "$ {}", command_line(cmd)).at("could not write", log)?;
    let stderr = file.try_clone().at("could not open log", log)?;
    cmd.stdin(Stdio::null()).stdout(file).stderr(stderr);
    // A timed child gets its own process group so a timeout can kill all of it. Others stay in
    // cargo's, so Ctrl-C stops PyInstaller with the build.
    #[cfg(unix)]
    if timeout.is_some() {
        std::os::unix::process::CommandExt::process_group(cmd, 0);
    }
    let mut child = spawn(cmd).map_err(|e| {
        let program = Path::new(cmd.get_program());
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::new(
                ErrorKind::InterpreterNotFound,
                format!("pyinstaller-build: `{}` not found: {e}", program.display()),
            )
        } else {
            Error::io("could not start", program, e)
        }
    })?;
    let Some(timeout) = timeout else {
        return Ok(Ended::Exited(child.wait().at("could not wait for", log)?));
    };
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().at("could not wait for", log)? {
            return Ok(Ended::Exited(status));
        }
        if start.elapsed() >= timeout {
            // The system call, not the `kill` program: some read `-<pgid>` as an option or as
            // `-1`, every process the user may signal.
            #[cfg(unix)]
            if let Ok(group) = libc::pid_t::try_from(child.id()) {
                if group > 1 {
                    // SAFETY: a plain system call on the group this function made the child lead.
                    unsafe { libc::killpg(group, libc::SIGKILL) };
                }
            }
            // Windows has no process groups: kill the tree (a onefile bootloader's child too).
            #[cfg(windows)]
            let _ = Command::new("taskkill").args(["/T", "/F", "/PID", &child.id().to_string()]).output();
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Ended::TimedOut);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The command as a user could paste it into a shell (environment overrides first).
pub(crate) fn command_line(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), quote(&v?.to_string_lossy()))))
        .collect();
    parts.push(quote(&cmd.get_program().to_string_lossy()));
    parts.extend(cmd.get_args().map(|a| {
        let a = a.to_string_lossy();
        // The embedded helper scripts are long; the log shows their first line.
        if a.contains('\n') {
            "<helper script>".to_string()
        } else {
            quote(&a)
        }
    }));
    parts.join(" ")
}

fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
/// A failed command's last line of output (the exception, say): a refusal is a one-line warning.
pub(crate) fn last_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr).trim().lines().last().unwrap_or_default().to_string()
}

/// The runner sets `EXE(target_arch=...)` from it (with a spec, PyInstaller's `--target-arch`
/// option does nothing).
pub(crate) const TARGET_ARCH_VAR: &str = "PYINSTALLER_BUILD_TARGET_ARCH";

/// The environment every Python process of a build runs in: PyInstaller and the fast path's
/// helper alike, so both write the same bytes.
pub(crate) fn build_env(cmd: &mut Command, env: &[(String, Option<String>)]) {
    // Reproducible output (stable TOC order, stable bytecode) and a stable guts cache.
    cmd.env("PYTHONHASHSEED", "0");
    // Never write __pycache__ into the user's sources.
    cmd.env("PYTHONDONTWRITEBYTECODE", "1");
    // Set through `env` only for a macOS build of the other architecture (macos.rs), never
    // inherited.
    cmd.env_remove(TARGET_ARCH_VAR);
    // Exactly the values the fingerprint holds (library paths without cargo's own folders).
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
}
