//! What the installer reads besides its arguments, for the key of hash-pinned requirements:
//! its variables, its configuration files, and the wheels in local `--find-links` folders.
//!
//! Every archive is pinned by hash, yet where archives come from still decides which of them is
//! installed: pip keeps the candidates whose hash is allowed (`filter_unallowed_hashes` in
//! `pip/_internal/index/package_finder.py`) and takes the one whose tags rank best, among those
//! the index offers. A mirror without the `manylinux_2_28` wheel gives the `manylinux2014` one.
//! So the indexes and folders named anywhere pip or uv would read them are part of the key;
//! credentials are taken out (a rotated token installs the same archives).

use crate::cargo::Cargo;
use std::fs;
use std::path::{Path, PathBuf};

/// The installer's variables that may change what it installs (`PIP_*`, `UV_*`), announced;
/// the indexes and link folders too (which of the pinned archives is installed depends on what
/// they offer), without credentials and not announced, and a configuration file by its
/// content. Not those that only say how to download or how much to print.
pub(crate) fn installer_env(cargo: &Cargo) -> Vec<(String, String)> {
    let how = [
        "TRUSTED_HOST",
        "CERT",
        "PROXY",
        "TIMEOUT",
        "RETRIES",
        "CACHE",
        "KEYRING",
        "TOKEN",
        "PASSWORD",
        "USERNAME",
        "AUTH",
        "TLS",
        "PROGRESS",
        "QUIET",
        "VERBOSE",
        "NO_INPUT",
        "VERSION_CHECK",
        "CONCURRENT",
        "ROOT_USER_ACTION",
        "COLOR",
        "HTTP",
    ];
    #[allow(clippy::disallowed_methods)] // names only: each value is read through `cargo`
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("PIP_") || k.starts_with("UV_"))
        .filter(|k| !how.iter().any(|w| k.contains(w)))
        .collect();
    let mut vars: Vec<(String, String)> = names
        .into_iter()
        .filter_map(|k| {
            // An index URL may hold a token, and cargo writes announced values into its
            // fingerprint files: read, not announced. No rerun is missed: the key is asked only
            // when the build script runs anyway, with no environment yet or creating one, and a
            // later change of index does not recreate an environment either.
            let value = match k.contains("INDEX") || k.contains("FIND_LINKS") {
                true => cargo.secret(&k),
                false => cargo.env(&k),
            }?;
            let value = value.to_string_lossy().into_owned();
            let value = match k.ends_with("CONFIG_FILE") {
                // Its path differs between machines; what it says is what counts.
                true => fs::read_to_string(&value).unwrap_or_default(),
                false => value,
            };
            Some((k, without_credentials(&value)))
        })
        .collect();
    vars.sort();
    vars
}

