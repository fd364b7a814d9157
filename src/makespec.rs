//! Sidecars without a spec file: a script and PyInstaller command-line options, turned into a
//! spec by PyInstaller's own spec writer (`build-support/makespec.py`), in the build's
//! interpreter, into the crate's cache. From then on the generated spec is built like any other.
//!
//! The spec is written again only when what it is made from changes (the script, the options,
//! python-dir's place, the toolchain with PyInstaller's version, the writer itself): an unchanged
//! sidecar costs no Python start.

use crate::error::{log_tail, Error, ErrorKind, IoContext, Result};
use crate::process::{command_line, run_logged, Ended};
use crate::toolchain::Toolchain;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const HELPER: &str = include_str!("../build-support/makespec.py");

/// A sidecar's generated spec.
#[derive(Clone, Debug)]
pub(crate) struct Generated {
    /// The sidecar's name (its key in the metadata), also the binary's and the spec's stem.
    pub name: String,
    /// `<project cache>/<name>/spec/<name>.spec`.
    pub spec: PathBuf,
    /// What the spec was made from and what it says: part of the sidecar's fingerprint.
    pub digest: String,
    /// The same without python-dir's place: the writer, the script, the options and the spec
    /// (whose paths the writer makes relative to the spec's folder), for the shared key. Two
    /// checkouts whose crate folder sits at the same place relative to python-dir get the same.
    pub portable: String,
}

/// What to generate a spec from.
pub(crate) struct Request<'a> {
    pub name: &'a str,
    /// Relative to python-dir, as on a command line run there.
    pub script: &'a Path,
    pub options: &'a [String],
    pub python_dir: &'a Path,
    pub python: &'a Path,
    pub toolchain: &'a Toolchain,
    /// The sidecar's folder in the project cache.
    pub dir: PathBuf,
}

/// Writes the sidecar's spec unless the one there was made from the same inputs.
pub(crate) fn generate(req: &Request) -> Result<Generated> {
    let label = format!("sidecar `{}`", req.name);
    let script = req.python_dir.join(req.script);
    if !script.is_file() {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "pyinstaller-build: the script `{}` of {label} does not exist.\n\
                 Fix: `script` in [package.metadata.pyinstaller-build.sidecars.{}] is relative to python-dir (`{}`).",
                script.display(),
                req.name,
                req.python_dir.display()
            ),
        ));
    }
    let mut key = blake3::Hasher::new();
    for part in [HELPER, &req.toolchain.fingerprint(), &req.python_dir.to_string_lossy(), &req.script.to_string_lossy()]
    {
        key.update(&(part.len() as u64).to_le_bytes()).update(part.as_bytes());
    }
    for option in req.options {
        key.update(&(option.len() as u64).to_le_bytes()).update(option.as_bytes());
    }
    let key = key.finalize().to_hex().to_string();
    let spec_dir = req.dir.join("spec");
    let spec = spec_dir.join(format!("{}.spec", req.name));
    let key_file = spec_dir.join("key");
    let current = fs::read_to_string(&key_file).is_ok_and(|k| k == key) && spec.is_file();
    if !current {
        write_spec(req, &label, &spec_dir, &spec)?;
        crate::install::write_atomic(&key_file, key.as_bytes(), false)?;
    }
    let content = fs::read(&spec).at("could not read", &spec)?;
    let digest = blake3::Hasher::new().update(key.as_bytes()).update(&content).finalize().to_hex().to_string();
    // The writer made the options' paths absolute; under python-dir they name project files
    // (their content is in the key), elsewhere they stay as they are.
    let here = req.python_dir.to_string_lossy();
    let text = String::from_utf8_lossy(&content).replace(&*here, "$PYTHON_DIR");
    // A Windows path, as the spec's Python literals escape it.
    let text = text.replace(&here.replace('\\', "\\\\"), "$PYTHON_DIR");
    let mut portable = blake3::Hasher::new();
    for part in [HELPER.as_bytes(), req.script.as_os_str().as_encoded_bytes(), text.as_bytes()] {
        portable.update(&(part.len() as u64).to_le_bytes()).update(part);
    }
    for option in req.options {
        portable.update(&(option.len() as u64).to_le_bytes()).update(option.as_bytes());
    }
    let portable = portable.finalize().to_hex().to_string();
    Ok(Generated { name: req.name.to_string(), spec, digest, portable })
}

fn write_spec(req: &Request, label: &str, spec_dir: &Path, spec: &Path) -> Result<()> {
    crate::pyinstaller::remove_dir(spec_dir)?;
    fs::create_dir_all(spec_dir).at("could not create", spec_dir)?;
    let log = req.dir.join("makespec.log");
    let mut cmd = Command::new(req.python);
    cmd.arg("-c")
        .arg(HELPER)
        .arg(spec_dir)
        .arg(req.name)
        .arg(req.script)
        .args(req.options)
        .current_dir(req.python_dir)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let ok = matches!(run_logged(&mut cmd, &log, None)?, Ended::Exited(s) if s.success());
    if ok && spec.is_file() {
        return Ok(());
    }
    let tail = log_tail(&log, 12);
    let fix = if tail.contains("ERROR: ") {
        "Fix the option named above in `options`."
    } else {
        "Fix `options` (PyInstaller's command-line options, as `pyinstaller --help` lists them)."
    };
    Err(Error::new(
        ErrorKind::Config,
        format!(
            "pyinstaller-build: could not write the spec of {label} from `{}` and its options.\n\
             Command: {}\nLast lines of its output ({}):\n{tail}{fix}",
            req.script.display(),
            command_line(&cmd),
            log.display(),
        ),
    ))
}
