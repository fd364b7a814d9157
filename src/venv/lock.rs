//! What the environment is made from: a requirements file, a `pyproject.toml`'s dependencies, or
//! a lockfile (`uv.lock` or `poetry.lock`, beside its `pyproject.toml`), which its own tool
//! exports to pinned, hashed requirements, installed exactly (`--no-deps`).

use super::project::{self, Reader, Selection};
use crate::error::{log_tail, Error, ErrorKind, Result};
use crate::process::{command_line, run_logged, Ended};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The requirements as given.
pub(crate) enum Source {
    /// pip requirement lines (a requirements file, or `[project] dependencies`).
    Requirements(Vec<String>),
    Locked(Locked),
}

/// A lockfile and the project it locks.
pub(crate) struct Locked {
    pub tool: Tool,
    pub lock: PathBuf,
    lock_text: String,
    pyproject: PathBuf,
    pyproject_text: String,
    /// The `extras` and `groups` keys.
    selection: Selection,
}

/// The tool whose resolver reads a lockfile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tool {
    Uv,
    Poetry,
}

impl Tool {
    /// Its name, as a command and a folder.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tool::Uv => "uv",
            Tool::Poetry => "poetry",
        }
    }

    /// What the crate installs from PyPI when it needs the tool: pinned, so every machine
    /// exports a lockfile alike.
    pub(crate) fn packages(self) -> &'static [&'static str] {
        match self {
            Tool::Uv => &["uv==0.13.9"],
            // Poetry 2 exports with a plugin.
            Tool::Poetry => &["poetry==2.5.1", "poetry-plugin-export==1.10.1"],
        }
    }
}

