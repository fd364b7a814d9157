//! The Python project a `pyproject.toml` describes, as its own tool reads it: the extras and
//! dependency groups it declares (for the `extras` and `groups` keys), whether it is a package
//! its tool would install itself, and its dependencies when `requirements` names it.

use crate::error::{Error, ErrorKind, Result};
use std::path::Path;

/// Which extras and dependency groups to install besides the main dependencies (the `extras`
/// and `groups` keys); `groups: None` is the tool's default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    pub extras: Vec<String>,
    pub groups: Option<Vec<String>>,
}

impl Selection {
    /// What it adds to the environment's identity: nothing when it is the default, so the
    /// environments made before the keys existed keep their names.
    pub(crate) fn key_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if !self.extras.is_empty() {
            lines.push(format!("\0extras {}", self.extras.join(",")));
        }
        if let Some(groups) = &self.groups {
            lines.push(format!("\0groups {}", groups.join(",")));
        }
        lines
    }

    fn is_default(&self) -> bool {
        self.extras.is_empty() && self.groups.is_none()
    }
}

/// The tool whose view of the project counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reader {
    /// `uv` (`uv.lock`), and pip or uv for a `pyproject.toml` named as requirements.
    Standard,
    Poetry,
}

/// Parses a pyproject.toml, naming it in the error.
pub(crate) fn parse(path: &Path, text: &str) -> Result<toml::Table> {
    text.parse().map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!("pyinstaller-build: `{}` is not valid TOML: {e}Fix the file, then build again.", path.display()),
        )
    })
}

fn table<'a>(doc: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Table> {
    path.iter().try_fold(doc, |t, k| t.get(*k).and_then(|v| v.as_table()))
}

fn keys(t: Option<&toml::Table>) -> Vec<String> {
    t.map(|t| t.keys().cloned().collect()).unwrap_or_default()
}

/// PEP 503: `My_Extra` and `my-extra` are one name.
fn normalized(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// The extras the project declares (`[project.optional-dependencies]`, Poetry's `[tool.poetry.extras]`).
pub(crate) fn extras(doc: &toml::Table) -> Vec<String> {
    let mut out = keys(table(doc, &["project", "optional-dependencies"]));
    out.extend(keys(table(doc, &["tool", "poetry", "extras"])));
    out
}

/// The dependency groups the project declares: PEP 735 `[dependency-groups]` and uv's
/// `dev-dependencies` (as `dev`), or Poetry's `[tool.poetry.group.*]` and `dev-dependencies`.
pub(crate) fn groups(doc: &toml::Table, reader: Reader) -> Vec<String> {
    let mut out = Vec::new();
    match reader {
        Reader::Standard => {
            out.extend(keys(table(doc, &["dependency-groups"])));
            if table(doc, &["tool", "uv"]).is_some_and(|uv| uv.contains_key("dev-dependencies")) {
                out.push("dev".into());
            }
        }
        Reader::Poetry => {
            out.extend(keys(table(doc, &["tool", "poetry", "group"])));
            if table(doc, &["tool", "poetry"]).is_some_and(|p| p.contains_key("dev-dependencies")) {
                out.push("dev".into());
            }
            out.push("main".into());
        }
    }
    out
}

/// Checks that every extra and group `selection` names is declared, before anything is
/// installed: an unknown one is a typo, and each tool reports it its own way (or not at all).
pub(crate) fn check(selection: &Selection, doc: &toml::Table, reader: Reader, path: &Path) -> Result<()> {
    let unknown = |wanted: &[String], have: &[String], key: &str| -> Result<()> {
        let have_n: Vec<String> = have.iter().map(|h| normalized(h)).collect();
        let missing: Vec<&String> = wanted.iter().filter(|w| !have_n.contains(&normalized(w))).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let declared = match have.iter().filter(|h| *h != "main").count() {
            0 => "none".to_string(),
            _ => have.iter().filter(|h| *h != "main").map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", "),
        };
        Err(Error::new(
            ErrorKind::Config,
            format!(
                "pyinstaller-build: the `{key}` setting names {} that `{}` does not declare (it declares: {declared}).\n\
                 Fix: name only declared ones in `{key}`, or add the missing one to the project.",
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
                path.display()
            ),
        ))
    };
    unknown(&selection.extras, &extras(doc), "extras")?;
    if let Some(wanted) = &selection.groups {
        unknown(wanted, &groups(doc, reader), "groups")?;
    }
    Ok(())
}