/// `text` without the user and password of any URL in it (`https://user:token@host/` →
/// `https://host/`).
pub(crate) fn without_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail.find(|c: char| "/?#\"' \t\r\n,;]".contains(c)).unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(user_end) => rest = &tail[user_end + 1..],
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// The configuration files the installer would read, by what they are (never by where, which
/// differs between machines), with their contents; `var` reads an environment variable.
pub(crate) fn files(uv: bool, var: &dyn Fn(&str) -> Option<String>, cwd: &Path) -> Vec<String> {
    let home = var("HOME").or_else(|| var("USERPROFILE")).map(PathBuf::from);
    let xdg_home = var("XDG_CONFIG_HOME").map(PathBuf::from).or_else(|| home.as_ref().map(|h| h.join(".config")));
    let xdg_dirs: Vec<PathBuf> =
        var("XDG_CONFIG_DIRS").unwrap_or_else(|| "/etc/xdg".into()).split(':').map(PathBuf::from).collect();
    let appdata = var("APPDATA").map(PathBuf::from);
    let program_data = var("PROGRAMDATA").map(PathBuf::from);
    let mut candidates: Vec<(String, PathBuf)> = Vec::new();
    let mut add = |label: &str, path: Option<PathBuf>| {
        if let Some(path) = path {
            candidates.push((label.to_string(), path));
        }
    };
    if uv {
        // uv's own files (`uv pip` never reads pip's), then the project's, from the working
        // folder up: the nearest `uv.toml`, or `pyproject.toml` with a `[tool.uv]` table.
        add("uv system", Some(PathBuf::from("/etc/uv/uv.toml")));
        for dir in &xdg_dirs {
            add("uv system", Some(dir.join("uv/uv.toml")));
        }
        add("uv system", program_data.map(|d| d.join("uv/uv.toml")));
        add("uv user", xdg_home.map(|d| d.join("uv/uv.toml")));
        add("uv user", appdata.map(|d| d.join("uv/uv.toml")));
        for (up, dir) in cwd.ancestors().enumerate() {
            add(&format!("uv project {up} uv.toml"), Some(dir.join("uv.toml")));
            add(&format!("uv project {up} pyproject.toml"), Some(dir.join("pyproject.toml")));
        }
    } else {
        // pip's, in the order it reads them (`pip/_internal/configuration.py`); a new
        // environment has no site file yet.
        for dir in &xdg_dirs {
            add("pip global", Some(dir.join("pip/pip.conf")));
        }
        add("pip global", Some(PathBuf::from("/etc/pip.conf")));
        add("pip global", program_data.map(|d| d.join("pip/pip.ini")));
        add("pip user", home.as_ref().map(|h| h.join(".pip/pip.conf")));
        add("pip user", home.as_ref().map(|h| h.join("pip/pip.ini")));
        add("pip user", home.as_ref().map(|h| h.join("Library/Application Support/pip/pip.conf")));
        add("pip user", xdg_home.map(|d| d.join("pip/pip.conf")));
        add("pip user", appdata.map(|d| d.join("pip/pip.ini")));
    }
    let mut out = Vec::new();
    for (label, path) in candidates {
        let Ok(text) = fs::read_to_string(&path) else { continue };
        // A pyproject.toml without uv's table is not uv's configuration (a dotted `uv.` key
        // under `[tool]` is).
        let uv_key = |l: &str| {
            let l = l.trim_start();
            l.starts_with("uv.") || l.strip_prefix("uv").is_some_and(|r| r.trim_start().starts_with('='))
        };
        if label.ends_with("pyproject.toml") && !text.contains("tool.uv") && !text.lines().any(uv_key) {
            continue;
        }
        out.push(format!("\0{label}\n{}", without_credentials(&text)));
    }
    out
}

