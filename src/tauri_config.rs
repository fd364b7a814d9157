//! The app's Tauri config, read as the Tauri CLI and tauri-build read it: `tauri.conf.json`
//! (or `tauri.conf.json5`, `Tauri.toml`) in the package folder, the platform file
//! (`tauri.linux.conf.json`, ...) merged on top, then `TAURI_CONFIG` (what `tauri dev --config`
//! passes; tauri-build reads it too). The crate only reads it: what `tauri dev` watches
//! (devwatch.rs), where `bundle.externalBin` wants each sidecar (placement.rs) and what
//! `bundle.resources` bundles (onedir.rs).

use crate::cargo::Cargo;
use serde_json::Value;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// A Tauri config, merged.
pub(crate) struct TauriConfig {
    value: Value,
    /// The main file's name (`tauri.conf.json`), for messages.
    pub name: String,
    /// The files read: an edit of one reruns the build script (where sidecars go may change).
    pub files: Vec<PathBuf>,
}

impl TauriConfig {
    /// The config of the app in `app_dir` for `target_os` (cargo's `CARGO_CFG_TARGET_OS`), with
    /// `TAURI_CONFIG` merged (announced to cargo); `None` for a package without one (plain cargo
    /// users) or one the crate cannot parse.
    pub(crate) fn load(cargo: &Cargo, app_dir: &Path, target_os: &str) -> Option<TauriConfig> {
        let extra = cargo.env("TAURI_CONFIG").map(|v| v.to_string_lossy().into_owned());
        TauriConfig::read(app_dir, target_os, extra.as_deref())
    }

    /// [`TauriConfig::load`] with `extra` given.
    pub(crate) fn read(app_dir: &Path, target_os: &str, extra: Option<&str>) -> Option<TauriConfig> {
        let (value, name, files) = read_config(app_dir, target_os, extra)?;
        Some(TauriConfig { value, name, files })
    }

    /// `build.additionalWatchFolders`, as written (relative to the package folder).
    pub(crate) fn watch_folders(&self) -> Vec<String> {
        // Tauri.toml spells its keys in kebab case.
        self.strings(&["/build/additionalWatchFolders", "/build/additional-watch-folders"])
    }

    /// `bundle.externalBin`, as written (`binaries/api`: relative to the package folder, without
    /// the `-<target-triple>` Tauri adds).
    pub(crate) fn external_bins(&self) -> Vec<String> {
        self.strings(&["/bundle/externalBin", "/bundle/external-bin"])
    }

    /// `bundle.resources`, as written: a list's paths and globs, or a map's sources (its keys),
    /// relative to the package folder.
    pub(crate) fn resources(&self) -> Vec<String> {
        match self.value.pointer("/bundle/resources") {
            Some(Value::Object(map)) => map.keys().cloned().collect(),
            _ => self.strings(&["/bundle/resources"]),
        }
    }

    fn strings(&self, pointers: &[&str]) -> Vec<String> {
        match pointers.iter().find_map(|p| self.value.pointer(p)) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => vec![],
        }
    }
}

/// The app's config as the CLI merges it: the main file, the platform file, then `extra`
/// (`TAURI_CONFIG`).
fn read_config(app_dir: &Path, target_os: &str, extra: Option<&str>) -> Option<(Value, String, Vec<PathBuf>)> {
    let (mut config, name) = ["tauri.conf.json", "tauri.conf.json5", "Tauri.toml"]
        .iter()
        .find_map(|name| Some((parse(&app_dir.join(name))?, name.to_string())))?;
    let mut files = vec![app_dir.join(&name)];
    let platform = match target_os {
        "macos" => "macos",
        "windows" => "windows",
        "linux" => "linux",
        _ => "",
    };
    if !platform.is_empty() {
        let names = [
            format!("tauri.{platform}.conf.json"),
            format!("tauri.{platform}.conf.json5"),
            format!("Tauri.{platform}.toml"),
        ];
        if let Some((patch, file)) = names.iter().find_map(|n| Some((parse(&app_dir.join(n))?, app_dir.join(n)))) {
            merge(&mut config, patch);
            files.push(file);
        }
    }
    if let Some(patch) = extra.and_then(|e| serde_json::from_str(e).ok()) {
        merge(&mut config, patch);
    }
    Some((config, name, files))
}

fn parse(path: &Path) -> Option<Value> {
    let text = fs::read_to_string(path).ok()?;
    if path.extension().is_some_and(|e| e == "toml") {
        let value: toml::Value = toml::from_str(&text).ok()?;
        return serde_json::to_value(value).ok();
    }
    serde_json::from_str(&text).ok().or_else(|| serde_json::from_str(&strip_json5(&text)).ok())
}

/// JSON5 as apps write it: JSON with comments and trailing commas. Anything richer is not read
/// (the advice is then not given, rather than given wrong).
fn strip_json5(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                out.extend(chars.next());
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for n in chars.by_ref() {
                    if last == '*' && n == '/' {
                        break;
                    }
                    last = n;
                }
            }
            (',', _) => {
                // A trailing comma: the next non-space character closes the object or array.
                let rest: String = chars.clone().collect();
                if !rest.trim_start().starts_with(['}', ']']) {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// RFC 7396 merge patch, as the CLI merges platform files (`json_patch::merge`).
fn merge(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(patch) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let map = target.as_object_mut().expect("made an object above");
            for (k, v) in patch {
                if v.is_null() {
                    map.remove(&k);
                } else {
                    merge(map.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other,
    }
}

/// `a/b/../c` as `a/c`, without touching the file system: paths the config names (sidecar
/// entries, watch folders) may not exist yet.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            fs::write(dir.path().join(path), text).unwrap();
        }
        dir
    }

    #[test]
    fn external_bins_from_json_platform_file_and_extra() {
        let dir = app(&[
            ("tauri.conf.json", r#"{"bundle": {"externalBin": ["binaries/api"]}}"#),
            ("tauri.windows.conf.json", r#"{"bundle": {"externalBin": ["bin/win"]}}"#),
        ]);
        let linux = TauriConfig::read(dir.path(), "linux", None).unwrap();
        assert_eq!(linux.external_bins(), ["binaries/api"]);
        assert_eq!(linux.name, "tauri.conf.json");
        let windows = TauriConfig::read(dir.path(), "windows", None).unwrap();
        assert_eq!(windows.external_bins(), ["bin/win"]);
        let extra = r#"{"bundle": {"externalBin": ["binaries/other"]}}"#;
        assert_eq!(TauriConfig::read(dir.path(), "linux", Some(extra)).unwrap().external_bins(), ["binaries/other"]);
    }

    #[test]
    fn toml_and_json5_and_none() {
        let dir = app(&[("Tauri.toml", "[bundle]\nexternal-bin = [\"binaries/api\"]\n")]);
        assert_eq!(TauriConfig::read(dir.path(), "linux", None).unwrap().external_bins(), ["binaries/api"]);
        let dir = app(&[("tauri.conf.json5", "{ // app\n bundle: 1, }")]);
        assert!(TauriConfig::read(dir.path(), "linux", None).is_none(), "JSON5 beyond comments is not read");
        let dir = app(&[("tauri.conf.json5", "{ /* app */ \"bundle\": { \"externalBin\": [\"b/a\",], }, }")]);
        assert_eq!(TauriConfig::read(dir.path(), "linux", None).unwrap().external_bins(), ["b/a"]);
        assert!(TauriConfig::read(app(&[]).path(), "linux", None).is_none());
    }
}
