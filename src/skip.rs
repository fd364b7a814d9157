//! `PYINSTALLER_BUILD_SKIP=1`: build nothing, but leave the build working.
//!
//! `tauri_build::build()` fails when an `externalBin` file is missing, so on a fresh clone a
//! skipped build (rust-analyzer, a lint job, a check for another platform) would break the build
//! script. Each sidecar that is not installed gets a placeholder at its path instead: a file that,
//! run, exits non-zero saying it was skipped. It is never stored or stamped, so the next real
//! build replaces it; a file already there (a real sidecar, or an earlier placeholder) is never
//! touched. Names come from each spec's `EXE(name='...')` literal, else from the spec's last build
//! in the crate's cache: no Python runs.

use crate::error::{Error, ErrorKind, IoContext, Result};
pub(crate) use crate::placeholder::{is_placeholder, placeholder_text};
use crate::project::spec_stem;
use crate::workdir::SpecDir;
use std::fs;
use std::path::{Path, PathBuf};

/// One sidecar of a skipped build.
pub(crate) struct Skipped {
    pub spec: String,
    pub name: String,
    pub installed: PathBuf,
    /// The file at `installed` is a placeholder (written now or by an earlier skipped build).
    pub placeholder: bool,
}

/// What a skipped build needs to know about the project.
pub(crate) struct Request<'a> {
    /// Where the sidecar of a key (a spec's file name without `.spec`, or a sidecar's key) whose
    /// output is named so goes (placement.rs).
    pub place: &'a dyn Fn(&str, &str) -> crate::placement::Place,
    pub python_dir: &'a Path,
    pub specs: &'a [String],
    /// The names of the sidecars without a spec file.
    pub sidecars: &'a [String],
    pub project_cache: &'a Path,
    /// A release build, or a `tauri build`: a placeholder would end up in a bundle.
    pub release: bool,
    /// The target triple (a resource folder's program is `<name>.exe` on Windows).
    pub target: &'a str,
}

/// Puts a placeholder where each missing sidecar belongs. Returns the sidecars, and one message
/// per spec whose name could not be found. In a release build a missing sidecar or a placeholder
/// is an error instead: a bundle must never ship one.
pub(crate) fn run(req: &Request) -> Result<(Vec<Skipped>, Vec<String>)> {
    let mut sidecars = Vec::new();
    let mut unnamed = Vec::new();
    let specs = spec_files(req.python_dir, req.specs).into_iter().map(|spec| {
        let text = fs::read_to_string(req.python_dir.join(&spec)).unwrap_or_default();
        let name = exe_name(&text)
            .or_else(|| SpecDir::new(req.project_cache, &spec_stem(&spec)).read_state().map(|s| s.binary))
            .map(|n| n.strip_suffix(".exe").map(str::to_string).unwrap_or(n));
        (spec, name)
    });
    // A sidecar without a spec file is named by its key.
    let sidecars_without_spec = req.sidecars.iter().map(|n| (n.clone(), Some(n.clone())));
    for (spec, name) in specs.chain(sidecars_without_spec) {
        let Some(name) = name else {
            unnamed.push(format!(
                "pyinstaller-build: no placeholder for `{spec}`: its EXE(name=...) is not a string literal and it was \
                 never built here, so its sidecar's name is unknown (tauri-build may report it missing). Fix: write \
                 `name='...'` as a literal in its EXE(...), or build once without PYINSTALLER_BUILD_SKIP."
            ));
            continue;
        };
        let key = match req.sidecars.contains(&spec) {
            true => spec.clone(),
            false => spec_stem(&spec),
        };
        let crate::placement::Place { name, path: installed, folder } = (req.place)(&key, &name);
        // A resource folder must exist for tauri-build: one holding a placeholder program.
        let program = match folder {
            true => installed.join(crate::onedir::program_file(&name, req.target)),
            false => installed.clone(),
        };
        let placeholder = if program.exists() { is_placeholder(&program) } else { !req.release };
        if placeholder && !req.release {
            write_placeholder(&program, &name)?;
        }
        // A resource folder without its program is as missing as an absent binary.
        let placeholder = placeholder || !program.exists();
        sidecars.push(Skipped { spec, name, installed, placeholder });
    }
    if req.release {
        let missing: Vec<String> = sidecars
            .iter()
            .filter(|s| !s.installed.exists() || s.placeholder)
            .map(|s| format!("  - {} (`{}`)", s.installed.display(), s.spec))
            .collect();
        if !missing.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "pyinstaller-build: PYINSTALLER_BUILD_SKIP is set for a release build, but these sidecars are \
                     not built (missing, or a placeholder from a skipped build), so the bundle would ship without \
                     them:\n{}\nFix: unset PYINSTALLER_BUILD_SKIP so they are built, or put the real binaries at \
                     these paths.",
                    missing.join("\n")
                ),
            ));
        }
    }
    Ok((sidecars, unnamed))
}

/// The specs, as the full build finds them (every `*.spec` in python-dir by default), without
/// scanning the project. A pattern matching nothing is simply absent: skipping never fails on it.
fn spec_files(python_dir: &Path, patterns: &[String]) -> Vec<String> {
    let default = ["*.spec".to_string()];
    let patterns = if patterns.is_empty() { &default[..] } else { patterns };
    let mut specs = std::collections::BTreeSet::new();
    for pattern in patterns {
        let full = python_dir.join(pattern);
        for m in glob::glob(&full.to_string_lossy()).into_iter().flatten().flatten() {
            if m.is_file() {
                specs.insert(m.strip_prefix(python_dir).unwrap_or(&m).to_string_lossy().replace('\\', "/"));
            }
        }
    }
    specs.into_iter().collect()
}

