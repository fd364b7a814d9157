//! What `tauri dev` watches, and whether a Python edit reaches the running app.
//!
//! The Tauri CLI's dev watcher restarts the app only for changes it sees: in the folder holding
//! `tauri.conf.json` (`src-tauri`) and in the folders of `build.additionalWatchFolders`, minus what
//! `.gitignore` hides at their top level and what `.taurignore` (with the CLI's built-in list:
//! `node_modules/`, `target/`, `gen/`, `Cargo.lock`, `.DS_Store`) hides anywhere
//! (`tauri-cli/src/interface/rust.rs`: `run_dev_watcher`, `lookup`, `build_ignore_matcher`).
//! Cargo's `rerun-if-changed` does not make it look. So Python outside those folders is rebuilt
//! only when something else restarts the app, and a sidecar installed into a watched folder
//! restarts it a second time.
//!
//! Given the app's config as the CLI reads it (tauri_config.rs: the main file, the platform file
//! merged on top, `TAURI_CONFIG`), this module says once, with the line to add, when a project file is not watched
//! or the binaries folder is. It never writes to the user's files; ignore rules are read with the
//! subset of gitignore syntax apps use (`*`, `?`, `[..]`, `**`, `!`, a trailing or leading `/`).

use crate::cargo::Cargo;
use crate::tauri_config::{normalize, TauriConfig};
use std::fs;
use std::path::{Path, PathBuf};

/// The CLI's built-in ignore list (`tauri-dev-watcher.gitignore`).
const BUILTIN_IGNORES: &[&str] = &["node_modules/", "target/", "gen/", "Cargo.lock", ".DS_Store"];

/// What a Python edit under `tauri dev` can touch, and where the crate installs.
pub(crate) struct Inputs<'a> {
    /// The folder holding `tauri.conf.json` (the package's manifest folder).
    pub app_dir: &'a Path,
    /// Files whose edit changes a sidecar (the project's files, the requirements file).
    pub files: Vec<PathBuf>,
    /// The folders sidecars are installed into.
    pub install_dirs: Vec<PathBuf>,
    /// The app's Tauri config.
    pub config: &'a TauriConfig,
}

/// Says once (per distinct advice) what keeps a Python edit from reaching the app under
/// `tauri dev`; `state` remembers what was said. Quiet when all is well.
pub(crate) fn check(cargo: &Cargo, inputs: &Inputs, state: &Path) {
    let advice = advice(inputs);
    let said = fs::read_to_string(state).unwrap_or_default();
    if advice.is_empty() {
        if !said.is_empty() {
            let _ = fs::remove_file(state);
        }
        return;
    }
    if said != advice {
        cargo.warning(&advice);
        if let Some(dir) = state.parent() {
            let _ = fs::create_dir_all(dir);
        }
        let _ = fs::write(state, &advice);
    }
}

/// The advice for this app (empty when all is well).
pub(crate) fn advice(inputs: &Inputs) -> String {
    let config_name = &inputs.config.name;
    let mut roots = vec![inputs.app_dir.to_path_buf()];
    for f in inputs.config.watch_folders() {
        roots.push(normalize(&inputs.app_dir.join(f)));
    }
    let watcher = Watcher { roots };
    let mut lines = Vec::new();

    // Unwatched inputs, grouped by the folder to add (their nearest common folder).
    let mut outside = Vec::new();
    let mut hidden = Vec::new();
    for file in &inputs.files {
        match watcher.sees(file, false) {
            Seen::Yes => {}
            Seen::Outside => outside.push(file.clone()),
            Seen::Ignored(rule) => hidden.push((file.clone(), rule)),
        }
    }
    if !outside.is_empty() {
        let folder = common_folder(&outside);
        let rel = relative(&folder, inputs.app_dir);
        // A watched folder holding src-tauri holds cargo's target folder too: without an ignore
        // file there, the CLI's watcher sees every file cargo writes (its built-in list applies
        // only beside a `.taurignore`).
        let holds_app = inputs.app_dir.starts_with(&folder);
        lines.push(format!(
            "pyinstaller-build: `tauri dev` does not watch {} (e.g. {}): saving a Python file there does not \
             restart the app, so its sidecar is not rebuilt until you restart `tauri dev`.\n\
             Fix: in {config_name}, add \"{rel}\" to \"build\": {{ \"additionalWatchFolders\": [...] }}{}.",
            rel,
            relative(&outside[0], inputs.app_dir),
            match holds_app {
                true => format!(", and a file {rel}/.taurignore with the line `target/`, so cargo's own output there does not restart the app"),
                false => String::new(),
            },
        ));
    }
    if let Some((file, rule)) = hidden.first() {
        lines.push(format!(
            "pyinstaller-build: `tauri dev` ignores {} because of `{}` in {}: an edit there does not restart the \
             app.\nFix: remove or narrow that line.",
            relative(file, inputs.app_dir),
            rule.line,
            match rule.file.is_absolute() {
                true => relative(&rule.file, inputs.app_dir),
                false => rule.file.display().to_string(),
            },
        ));
    }
    // A sidecar installed into a watched folder restarts the app a second time.
    for dir in &inputs.install_dirs {
        if watcher.sees(&dir.join("sidecar"), false) != Seen::Yes {
            continue;
        }
        let (root, rel) = watcher
            .roots
            .iter()
            .filter(|r| dir.starts_with(r))
            .map(|r| (r.clone(), relative(dir, r)))
            .next()
            .unwrap_or_else(|| (inputs.app_dir.to_path_buf(), relative(dir, inputs.app_dir)));
        lines.push(format!(
            "pyinstaller-build: `tauri dev` watches the binaries folder {}: each installed sidecar restarts the \
             app a second time.\nFix: add the line `{rel}/` to {}.",
            relative(dir, inputs.app_dir),
            relative(&root.join(".taurignore"), inputs.app_dir),
        ));
    }
    lines.join("\n")
}

