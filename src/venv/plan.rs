//! How requirement lines are installed: from which folder (relative paths resolve as the tool
//! that wrote the file meant), in which steps (local projects apart from hash-checked lines), and
//! whether anything may be resolved besides them (`--no-deps` for a complete pinned export).
//!
//! pip and uv both resolve a relative path on a requirement line (`./pkg`, `-e .`,
//! `dist/app-1.0.tar.gz`) against their working folder, and an included file (`-r`) against the
//! including file's folder. A `uv export` writes the project's paths relative to the project
//! (`-e .`); anyone else's file is meant to be installed from its own folder
//! (`pip install -r requirements.txt` beside it). The install runs there.
//!
//! pip's hash-checking mode (any `--hash`) wants every line pinned with `==` and hashed, and has
//! no hash for a local project, which `uv export` and a `-e .` line name: those are installed in
//! a step of their own. When every other line is pinned and hashed (an export of a lockfile),
//! nothing outside the file can be installed anyway, and pip would only fail on a dependency the
//! export left out (an extra, a marker): they are installed with `--no-deps`, as the lockfile's
//! tool installs them.

use crate::error::{IoContext, Result};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

/// What a logical requirement line is.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// A blank line or a comment.
    Nothing,
    /// `-r`/`-c` and the file it names.
    Include(String),
    /// Another option (`--index-url`, `--find-links`, ...).
    Option,
    /// A local project or archive: its path as written, and whether it is editable.
    Local { path: String, editable: bool },
    /// A requirement, pinned (`name==version` with a `--hash`) or not.
    Requirement { pinned: bool },
}

/// The logical lines (continuations joined, comments dropped), each with its line number.
fn logical(lines: &[String]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (n, line) in lines.iter().enumerate() {
        let line = match line.find(" #").or_else(|| line.trim_start().starts_with('#').then_some(0)) {
            Some(at) => &line[..at],
            None => line.as_str(),
        };
        let (text, continued) = match line.trim_end().strip_suffix('\\') {
            Some(head) => (head, true),
            None => (line, false),
        };
        let (first, mut joined) = open.take().unwrap_or((n + 1, String::new()));
        joined.push(' ');
        joined.push_str(text.trim());
        match continued {
            true => open = Some((first, joined)),
            false => out.push((first, joined.trim().to_string())),
        }
    }
    out.extend(open.map(|(n, l)| (n, l.trim().to_string())));
    out
}

fn kind(line: &str) -> Kind {
    let mut words = line.split_whitespace();
    let Some(first) = words.next() else { return Kind::Nothing };
    let value = |short: &str, long: &str| -> Option<String> {
        if first == short || first == long {
            return words.clone().next().map(str::to_string);
        }
        let long_eq = format!("{long}=");
        first
            .strip_prefix(long_eq.as_str())
            .or_else(|| first.strip_prefix(short).filter(|v| !v.is_empty() && !first.starts_with("--")))
            .map(|v| v.trim_start_matches('=').to_string())
    };
    if let Some(path) = value("-e", "--editable") {
        // A VCS URL is no local project.
        return match path.contains("://") && !path.starts_with("file:") {
            true => Kind::Requirement { pinned: false },
            false => Kind::Local { path, editable: true },
        };
    }
    if let Some(file) = value("-r", "--requirement").or_else(|| value("-c", "--constraint")) {
        return Kind::Include(file);
    }
    if first.starts_with('-') {
        return Kind::Option;
    }
    let requirement = line.split(" --hash").next().unwrap_or("").split(';').next().unwrap_or("").trim();
    // `name @ file:...`, or a path on its own.
    let target = match requirement.split_once(" @ ").or_else(|| requirement.split_once('@')) {
        Some((name, url)) if is_name(name.trim()) => url.trim(),
        _ => requirement,
    };
    let path_like = target.starts_with(['.', '/', '~'])
        || target.starts_with("file:")
        || (!target.contains("://") && (target.contains('/') || target.contains('\\')))
        || target.as_bytes().get(1) == Some(&b':');
    if path_like && !target.contains("://") || target.starts_with("file:") {
        return Kind::Local { path: target.to_string(), editable: false };
    }
    let pinned = requirement.split_once("==").is_some_and(|(name, version)| {
        let version = version.trim();
        is_name(name.trim())
            && !version.starts_with('=')
            && !version.is_empty()
            && version.chars().all(|c| c.is_ascii_alphanumeric() || "._-+!".contains(c))
    }) && line.split_whitespace().any(|w| w.starts_with("--hash"));
    Kind::Requirement { pinned }
}

