//! The Python versions a project declares it runs on (`[project] requires-python`, or Poetry's
//! `[tool.poetry.dependencies] python`), checked against the base interpreter before an
//! environment is made: an installer given the wrong Python skips every requirement whose marker
//! excludes it and leaves an environment without PyInstaller, a minute later.
//!
//! The check only refuses what it can read: a constraint it does not understand passes.

use crate::error::{Error, ErrorKind, Result};
use std::path::Path;

/// A project's Python constraint and where it is written.
pub(crate) struct Declared {
    pub constraint: String,
    /// `[project] requires-python` or `[tool.poetry.dependencies] python`.
    pub key: &'static str,
}

/// The constraint a `pyproject.toml` declares, PEP 621's first.
pub(crate) fn declared(doc: &toml::Table) -> Option<Declared> {
    let project = doc.get("project").and_then(|p| p.get("requires-python")).and_then(|v| v.as_str());
    if let Some(constraint) = project {
        return Some(Declared { constraint: constraint.to_string(), key: "[project] requires-python" });
    }
    let poetry = doc.get("tool")?.get("poetry")?.get("dependencies")?.get("python")?;
    let constraint = poetry.as_str().or_else(|| poetry.get("version")?.as_str())?;
    Some(Declared { constraint: constraint.to_string(), key: "[tool.poetry.dependencies] python" })
}

/// A release as (major, minor, micro).
type Release = [u64; 3];

/// Whether `version` satisfies `constraint` (PEP 440 specifiers, or Poetry's: `^`, `~`, `||`, `*`);
/// `None` when the constraint is not understood.
pub(crate) fn satisfies(constraint: &str, version: Release) -> Option<bool> {
    let mut any = false;
    for alternative in constraint.split("||").flat_map(|a| a.split(" or ")) {
        let clauses: Vec<&str> = alternative.split([',', ' ']).map(str::trim).filter(|c| !c.is_empty()).collect();
        let mut all = true;
        // Poetry writes `>= 3.9` with a space: join an operator alone with what follows it.
        let mut pending: Option<&str> = None;
        for clause in clauses {
            let clause = match pending.take() {
                Some(op) => format!("{op}{clause}"),
                None if clause.chars().all(|c| "<>=!~^".contains(c)) => {
                    pending = Some(clause);
                    continue;
                }
                None => clause.to_string(),
            };
            all &= clause_holds(&clause, version)?;
        }
        if pending.is_some() {
            return None;
        }
        any |= all;
    }
    Some(any)
}

fn clause_holds(clause: &str, v: Release) -> Option<bool> {
    if clause == "*" {
        return Some(true);
    }
    let op_len = clause.find(|c: char| c.is_ascii_digit())?;
    let (op, rest) = clause.split_at(op_len);
    let (rest, wildcard) = match rest.strip_suffix(".*") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let parts: Vec<u64> = rest.split('.').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut at = [0; 3];
    at[..parts.len()].copy_from_slice(&parts);
    // The first `n` components of `v` against `at`'s.
    let prefix = |n: usize| v[..n] == at[..n];
    let bump = |n: usize| {
        // The release after the first `n` components: 3.9 -> 4.0 for n = 1.
        let mut b = [0; 3];
        b[..n].copy_from_slice(&at[..n]);
        b[n - 1] += 1;
        b
    };
    Some(match (op, wildcard) {
        ("==" | "", true) => prefix(parts.len()),
        ("!=", true) => !prefix(parts.len()),
        (_, true) => return None,
        (">=", _) => v >= at,
        (">", _) => v > at,
        ("<=", _) => v <= at,
        ("<", _) => v < at,
        // Exact pins of a Python version are rare and padding rules differ by tool: only a full one.
        ("==" | "", _) if parts.len() == 3 => v == at,
        ("!=", _) if parts.len() == 3 => v != at,
        ("^", _) => {
            // Poetry: up to the next change of the first non-zero component.
            let n = parts.iter().position(|&p| p != 0).map_or(parts.len(), |i| i + 1);
            v >= at && v < bump(n)
        }
        ("~", _) => v >= at && v < bump(if parts.len() == 1 { 1 } else { 2 }),
        ("~=", _) if parts.len() >= 2 => v >= at && v < bump(parts.len() - 1),
        _ => return None,
    })
}