#[derive(Debug, PartialEq)]
enum Seen {
    Yes,
    Outside,
    Ignored(Rule),
}

struct Watcher {
    roots: Vec<PathBuf>,
}

impl Watcher {
    /// Whether the CLI's watcher restarts the app when `path` changes.
    fn sees(&self, path: &Path, is_dir: bool) -> Seen {
        let mut result = Seen::Outside;
        for root in self.roots.iter().filter(|r| path.starts_with(r) && path != r.as_path()) {
            match seen_from(root, path, is_dir) {
                Seen::Yes => return Seen::Yes,
                ignored @ Seen::Ignored(_) => result = ignored,
                Seen::Outside => {}
            }
        }
        result
    }
}

fn seen_from(root: &Path, path: &Path, is_dir: bool) -> Seen {
    let rel = path.strip_prefix(root).expect("checked by the caller");
    let top = root.join(rel.components().next().expect("path is below root"));
    let top_is_dir = rel.components().count() > 1 || is_dir;
    // The top level is listed with `.gitignore`, `.taurignore` (in the root and its parents) and
    // the built-in list.
    let mut top_rules = Vec::new();
    for dir in root.ancestors() {
        for name in [".gitignore", ".taurignore"] {
            top_rules.extend(RuleSet::read(&dir.join(name)));
        }
    }
    top_rules.push(RuleSet::builtin(root));
    if let Some(rule) = ignored_by(&top_rules, &top, top_is_dir) {
        return Seen::Ignored(rule);
    }
    // Events anywhere are filtered by every `.taurignore` (with the built-in list) from the root
    // down to the file.
    let mut event_rules = Vec::new();
    let mut dir = path.parent();
    while let Some(d) = dir {
        if let Some(set) = RuleSet::read(&d.join(".taurignore")) {
            event_rules.push(RuleSet::builtin(d));
            event_rules.push(set);
        }
        if d == root {
            break;
        }
        dir = d.parent();
    }
    match ignored_by(&event_rules, path, is_dir) {
        Some(rule) => Seen::Ignored(rule),
        None => Seen::Yes,
    }
}

fn ignored_by(sets: &[RuleSet], path: &Path, is_dir: bool) -> Option<Rule> {
    sets.iter().find_map(|s| s.ignores(path, is_dir))
}

/// One line of an ignore file, and where it came from (for the message).
#[derive(Clone, Debug, PartialEq)]
struct Rule {
    file: PathBuf,
    base: PathBuf,
    line: String,
}

struct RuleSet {
    base: PathBuf,
    file: PathBuf,
    rules: Vec<(glob::Pattern, String, Flags)>,
}

#[derive(Clone, Copy)]
struct Flags {
    negate: bool,
    dir_only: bool,
    anchored: bool,
}

impl RuleSet {
    fn read(file: &Path) -> Option<RuleSet> {
        let text = fs::read_to_string(file).ok()?;
        Some(RuleSet::parse(file.parent()?, file, text.lines()))
    }

    fn builtin(base: &Path) -> RuleSet {
        RuleSet::parse(base, Path::new("the Tauri CLI's built-in ignore list"), BUILTIN_IGNORES.iter().copied())
    }

