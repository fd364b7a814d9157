//! A broken module never ships: project modules that would not make it into the binary.
//!
//! PyInstaller does not fail on a project module that does not compile: it lists it as an
//! "invalid module" in its warn file, leaves it out, and the binary fails when it imports it
//! (with a `ModuleNotFoundError`, or a circular-import `ImportError`, never the syntax error).
//! Nor does it fail on an import it could not resolve. So:
//!
//! * before PyInstaller or the fast path runs, [`compile_all`] compiles every project module in
//!   the build's interpreter (only those not known to compile already) and fails with
//!   `file:line:col`, the compiler's message and the line;
//! * after PyInstaller, [`check_warnings`] reads its `warn-<name>.txt`: a project module listed as
//!   invalid, or a module a project module imports at top level that was not found, fails the
//!   build before the binary is smoke-tested or installed (the latter a warning with
//!   `allow-missing-imports`). Imports in a function, a `try` or an `if` are optional and stay
//!   quiet.

use crate::build_support::COMPILE_CHECK;
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::hashing::hex;
use crate::project::Project;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One module the compiler rejected.
#[derive(Debug, Deserialize)]
struct CompileError {
    path: PathBuf,
    line: Option<u64>,
    col: Option<u64>,
    end_col: Option<u64>,
    msg: String,
    text: Option<String>,
}

/// The hashes of project modules known to compile with one interpreter, kept in the project's
/// cache folder, so a build compiles only what changed.
#[derive(Default, Deserialize, Serialize)]
struct Compiled {
    /// The interpreter's path and version.
    toolchain: String,
    ok: BTreeSet<String>,
}

/// Compiles every project `.py` file not known to compile with this interpreter (`toolchain`:
/// its path and version); an error names each one that does not, and says nothing was built.
pub(crate) fn compile_all(
    project: &Project,
    python: &Path,
    env: &[(String, Option<String>)],
    toolchain: &str,
    project_cache: &Path,
) -> Result<()> {
    let record = project_cache.join("compiled.json");
    let known: Compiled = fs::read(&record)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|c: &Compiled| c.toolchain == toolchain)
        .unwrap_or_default();
    let modules: Vec<(&String, String)> =
        project.files.iter().filter(|(f, _)| f.ends_with(".py")).map(|(f, h)| (f, hex(h))).collect();
    let todo: Vec<PathBuf> =
        modules.iter().filter(|(_, h)| !known.ok.contains(h)).map(|(f, _)| project.path(f)).collect();
    if todo.is_empty() {
        return Ok(());
    }
    let scratch = project_cache.join(format!("compile-{}", crate::fsutil::unique()));
    fs::create_dir_all(&scratch).at("could not create", &scratch)?;
    let errors = run_helper(&scratch, python, env, &todo);
    let _ = fs::remove_dir_all(&scratch);
    let errors = errors?;
    if errors.is_empty() {
        let ok = modules.into_iter().map(|(_, h)| h).collect();
        let bytes = serde_json::to_vec(&Compiled { toolchain: toolchain.to_string(), ok }).expect("serializable");
        // Only a time saver: a failed write costs a recompile next time.
        let _ = crate::fsutil::write_atomic(&record, &bytes, false);
        return Ok(());
    }
    Err(Error::new(ErrorKind::BrokenModule, compile_message(project, python, &errors)))
}

fn run_helper(
    scratch: &Path,
    python: &Path,
    env: &[(String, Option<String>)],
    paths: &[PathBuf],
) -> Result<Vec<CompileError>> {
    let (request, answer) = (scratch.join("request.json"), scratch.join("errors.json"));
    fs::write(&request, serde_json::to_vec(paths).expect("serializable")).at("could not write", &request)?;
    let mut cmd = Command::new(python);
    // Its own folder as the cwd, so no project module shadows the helper's imports.
    cmd.arg("-c").arg(COMPILE_CHECK).arg(&request).arg(&answer).current_dir(scratch);
    crate::pyinstaller::build_env(&mut cmd, env);
    let output = cmd.output().at("could not run", python)?;
    let parsed = fs::read(&answer).ok().and_then(|b| serde_json::from_slice(&b).ok());
    match parsed {
        Some(errors) if output.status.success() => Ok(errors),
        _ => Err(Error::new(
            ErrorKind::BuildFailed,
            format!(
                "pyinstaller-build: could not check that the project's modules compile: `{}` failed ({}): {}",
                python.display(),
                output.status,
                crate::process::last_line(&output.stderr)
            ),
        )),
    }
}

