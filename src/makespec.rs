//! Sidecars without a spec file: a script and PyInstaller command-line options, turned into a
//! spec by PyInstaller's own spec writer (`build-support/makespec.py`), in the build's
//! interpreter, into the crate's cache. From then on the generated spec is built like any other.
//!
//! The spec is written again only when what it is made from changes (the script, the options,
//! python-dir's place, the toolchain with PyInstaller's version, the writer itself): an unchanged
//! sidecar costs no Python start.

use crate::build_support::MAKESPEC;
use crate::error::{log_tail, Error, ErrorKind, IoContext, Result};
use crate::process::{command_line, run_logged, Ended};
use crate::toolchain::Toolchain;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A sidecar's options as pasted from a `pyinstaller` command line, sorted before anything runs.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Options {
    /// What the spec is written from.
    pub kept: Vec<String>,
    /// The options the crate decides itself, for one note (`--distpath bin`: where the crate
    /// installs; `--clean`: the crate's cache). `-y/--noconfirm` changes nothing and is dropped
    /// without a word.
    pub ignored: Vec<String>,
}

/// Sorts the `options` of sidecar `name`: the crate's own (`-y/--noconfirm`, `--distpath`,
/// `--workpath`, `--clean`) are dropped, and every option that fights the crate is named in one
/// error, before any environment is made or Python runs. PyInstaller's own parser checks what is
/// left when the spec is written (`build-support/makespec.py`). For a sidecar built `onedir`
/// (a `resource` folder, or extract-once mode), `-D/--onedir` says what the crate does anyway
/// and is dropped like `-y`.
pub(crate) fn sort_options(name: &str, options: &[String], onedir: bool) -> std::result::Result<Options, Vec<String>> {
    // (spellings, takes a value, why the crate owns it); `None`: the crate's to decide, dropped.
    const OWNED: &[(&[&str], bool, Option<&str>)] = &[
        (&["-y", "--noconfirm"], false, None),
        (&["--clean"], false, None),
        (&["--distpath"], true, None),
        (&["--workpath"], true, None),
        (
            &["-D", "--onedir"],
            false,
            Some(
                "a sidecar in `externalBin` is one file, built onefile; set `resource` for a onedir folder in \
                 `bundle.resources`, or `launch = \"extract-once\"`",
            ),
        ),
        (
            &["-n", "--name"],
            true,
            Some("the sidecar's name is its key in [package.metadata.pyinstaller-build.sidecars]"),
        ),
        (&["--specpath"], true, Some("the crate writes the spec into its own cache folder")),
        (&["--upx-dir"], true, Some("a build option, not part of the spec the crate builds from")),
        (&["--log-level"], true, Some("a build option, not part of the spec the crate builds from")),
        (&["-h", "--help"], false, Some("it does not build anything")),
        (&["-v", "--version"], false, Some("it does not build anything")),
    ];
    let mut out = Options::default();
    let mut refused = Vec::new();
    let mut args = options.iter();
    while let Some(arg) = args.next() {
        // `--distpath=bin`, `-nmain` (a short option's value attached).
        let (flag, attached) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => match OWNED.iter().find(|(names, value, _)| {
                *value && names.iter().any(|n| n.len() == 2 && arg.len() > 2 && arg.starts_with(n))
            }) {
                Some((names, ..)) => (names[0], Some(&arg[2..])),
                None => (arg.as_str(), None),
            },
        };
        let Some((names, takes_value, why)) = OWNED.iter().find(|(names, ..)| names.contains(&flag)) else {
            out.kept.push(arg.clone());
            continue;
        };
        let value = match (takes_value, attached) {
            (true, None) => args.next().cloned(),
            (_, v) => v.map(str::to_string),
        };
        let written =
            [arg.as_str()].into_iter().chain(value.as_deref().filter(|_| attached.is_none())).collect::<Vec<_>>();
        match why {
            None if names[0] == "-y" => {}
            Some(_) if names[0] == "-D" && onedir => {}
            None => out.ignored.push(written.join(" ")),
            Some(why) => refused.push(format!("`{}` ({why})", names.join("/"))),
        }
    }
    if refused.is_empty() {
        Ok(out)
    } else {
        Err(vec![format!("sidecar `{name}`: {}", refused.join(", "))])
    }
}

/// Every sidecar's options sorted, or one error naming every option that fights the crate.
/// Every sidecar's options sorted (each with whether it is built onedir), or one error naming
/// every option that fights the crate.
pub(crate) fn check_options<'a>(sidecars: impl Iterator<Item = (&'a String, &'a [String], bool)>) -> Result<()> {
    let refused: Vec<String> =
        sidecars.filter_map(|(name, options, onedir)| sort_options(name, options, onedir).err()).flatten().collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Config,
        format!(
            "pyinstaller-build: options in [package.metadata.pyinstaller-build.sidecars] that fight the crate; nothing was built:\n{}\
             Fix: remove them from `options` (the crate takes `-y/--noconfirm`, `--distpath`, `--workpath` and `--clean` \
             as they are and decides those itself).",
            refused.iter().map(|r| format!("  - {r}\n")).collect::<String>()
        ),
    ))
}