    fn parse<'l>(base: &Path, file: &Path, lines: impl Iterator<Item = &'l str>) -> RuleSet {
        let mut rules = Vec::new();
        for raw in lines {
            let line = raw.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, mut pat) = match line.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let dir_only = pat.ends_with('/');
            pat = pat.trim_end_matches('/');
            if let Some(rest) = pat.strip_prefix("**/") {
                if !rest.contains('/') {
                    pat = rest;
                }
            }
            let anchored = pat.contains('/');
            let pat = pat.trim_start_matches('/');
            if let Ok(p) = glob::Pattern::new(pat) {
                rules.push((p, line.to_string(), Flags { negate, dir_only, anchored }));
            }
        }
        RuleSet { base: base.to_path_buf(), file: file.to_path_buf(), rules }
    }

    /// Gitignore semantics: the last matching line decides, and a folder that is ignored hides
    /// everything below it.
    fn ignores(&self, path: &Path, is_dir: bool) -> Option<Rule> {
        let rel = path.strip_prefix(&self.base).ok()?;
        let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let options = glob::MatchOptions { require_literal_separator: true, ..Default::default() };
        for end in 1..=parts.len() {
            let candidate = parts[..end].join("/");
            let name = &parts[end - 1];
            let candidate_is_dir = end < parts.len() || is_dir;
            let mut verdict = None;
            for (pattern, line, flags) in &self.rules {
                if flags.dir_only && !candidate_is_dir {
                    continue;
                }
                let hit = match flags.anchored {
                    true => pattern.matches_with(&candidate, options),
                    false => pattern.matches_with(name, options),
                };
                if hit {
                    verdict = (!flags.negate).then(|| line.clone());
                }
            }
            if let Some(line) = verdict {
                return Some(Rule { file: self.file.clone(), base: self.base.clone(), line });
            }
        }
        None
    }
}