fn compile_message(project: &Project, python: &Path, errors: &[CompileError]) -> String {
    let mut text = format!(
        "pyinstaller-build: {} not compile. PyInstaller would leave {} out of the sidecar without failing, \
         and the sidecar would fail when it imports {}:\n",
        match errors.len() {
            1 => "a project module does".to_string(),
            n => format!("{n} project modules do"),
        },
        if errors.len() == 1 { "it" } else { "them" },
        if errors.len() == 1 { "it" } else { "one" },
    );
    for e in errors.iter().take(10) {
        let rel = project.relative(&e.path).unwrap_or_else(|| e.path.display().to_string());
        let at = match (e.line, e.col) {
            (Some(l), Some(c)) => format!("{rel}:{l}:{c}"),
            (Some(l), None) => format!("{rel}:{l}"),
            _ => rel,
        };
        text.push_str(&format!("\n  {at}: {}\n", e.msg));
        if let (Some(line), Some(source)) = (e.line, e.text.as_deref()) {
            text.push_str(&excerpt(line, source, e.col, e.end_col));
        }
    }
    if errors.len() > 10 {
        text.push_str(&format!("\n  ... and {} more\n", errors.len() - 10));
    }
    text.push_str(&format!(
        "\nNothing was built and nothing recorded; the installed sidecars were left in place.\n\
         Fix: correct the {} above (checked with `{}`, the build's interpreter), then build again.",
        if errors.len() == 1 { "line" } else { "lines" },
        python.display()
    ));
    text
}

/// The offending line with a caret under the error, as Python prints it.
fn excerpt(line: u64, source: &str, col: Option<u64>, end_col: Option<u64>) -> String {
    let source = source.trim_end_matches(['\n', '\r']);
    let number = line.to_string();
    let mut out = format!("  {number} | {source}\n");
    if let Some(col) = col.filter(|c| *c >= 1) {
        let width = end_col.filter(|e| *e > col).map_or(1, |e| e - col) as usize;
        // The caret lines up under tabs too.
        let pad: String = source.chars().take(col as usize - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        out.push_str(&format!("  {} | {pad}{}\n", " ".repeat(number.len()), "^".repeat(width.min(80))));
    }
    out
}

/// One line of PyInstaller's warn file: `<status> module named <name> - imported by <importer>
/// (<kinds>), ...`, as `Analysis._write_warnings` writes it.
#[derive(Debug, PartialEq, Eq)]
struct Warning {
    status: String,
    module: String,
    /// Each importer (a dotted module name, or a script's absolute path) and whether its import
    /// is at the top level (neither in a function, nor a `try`, nor an `if`).
    importers: Vec<(String, bool)>,
}

fn parse(text: &str) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for line in text.lines() {
        let Some((status, rest)) = line.split_once(" module named ") else { continue };
        if status.contains(' ') {
            continue;
        }
        let Some((module, importers)) = rest.split_once(" - imported by ") else { continue };
        let mut parsed = Vec::new();
        // `name (kinds), name (kinds)`; a script's path may itself hold ", ".
        for part in importers.split("), ") {
            let part = part.strip_suffix(')').unwrap_or(part);
            if let Some((name, kinds)) = part.rsplit_once(" (") {
                parsed.push((name.to_string(), kinds == "top-level"));
            }
        }
        warnings.push(Warning { status: status.to_string(), module: module.to_string(), importers: parsed });
    }
    warnings
}

