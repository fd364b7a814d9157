//! Each sidecar's own settings (`install-as`, `resource`, `run-in`, `pyinstaller-env`), resolved against
//! the specs the build found: a table names a sidecar without a spec file, or a spec by its file
//! name without `.spec` (or by the literal `EXE(name=...)` it builds).

use crate::builder::Build;
use crate::error::{Error, ErrorKind, Result};
use crate::project::spec_stem;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How PyInstaller runs for a sidecar: `run-in` and `pyinstaller-env`, the table's merged with
/// the sidecar's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Run {
    /// `run-in` as written (relative to python-dir), and the folder it names.
    pub run_in: Option<(String, PathBuf)>,
    /// `pyinstaller-env`: set for PyInstaller, over what the build's environment says.
    pub env: BTreeMap<String, String>,
}

impl Run {
    /// What the fingerprint holds of it: nothing when it is the default, so that specs built
    /// before these keys existed stay up to date.
    pub(crate) fn digest(&self) -> String {
        let mut d = String::new();
        if let Some((rel, _)) = &self.run_in {
            d += &format!("\0run-in {rel}");
        }
        for (k, v) in &self.env {
            d += &format!("\0pyinstaller-env {k}={v}");
        }
        d
    }
}

/// What [`resolve`] gives: `install-as` and how PyInstaller runs, by sidecar key, and how it
/// runs for sidecars without a table of their own.
pub(crate) struct Resolved {
    pub install_as: BTreeMap<String, String>,
    /// `resource`: the folder a onedir sidecar is installed as, relative to the package folder.
    pub resources: BTreeMap<String, String>,
    pub runs: BTreeMap<String, Run>,
    pub run: Run,
    /// Each table's key as written, to the sidecar key it names (a spec's literal output
    /// becomes its file stem), for the settings read elsewhere (`launch`).
    pub keys: BTreeMap<String, String>,
}