/// The one note for the options the crate decided itself, said when the spec is written.
pub(crate) fn ignored_note(name: &str, ignored: &[String], binaries_dir: &Path) -> Option<String> {
    if ignored.is_empty() {
        return None;
    }
    let mut why = Vec::new();
    if ignored.iter().any(|o| o.starts_with("--distpath") || o.starts_with("--workpath")) {
        why.push(format!(
            "the crate decides where PyInstaller writes, and installs the binary into binaries-dir (`{}`)",
            binaries_dir.display()
        ));
    }
    if ignored.iter().any(|o| o == "--clean") {
        why.push("it owns PyInstaller's cache (PYINSTALLER_BUILD_FORCE=1 builds from a clean one)".to_string());
    }
    Some(format!(
        "pyinstaller-build: sidecar `{name}`: left out `{}` from its options: {}",
        ignored.join("`, `"),
        why.join("; ")
    ))
}

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
    /// Written by this build (not the one an earlier build wrote from the same inputs).
    pub written: bool,
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
    for part in
        [MAKESPEC, &req.toolchain.fingerprint(), &req.python_dir.to_string_lossy(), &req.script.to_string_lossy()]
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
        crate::fsutil::write_atomic(&key_file, key.as_bytes(), false)?;
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
    for part in [MAKESPEC.as_bytes(), req.script.as_os_str().as_encoded_bytes(), text.as_bytes()] {
        portable.update(&(part.len() as u64).to_le_bytes()).update(part);
    }
    for option in req.options {
        portable.update(&(option.len() as u64).to_le_bytes()).update(option.as_bytes());
    }
    let portable = portable.finalize().to_hex().to_string();
    Ok(Generated { name: req.name.to_string(), spec, digest, portable, written: !current })
}

fn write_spec(req: &Request, label: &str, spec_dir: &Path, spec: &Path) -> Result<()> {
    crate::pyinstaller::remove_dir(spec_dir)?;
    fs::create_dir_all(spec_dir).at("could not create", spec_dir)?;
    let log = req.dir.join("makespec.log");
    let mut cmd = Command::new(req.python);
    cmd.arg("-c")
        .arg(MAKESPEC)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sort(options: &[&str]) -> std::result::Result<Options, Vec<String>> {
        sort_options("main", &options.iter().map(|o| o.to_string()).collect::<Vec<_>>(), false)
    }

    #[test]
    fn a_pasted_command_line_keeps_what_makes_the_spec_and_drops_what_the_crate_decides() {
        let pasted = [
            "--noconfirm",
            "-c",
            "--hidden-import=uvicorn.logging",
            "--distpath",
            "src-tauri/bin/python",
            "-y",
            "--workpath=build",
            "--clean",
            "--add-data",
            "static:static",
            "-F",
        ];
        let sorted = sort(&pasted).unwrap();
        assert_eq!(sorted.kept, ["-c", "--hidden-import=uvicorn.logging", "--add-data", "static:static", "-F"]);
        assert_eq!(sorted.ignored, ["--distpath src-tauri/bin/python", "--workpath=build", "--clean"]);
        assert_eq!(sort(&["-y"]).unwrap(), Options::default(), "harmless: not even a note");
    }

    #[test]
    fn the_note_says_why_each_is_left_out() {
        let ignored = ["--distpath src-tauri/bin/python".to_string(), "--clean".to_string()];
        let note = ignored_note("main", &ignored, Path::new("/app/src-tauri/bin/python")).unwrap();
        assert!(note.contains("left out `--distpath src-tauri/bin/python`, `--clean`"), "{note}");
        assert!(
            note.contains("binaries-dir (`/app/src-tauri/bin/python`)") && note.contains("PYINSTALLER_BUILD_FORCE=1")
        );
        assert_eq!(ignored_note("main", &[], Path::new("b")), None);
    }

    #[test]
    fn every_option_that_fights_the_crate_is_named_at_once() {
        let err = sort(&["--onedir", "-n", "api", "--clean", "--specpath=specs", "-nother", "--log-level", "DEBUG"])
            .unwrap_err()
            .join("\n");
        assert!(err.starts_with("sidecar `main`: "), "{err}");
        for named in ["`-D/--onedir`", "`-n/--name`", "`--specpath`", "`--log-level`"] {
            assert!(err.contains(named), "{named}: {err}");
        }
        assert_eq!(err.matches("`-n/--name`").count(), 2, "each time it is given: {err}");
        assert!(!err.contains("--clean") && !err.contains("DEBUG"), "{err}");
        assert!(err.contains("set `resource`"), "and where a onedir folder goes: {err}");
    }

    #[test]
    fn onedir_is_what_a_resource_or_extract_once_sidecar_is_built_as() {
        let options = ["--onedir".to_string(), "-c".to_string(), "-D".to_string()];
        assert_eq!(sort_options("main", &options, true).unwrap().kept, ["-c"]);
        assert!(sort_options("main", &options, false).is_err());
    }
}