/// The project file a warn-file name stands for: a script by its path, a module by its dotted
/// name (`pkg.shared` is `pkg/shared.py` or `pkg/shared/__init__.py` in any folder of python-dir).
fn project_file(project: &Project, name: &str) -> Option<String> {
    if Path::new(name).is_absolute() {
        return project.relative(Path::new(name)).filter(|r| project.files.contains_key(r));
    }
    let base = name.replace('.', "/");
    let candidates = [format!("{base}.py"), format!("{base}/__init__.py")];
    let matches = |f: &str, c: &str| f == c || f.ends_with(&format!("/{c}"));
    project.files.keys().find(|f| candidates.iter().any(|c| matches(f, c))).cloned()
}

/// What [`check_warnings`] found that is not an error.
pub(crate) struct Checked {
    /// Missing top-level imports allowed by `allow-missing-imports`, one line each.
    pub allowed: Vec<String>,
}

/// Reads the warn file of the spec's last PyInstaller run (in `work`) and fails on what would
/// break the sidecar: a project module PyInstaller left out as invalid, and (unless `allow`) a
/// module a project module imports at top level that it could not find.
pub(crate) fn check_warnings(
    project: &Project,
    work: &Path,
    label: &str,
    allow: bool,
    requirements: Option<&Path>,
    python: &Path,
) -> Result<Checked> {
    let Some(text) = warn_file(work) else { return Ok(Checked { allowed: vec![] }) };
    let warnings = parse(&text);
    let missing: BTreeSet<&str> =
        warnings.iter().filter(|w| w.status == "missing").map(|w| w.module.as_str()).collect();
    let mut invalid = Vec::new();
    let mut unresolved = Vec::new();
    for w in &warnings {
        let importer = || w.importers.iter().filter(|(_, top)| *top).find_map(|(name, _)| project_file(project, name));
        match w.status.as_str() {
            "invalid" => {
                if let Some(file) = project_file(project, &w.module) {
                    invalid.push(format!("`{}` ({file})", w.module));
                }
            }
            // `from pkg import name` of a package that was found is an attribute, not a module:
            // only a missing top-level package is certainly missing.
            "missing" if w.module.split('.').next().is_some_and(|top| missing.contains(top)) => {
                if let Some(file) = importer() {
                    unresolved.push((w.module.clone(), file));
                }
            }
            _ => {}
        }
    }
    if !invalid.is_empty() {
        return Err(Error::new(
            ErrorKind::BrokenModule,
            format!(
                "pyinstaller-build: PyInstaller left {} of `{label}` out as invalid: {}. The sidecar would fail \
                 when it imports {}.\n\
                 Nothing was installed; the previous binary, if any, was left in place. Its warn file: {}\n\
                 Fix: make the module importable by the build's interpreter (`{} -c \"import {}\"` shows why).",
                if invalid.len() == 1 { "a project module" } else { "project modules" },
                invalid.join(", "),
                if invalid.len() == 1 { "it" } else { "one" },
                warn_path(work).map(|p| p.display().to_string()).unwrap_or_default(),
                python.display(),
                warnings.iter().find(|w| w.status == "invalid").map(|w| w.module.as_str()).unwrap_or_default(),
            ),
        ));
    }
    let lines: Vec<String> =
        unresolved.iter().map(|(module, file)| format!("`{module}`, imported at the top level of {file}")).collect();
    if lines.is_empty() || allow {
        return Ok(Checked { allowed: lines });
    }
    let tops: BTreeSet<&str> = unresolved.iter().filter_map(|(m, _)| m.split('.').next()).collect();
    let fix = match requirements {
        Some(file) => format!(
            "add the distribution that provides {} to `{}` (the crate then installs it into its environment)",
            tops.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
            file.display()
        ),
        None => format!(
            "install the distribution that provides {} into `{}` (the build's interpreter)",
            tops.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
            python.display()
        ),
    };
    Err(Error::new(
        ErrorKind::MissingImport,
        format!(
            "pyinstaller-build: PyInstaller could not find {} that `{label}` imports unconditionally, so the \
             sidecar would fail at start:\n  {}\n\
             Nothing was installed; the previous binary, if any, was left in place. Its warn file: {}\n\
             Fix: {}; or, if the import cannot run where the sidecar runs, move it into a `try`, an `if` or a \
             function; or set `allow-missing-imports = true` in [package.metadata.pyinstaller-build] to make \
             this a warning.",
            if lines.len() == 1 { "a module" } else { "modules" },
            lines.join("\n  "),
            warn_path(work).map(|p| p.display().to_string()).unwrap_or_default(),
            fix
        ),
    ))
}