impl Source {
    /// Reads the `requirements` setting's file, with the extras and groups chosen (checked
    /// against what the project declares; a requirements file spells its own).
    pub(crate) fn read(path: &Path, selection: &Selection) -> Result<Source> {
        let text = read(path, "the requirements file")?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tool = match name.as_str() {
            "uv.lock" => Some(Tool::Uv),
            "poetry.lock" => Some(Tool::Poetry),
            _ => None,
        };
        if let Some(tool) = tool {
            let pyproject = path.with_file_name("pyproject.toml");
            let pyproject_text = read(&pyproject, &format!("the pyproject.toml beside `{name}`"))?;
            let locked = Locked {
                tool,
                lock: path.to_path_buf(),
                lock_text: text,
                pyproject,
                pyproject_text,
                selection: selection.clone(),
            };
            project::check(selection, &locked.doc()?, locked.reader(), &locked.pyproject)?;
            return Ok(Source::Locked(locked));
        }
        if name == "pyproject.toml" {
            let mut lines = project::requirements(path, &text, selection)?;
            // As `pip install -e .` or `uv sync` would, the project too (after its
            // dependencies, which are the lines), where it is.
            if project::is_package(&project::parse(path, &text)?, Reader::Standard) {
                lines.push(format!("-e {}", path.parent().unwrap_or(Path::new(".")).display()));
            }
            return Ok(Source::Requirements(lines));
        }
        if *selection != Selection::default() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "pyinstaller-build: the `extras` and `groups` settings choose from a `pyproject.toml`, `uv.lock` or \
                     `poetry.lock`, but `{}` is a requirements file.\n\
                     Fix: write the extras in it (`app[server]`) and remove the settings, or point `requirements` at \
                     the project's lockfile or pyproject.toml.",
                    path.display()
                ),
            ));
        }
        Ok(Source::Requirements(text.lines().map(str::to_string).collect()))
    }

    /// What the environment's identity is made of: the lines, or the lockfile and its project.
    pub(crate) fn key_lines(&self) -> Vec<String> {
        match self {
            Source::Requirements(lines) => lines.clone(),
            Source::Locked(l) => {
                let mut lines = vec![
                    format!("\0{}", l.tool.name()),
                    l.lock_text.clone(),
                    "\0pyproject.toml".into(),
                    l.pyproject_text.clone(),
                ];
                lines.extend(l.selection.key_lines());
                // An editable install points at the project where it is: one environment per
                // checkout (a workspace member's path is relative to it too).
                let local = l.lock_text.contains("editable") || l.lock_text.contains("directory");
                if l.installs_project() || local {
                    lines.push(format!("\0project at {}", l.dir().display()));
                }
                lines
            }
        }
    }

    /// The PyInstaller version it pins exactly (`pyinstaller==5.13.0`, or a lockfile's entry),
    /// if any: checked before anything is installed.
    pub(crate) fn pinned_pyinstaller(&self) -> Option<String> {
        match self {
            Source::Requirements(lines) => lines.iter().find_map(|l| {
                let l = l.split('#').next().unwrap_or("").trim();
                let (name, version) = l.split_once("==")?;
                let version = version.trim_start_matches('=').split([';', ' ', ',']).next()?.trim();
                name.trim().eq_ignore_ascii_case("pyinstaller").then(|| version.to_string())
            }),
            Source::Locked(l) => {
                let doc: toml::Table = l.lock_text.parse().ok()?;
                let packages = doc.get("package")?.as_array()?;
                let entry = packages.iter().find(|p| p.get("name").and_then(|n| n.as_str()) == Some("pyinstaller"))?;
                entry.get("version")?.as_str().map(str::to_string)
            }
        }
    }

    /// Whether the requirements name PyInstaller itself (in any form: `PyInstaller>=6`,
    /// `pyinstaller[hook_testing]==6.22.3`, `pyinstaller @ https://...`), also through the files
    /// they include with `-r` (read relative to `path`'s folder); `None` for a lockfile, whose
    /// export says (it holds only the groups the crate installs).
    pub(crate) fn names_pyinstaller(&self, path: &Path) -> Option<bool> {
        let Source::Requirements(lines) = self else { return None };
        Some(lines_name_pyinstaller(lines, path.parent().unwrap_or(Path::new(".")), 0))
    }

    /// The values of its `-f`/`--find-links` options.
    pub(crate) fn find_links(&self) -> Vec<String> {
        let Source::Requirements(lines) = self else { return Vec::new() };
        let mut out = Vec::new();
        for line in lines {
            let mut words = line.split_whitespace();
            while let Some(w) = words.next() {
                if let Some(v) = w.strip_prefix("--find-links=").or_else(|| w.strip_prefix("-f=")) {
                    out.push(v.to_string());
                } else if w == "-f" || w == "--find-links" {
                    out.extend(words.next().map(str::to_string));
                } else if let Some(v) = w.strip_prefix("-f").filter(|v| !v.is_empty()) {
                    out.push(v.to_string());
                }
            }
        }
        out
    }

    /// Whether the requirements alone determine what is installed: a requirements file whose
    /// every requirement is `name==version` with at least one `--hash` (pip's require-hashes
    /// mode, as `pip-compile --generate-hashes` or `uv pip compile --generate-hashes` write
    /// it), with no other option than where to download from. pip then installs those very
    /// archives, and from the wheels among them it picks by the interpreter's tags alone.
    pub(crate) fn hash_pinned(&self) -> bool {
        let Source::Requirements(lines) = self else { return false };
        let text = lines.join("\n").replace("\\\n", " ");
        let mut any = false;
        for line in text.lines() {
            let line = match line.find(" #").or_else(|| line.starts_with('#').then_some(0)) {
                Some(at) => &line[..at],
                None => line,
            };
            let mut words = line.split_whitespace().peekable();
            let Some(first) = words.next() else { continue };
            if first.starts_with('-') {
                // Where archives come from decides which pinned one is installed: these lines
                // are in the key, and a local link folder by its wheels (`config::find_links`).
                let source = ["-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host"];
                let option = first.split('=').next().unwrap_or(first);
                if !source.contains(&option) && option != "--require-hashes" {
                    return false;
                }
                continue;
            }
            let requirement = line.split(" --hash").next().unwrap_or("").split(';').next().unwrap_or("").trim();
            let Some((name, version)) = requirement.split_once("==") else { return false };
            let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-+!".contains(c));
            if !plain(name.trim()) || version.starts_with('=') || !plain(version.trim()) || version.contains('*') {
                return false;
            }
            if !line.split_whitespace().any(|w| w.starts_with("--hash=sha256:") || w == "--hash") {
                return false;
            }
            any = true;
        }
        any
    }

    /// The files it was read from (the lockfile's project too), for `rerun-if-changed`.
    pub(crate) fn files(path: &Path) -> Vec<PathBuf> {
        let mut files = vec![path.to_path_buf()];
        if path.file_name().is_some_and(|n| n == "uv.lock" || n == "poetry.lock") {
            files.push(path.with_file_name("pyproject.toml"));
        }
        files
    }
}