/// Writes the placeholder without ever replacing a file: a real build may install the sidecar at
/// the same moment, and must win.
fn write_placeholder(dest: &Path, name: &str) -> Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).at("could not create", dir)?;
    let tmp = dir.join(format!(".placeholder.{}.tmp", crate::fsutil::unique()));
    fs::write(&tmp, placeholder_text(name)).at("could not write", &tmp)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).at("could not set permissions of", &tmp)?;
    }
    // A hard link fails if `dest` exists, where a rename would replace it.
    let linked = fs::hard_link(&tmp, dest);
    let _ = fs::remove_file(&tmp);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e).at("could not create", dest),
        _ => Ok(()),
    }
}

/// The `name='...'` literal of the spec's `EXE(...)` call, if there is exactly one such call and
/// its name is a plain string literal.
pub(crate) fn exe_name(spec: &str) -> Option<String> {
    let code = strip_comments(spec);
    let bytes = code.as_bytes();
    let mut names = Vec::new();
    let mut at = 0;
    while let Some(found) = code[at..].find("EXE(") {
        let start = at + found;
        at = start + 4;
        let word_before = start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if word_before {
            continue;
        }
        names.push(call_name(&code[at..]));
    }
    match names.as_slice() {
        [Some(name)] => Some(name.clone()),
        _ => None,
    }
}

/// The `name=` keyword's literal among a call's top-level arguments (`args` starts after `(`).
fn call_name(args: &str) -> Option<String> {
    let bytes = args.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' if depth == 0 => return None,
            b')' | b']' | b'}' => depth -= 1,
            b'\'' | b'"' => i = string_end(bytes, i)?,
            b'n' if depth == 0 && args[i..].starts_with("name") => {
                let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
                let rest = args[i + 4..].trim_start();
                if boundary && rest.starts_with('=') && !rest.starts_with("==") {
                    return literal(rest[1..].trim_start());
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A plain (or `r`/`u`-prefixed) single-line string literal at the start of `s`, with no
/// escapes: anything else the crate does not evaluate.
fn literal(s: &str) -> Option<String> {
    let s = s.strip_prefix(['r', 'R', 'u', 'U']).unwrap_or(s);
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = &s[1..];
    let end = body.find(quote)?;
    let value = &body[..end];
    let after = body[end + 1..].trim_start();
    let ends_argument = after.is_empty() || after.starts_with(',') || after.starts_with(')');
    (!value.is_empty() && !value.contains(['\\', '\n']) && ends_argument).then(|| value.to_string())
}

/// Where the string literal starting at `bytes[start]` ends (its closing quote).
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b if b == quote => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The spec without `#` comments (outside strings), so a commented-out call does not count.
fn strip_comments(spec: &str) -> String {
    spec.lines()
        .map(|line| {
            let bytes = line.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'#' => return &line[..i],
                    b'\'' | b'"' => match string_end(bytes, i) {
                        Some(end) => i = end,
                        None => return line,
                    },
                    _ => {}
                }
                i += 1;
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_exe_name_literal_and_nothing_it_would_have_to_evaluate() {
        let stock = "a = Analysis(['w.py'])\npyz = PYZ(a.pure)\nexe = EXE(pyz, a.scripts, [],\n    \
                     exclude_binaries=False, name='worker', debug=False, console=True)\n";
        assert_eq!(exe_name(stock).as_deref(), Some("worker"));
        assert_eq!(exe_name("exe = EXE(pyz, name = \"my-tool\" , upx=True)").as_deref(), Some("my-tool"));
        assert_eq!(exe_name("exe = EXE(pyz, name=r'x')").as_deref(), Some("x"));
        // A keyword inside a nested call, or a string mentioning `name=`, is not the EXE's name.
        assert_eq!(exe_name("exe = EXE(pyz, f(name='no'), 'name=no', name='yes')").as_deref(), Some("yes"));
        assert_eq!(exe_name("# exe = EXE(pyz, name='old')\nexe = EXE(pyz, name='new')").as_deref(), Some("new"));
        assert_eq!(exe_name("exe = EXE(pyz, name='a' + SUFFIX)"), None, "evaluated: unknown");
        assert_eq!(exe_name("exe = EXE(pyz, name=NAME)"), None);
        assert_eq!(exe_name("exe = EXE(pyz, name=f'{x}')"), None);
        assert_eq!(exe_name("EXE(pyz, name='a')\nEXE(pyz, name='b')"), None, "two executables: ambiguous");
        assert_eq!(exe_name("exe = MyEXE(pyz, name='a')"), None);
        assert_eq!(exe_name("exe = EXE(pyz, basename='a')"), None);
        assert_eq!(exe_name("exe = EXE(pyz, name='a.exe')").as_deref(), Some("a.exe"));
    }

    #[test]
    fn a_placeholder_is_written_only_where_nothing_is() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("bin").join("worker-x86_64-unknown-linux-gnu");
        write_placeholder(&dest, "worker").unwrap();
        assert!(is_placeholder(&dest));
        fs::write(&dest, b"real sidecar").unwrap();
        write_placeholder(&dest, "worker").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"real sidecar", "an existing file is never replaced");
        assert!(!is_placeholder(&dest));
        assert_eq!(fs::read_dir(dest.parent().unwrap()).unwrap().count(), 1, "no temp file left");
    }

    #[cfg(unix)]
    #[test]
    fn a_placeholder_run_says_it_was_skipped_and_fails() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("worker-x86_64-unknown-linux-gnu");
        write_placeholder(&dest, "worker").unwrap();
        let out = std::process::Command::new(&dest).arg("--version").output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("worker: this is a pyinstaller-build placeholder"), "{stderr}");
        assert!(stderr.contains("PYINSTALLER_BUILD_SKIP"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}