/// Why the fast path must not take these changed modules (paths relative to python-dir): one of
/// them imports at the top level a package the last PyInstaller build could not find. The
/// archive would be the same (a missing module is in no archive), so the fast path would prove
/// it harmless; but the warn file would now list it (an import moved out of its `try`), and the
/// sidecar fail at start. An optional import of it stays on the fast path.
pub(crate) fn imports_missing(
    project: &Project,
    work: &Path,
    changed: &[&str],
    python: &Path,
    env: &[(String, Option<String>)],
) -> Option<String> {
    let text = warn_file(work)?;
    // Packages that are missing themselves (`x.y` missing under a found `x` may be an attribute).
    let missing: BTreeSet<String> = parse(&text)
        .into_iter()
        .filter(|w| w.status == "missing" && !w.module.contains('.'))
        .map(|w| w.module)
        .collect();
    // Only modules with an import line naming one are asked about (an interpreter start).
    let mut suspects = Vec::new();
    for rel in changed {
        let Ok(source) = fs::read_to_string(project.path(rel)) else {
            return Some(format!("{rel} could not be read"));
        };
        let names_missing = source.lines().map(str::trim_start).any(|line| {
            let code = line.split('#').next().unwrap_or_default();
            (code.starts_with("import ") || code.starts_with("from "))
                && code.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| missing.contains(w))
        });
        if names_missing {
            suspects.push(project.path(rel));
        }
    }
    if suspects.is_empty() {
        return None;
    }
    let found = top_level_imports(python, env, work, &suspects, &missing);
    match found {
        Ok(found) => found.first().map(|(path, module)| {
            let rel = project.relative(path).unwrap_or_else(|| path.display().to_string());
            format!(
                "{rel} imports `{module}` at the top level, which the last PyInstaller build could not find \
                 (PyInstaller checks whether the sidecar can still start)"
            )
        }),
        Err(why) => Some(why),
    }
}

/// `[path, module]` of each top-level import of a `missing` package in `paths` (the helper's
/// `--top-level` mode, in a scratch folder beside the spec's work folder).
fn top_level_imports(
    python: &Path,
    env: &[(String, Option<String>)],
    work: &Path,
    paths: &[PathBuf],
    missing: &BTreeSet<String>,
) -> std::result::Result<Vec<(PathBuf, String)>, String> {
    let scratch = work.with_file_name(format!("imports-{}", crate::fsutil::unique()));
    fs::create_dir_all(&scratch).map_err(|e| format!("could not create {}: {e}", scratch.display()))?;
    let (request, answer) = (scratch.join("request.json"), scratch.join("answer.json"));
    let body = serde_json::json!({"paths": paths, "missing": missing});
    let result = fs::write(&request, body.to_string()).map_err(|e| e.to_string()).and_then(|_| {
        let mut cmd = Command::new(python);
        cmd.arg("-c").arg(COMPILE_CHECK).arg("--top-level").arg(&request).arg(&answer).current_dir(&scratch);
        crate::pyinstaller::build_env(&mut cmd, env);
        let output = cmd.output().map_err(|e| format!("could not run {}: {e}", python.display()))?;
        let parsed = fs::read(&answer).ok().and_then(|b| serde_json::from_slice(&b).ok());
        match parsed {
            Some(found) if output.status.success() => Ok(found),
            // A module that does not parse: the compile check names it.
            _ => Err(format!(
                "could not read the imports of the changed modules: {}",
                crate::process::last_line(&output.stderr)
            )),
        }
    });
    let _ = fs::remove_dir_all(&scratch);
    result
}