fn common_folder(files: &[PathBuf]) -> PathBuf {
    let mut common = files[0].parent().map(Path::to_path_buf).unwrap_or_default();
    for f in &files[1..] {
        while !f.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    common
}

/// `path` as written relative to `base` (`../python`), `/`-separated as in the config.
fn relative(path: &Path, base: &Path) -> String {
    let path = normalize(path);
    let base = normalize(base);
    let common = path.components().zip(base.components()).take_while(|(a, b)| a == b).count();
    let ups = base.components().count() - common;
    let mut parts: Vec<String> = vec!["..".to_string(); ups];
    parts.extend(path.components().skip(common).map(|c| c.as_os_str().to_string_lossy().into_owned()));
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct App {
        dir: tempfile::TempDir,
    }

    impl App {
        fn new(files: &[(&str, &str)]) -> App {
            let dir = tempfile::tempdir().unwrap();
            for (path, text) in files {
                let p = dir.path().join(path);
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(p, text).unwrap();
            }
            App { dir }
        }

        fn advice(&self, files: &[&str], binaries: &str, os: &str) -> Option<String> {
            let app_dir = self.dir.path().join("src-tauri");
            let binaries_dir = app_dir.join(binaries);
            let config = TauriConfig::read(&app_dir, os, None)?;
            let inputs = Inputs {
                app_dir: &app_dir,
                files: files.iter().map(|f| self.dir.path().join(f)).collect(),
                install_dirs: vec![binaries_dir.clone()],
                config: &config,
            };
            Some(advice(&inputs))
        }
    }

    const CONF: (&str, &str) = ("src-tauri/tauri.conf.json", r#"{"build": {}}"#);
    const IGNORED: (&str, &str) = ("src-tauri/.taurignore", "binaries/\n");

    #[test]
    fn no_tauri_config_no_advice() {
        let app = App::new(&[("src-tauri/Cargo.toml", "")]);
        assert_eq!(app.advice(&["python/main.py"], "binaries", "linux"), None);
    }

    #[test]
    fn python_outside_src_tauri_names_the_folder_and_the_json() {
        let app = App::new(&[CONF, IGNORED]);
        let advice = app.advice(&["python/main.py", "python/pkg/a.py"], "binaries", "linux").unwrap();
        assert!(advice.contains("does not watch ../python (e.g. ../python/main.py)"), "{advice}");
        assert!(advice.contains(r#"add "../python" to "build": { "additionalWatchFolders""#), "{advice}");
        assert!(advice.contains("tauri.conf.json"), "{advice}");
        assert!(!advice.contains("binaries folder"), "{advice}");
    }

    #[test]
    fn additional_watch_folders_and_taurignore_make_it_quiet() {
        let conf = ("src-tauri/tauri.conf.json", r#"{"build": {"additionalWatchFolders": ["../python"]}}"#);
        let app = App::new(&[conf, IGNORED]);
        assert_eq!(app.advice(&["python/main.py"], "binaries", "linux").unwrap(), "");
    }

    #[test]
    fn the_platform_file_is_merged_on_top() {
        let linux = ("src-tauri/tauri.linux.conf.json", r#"{"build": {"additionalWatchFolders": ["../python"]}}"#);
        let app = App::new(&[CONF, IGNORED, linux]);
        assert_eq!(app.advice(&["python/main.py"], "binaries", "linux").unwrap(), "");
        let advice = app.advice(&["python/main.py"], "binaries", "windows").unwrap();
        assert!(advice.contains("does not watch ../python"), "{advice}");
    }

    #[test]
    fn json5_and_toml_configs_are_read() {
        let json5 = (
            "src-tauri/tauri.conf.json5",
            "// app\n{ \"build\": { /* dev */ \"additionalWatchFolders\": [\"../python\",], }, }\n",
        );
        let app = App::new(&[json5, IGNORED]);
        assert_eq!(app.advice(&["python/main.py"], "binaries", "linux").unwrap(), "");
        let toml = ("src-tauri/Tauri.toml", "[build]\nadditional-watch-folders = []\n");
        let app = App::new(&[toml, IGNORED]);
        assert!(app.advice(&["python/main.py"], "binaries", "linux").unwrap().contains("Tauri.toml"));
    }

    #[test]
    fn a_watched_binaries_folder_is_named_with_its_ignore_line() {
        let app = App::new(&[CONF]);
        let advice = app.advice(&["src-tauri/python/main.py"], "binaries", "linux").unwrap();
        assert!(advice.contains("add the line `binaries/` to .taurignore"), "{advice}");
        let gitignored = App::new(&[CONF, ("src-tauri/.gitignore", "/target/\n/binaries\n")]);
        assert_eq!(gitignored.advice(&["src-tauri/python/main.py"], "binaries", "linux").unwrap(), "");
    }

    #[test]
    fn python_hidden_by_an_ignore_file_names_the_line() {
        let app = App::new(&[CONF, IGNORED, ("src-tauri/.taurignore", "binaries/\n*.py\n")]);
        let advice = app.advice(&["src-tauri/python/main.py"], "binaries", "linux").unwrap();
        assert!(advice.contains("ignores python/main.py because of `*.py` in .taurignore"), "{advice}");
        let negated = App::new(&[CONF, ("src-tauri/.taurignore", "binaries/\n*.py\n!python/*.py\n")]);
        assert_eq!(negated.advice(&["src-tauri/python/main.py"], "binaries", "linux").unwrap(), "");
        // `.gitignore` hides a top-level folder from the watcher.
        let top = App::new(&[CONF, IGNORED, ("src-tauri/.gitignore", "python\n")]);
        let advice = top.advice(&["src-tauri/python/main.py"], "binaries", "linux").unwrap();
        assert!(advice.contains("because of `python` in .gitignore"), "{advice}");
    }

    #[test]
    fn python_dir_holding_src_tauri_names_only_what_is_outside() {
        let app = App::new(&[CONF, IGNORED]);
        let advice = app.advice(&["src-tauri/main.py", "server.py", "pkg/a.py"], "binaries", "linux").unwrap();
        assert!(advice.contains(r#"add ".." to"#), "{advice}");
        assert!(advice.contains("and a file ../.taurignore with the line `target/`"), "{advice}");
    }

    #[test]
    fn said_once() {
        let app = App::new(&[CONF, IGNORED]);
        let app_dir = app.dir.path().join("src-tauri");
        let binaries_dir = app_dir.join("binaries");
        let config = TauriConfig::read(&app_dir, "linux", None).unwrap();
        let inputs = Inputs {
            app_dir: &app_dir,
            files: vec![app.dir.path().join("python/main.py")],
            install_dirs: vec![binaries_dir.clone()],
            config: &config,
        };
        let state = app.dir.path().join("state/devwatch.txt");
        let lines = |cargo: &Cargo| {
            let buf = cargo.capture.as_ref().unwrap().lock().unwrap().clone();
            buf.into_iter().filter(|l| l.starts_with("cargo:warning=")).count()
        };
        let cargo = Cargo { capture: Some(Default::default()) };
        check(&cargo, &inputs, &state);
        assert!(lines(&cargo) > 0);
        let again = Cargo { capture: Some(Default::default()) };
        check(&again, &inputs, &state);
        assert_eq!(lines(&again), 0);
    }
}