/// The wheels a local `--find-links` folder offers, by name (their contents are pinned by
/// hash), for each value of `links` that is a folder: relative to `relative_to` (the
/// requirements file's folder, as pip tries first) or to `cwd`. URLs are keyed as written.
pub(crate) fn find_links(links: &[String], relative_to: &Path, cwd: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for link in links.iter().flat_map(|l| l.split([' ', ','])).filter(|l| !l.is_empty()) {
        let path = match link.strip_prefix("file://") {
            Some(p) => PathBuf::from(p),
            None if link.contains("://") => continue,
            None => PathBuf::from(link),
        };
        let Some(dir) = [relative_to.join(&path), cwd.join(&path)].into_iter().find(|d| d.is_dir()) else {
            continue;
        };
        let mut names: Vec<String> = fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        out.push(format!("\0find-links {link}\n{}", names.join("\n")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_installer_variables_that_change_what_it_installs_are_read_and_announced() {
        // Names no real setting has: other tests never see them.
        std::env::set_var("UV_PYINSTALLER_BUILD_TEST_NO_BUILD", "1");
        std::env::set_var("PIP_PYINSTALLER_BUILD_TEST_INDEX_URL", "https://u:token@mirror.example/simple");
        std::env::set_var("PIP_PYINSTALLER_BUILD_TEST_TIMEOUT", "60");
        let cargo = Cargo { capture: Some(Default::default()) };
        let vars = installer_env(&cargo);
        assert!(vars.contains(&("UV_PYINSTALLER_BUILD_TEST_NO_BUILD".into(), "1".into())), "{vars:?}");
        assert!(
            vars.contains(&("PIP_PYINSTALLER_BUILD_TEST_INDEX_URL".into(), "https://mirror.example/simple".into())),
            "a mirror may offer other wheels of the pinned ones; its credentials are not the key: {vars:?}"
        );
        assert!(!vars.iter().any(|(k, _)| k == "PIP_PYINSTALLER_BUILD_TEST_TIMEOUT"), "{vars:?}");
        let lines = cargo.capture.unwrap().lock().unwrap().clone();
        assert!(lines.contains(&"cargo:rerun-if-env-changed=UV_PYINSTALLER_BUILD_TEST_NO_BUILD".to_string()));
        assert!(!lines.iter().any(|l| l.contains("INDEX_URL")), "an index URL may hold a token: {lines:?}");
    }

    #[test]
    fn credentials_are_taken_out_of_urls_and_nothing_else() {
        assert_eq!(
            without_credentials("index-url = https://user:s3cr%40t@pypi.example.com/simple\nx = a@b"),
            "index-url = https://pypi.example.com/simple\nx = a@b"
        );
        assert_eq!(
            without_credentials("https://tok@a.example/ http://b.example/x@y file:///w"),
            "https://a.example/ http://b.example/x@y file:///w"
        );
        assert_eq!(
            without_credentials("[[index]]\nurl = \"https://u:p@h/simple\""),
            "[[index]]\nurl = \"https://h/simple\""
        );
    }

    #[test]
    fn the_installers_files_count_by_what_they_are_and_say() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        for home in [&a, &b] {
            fs::create_dir_all(home.join(".config/pip")).unwrap();
            fs::create_dir_all(home.join(".config/uv")).unwrap();
        }
        let vars = |home: &Path| {
            let map: HashMap<&str, String> = [
                ("HOME", home.display().to_string()),
                ("XDG_CONFIG_DIRS", tmp.path().join("none").display().to_string()),
            ]
            .into();
            move |k: &str| map.get(k).cloned()
        };
        let cwd = tmp.path().join("repo/src-tauri");
        fs::create_dir_all(&cwd).unwrap();
        let empty = files(false, &vars(&a), &cwd);

        // Another home folder, the same content: the same lines.
        fs::write(a.join(".config/pip/pip.conf"), "[global]\nindex-url = https://u:p@mirror.example/simple\n").unwrap();
        fs::write(b.join(".config/pip/pip.conf"), "[global]\nindex-url = https://v:q@mirror.example/simple\n").unwrap();
        let pip_a = files(false, &vars(&a), &cwd);
        assert_ne!(pip_a, empty, "a mirror may offer other wheels");
        assert_eq!(pip_a, files(false, &vars(&b), &cwd), "paths and credentials are not the key");
        assert!(!pip_a.concat().contains("u:p"));

        // uv reads its own files and the project's, not pip's.
        assert_eq!(files(true, &vars(&a), &cwd), files(true, &vars(&a), &tmp.path().join("none")));
        fs::write(a.join(".config/uv/uv.toml"), "index-strategy = \"unsafe-best-match\"\n").unwrap();
        let uv_user = files(true, &vars(&a), &cwd);
        assert_eq!(uv_user.len(), 1);
        fs::write(tmp.path().join("repo/pyproject.toml"), "[project]\ndependencies = [\"uvicorn\"]\n").unwrap();
        assert_eq!(files(true, &vars(&a), &cwd), uv_user, "a pyproject.toml without uv's table");
        fs::write(tmp.path().join("repo/pyproject.toml"), "[tool.uv]\nno-binary = true\n").unwrap();
        assert_eq!(files(true, &vars(&a), &cwd).len(), 2);
        fs::write(tmp.path().join("repo/pyproject.toml"), "[tool]\nuv.no-binary = true\n").unwrap();
        assert_eq!(files(true, &vars(&a), &cwd).len(), 2);
    }

    #[test]
    fn a_local_find_links_folder_counts_by_the_wheels_it_offers() {
        let tmp = tempfile::tempdir().unwrap();
        let wheels = tmp.path().join("wheels");
        fs::create_dir_all(&wheels).unwrap();
        fs::write(wheels.join("a-1.0-py3-none-any.whl"), "").unwrap();
        let links = vec!["wheels".to_string(), "https://example.com/links".to_string()];
        let one = find_links(&links, tmp.path(), Path::new("/nonexistent"));
        assert_eq!(one.len(), 1, "{one:?}");
        fs::write(wheels.join("a-1.0-cp312-cp312-manylinux_2_28_x86_64.whl"), "").unwrap();
        assert_ne!(find_links(&links, tmp.path(), Path::new("/nonexistent")), one);
    }
}