/// PyInstaller's `warn-<spec name>.txt` in the spec's work folder (`<workpath>/<name>/`).
fn warn_path(work: &Path) -> Option<PathBuf> {
    let dirs = fs::read_dir(work).ok()?.flatten().filter(|e| e.path().is_dir());
    dirs.flat_map(|d| fs::read_dir(d.path()).into_iter().flatten().flatten())
        .map(|e| e.path())
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("warn-") && n.ends_with(".txt")))
}

fn warn_file(work: &Path) -> Option<String> {
    fs::read_to_string(warn_path(work)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[&str]) -> Project {
        let mut p = Project { root: PathBuf::from("/app/python"), ..Project::default() };
        for f in files {
            p.files.insert(f.to_string(), [0; 32]);
        }
        p
    }

    /// Lines as PyInstaller 6.22.3 wrote them for a script importing a broken package module,
    /// a missing module at top level, in a `try` and in a function.
    const WARN: &str = "\nThis file lists modules PyInstaller was not able to find. ...\n\n\
        missing module named pwd - imported by posixpath (delayed, conditional), shutil (delayed, optional)\n\
        missing module named delayed_xyz - imported by /app/python/main.py (delayed)\n\
        missing module named optional_xyz - imported by /app/python/main.py (optional)\n\
        missing module named notinstalled_xyz - imported by /app/python/main.py (top-level), pkg.util (top-level)\n\
        missing module named pkg.attr - imported by /app/python/main.py (top-level)\n\
        missing module named winreg - imported by importlib._bootstrap_external (top-level), pkg.util (conditional)\n\
        invalid module named pkg.shared - imported by /app/python/main.py (top-level)\n";

    #[test]
    fn parses_pyinstallers_warn_lines() {
        let w = parse(WARN);
        assert_eq!(w.len(), 7);
        assert_eq!(
            w[0],
            Warning {
                status: "missing".into(),
                module: "pwd".into(),
                importers: vec![("posixpath".into(), false), ("shutil".into(), false)]
            }
        );
        assert_eq!(w[3].importers, [("/app/python/main.py".to_string(), true), ("pkg.util".to_string(), true)]);
        assert_eq!(w[6].status, "invalid");
    }

    #[test]
    fn project_files_by_path_or_dotted_name() {
        let p = project(&["main.py", "src/pkg/__init__.py", "src/pkg/shared.py"]);
        assert_eq!(project_file(&p, "/app/python/main.py").as_deref(), Some("main.py"));
        assert_eq!(project_file(&p, "pkg.shared").as_deref(), Some("src/pkg/shared.py"));
        assert_eq!(project_file(&p, "pkg").as_deref(), Some("src/pkg/__init__.py"));
        assert_eq!(project_file(&p, "posixpath"), None);
        assert_eq!(project_file(&p, "/usr/lib/python3/x.py"), None);
    }

    fn check(allow: bool, text: &str) -> Result<Checked> {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("app")).unwrap();
        fs::write(tmp.path().join("app/warn-app.txt"), text).unwrap();
        let p = project(&["main.py", "pkg/__init__.py", "pkg/shared.py", "pkg/util.py"]);
        check_warnings(&p, tmp.path(), "app.spec", allow, Some(Path::new("requirements.txt")), Path::new("py"))
    }

    #[test]
    fn an_invalid_project_module_fails_first() {
        let e = check(true, WARN).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::BrokenModule);
        assert!(e.to_string().contains("`pkg.shared` (pkg/shared.py)"), "{e}");
    }

    #[test]
    fn only_top_level_imports_by_project_modules_of_missing_packages_fail() {
        let text: String = WARN.lines().filter(|l| !l.starts_with("invalid")).map(|l| format!("{l}\n")).collect();
        let e = check(false, &text).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::MissingImport);
        let msg = e.to_string();
        assert!(msg.contains("`notinstalled_xyz`, imported at the top level of main.py"), "{msg}");
        assert!(msg.contains("add the distribution that provides `notinstalled_xyz` to `requirements.txt`"), "{msg}");
        for quiet in ["delayed_xyz", "optional_xyz", "pkg.attr", "winreg", "pwd"] {
            assert!(!msg.contains(quiet), "{quiet} is optional or not the project's: {msg}");
        }
        let allowed = check(true, &text).unwrap().allowed;
        assert_eq!(allowed, ["`notinstalled_xyz`, imported at the top level of main.py"]);
    }

    #[test]
    fn no_warn_file_is_no_finding() {
        let tmp = tempfile::tempdir().unwrap();
        let p = project(&["main.py"]);
        assert!(check_warnings(&p, tmp.path(), "a", false, None, Path::new("py")).unwrap().allowed.is_empty());
    }

    #[test]
    fn the_compile_error_shows_the_line_and_where() {
        let p = project(&["pkg/shared.py"]);
        let e = CompileError {
            path: PathBuf::from("/app/python/pkg/shared.py"),
            line: Some(3),
            col: Some(12),
            end_col: Some(13),
            msg: "invalid syntax".into(),
            text: Some("def broken(:\n".into()),
        };
        let msg = compile_message(&p, Path::new("/env/bin/python"), &[e]);
        assert!(msg.contains("pkg/shared.py:3:12: invalid syntax\n  3 | def broken(:\n    |            ^\n"), "{msg}");
        assert!(msg.contains("installed sidecars were left in place"), "{msg}");
    }

    #[test]
    fn compiles_every_module_once_per_content_with_the_interpreter() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("py");
        fs::create_dir_all(root.join("pkg")).unwrap();
        fs::write(root.join("main.py"), "import pkg.shared\n").unwrap();
        fs::write(root.join("pkg/shared.py"), "x = 1\nif x:\n\tpass\n        pass\n").unwrap();
        let cache = tmp.path().join("cache");
        let python = Path::new("python3");
        let scan = || Project::scan(&root, &[]).unwrap();
        let e = compile_all(&scan(), python, &[], "py 3", &cache).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BrokenModule);
        assert!(e.to_string().contains("pkg/shared.py:4:"), "{e}");
        assert!(!e.to_string().contains("main.py"), "{e}");
        fs::write(root.join("pkg/shared.py"), "x = 1\n").unwrap();
        compile_all(&scan(), python, &[], "py 3", &cache).unwrap();
        // Known to compile: no interpreter runs (this one does not exist)...
        compile_all(&scan(), Path::new("/no/such/python"), &[], "py 3", &cache).unwrap();
        // ...unless the interpreter or a module changed.
        assert!(compile_all(&scan(), Path::new("/no/such/python"), &[], "py 4", &cache).is_err());
        fs::write(root.join("main.py"), "import pkg.shared\nprint(1)\n").unwrap();
        assert!(compile_all(&scan(), Path::new("/no/such/python"), &[], "py 3", &cache).is_err());
    }

    #[test]
    fn the_fast_path_leaves_top_level_imports_of_missing_modules_to_pyinstaller() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("py");
        fs::create_dir_all(root.join("pkg")).unwrap();
        fs::write(root.join("pkg/shared.py"), "import os\nwith open(os.devnull):\n    import notinstalled_xyz\n")
            .unwrap();
        let optional = "try:\n    import notinstalled_xyz\nexcept ImportError:\n    pass\n\
                        def f():\n    import notinstalled_xyz\nif os:\n    from notinstalled_xyz import y\n";
        fs::write(root.join("pkg/optional.py"), format!("import os\n{optional}")).unwrap();
        fs::write(root.join("pkg/other.py"), "import os  # notinstalled_xyz in a comment\nV = 1\n").unwrap();
        let work = tmp.path().join("spec/work");
        fs::create_dir_all(work.join("app")).unwrap();
        fs::write(work.join("app/warn-app.txt"), WARN).unwrap();
        let p = Project::scan(&root, &[]).unwrap();
        let check = |rel: &str| imports_missing(&p, &work, &[rel], Path::new("python3"), &[]);
        let why = check("pkg/shared.py").unwrap();
        assert!(why.contains("pkg/shared.py imports `notinstalled_xyz` at the top level"), "{why}");
        assert_eq!(check("pkg/optional.py"), None);
        assert_eq!(check("pkg/other.py"), None);
        assert_eq!(fs::read_dir(tmp.path().join("spec")).unwrap().count(), 1, "the scratch folder was removed");
    }
}