/// The release of a `sys.version` string ("3.11.7 (main, ...)").
pub(crate) fn release(sys_version: &str) -> Option<Release> {
    let number = sys_version.split_whitespace().next()?;
    let digits: String = number.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let parts: Vec<u64> = digits.split('.').filter(|p| !p.is_empty()).map(|p| p.parse().ok()).collect::<Option<_>>()?;
    (parts.len() >= 2).then(|| [parts[0], parts[1], parts.get(2).copied().unwrap_or(0)])
}

/// Refuses a base interpreter the project says it does not run on, before anything is installed,
/// naming interpreters on `PATH` that do.
pub(crate) fn check(pyproject: &Path, doc: &toml::Table, base: &Path) -> Result<()> {
    let Some(declared) = declared(doc) else { return Ok(()) };
    let Some(facts) = crate::toolchain::base_facts(base) else { return Ok(()) };
    let Some(version) = facts["version"].as_str().and_then(release) else { return Ok(()) };
    if satisfies(&declared.constraint, version) != Some(false) {
        return Ok(());
    }
    let fitting: Vec<String> = (6..=20)
        .map(|minor| format!("python3.{minor}"))
        .filter(|name| {
            satisfies(&declared.constraint, [3, name[8..].parse().unwrap_or(0), 0]) == Some(true)
                && which::which(name).is_ok()
                // A version manager's shim may be on PATH for a version it does not select.
                && std::process::Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success())
        })
        .collect();
    let hint = match fitting.first() {
        Some(name) => format!("`python = \"{name}\"` in `[package.metadata.pyinstaller-build]` (on PATH here: {})", fitting.join(", ")),
        None => "the `python` key in `[package.metadata.pyinstaller-build]` (or PYINSTALLER_BUILD_PYTHON) at an interpreter that does; \
                 none on PATH here is named python3.N and fits"
            .to_string(),
    };
    Err(Error::new(
        ErrorKind::PyInstallerMissing,
        format!(
            "pyinstaller-build: `{}` says the project runs on Python {} ({}), and the interpreter the environment \
             would be made from, `{}`, is Python {}.{}.{}; nothing was installed.\nFix: {hint}.",
            pyproject.display(),
            declared.constraint,
            declared.key,
            base.display(),
            version[0],
            version[1],
            version[2],
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_as_projects_write_them() {
        let v3117 = [3, 11, 7];
        let v3121 = [3, 12, 1];
        for (constraint, v, want) in [
            (">=3.12,<3.14", v3117, Some(false)),
            (">=3.12,<3.14", v3121, Some(true)),
            (">= 3.12, < 3.14", v3121, Some(true)),
            ("^3.9", v3117, Some(true)),
            ("^3.9", [4, 0, 0], Some(false)),
            ("^3.9, <3.12", v3121, Some(false)),
            ("~3.11", v3117, Some(true)),
            ("~3.11", v3121, Some(false)),
            ("~=3.10", v3121, Some(true)),
            ("~=3.10.2", v3117, Some(false)),
            ("3.11.*", v3117, Some(true)),
            ("==3.12.*", v3117, Some(false)),
            (">=3.8,<3.9 || >=3.12", v3121, Some(true)),
            (">=3.8,<3.9 || >=3.12", v3117, Some(false)),
            ("*", v3117, Some(true)),
            // Not understood: never refused.
            ("3.11", v3117, None),
            (">=3.12a1", v3117, None),
            (">=", v3117, None),
        ] {
            assert_eq!(satisfies(constraint, v), want, "{constraint} for {v:?}");
        }
    }

    #[test]
    fn the_constraint_comes_from_pep_621_or_poetry() {
        let pep: toml::Table = toml::from_str("[project]\nname = \"a\"\nrequires-python = \">=3.10\"\n").unwrap();
        assert_eq!(declared(&pep).unwrap().constraint, ">=3.10");
        let poetry: toml::Table =
            toml::from_str("[tool.poetry.dependencies]\npython = \">=3.12,<3.14\"\npyinstaller = \"^6.11.1\"\n")
                .unwrap();
        let d = declared(&poetry).unwrap();
        assert_eq!((d.constraint.as_str(), d.key), (">=3.12,<3.14", "[tool.poetry.dependencies] python"));
        let none: toml::Table = toml::from_str("[tool.poetry]\nname = \"a\"\n").unwrap();
        assert!(declared(&none).is_none());
        assert_eq!(release("3.11.7 (main, Dec  5 2023, 10:00:00) [GCC 12.2.0]"), Some([3, 11, 7]));
        assert_eq!(release("3.13.0rc1 (main)"), Some([3, 13, 0]));
    }
}