/// Each sidecar's `install-as` and how PyInstaller runs for it (`run-in`, `pyinstaller-env`,
/// the table's merged with its own), by key; and the table's for the rest. A key must name
/// a sidecar without a spec file, or a spec by its file name without `.spec` (or by the
/// literal `EXE(name=...)` it builds); a `run-in` must be a folder.
pub(crate) fn resolve(build: &Build, specs: &[String], python_dir: &Path) -> Result<Resolved> {
    let run_in = |key: &str, rel: &Path| -> Result<(String, PathBuf)> {
        let dir = python_dir.join(rel);
        match dir.canonicalize() {
            Ok(dir) if dir.is_dir() => Ok((rel.to_string_lossy().replace('\\', "/"), dir)),
            _ => Err(Error::new(
                ErrorKind::Config,
                format!(
                    "pyinstaller-build: {key}: run-in = \"{}\" is not a folder ({} does not exist).\n\
                     Fix: give the folder PyInstaller should run in, relative to python-dir `{}`.",
                    rel.display(),
                    dir.display(),
                    python_dir.display()
                ),
            )),
        }
    };
    let table = Run {
        run_in: build.run_in.as_deref().map(|r| run_in("run-in", r)).transpose()?,
        env: build.pyinstaller_env.clone(),
    };
    let stems: Vec<String> = specs.iter().map(|s| spec_stem(s)).collect();
    let literal = |key: &str| {
        specs.iter().find(|s| {
            let text = std::fs::read_to_string(python_dir.join(s)).unwrap_or_default();
            crate::skip::exe_name(&text).is_some_and(|n| n.strip_suffix(".exe").unwrap_or(&n) == key)
        })
    };
    let (mut install_as, mut runs, mut keys) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut resources = BTreeMap::new();
    for (written, s) in &build.settings {
        let key = written;
        let key = match (build.sidecars.contains_key(key) || stems.contains(key), literal(key)) {
            (true, _) => key.clone(),
            (false, Some(spec)) => spec_stem(spec),
            (false, None) => {
                let mut known: Vec<String> = build.sidecars.keys().cloned().collect();
                known.extend(stems.iter().cloned());
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "pyinstaller-build: [package.metadata.pyinstaller-build.sidecars.{key}] names no sidecar: \
                         no spec `{key}.spec` in python-dir builds it and it has no `script`.\n\
                         Fix: name the table after a sidecar or a spec's file name without `.spec` (here: {}), or add \
                         `script = \"<entry>.py\"` for a sidecar without a spec file.",
                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                    ),
                ));
            }
        };
        if let Some(to) = &s.install_as {
            install_as.insert(key.clone(), to.to_string_lossy().replace('\\', "/"));
        }
        if let Some(folder) = &s.resource {
            let own_launch = build.launch_own.get(written).or(build.sidecars.get(&key).and_then(|s| s.launch.as_ref()));
            let clash = match (&s.install_as, own_launch) {
                (Some(_), _) => Some("`install-as` (an `externalBin` file)"),
                (None, Some(crate::launch::Launch::ExtractOnce)) => Some("`launch = \"extract-once\"` (one file)"),
                _ => None,
            };
            if let Some(clash) = clash {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "pyinstaller-build: [package.metadata.pyinstaller-build.sidecars.{written}] has both `resource` \
                         (a onedir folder in `bundle.resources`) and {clash}: a sidecar is installed one way.\n\
                         Fix: keep `resource = \"{}\"` for a onedir folder, or remove it.",
                        folder.display()
                    ),
                ));
            }
            resources.insert(key.clone(), folder.to_string_lossy().replace('\\', "/"));
        }
        let mut env = table.env.clone();
        env.extend(s.pyinstaller_env.clone());
        let own = match &s.run_in {
            Some(rel) => Some(run_in(&format!("sidecar `{key}`"), rel)?),
            None => table.run_in.clone(),
        };
        keys.insert(written.clone(), key.clone());
        runs.insert(key, Run { run_in: own, env });
    }
    Ok(Resolved { install_as, resources, runs, run: table, keys })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::SidecarSettings;

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("entrypoint.spec"), "exe = EXE(pyz, name='entrypoint')\n").unwrap();
        std::fs::write(dir.path().join("build.spec"), "exe = EXE(pyz, name='statements-x')\n").unwrap();
        dir
    }

    #[test]
    fn a_table_names_a_spec_by_its_file_or_its_literal_output_and_merges_with_the_table() {
        let dir = project();
        let specs = ["entrypoint.spec".to_string(), "build.spec".to_string()];
        let mut build = Build::new();
        build.pyinstaller_env([("A", "1"), ("B", "table")]).run_in(".");
        build.settings("entrypoint", SidecarSettings::new().install_as("binaries/statements"));
        build.settings("statements-x", SidecarSettings::new().run_in("..").pyinstaller_env("B", "own"));
        let r = resolve(&build, &specs, dir.path()).unwrap();
        assert_eq!(r.install_as, BTreeMap::from([("entrypoint".to_string(), "binaries/statements".to_string())]));
        // By its output, keyed by its file: `build`.
        let own = &r.runs["build"];
        assert_eq!(own.run_in.as_ref().unwrap().1, dir.path().parent().unwrap().canonicalize().unwrap());
        assert_eq!(own.env["B"], "own");
        assert_eq!(own.env["A"], "1");
        assert_eq!(r.runs["entrypoint"].run_in.as_ref().unwrap().0, ".");
        assert_eq!(r.keys["statements-x"], "build", "the literal output names its spec's stem");
        assert_eq!(r.run.env["B"], "table");
        // Only what is set counts: specs built before these keys keep their fingerprints.
        assert_eq!(Run::default().digest(), "");
        assert!(own.digest().contains("run-in ..") && own.digest().contains("pyinstaller-env B=own"));
    }

    #[test]
    fn a_resource_folder_is_one_way_to_install() {
        let dir = project();
        let specs = ["entrypoint.spec".to_string()];
        let mut build = Build::new();
        build.settings("entrypoint", SidecarSettings::new().resource("bin/python/main"));
        let r = resolve(&build, &specs, dir.path()).unwrap();
        assert_eq!(r.resources, BTreeMap::from([("entrypoint".to_string(), "bin/python/main".to_string())]));
        build.settings("entrypoint", SidecarSettings::new().resource("bin/python/main").install_as("binaries/x"));
        let e = resolve(&build, &specs, dir.path()).err().unwrap().to_string();
        assert!(e.contains("sidecars.entrypoint] has both `resource`") && e.contains("`install-as`"), "{e}");
        let mut build = Build::new();
        build.settings("entrypoint", SidecarSettings::new().resource("bin/python/main"));
        build.launch_own.insert("entrypoint".into(), crate::launch::Launch::ExtractOnce);
        let e = resolve(&build, &specs, dir.path()).err().unwrap().to_string();
        assert!(e.contains("`launch = \"extract-once\"`") && e.contains("Fix: keep `resource"), "{e}");
        // The table's own launch only: a top-level extract-once leaves a resource sidecar onedir.
        let mut build = Build::new();
        build.launch(crate::launch::Launch::ExtractOnce);
        build.settings("entrypoint", SidecarSettings::new().resource("bin/python/main"));
        assert!(resolve(&build, &specs, dir.path()).is_ok());
    }

    #[test]
    fn an_unknown_table_or_a_missing_folder_is_an_error_naming_the_fix() {
        let dir = project();
        let specs = ["entrypoint.spec".to_string()];
        let mut build = Build::new();
        build.settings("entry", SidecarSettings::new().install_as("binaries/statements"));
        let e = resolve(&build, &specs, dir.path()).err().unwrap().to_string();
        assert!(e.contains("sidecars.entry] names no sidecar") && e.contains("(here: entrypoint)"), "{e}");
        let mut build = Build::new();
        build.settings("entrypoint", SidecarSettings::new().run_in("no-such"));
        let e = resolve(&build, &specs, dir.path()).err().unwrap().to_string();
        assert!(e.contains("sidecar `entrypoint`: run-in = \"no-such\" is not a folder"), "{e}");
    }
}
