//! Where each sidecar is installed: the app's `bundle.externalBin` decides, whatever a spec calls
//! its output.
//!
//! Tauri runs `<entry>-<target-triple>[.exe]` for each `externalBin` entry, so that is where a
//! sidecar goes. A spec's output is matched to an entry by name, once the triple some specs
//! already put in it (`name=f'app-{triple}'`) is taken off: the installed file never carries the
//! triple twice. A sidecar whose output matches no entry is mapped by its `install-as` key; one
//! that neither matches nor is mapped goes into binaries-dir by its name, as without a Tauri
//! config. After a build every entry must be provided, by a sidecar or by a real file the app
//! puts there itself; one that is not is one error naming it and the fix.

use crate::error::{Error, ErrorKind, Result};
use crate::install::sidecar_file_name;
use crate::tauri_config::{normalize, TauriConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The rules for one build.
pub(crate) struct Placement {
    /// The package folder, which `externalBin` entries and `install-as` are relative to.
    app_dir: PathBuf,
    binaries_dir: PathBuf,
    target: String,
    /// `bundle.externalBin` and the config's file name, when the app has a Tauri config.
    entries: Option<(Vec<String>, String)>,
    /// `install-as`, by sidecar key (a sidecar's table key, or a spec's file name without `.spec`).
    install_as: BTreeMap<String, String>,
    /// `resource`, by sidecar key: the folder a onedir sidecar is installed as.
    resources: BTreeMap<String, String>,
}

/// Where one sidecar goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Place {
    /// The installed name without the triple (`statements`): how messages name the sidecar.
    pub name: String,
    pub path: PathBuf,
    /// A onedir folder (`resource`), with its program `name` in it; else a file.
    pub folder: bool,
}