impl Locked {
    /// The project's folder, where its pyproject.toml is.
    pub(crate) fn dir(&self) -> &Path {
        self.lock.parent().unwrap_or(Path::new("."))
    }

    fn doc(&self) -> Result<toml::Table> {
        project::parse(&self.pyproject, &self.pyproject_text)
    }

    fn reader(&self) -> Reader {
        match self.tool {
            Tool::Uv => Reader::Standard,
            Tool::Poetry => Reader::Poetry,
        }
    }

    /// Whether its tool installs the project itself (`uv sync`, `poetry install`): the crate
    /// then installs it too, editable, after the locked packages.
    pub(crate) fn installs_project(&self) -> bool {
        self.doc().is_ok_and(|doc| project::is_package(&doc, self.reader()))
    }

    /// Writes the locked packages as pinned, hashed requirement lines to `out`, with the tool's
    /// own resolver: `uv export --locked` (every default group, `dev` included), or
    /// `poetry export` with every non-optional group (what `poetry install` installs); with the
    /// `extras` chosen, and the `groups` instead of the default ones when they are chosen
    /// (Poetry's main group always). A lockfile that no longer matches its pyproject.toml is an
    /// error from the tool.
    pub(crate) fn export(&self, tool: &Path, out: &Path, log: &Path) -> Result<()> {
        let dir = self.lock.parent().unwrap_or(Path::new("."));
        let mut cmd = Command::new(tool);
        match self.tool {
            Tool::Uv => {
                cmd.args(["export", "--locked", "--no-emit-project", "--format", "requirements-txt", "--quiet"])
                    .arg("--project")
                    .arg(dir)
                    .arg("--output-file")
                    .arg(out);
                for extra in &self.selection.extras {
                    cmd.args(["--extra", extra]);
                }
                if let Some(groups) = &self.selection.groups {
                    cmd.arg("--no-default-groups");
                    for group in groups {
                        cmd.args(["--group", group]);
                    }
                }
            }
            Tool::Poetry => {
                cmd.arg("--directory").arg(dir).args(["export", "--format", "requirements.txt", "--output"]).arg(out);
                match &self.selection.groups {
                    Some(groups) => {
                        cmd.args(["--only", "main"]);
                        for group in groups.iter().filter(|g| *g != "main") {
                            cmd.args(["--only", group]);
                        }
                    }
                    None => {
                        for group in self.poetry_groups() {
                            cmd.args(["--with", &group]);
                        }
                    }
                }
                for extra in &self.selection.extras {
                    cmd.args(["--extras", extra]);
                }
                // Never a virtual environment of its own in the user's home for an export.
                cmd.env("POETRY_VIRTUALENVS_CREATE", "false");
            }
        }
        cmd.env("PYTHONDONTWRITEBYTECODE", "1").current_dir(dir);
        let ok = matches!(run_logged(&mut cmd, log, None)?, Ended::Exited(s) if s.success());
        if ok && out.is_file() {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::PyInstallerMissing,
            format!(
                "pyinstaller-build: {} could not export `{}`.\nCommand: {}\nLast lines of its log ({}):\n{}\
                 Fix: bring the lockfile up to date with `{}` beside `{}`, then build again.",
                self.tool.name(),
                self.lock.display(),
                command_line(&cmd),
                log.display(),
                log_tail(log, 15),
                if self.tool == Tool::Uv { "uv lock" } else { "poetry lock" },
                self.pyproject.display()
            ),
        ))
    }

    /// Poetry's groups that `poetry install` installs by default: every non-optional one.
    fn poetry_groups(&self) -> Vec<String> {
        let doc: toml::Table = self.pyproject_text.parse().unwrap_or_default();
        let poetry = doc.get("tool").and_then(|t| t.get("poetry"));
        let mut groups: Vec<String> = poetry
            .and_then(|p| p.get("group"))
            .and_then(|g| g.as_table())
            .map(|g| {
                g.iter()
                    .filter(|(_, v)| !v.get("optional").and_then(|o| o.as_bool()).unwrap_or(false))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        if poetry.and_then(|p| p.get("dev-dependencies")).is_some() && !groups.iter().any(|g| g == "dev") {
            groups.push("dev".into());
        }
        groups
    }
}

/// Whether pip requirement `lines` name PyInstaller, or a file they include with `-r` does
/// (relative to `dir`; an unreadable one is pip's error to report).
pub(crate) fn lines_name_pyinstaller(lines: &[String], dir: &Path, depth: usize) -> bool {
    let text = lines.join("\n").replace("\\\n", " ");
    text.lines().any(|line| {
        let line = line.trim();
        let line = match line.find(" #").or_else(|| line.starts_with('#').then_some(0)) {
            Some(at) => line[..at].trim(),
            None => line,
        };
        let include = ["-r", "--requirement"]
            .iter()
            .find_map(|o| line.strip_prefix(o).filter(|rest| rest.starts_with([' ', '=', '\t'])))
            .map(|rest| rest.trim_start_matches(['=', ' ', '\t']));
        if let Some(file) = include {
            // Nested includes are rare; a cycle is not followed forever.
            let included = dir.join(file);
            return depth < 8
                && fs::read_to_string(&included).is_ok_and(|t| {
                    let lines: Vec<String> = t.lines().map(str::to_string).collect();
                    lines_name_pyinstaller(&lines, included.parent().unwrap_or(dir), depth + 1)
                });
        }
        if line.starts_with('-') {
            return false;
        }
        // PEP 508: the name comes first; PEP 503: case, `_` and `.` don't matter.
        let end = line.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(line.len());
        line[..end].to_ascii_lowercase().replace(['_', '.'], "-") == "pyinstaller"
    })
}

fn read(path: &Path, what: &str) -> Result<String> {
    fs::read_to_string(path).map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!(
                "pyinstaller-build: cannot read {what} `{}`: {e}. Fix the `requirements` setting (relative to python-dir).",
                path.display()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requirements_pinned_by_version_and_hash_determine_the_environment() {
        let pinned = |text: &str| Source::Requirements(text.lines().map(str::to_string).collect()).hash_pinned();
        let good = "# via pip-compile --generate-hashes\n--index-url https://pypi.org/simple\n\
                    altgraph==0.17.5 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n    # via pyinstaller\n\
                    packaging==26.3 ; python_version >= \"3.8\" --hash=sha256:cc\n";
        assert!(pinned(good));
        assert!(!pinned(""), "nothing pinned");
        assert!(!pinned("altgraph==0.17.5\n"), "no hash");
        assert!(!pinned("altgraph>=0.17 --hash=sha256:aa\n"), "a range");
        assert!(!pinned("altgraph==0.17.* --hash=sha256:aa\n"), "a wildcard");
        assert!(!pinned("altgraph===0.17.5 --hash=sha256:aa\n"), "arbitrary equality");
        assert!(!pinned(&format!("{good}-r other.txt\n")), "another file");
        assert!(!pinned(&format!("{good}--no-binary :all:\n")), "an option that changes what is installed");
        assert!(!pinned(&format!("{good}-e ./local\n")));
        assert!(!pinned(&format!("{good}app @ https://example.com/app.whl --hash=sha256:dd\n")), "a URL");
    }

    #[test]
    fn pyinstaller_is_named_in_any_form_also_in_an_included_file() {
        let tmp = tempfile::tempdir().unwrap();
        let names = |text: &str| {
            let path = tmp.path().join("requirements.txt");
            fs::write(&path, text).unwrap();
            Source::read(&path, &Selection::default()).unwrap().names_pyinstaller(&path)
        };
        for named in [
            "pyinstaller==6.22.3\n",
            "fastapi\nPyInstaller>=6,<7 ; python_version >= '3.8'\n",
            "pyinstaller[hook_testing]\n",
            "PyInstaller @ https://example.com/pyinstaller-6.22.3-py3-none-any.whl\n",
            "py_installer==1\n",
            "pyinstaller==6.22.3 \\\n    --hash=sha256:aa\n",
        ] {
            assert_eq!(names(named), Some(named != "py_installer==1\n"), "{named}");
        }
        for unnamed in [
            "python-dateutil\n",
            "pyinstaller-hooks-contrib==2026.9\n",
            "# pyinstaller==6.22.3\n",
            "fastapi  # built with pyinstaller\n",
            "-e ./pyinstaller\n",
            "-r missing.txt\n",
        ] {
            assert_eq!(names(unnamed), Some(false), "{unnamed}");
        }
        fs::create_dir_all(tmp.path().join("reqs")).unwrap();
        fs::write(tmp.path().join("reqs/build.txt"), "-r ../base.txt\n").unwrap();
        fs::write(tmp.path().join("base.txt"), "pyinstaller~=6.22\n").unwrap();
        assert_eq!(names("fastapi\n-r reqs/build.txt\n"), Some(true), "through two includes");
        assert_eq!(names("--requirement=base.txt\n"), Some(true));
        let pyproject = tmp.path().join("pyproject.toml");
        fs::write(&pyproject, "[project]\nname = \"a\"\ndependencies = [\"PyInstaller==6.22.3\"]\n").unwrap();
        assert_eq!(Source::read(&pyproject, &Selection::default()).unwrap().names_pyinstaller(&pyproject), Some(true));
    }

    #[test]
    fn a_lockfile_is_read_with_its_pyproject_and_poetry_installs_every_non_optional_group() {
        let tmp = tempfile::tempdir().unwrap();
        let lock = tmp.path().join("poetry.lock");
        fs::write(&lock, "# locked\n").unwrap();
        let err = Source::read(&lock, &Selection::default()).err().unwrap().to_string();
        assert!(err.contains("the pyproject.toml beside `poetry.lock`"), "{err}");
        fs::write(
            tmp.path().join("pyproject.toml"),
            "[tool.poetry.group.dev.dependencies]\npyinstaller = \"6.22.3\"\n[tool.poetry.group.docs]\noptional = true\n\
             [tool.poetry.group.build.dependencies]\nx = \"1\"\n",
        )
        .unwrap();
        let Source::Locked(locked) = Source::read(&lock, &Selection::default()).unwrap() else { panic!("a lockfile") };
        assert_eq!(locked.tool, Tool::Poetry);
        assert_eq!(locked.poetry_groups(), ["build", "dev"]);
        assert_eq!(Source::files(&lock), [lock.clone(), tmp.path().join("pyproject.toml")]);
        let before = Source::Locked(locked).key_lines();
        fs::write(&lock, "# locked again\n").unwrap();
        assert_ne!(
            Source::read(&lock, &Selection::default()).unwrap().key_lines(),
            before,
            "a changed lockfile is a new environment"
        );
    }
}