/// A distribution name, with extras (`uvicorn[standard]`).
fn is_name(s: &str) -> bool {
    let base = s.split('[').next().unwrap_or("");
    !base.is_empty()
        && base.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && (s == base || s.ends_with(']'))
}

/// Where a local path resolves from: `file:` URLs and absolute paths as they are, a relative
/// one from `folder`.
fn local_path(path: &str, folder: &Path) -> PathBuf {
    let path = path.strip_prefix("file://").or_else(|| path.strip_prefix("file:")).unwrap_or(path);
    let path = path.split(['#', '[']).next().unwrap_or(path);
    folder.join(path)
}

/// The folder the requirements in `file` resolve from: a `uv export`'s project (the nearest
/// folder up from the file with a pyproject.toml), else the file's own folder.
pub(crate) fn folder(file: &Path, lines: &[String]) -> PathBuf {
    let own = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let by_uv = lines.iter().take(3).any(|l| l.starts_with("# This file was autogenerated by uv"));
    let is_pyproject = file.file_name().is_some_and(|n| n == "pyproject.toml");
    if by_uv && !is_pyproject {
        if let Some(project) = own.ancestors().find(|d| d.join("pyproject.toml").is_file()) {
            return project.to_path_buf();
        }
    }
    own
}

/// What identifies the local projects the lines install: where each is, and by content what
/// an install copies (an archive; a folder installed as a copy, without its caches, build
/// outputs and environments) or what an editable install's metadata comes from (its
/// `pyproject.toml`, `setup.cfg`, `setup.py`). Its sources are read where they are, as any
/// project file is.
pub(crate) fn local_key(lines: &[String], folder: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (_, line) in logical(lines) {
        let Kind::Local { path, editable } = kind(&line) else { continue };
        let at = local_path(&path, folder);
        let mut h = blake3::Hasher::new();
        if at.is_file() {
            h.update(&fs::read(&at).unwrap_or_default());
        } else if editable {
            for f in ["pyproject.toml", "setup.cfg", "setup.py"] {
                h.update(f.as_bytes()).update(&fs::read(at.join(f)).unwrap_or_default());
            }
        } else {
            hash_tree(&mut h, &at, &at);
        }
        out.push(format!("\0local {line} at {} {}", at.display(), h.finalize().to_hex()));
    }
    out
}

fn hash_tree(h: &mut blake3::Hasher, root: &Path, dir: &Path) {
    let mut entries: Vec<_> = fs::read_dir(dir).into_iter().flatten().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        // Build output, tool state and checkouts' clutter sit at the project's top; deeper down
        // a `build` or `dist` or hidden file may be a package's own, installed with it.
        let top = dir == root;
        let skip = name == "__pycache__"
            || (top && name.starts_with('.'))
            || (top && ["node_modules", "target", "build", "dist"].contains(&name.as_str()))
            || name.ends_with(".egg-info");
        let path = e.path();
        if skip || path.join("pyvenv.cfg").is_file() {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
        if path.is_dir() {
            hash_tree(h, root, &path);
        } else {
            h.update(rel.as_bytes()).update(b"\0").update(&fs::read(&path).unwrap_or_default());
        }
    }
}

