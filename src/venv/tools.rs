//! The tools a lockfile needs (`uv`, `poetry`), installed by the crate from PyPI into their own
//! environments under `<cache>/envs/tools/` when they are not at hand: a `uv` on `PATH` is used
//! as it is; Poetry is always the crate's own pinned one (with its export plugin), so every
//! machine exports alike.

use super::lock::Tool;
use super::{create, lock, python_in, READY};
use crate::error::{log_tail, Error, ErrorKind, IoContext, Result};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

/// The tool's executable, installed first if needed. `uv` is the one on `PATH`, if any.
pub(crate) fn ensure(tool: Tool, base: &Path, tools_dir: &Path, uv: Option<&Path>) -> Result<PathBuf> {
    if let (Tool::Uv, Some(uv)) = (tool, uv) {
        return Ok(uv.to_path_buf());
    }
    let mut key = blake3::Hasher::new();
    crate::toolchain::hash_interpreter(&mut key, base);
    for p in tool.packages() {
        key.update(p.as_bytes()).update(b"\0");
    }
    let dir = tools_dir.join(format!("{}-{}", tool.name(), &key.finalize().to_hex()[..12]));
    let exe = executable(&dir, tool.name());
    if dir.join(READY).is_file() {
        return Ok(exe);
    }
    fs::create_dir_all(tools_dir).at("could not create", tools_dir)?;
    let _lock = lock(&dir)?;
    if dir.join(READY).is_file() {
        return Ok(exe);
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).at("could not remove the unfinished environment", &dir)?;
    }
    // Poetry installs much faster with uv, when uv is at hand (never bootstrapped just for that).
    let installer = if tool == Tool::Poetry { uv } else { None };
    let args: Vec<OsString> = tool.packages().iter().map(OsString::from).collect();
    let log = dir.with_extension("log");
    if let Err(step) = create(base, installer, &dir, tools_dir, &[args], &log) {
        return Err(Error::new(
            ErrorKind::PyInstallerMissing,
            format!(
                "pyinstaller-build: could not install {} ({}) from PyPI, which reading the lockfile needs.\n\
                 Command: {}\nLast lines of its log ({}):\n{}\
                 Fix: check the network (the next build retries){}.",
                tool.name(),
                tool.packages().join(" "),
                step,
                log.display(),
                log_tail(&log, 15),
                if tool == Tool::Uv { ", or install uv and put it on PATH" } else { "" }
            ),
        ));
    }
    if !exe.is_file() {
        return Err(Error::new(
            ErrorKind::PyInstallerMissing,
            format!("pyinstaller-build: installing {} left no `{}`; see {}", tool.name(), exe.display(), log.display()),
        ));
    }
    fs::write(dir.join(READY), tool.packages().join("\n")).at("could not mark ready", &dir)?;
    Ok(exe)
}

/// A console script of the environment at `dir`.
fn executable(dir: &Path, name: &str) -> PathBuf {
    let python = python_in(dir);
    let bin = python.parent().unwrap_or(dir);
    bin.join(if cfg!(windows) { format!("{name}.exe") } else { name.to_string() })
}