impl Placement {
    /// The rules, once `install-as` and `resource` are checked: with a Tauri config, each
    /// `install-as` must name one of its `externalBin` entries (Tauri would not bundle a file
    /// anywhere else), and a `bundle.resources` entry must bundle each `resource` folder.
    pub(crate) fn new(
        app_dir: &Path,
        binaries_dir: &Path,
        target: &str,
        config: Option<&TauriConfig>,
        (install_as, resources): (BTreeMap<String, String>, BTreeMap<String, String>),
    ) -> Result<Placement> {
        for (i, (key, folder)) in resources.iter().enumerate() {
            let full = normalize(&app_dir.join(folder));
            let mut others = resources.iter().take(i);
            if let Some((other, _)) = others.find(|(_, f)| normalize(&app_dir.join(f)) == full) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "pyinstaller-build: the sidecars `{other}` and `{key}` are both installed as the folder \
                         \"{folder}\" (`resource`); each would replace the other.\nFix: give each its own folder."
                    ),
                ));
            }
            // A folder inside another is deleted whenever the outer one is installed.
            let nested = resources.iter().find(|(other, f)| {
                let other_full = normalize(&app_dir.join(f));
                *other != key && other_full != full && (other_full.starts_with(&full) || full.starts_with(&other_full))
            });
            if let Some((other, other_folder)) = nested {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "pyinstaller-build: the resource folders of `{key}` (\"{folder}\") and `{other}` \
                         (\"{other_folder}\") lie one inside the other; the crate replaces each folder whole, so \
                         installing the outer one would delete the inner one.\nFix: give each a folder of its own \
                         beside the other, such as \"bin/python/{key}\" and \"bin/python/{other}\"."
                    ),
                ));
            }
            // The folder is replaced whole on each install: never one that holds the app.
            if [app_dir, binaries_dir].iter().any(|d| normalize(d).starts_with(&full)) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "pyinstaller-build: the sidecar `{key}` has resource = \"{folder}\", which holds the package \
                         or its binaries folder; the crate replaces that folder whole on each build.\n\
                         Fix: give the sidecar a folder of its own, such as \"bin/python/{key}\"."
                    ),
                ));
            }
            if let Some(config) = config {
                crate::onedir::check_covered(config, key, folder)?;
            }
        }
        let entries = config.map(|c| (c.external_bins(), c.name.clone()));
        if let Some((entries, config_name)) = &entries {
            let strays: Vec<String> = install_as
                .iter()
                .filter(|(_, to)| !entries.iter().any(|e| normalize(Path::new(e)) == normalize(Path::new(to))))
                .map(|(key, to)| format!("`{key}`: install-as = \"{to}\""))
                .collect();
            if !strays.is_empty() {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "pyinstaller-build: {} in [package.metadata.pyinstaller-build.sidecars] name{} no entry of \
                         \"bundle\": {{ \"externalBin\": [...] }} in {config_name} ({}), so Tauri would not bundle {}.\n\
                         Fix: set `install-as` to one of those entries, or add the entry to {config_name}.",
                        strays.join(", "),
                        if strays.len() == 1 { "s" } else { "" },
                        match entries.is_empty() {
                            true => "it has none".to_string(),
                            false => entries.iter().map(|e| format!("\"{e}\"")).collect::<Vec<_>>().join(", "),
                        },
                        if strays.len() == 1 { "it" } else { "them" },
                    ),
                ));
            }
        }
        Ok(Placement {
            app_dir: normalize(app_dir),
            binaries_dir: normalize(binaries_dir),
            target: target.to_string(),
            entries,
            install_as,
            resources,
        })
    }

    /// Where the sidecar `key` goes, its spec's output being `output` (without `.exe`).
    pub(crate) fn place(&self, key: &str, output: &str) -> Place {
        if let Some(folder) = [key, output].iter().find_map(|k| self.resources.get(*k)) {
            return Place { name: output.to_string(), path: normalize(&self.app_dir.join(folder)), folder: true };
        }
        let name = strip_triple(output, &self.target);
        // A table may be named by the spec's output as well as by its file (skip mode, which
        // reads no spec, sees the output only here).
        if let Some(to) = [key, output, name].iter().find_map(|k| self.install_as.get(*k)) {
            return self.entry_place(to);
        }
        let entries = self.entries.iter().flat_map(|(e, _)| e);
        if let Some(entry) = entries.into_iter().find(|e| entry_name(e) == name) {
            return self.entry_place(entry);
        }
        Place {
            name: name.to_string(),
            path: self.binaries_dir.join(sidecar_file_name(name, &self.target)),
            folder: false,
        }
    }

    /// Whether the sidecar `key` is a onedir folder (`resource`).
    pub(crate) fn is_resource(&self, key: &str) -> bool {
        self.resources.contains_key(key)
    }

    /// The folders sidecars are installed into: those of the `externalBin` entries when the app
    /// lists any (where Tauri bundles from) and the resource folders, else the binaries folder.
    pub(crate) fn folders(&self) -> Vec<PathBuf> {
        let mut folders: Vec<PathBuf> =
            self.entries.iter().flat_map(|(e, _)| e).map(|e| self.entry_place(e).path).collect();
        for f in &mut folders {
            f.pop();
        }
        folders.extend(self.resources.values().map(|r| normalize(&self.app_dir.join(r))));
        folders.sort();
        folders.dedup();
        if folders.is_empty() {
            folders.push(self.binaries_dir.clone());
        }
        folders
    }

    fn entry_place(&self, entry: &str) -> Place {
        let name = entry_name(entry).to_string();
        let dir = normalize(&self.app_dir.join(entry));
        let dir = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        Place { path: dir.join(sidecar_file_name(&name, &self.target)), name, folder: false }
    }

    /// Every `externalBin` entry is provided: by a sidecar of this build (`built`: each one's key
    /// and installed path), or by a file the app puts there itself (not empty, not the crate's
    /// placeholder). Otherwise one error naming each missing entry and the fix.
    pub(crate) fn check_entries(&self, built: &[(String, PathBuf)]) -> Result<()> {
        // Two sidecars at one file (`app` and `app-<triple>`, or an output and an `install-as`
        // naming the same entry) would replace each other on every build.
        for (i, (key, path)) in built.iter().enumerate() {
            if let Some((other, _)) = built[..i].iter().find(|(_, p)| normalize(p) == normalize(path)) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "pyinstaller-build: the sidecars `{other}` and `{key}` are both installed as {}.\n\
                         Fix: rename one of them in its spec, or give one an `install-as` of its own in \
                         [package.metadata.pyinstaller-build.sidecars.<name>].",
                        path.display()
                    ),
                ));
            }
        }
        let Some((entries, config_name)) = &self.entries else { return Ok(()) };
        let at_entries: Vec<PathBuf> = entries.iter().map(|e| self.entry_place(e).path).collect();
        let provided_by_app = |p: &Path| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0) && !crate::placeholder::is_placeholder(p)
        };
        let missing: Vec<(&String, &PathBuf)> = entries
            .iter()
            .zip(&at_entries)
            .filter(|(_, path)| !built.iter().any(|(_, b)| normalize(b) == **path) && !provided_by_app(path))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let elsewhere: Vec<&(String, PathBuf)> =
            built.iter().filter(|(_, b)| !at_entries.contains(&normalize(b))).collect();
        let rel = |p: &Path| p.strip_prefix(&self.app_dir).unwrap_or(p).display().to_string();
        let listed: Vec<String> =
            missing.iter().map(|(entry, path)| format!("  - \"{entry}\": {} is missing", rel(path))).collect();
        let built_list = match elsewhere.as_slice() {
            [] => "Every sidecar this build made is installed at another entry.".to_string(),
            some => format!(
                "Sidecars installed at no entry: {}.",
                some.iter().map(|(key, path)| format!("`{key}` ({})", rel(path))).collect::<Vec<_>>().join(", ")
            ),
        };
        let (key, entry) = (elsewhere.first().map_or("<name>", |(k, _)| k.as_str()), missing[0].0);
        Err(Error::new(
            ErrorKind::Config,
            format!(
                "pyinstaller-build: {config_name} lists {} in \"bundle\": {{ \"externalBin\": [...] }} that no sidecar \
                 provides, so Tauri has nothing to bundle there:\n{}\n{built_list}\n\
                 Fix: install the sidecar that is meant there with its key in Cargo.toml:\n  \
                 [package.metadata.pyinstaller-build.sidecars.{key}]\n  install-as = \"{entry}\"\n\
                 (a spec's key is its file name without `.spec`), or remove the entry from {config_name}.",
                if missing.len() == 1 { "an entry" } else { "entries" },
                listed.join("\n"),
            ),
        ))
    }
}