/// The installs to run, in order, from [`Plan::folder`].
pub(crate) struct Plan {
    /// Each install's arguments (after `pip install`).
    pub installs: Vec<Vec<OsString>>,
    /// The folder the installer runs in.
    pub folder: PathBuf,
    /// pip's hash-checking mode, and whether every requirement line is pinned for it.
    pub hashes: Option<bool>,
}

impl Plan {
    /// The next step after a failed install, for the error.
    pub(crate) fn advice(&self) -> &'static str {
        match self.hashes {
            Some(false) => {
                "Fix: the requirements carry hashes, so pip checks every line (`--require-hashes`) and wants each \
                 pinned with `==` and hashed, dependencies too; export them again complete and pinned \
                 (`poetry export`, `uv export`, `pip-compile --generate-hashes` write them so), or point \
                 `requirements` at the lockfile itself (`poetry.lock`, `uv.lock`)."
            }
            Some(true) => {
                "Fix: the requirements are pinned and hashed and were installed exactly (`--no-deps`): a hash that \
                 no longer matches, or a version with no archive for this interpreter, needs the requirements \
                 exported again; else check the network. The next build retries."
            }
            None => {
                "Fix the requirements (PyInstaller must be among them, or left to the crate), or check the network; \
                     the next build retries."
            }
        }
    }
}