/// Whether the project's tool installs the project itself (`uv sync`, `poetry install`): a uv
/// project when it has a `[build-system]` (or `tool.uv.package = true`), a Poetry project
/// unless `package-mode = false`, and with a `[build-system]` that pip can build it with.
pub(crate) fn is_package(doc: &toml::Table, reader: Reader) -> bool {
    let build_system = doc.contains_key("build-system");
    match reader {
        Reader::Standard => table(doc, &["tool", "uv"])
            .and_then(|uv| uv.get("package"))
            .and_then(|p| p.as_bool())
            .unwrap_or(build_system),
        Reader::Poetry => {
            let mode = table(doc, &["tool", "poetry"]).and_then(|p| p.get("package-mode")).and_then(|m| m.as_bool());
            build_system && mode != Some(false)
        }
    }
}

/// The requirement lines of a `pyproject.toml` named as `requirements`: `[project]
/// dependencies`, with the selected extras' (`[project.optional-dependencies]`, following the
/// project's references to its own extras) and groups' (PEP 735 `[dependency-groups]`, following
/// `include-group`).
pub(crate) fn requirements(path: &Path, text: &str, selection: &Selection) -> Result<Vec<String>> {
    let doc = parse(path, text)?;
    let project = table(&doc, &["project"]);
    let dynamic = project
        .and_then(|p| p.get("dynamic"))
        .and_then(|d| d.as_array())
        .is_some_and(|d| d.iter().any(|v| v.as_str() == Some("dependencies")));
    let deps = project.and_then(|p| p.get("dependencies"));
    let poetry = table(&doc, &["tool", "poetry", "dependencies"]).is_some();
    let strings = |v: Option<&toml::Value>| -> Option<Vec<String>> {
        v?.as_array()?.iter().map(|s| s.as_str().map(str::to_string)).collect()
    };
    let mut lines = match (strings(deps), deps) {
        (Some(lines), _) => lines,
        // A project without dependencies has none (PEP 621), unless its tool fills them in.
        (None, None) if project.is_some() && !dynamic && !poetry => Vec::new(),
        _ => return Err(not_standard(path, dynamic, poetry)),
    };
    check(selection, &doc, Reader::Standard, path)?;
    if selection.is_default() {
        return Ok(lines);
    }
    let own = project.and_then(|p| p.get("name")).and_then(|n| n.as_str()).map(normalized);
    let optional = table(&doc, &["project", "optional-dependencies"]);
    let mut extras: Vec<String> = selection.extras.iter().map(|e| normalized(e)).collect();
    let mut done = 0;
    // `app[b]` among `app`'s own extras means extra `b` too (pip resolves it so).
    while done < extras.len() {
        let extra = extras[done].clone();
        done += 1;
        let entry = optional.and_then(|o| o.iter().find(|(k, _)| normalized(k) == extra)).map(|(_, v)| v);
        for line in strings(entry).unwrap_or_default() {
            match self_extras(&line, own.as_deref()) {
                Some(more) => extras.extend(more.into_iter().filter(|m| !extras.contains(m)).collect::<Vec<_>>()),
                None => lines.push(line),
            }
        }
    }
    let declared = table(&doc, &["dependency-groups"]);
    let mut groups: Vec<String> = selection.groups.iter().flatten().map(|g| normalized(g)).collect();
    let mut done = 0;
    while done < groups.len() {
        let group = groups[done].clone();
        done += 1;
        let entry = declared.and_then(|d| d.iter().find(|(k, _)| normalized(k) == group)).map(|(_, v)| v);
        for item in entry.and_then(|e| e.as_array()).into_iter().flatten() {
            match (item.as_str(), item.get("include-group").and_then(|g| g.as_str())) {
                (Some(line), _) => lines.push(line.to_string()),
                (None, Some(include)) if !groups.contains(&normalized(include)) => groups.push(normalized(include)),
                _ => {}
            }
        }
    }
    Ok(lines)
}

/// The extras of `line` when it names the project itself (`app[b,c]`).
fn self_extras(line: &str, own: Option<&str>) -> Option<Vec<String>> {
    let end = line.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(line.len());
    if Some(normalized(&line[..end]).as_str()) != own {
        return None;
    }
    let rest = line[end..].trim_start().strip_prefix('[')?;
    let inner = rest.split(']').next()?;
    Some(inner.split(',').map(|e| normalized(e.trim())).filter(|e| !e.is_empty()).collect())
}