/// `output` without a trailing `-<target>`: a spec that names its binary after the triple
/// (`name=f'app-sidecar-{triple}'`, as Tauri's docs show for other tools) builds the sidecar
/// `app-sidecar`.
pub(crate) fn strip_triple<'a>(output: &'a str, target: &str) -> &'a str {
    output.strip_suffix(target).and_then(|n| n.strip_suffix('-')).filter(|n| !n.is_empty()).unwrap_or(output)
}

/// The file name part of an entry (`binaries/api` → `api`).
fn entry_name(entry: &str) -> &str {
    entry.rsplit(['/', '\\']).next().unwrap_or(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX: &str = "x86_64-unknown-linux-gnu";

    fn app(conf: Option<&str>) -> (tempfile::TempDir, Option<TauriConfig>) {
        let dir = tempfile::tempdir().unwrap();
        if let Some(conf) = conf {
            std::fs::write(dir.path().join("tauri.conf.json"), conf).unwrap();
        }
        let config = TauriConfig::read(dir.path(), "linux", None);
        (dir, config)
    }

    fn placement(dir: &Path, config: Option<&TauriConfig>, install_as: &[(&str, &str)]) -> Result<Placement> {
        let map = install_as.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Placement::new(dir, &dir.join("binaries"), LINUX, config, (map, BTreeMap::new()))
    }

    #[test]
    fn without_a_config_binaries_dir_by_name_and_never_a_doubled_triple() {
        let (dir, config) = app(None);
        let p = placement(dir.path(), config.as_ref(), &[]).unwrap();
        let at = |name: &str| dir.path().join("binaries").join(format!("{name}-{LINUX}"));
        assert_eq!(p.place("api", "api"), Place { name: "api".into(), path: at("api"), folder: false });
        let tripled = p.place("app-sidecar", &format!("app-sidecar-{LINUX}"));
        assert_eq!(tripled, Place { name: "app-sidecar".into(), path: at("app-sidecar"), folder: false });
        // Another triple is part of the name; the bare triple is a name.
        assert_eq!(p.place("a", "a-aarch64-apple-darwin").name, "a-aarch64-apple-darwin");
        assert_eq!(strip_triple(LINUX, LINUX), LINUX);
        assert!(p.check_entries(&[]).is_ok(), "no config, nothing to check");
    }

    #[test]
    fn external_bin_decides_the_place_and_install_as_renames() {
        let (dir, config) = app(Some(r#"{"bundle": {"externalBin": ["bin/py/app-sidecar", "binaries/statements"]}}"#));
        let p = placement(dir.path(), config.as_ref(), &[("entrypoint", "binaries/statements")]).unwrap();
        let tripled = p.place("app-sidecar", &format!("app-sidecar-{LINUX}"));
        assert_eq!(tripled.path, dir.path().join(format!("bin/py/app-sidecar-{LINUX}")));
        let renamed = p.place("entrypoint", "entrypoint");
        assert_eq!(
            renamed,
            Place {
                name: "statements".into(),
                path: dir.path().join(format!("binaries/statements-{LINUX}")),
                folder: false
            }
        );
        // No entry, no key: binaries-dir, as without a config.
        assert_eq!(p.place("other", "other").path, dir.path().join(format!("binaries/other-{LINUX}")));
        let built = [("app-sidecar".to_string(), tripled.path), ("entrypoint".to_string(), renamed.path)];
        assert!(p.check_entries(&built).is_ok());
    }

    #[test]
    fn the_install_folders_are_the_entries_folders_else_the_binaries_folder() {
        // An app whose sidecar Tauri bundles from outside src-tauri (`../dist-back/app`).
        let (dir, config) = app(Some(r#"{"bundle": {"externalBin": ["../dist-back/app", "../dist-back/b"]}}"#));
        let p = placement(dir.path(), config.as_ref(), &[]).unwrap();
        assert_eq!(p.folders(), vec![dir.path().parent().unwrap().join("dist-back")]);
        let (dir, none) = app(None);
        assert_eq!(placement(dir.path(), none.as_ref(), &[]).unwrap().folders(), vec![dir.path().join("binaries")]);
    }

    #[test]
    fn a_resource_sidecar_is_its_folder_checked_against_bundle_resources() {
        let (dir, config) = app(Some(r#"{"bundle": {"resources": {"bin/python/main/": "python/"}}}"#));
        let resources = BTreeMap::from([("main".to_string(), "bin/python/main".to_string())]);
        let new = |r: &BTreeMap<String, String>| {
            Placement::new(
                dir.path(),
                &dir.path().join("binaries"),
                LINUX,
                config.as_ref(),
                (BTreeMap::new(), r.clone()),
            )
        };
        let p = new(&resources).unwrap();
        let place = p.place("main", "main");
        assert_eq!(place, Place { name: "main".into(), path: dir.path().join("bin/python/main"), folder: true });
        assert!(p.check_entries(&[("main".to_string(), place.path)]).is_ok());
        let e = new(&BTreeMap::from([("main".to_string(), "bin/py/main".to_string())])).err().unwrap().to_string();
        assert!(e.contains("the sidecar `main` is installed as the folder `bin/py/main`"), "{e}");
        let twice = BTreeMap::from([
            ("a".to_string(), "bin/python/main".to_string()),
            ("b".to_string(), "bin/x/../python/main".to_string()),
        ]);
        assert!(new(&twice).err().unwrap().to_string().contains("`a` and `b` are both installed as the folder"));
        let nested = BTreeMap::from([
            ("a".to_string(), "bin/python".to_string()),
            ("b".to_string(), "bin/python/worker".to_string()),
        ]);
        let e = new(&nested).err().unwrap().to_string();
        assert!(e.contains("lie one inside the other"), "{e}");
        for holds_the_app in [".", "..", "binaries"] {
            let e = new(&BTreeMap::from([("main".to_string(), holds_the_app.to_string())])).err().unwrap();
            assert!(e.to_string().contains("holds the package or its binaries folder"), "{e}");
        }
    }

    #[test]
    fn two_sidecars_at_one_file_are_an_error_naming_both() {
        let (dir, none) = app(None);
        let p = placement(dir.path(), none.as_ref(), &[]).unwrap();
        let a = p.place("app", "app").path;
        let b = p.place("app2", &format!("app-{LINUX}")).path;
        let e = p.check_entries(&[("app".into(), a.clone()), ("app2".into(), b)]).unwrap_err().to_string();
        assert!(e.contains("`app` and `app2` are both installed as"), "{e}");
        assert!(p.check_entries(&[("app".into(), a)]).is_ok());
    }

    #[test]
    fn install_as_outside_external_bin_is_an_error_naming_the_entries() {
        let (dir, config) = app(Some(r#"{"bundle": {"externalBin": ["binaries/statements"]}}"#));
        let e = placement(dir.path(), config.as_ref(), &[("entrypoint", "binaries/statement")]).err().unwrap();
        let e = e.to_string();
        assert!(
            e.contains("`entrypoint`: install-as = \"binaries/statement\"") && e.contains("\"binaries/statements\""),
            "{e}"
        );
        // Without a Tauri config it is simply where the sidecar goes.
        let (dir, none) = app(None);
        let p = placement(dir.path(), none.as_ref(), &[("entrypoint", "bin/statements")]).unwrap();
        assert_eq!(p.place("entrypoint", "entrypoint").path, dir.path().join(format!("bin/statements-{LINUX}")));
    }

    #[test]
    fn an_entry_nobody_provides_is_one_error_with_the_key_to_add() {
        let (dir, config) = app(Some(r#"{"bundle": {"externalBin": ["binaries/statements", "binaries/tool"]}}"#));
        let p = placement(dir.path(), config.as_ref(), &[]).unwrap();
        let entrypoint = p.place("entrypoint", "entrypoint");
        // A real file the app puts there itself provides its entry; the crate's placeholder and an
        // empty file do not.
        std::fs::create_dir_all(dir.path().join("binaries")).unwrap();
        let tool = dir.path().join(format!("binaries/tool-{LINUX}"));
        std::fs::write(&tool, b"\x7fELF a real tool").unwrap();
        let built = [("entrypoint".to_string(), entrypoint.path)];
        let e = p.check_entries(&built).unwrap_err().to_string();
        assert!(e.contains(&format!("\"binaries/statements\": binaries/statements-{LINUX} is missing")), "{e}");
        assert!(!e.contains("binaries/tool"), "{e}");
        assert!(
            e.contains("`entrypoint` (binaries/entrypoint-")
                && e.contains("sidecars.entrypoint]\n  install-as = \"binaries/statements\""),
            "{e}"
        );
        std::fs::write(&tool, crate::skip::placeholder_text("tool")).unwrap();
        assert!(p.check_entries(&built).unwrap_err().to_string().contains("\"binaries/tool\""));
        std::fs::write(&tool, b"").unwrap();
        assert!(p.check_entries(&built).unwrap_err().to_string().contains("\"binaries/tool\""));
    }
}