/// Writes the lists to install `lines` from (at `list`, and `<list>.local.txt` for local
/// projects under hash checking) and says how: `provided` (PyInstaller added by the crate) is
/// resolved with them, or after hashed ones on its own. `file` is where the lines were read
/// from (its includes are relative to it), `folder` where they resolve from.
pub(crate) fn write(lines: &[String], file: &Path, folder: &Path, list: &Path, provided: Option<&str>) -> Result<Plan> {
    let logical = logical(lines);
    let hashed = logical.iter().any(|(_, l)| l.contains("--hash"));
    let own_dir = file.parent().unwrap_or(Path::new("."));
    let mut main: Vec<String> = Vec::new();
    let mut local: Vec<String> = Vec::new();
    let mut all_pinned = true;
    for (_, line) in &logical {
        match kind(line) {
            Kind::Nothing => {}
            // The list is written elsewhere: an include by its absolute path.
            Kind::Include(to) => {
                all_pinned = false;
                let option = line.split([' ', '=']).next().unwrap_or("-r");
                main.push(format!("{option} {}", own_dir.join(to).display()));
            }
            Kind::Option => main.push(line.clone()),
            Kind::Local { .. } if hashed => local.push(line.clone()),
            Kind::Local { .. } => main.push(line.clone()),
            Kind::Requirement { pinned } => {
                all_pinned &= pinned;
                main.push(line.clone());
            }
        }
    }
    if !hashed {
        main.extend(provided.map(str::to_string));
    }
    fs::write(list, main.join("\n") + "\n").at("could not write", list)?;
    let mut first = vec![OsString::from("-r"), list.as_os_str().to_owned()];
    let exact = hashed && all_pinned;
    if exact {
        first.push("--no-deps".into());
    }
    let mut installs = vec![first];
    if !local.is_empty() {
        let path = list.with_extension("local.txt");
        fs::write(&path, local.join("\n") + "\n").at("could not write", &path)?;
        let mut step = vec![OsString::from("-r"), path.into_os_string()];
        if exact {
            // Their dependencies are the export's other lines.
            step.push("--no-deps".into());
        }
        installs.push(step);
    }
    if hashed {
        installs.extend(provided.map(|p| vec![OsString::from(p)]));
    }
    Ok(Plan { installs, folder: folder.to_path_buf(), hashes: hashed.then_some(all_pinned) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn a_local_projects_key_skips_build_output_at_its_top_only() {
        let tmp = tempfile::tempdir().unwrap();
        let project = tmp.path().join("proj");
        fs::create_dir_all(project.join("mypkg/build")).unwrap();
        fs::create_dir_all(project.join("build/lib")).unwrap();
        fs::write(project.join("mypkg/build/__init__.py"), "A = 1\n").unwrap();
        fs::write(project.join("build/lib/copy.py"), "A = 1\n").unwrap();
        let key = || local_key(&lines("./proj"), tmp.path());
        let before = key();
        fs::write(project.join("build/lib/copy.py"), "A = 2\n").unwrap();
        assert_eq!(key(), before, "the project's own build output is not its source");
        fs::write(project.join("mypkg/build/__init__.py"), "A = 2\n").unwrap();
        assert_ne!(key(), before, "a subpackage named build is");
    }

    #[test]
    fn lines_are_told_apart() {
        assert_eq!(kind("-e ."), Kind::Local { path: ".".into(), editable: true });
        assert_eq!(kind("--editable=../lib"), Kind::Local { path: "../lib".into(), editable: true });
        assert_eq!(kind("."), Kind::Local { path: ".".into(), editable: false });
        assert_eq!(
            kind("dist/app-0.10.5.tar.gz"),
            Kind::Local { path: "dist/app-0.10.5.tar.gz".into(), editable: false }
        );
        assert_eq!(kind("app @ file:///src/app"), Kind::Local { path: "file:///src/app".into(), editable: false });
        assert_eq!(kind("-e git+https://example.com/a.git#egg=a"), Kind::Requirement { pinned: false });
        assert_eq!(kind("app @ https://example.com/app.whl"), Kind::Requirement { pinned: false });
        assert_eq!(kind("-r ../base.txt"), Kind::Include("../base.txt".into()));
        assert_eq!(kind("--constraint=c.txt"), Kind::Include("c.txt".into()));
        assert_eq!(kind("--index-url https://pypi.org/simple"), Kind::Option);
        assert_eq!(kind("uvicorn[standard]==0.30.0 --hash=sha256:aa"), Kind::Requirement { pinned: true });
        assert_eq!(kind("six==1.17.0 ; python_version >= '3.8' --hash=sha256:aa"), Kind::Requirement { pinned: true });
        assert_eq!(kind("six>=1.16 --hash=sha256:aa"), Kind::Requirement { pinned: false });
        assert_eq!(kind("six==1.17.0"), Kind::Requirement { pinned: false });
        assert_eq!(
            logical(&lines("a==1 \\\n    --hash=sha256:x  # why\n# c\n")),
            [(1, "a==1 --hash=sha256:x".into()), (3, String::new())]
        );
    }

    #[test]
    fn a_pinned_export_installs_exactly_and_its_local_project_apart() {
        let tmp = tempfile::tempdir().unwrap();
        let list = tmp.path().join("env.requirements.txt");
        let export = lines(
            "# This file was autogenerated by uv via the following command:\n#    uv export\n-e .\n\
             six==1.17.0 \\\n    --hash=sha256:aa\n    # via app\n",
        );
        let plan = write(&export, &tmp.path().join("r.txt"), tmp.path(), &list, Some("pyinstaller==6.22.3")).unwrap();
        let args: Vec<Vec<String>> =
            plan.installs.iter().map(|a| a.iter().map(|s| s.to_string_lossy().into_owned()).collect()).collect();
        let local = list.with_extension("local.txt");
        assert_eq!(
            args,
            [
                vec!["-r".to_string(), list.display().to_string(), "--no-deps".into()],
                vec!["-r".to_string(), local.display().to_string(), "--no-deps".into()],
                vec!["pyinstaller==6.22.3".to_string()],
            ]
        );
        assert_eq!(fs::read_to_string(&list).unwrap(), "six==1.17.0 --hash=sha256:aa\n");
        assert_eq!(fs::read_to_string(&local).unwrap(), "-e .\n");
        assert_eq!(plan.hashes, Some(true));

        // A transitive range in hash mode: pip's resolver decides, and the advice says what it wants.
        let ranged = lines("six==1.17.0 --hash=sha256:aa\nidna>=3 --hash=sha256:bb\n");
        let plan = write(&ranged, &tmp.path().join("r.txt"), tmp.path(), &list, None).unwrap();
        assert_eq!(plan.installs.len(), 1);
        assert!(!plan.installs[0].contains(&OsString::from("--no-deps")));
        assert!(plan.advice().contains("pinned with `==` and hashed"), "{}", plan.advice());

        // No hashes: one list, as written, with the crate's PyInstaller resolved with it; an
        // include by its absolute path.
        let plain = lines("-e .\nflask\n-r reqs/base.txt\n");
        let plan = write(&plain, &tmp.path().join("r.txt"), tmp.path(), &list, Some("pyinstaller==6.22.3")).unwrap();
        assert_eq!(plan.installs.len(), 1);
        let base = tmp.path().join("reqs/base.txt");
        assert_eq!(
            fs::read_to_string(&list).unwrap(),
            format!("-e .\nflask\n-r {}\npyinstaller==6.22.3\n", base.display())
        );
        assert!(plan.hashes.is_none());
    }

    #[test]
    fn paths_resolve_from_the_file_or_from_the_project_uv_exported() {
        let tmp = tempfile::tempdir().unwrap();
        let reqs = tmp.path().join("requirements");
        fs::create_dir_all(&reqs).unwrap();
        fs::write(tmp.path().join("pyproject.toml"), "[project]\nname = \"a\"\n").unwrap();
        let file = reqs.join("prod.txt");
        assert_eq!(folder(&file, &lines("-e .\n")), reqs);
        let by_uv = lines("# This file was autogenerated by uv via the following command:\n-e .\n");
        assert_eq!(folder(&file, &by_uv), tmp.path());
    }

    #[test]
    fn a_local_project_is_keyed_by_where_it_is_and_what_an_install_copies() {
        let tmp = tempfile::tempdir().unwrap();
        let pkg = tmp.path().join("pkg");
        fs::create_dir_all(pkg.join("app/__pycache__")).unwrap();
        fs::write(pkg.join("pyproject.toml"), "version = 1").unwrap();
        fs::write(pkg.join("app/mod.py"), "x = 1").unwrap();
        let copy = local_key(&lines("./pkg\n"), tmp.path());
        let editable = local_key(&lines("-e ./pkg\n"), tmp.path());
        fs::write(pkg.join("app/__pycache__/mod.pyc"), "cache").unwrap();
        assert_eq!(local_key(&lines("./pkg\n"), tmp.path()), copy, "caches are not the project");
        fs::write(pkg.join("app/mod.py"), "x = 2").unwrap();
        assert_ne!(local_key(&lines("./pkg\n"), tmp.path()), copy, "a copy holds the sources");
        assert_eq!(
            local_key(&lines("-e ./pkg\n"), tmp.path()),
            editable,
            "an editable install reads them where they are"
        );
        fs::write(pkg.join("pyproject.toml"), "version = 2").unwrap();
        assert_ne!(local_key(&lines("-e ./pkg\n"), tmp.path()), editable, "its metadata changed");
        let elsewhere = tempfile::tempdir().unwrap();
        copy_tree(&pkg, &elsewhere.path().join("pkg"));
        assert_ne!(local_key(&lines("-e ./pkg\n"), elsewhere.path()), local_key(&lines("-e ./pkg\n"), tmp.path()));
        assert!(local_key(&lines("six==1.17.0\n"), tmp.path()).is_empty());
    }

    fn copy_tree(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for e in fs::read_dir(from).unwrap().flatten() {
            match e.path().is_dir() {
                true => copy_tree(&e.path(), &to.join(e.file_name())),
                false => drop(fs::copy(e.path(), to.join(e.file_name())).unwrap()),
            }
        }
    }
}