/// A pyproject.toml whose dependencies only its tool (Poetry, or a build backend) knows.
fn not_standard(path: &Path, dynamic: bool, poetry: bool) -> Error {
    let dir = path.parent().unwrap_or(Path::new("."));
    let why = match (poetry, dynamic) {
        (true, _) => "declares its dependencies in `[tool.poetry.dependencies]`, which only Poetry reads",
        (false, true) => {
            "declares its dependencies as dynamic (`dynamic = [\"dependencies\"]`): its build backend fills them in"
        }
        (false, false) => "has no `[project] dependencies` array of strings",
    };
    let fix = if poetry {
        let lock = dir.join("poetry.lock");
        let have = if lock.is_file() { "" } else { " (run `poetry lock` beside it first)" };
        format!("point `requirements` at the lockfile, `{}`{have}, with `extras`/`groups` as needed", lock.display())
    } else if dir.join("uv.lock").is_file() {
        format!("point `requirements` at the lockfile, `{}`", dir.join("uv.lock").display())
    } else {
        "list the dependencies in `[project] dependencies`, or point `requirements` at a requirements file or a \
         lockfile (`uv.lock`, `poetry.lock`)"
            .to_string()
    };
    Error::new(ErrorKind::Config, format!("pyinstaller-build: `{}` {why}.\nFix: {fix}.", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(extras: &[&str], groups: Option<&[&str]>) -> Selection {
        Selection {
            extras: extras.iter().map(|s| s.to_string()).collect(),
            groups: groups.map(|g| g.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn a_pyprojects_extras_and_groups_add_their_requirements() {
        let text = "[project]\nname = \"My_App\"\ndependencies = [\"fastapi\"]\n\
                    [project.optional-dependencies]\nserver = [\"uvicorn\", \"my-app[tls]\"]\ntls = [\"certifi\"]\n\
                    [dependency-groups]\nbuild = [\"pyinstaller==6.22.3\", {include-group = \"lint\"}]\nlint = [\"ruff\"]\n";
        let path = Path::new("pyproject.toml");
        assert_eq!(requirements(path, text, &Selection::default()).unwrap(), ["fastapi"]);
        assert_eq!(
            requirements(path, text, &sel(&["Server"], Some(&["build"]))).unwrap(),
            ["fastapi", "uvicorn", "certifi", "pyinstaller==6.22.3", "ruff"]
        );
        let err = requirements(path, text, &sel(&["gui"], None)).unwrap_err().to_string();
        assert!(err.contains("`extras` setting names `gui`") && err.contains("declares: `server`, `tls`"), "{err}");
        assert!(requirements(path, text, &sel(&[], Some(&["docs"]))).is_err());
        // No dependencies at all is none.
        assert!(requirements(path, "[project]\nname = \"a\"\n", &Selection::default()).unwrap().is_empty());
    }

    #[test]
    fn a_poetry_or_dynamic_pyproject_points_to_its_lockfile() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("pyproject.toml");
        let poetry =
            "[project]\nname = \"a\"\ndynamic = [\"dependencies\"]\n[tool.poetry.dependencies]\nflask = \"^3\"\n";
        let err = requirements(&path, poetry, &Selection::default()).unwrap_err().to_string();
        assert!(err.contains("`[tool.poetry.dependencies]`, which only Poetry reads"), "{err}");
        assert!(err.contains("poetry.lock`") && err.contains("run `poetry lock`"), "{err}");
        std::fs::write(tmp.path().join("poetry.lock"), "").unwrap();
        let err = requirements(&path, poetry, &Selection::default()).unwrap_err().to_string();
        assert!(!err.contains("run `poetry lock`"), "{err}");
        let dynamic = "[project]\nname = \"a\"\ndynamic = [\"dependencies\"]\n";
        let err = requirements(&path, dynamic, &Selection::default()).unwrap_err().to_string();
        assert!(err.contains("dynamic") && err.contains("requirements file"), "{err}");
    }

    #[test]
    fn the_project_is_a_package_as_its_tool_says() {
        let doc = |t: &str| -> toml::Table { t.parse().unwrap() };
        let backend = "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n";
        assert!(is_package(&doc(backend), Reader::Standard));
        assert!(!is_package(&doc("[project]\nname = \"a\"\n"), Reader::Standard));
        assert!(!is_package(&doc(&format!("{backend}[tool.uv]\npackage = false\n")), Reader::Standard));
        assert!(is_package(&doc(backend), Reader::Poetry));
        assert!(!is_package(&doc(&format!("{backend}[tool.poetry]\npackage-mode = false\n")), Reader::Poetry));
        let groups =
            doc("[tool.poetry.group.build.dependencies]\nx = \"1\"\n[tool.poetry.dev-dependencies]\ny = \"1\"\n");
        assert_eq!(super::groups(&groups, Reader::Poetry), ["build", "dev", "main"]);
        assert!(check(&sel(&[], Some(&["main", "build"])), &groups, Reader::Poetry, Path::new("p")).is_ok());
    }
}
