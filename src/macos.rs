//! macOS: a sidecar for the other architecture, and the universal file Tauri's bundler wants.
//!
//! `tauri build --target universal-apple-darwin` runs cargo once for `aarch64-apple-darwin` and
//! once for `x86_64-apple-darwin` (so one of them has a `TARGET` that is not the host's), then
//! bundles `<name>-universal-apple-darwin`. PyInstaller builds for the other architecture only
//! from a universal2 interpreter, through `EXE(target_arch=...)`. The universal file is made with
//! `lipo` once both halves are installed *from the same sources*: a half rebuilt since (a plain
//! `cargo build` after an edit) makes the universal file stale, and it is removed rather than
//! bundled with two different programs in it.

use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::fsutil::write_atomic;
use crate::hashing::{hash_file, hex};
use crate::install::sidecar_file_name;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const UNIVERSAL: &str = "universal-apple-darwin";

/// PyInstaller's `target_arch` for a macOS `target` built on `host`: `None` when they match.
/// Another architecture needs a universal2 interpreter (`platform` is its
/// `sysconfig.get_platform()`, like `macosx-10.13-universal2`); without one the error names the fix.
pub(crate) fn target_arch(target: &str, host: &str, platform: &str, python: &Path) -> Result<Option<&'static str>> {
    if target == host {
        return Ok(None);
    }
    let arch = match target {
        "x86_64-apple-darwin" => "x86_64",
        "aarch64-apple-darwin" => "arm64",
        _ => unreachable!("only called for two macOS triples"),
    };
    if platform.ends_with("universal2") {
        return Ok(Some(arch));
    }
    Err(Error::new(
        ErrorKind::CrossCompile,
        format!(
            "pyinstaller-build: building sidecars for `{target}` on `{host}` needs a universal2 Python, \
             and `{}` is `{platform}`. (`tauri build --target universal-apple-darwin` builds both \
             architectures.)\n\
             Fix: point PYINSTALLER_BUILD_PYTHON (or the `python` key) at a universal2 interpreter, \
             such as the python.org macOS installer's `python3`, with your packages installed as \
             universal2 wheels; or build each architecture on a Mac of that architecture.",
            python.display()
        ),
    ))
}

/// Whether both are macOS desktop triples (the only pair where TARGET may differ from HOST).
pub(crate) fn both_macos(target: &str, host: &str) -> bool {
    let mac = |t: &str| t.ends_with("-apple-darwin");
    mac(target) && mac(host)
}

/// The half built for the other architecture.
fn other_half(target: &str) -> Option<&'static str> {
    match target {
        "x86_64-apple-darwin" => Some("aarch64-apple-darwin"),
        "aarch64-apple-darwin" => Some("x86_64-apple-darwin"),
        _ => None,
    }
}

/// What one half was installed from, kept in the spec's cache folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Half {
    /// Everything the binary was built from except `TARGET`.
    sources: String,
    binary_hash: String,
}

/// What the universal file was made from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Made {
    halves: [String; 2],
    binary_hash: String,
}

/// One installed sidecar, for [`universal`].
pub(crate) struct Installed<'a> {
    pub spec_dir: &'a Path,
    pub name: &'a str,
    pub installed: &'a Path,
    /// A key of everything it was built from except `TARGET`.
    pub sources: &'a str,
}

/// Records the installed half, then makes (or refreshes) `<name>-universal-apple-darwin` when
/// the other half is installed from the same sources, or removes a universal file that no longer
/// matches. Returns what it did, for the warning; `None` when nothing changed.
/// For a sidecar that has no universal form (an extract-once launcher: `lipo` keeps the Mach-O
/// parts, not the payload behind them): removes the universal file the crate made of it
/// earlier, which would otherwise be bundled with old sources.
pub(crate) fn remove_made_universal(spec_dir: &Path, name: &str, binaries_dir: &Path) -> Result<Option<String>> {
    let made_record = spec_dir.join("universal.json");
    let universal = binaries_dir.join(sidecar_file_name(name, UNIVERSAL));
    if !made_record.is_file() || !universal.exists() {
        return Ok(None);
    }
    fs::remove_file(&universal).at("could not remove the stale", &universal)?;
    let _ = fs::remove_file(&made_record);
    Ok(Some(format!(
        "removed {} (an extract-once sidecar has no universal form: build each architecture's target instead)",
        universal.display()
    )))
}

pub(crate) fn universal(sidecar: &Installed, target: &str, binaries_dir: &Path) -> Result<Option<String>> {
    let Some(other) = other_half(target) else { return Ok(None) };
    let this = Half { sources: sidecar.sources.to_string(), binary_hash: hex(&hash_file(sidecar.installed)?) };
    let record = |t: &str| sidecar.spec_dir.join(format!("half-{t}.json"));
    if read::<Half>(record(target)).as_ref() != Some(&this) {
        write_atomic(&record(target), &serde_json::to_vec(&this).expect("serializable"), false)?;
    }
    let universal = binaries_dir.join(sidecar_file_name(sidecar.name, UNIVERSAL));
    let other_path = binaries_dir.join(sidecar_file_name(sidecar.name, other));
    let other_half: Option<Half> = read(record(other));
    let other_hash = other_path.is_file().then(|| hash_file(&other_path).map(|h| hex(&h))).transpose()?;
    let matching = other_half.filter(|h| h.sources == this.sources && Some(&h.binary_hash) == other_hash.as_ref());
    let made_record = sidecar.spec_dir.join("universal.json");
    let Some(other_half) = matching else {
        if universal.exists() {
            fs::remove_file(&universal).at("could not remove the stale", &universal)?;
            let _ = fs::remove_file(&made_record);
            return Ok(Some(format!(
                "removed {} (its {other} half is not built from the same sources; build that target again to remake it)",
                universal.display()
            )));
        }
        return Ok(None);
    };
    let mut halves = [this.binary_hash.clone(), other_half.binary_hash];
    halves.sort();
    let made: Option<Made> = read(made_record.clone());
    let current = universal.is_file().then(|| hash_file(&universal).map(|h| hex(&h))).transpose()?;
    if made.is_some_and(|m| m.halves == halves && Some(&m.binary_hash) == current.as_ref()) {
        return Ok(None);
    }
    let lipo = which::which("lipo").map_err(|_| {
        Error::new(
            ErrorKind::Config,
            "pyinstaller-build: `lipo` is not on PATH, so the universal sidecar cannot be made.\n\
             Fix: install Xcode's command line tools (`xcode-select --install`).",
        )
    })?;
    let tmp = universal.with_file_name(format!(".{}.{}.tmp", sidecar.name, crate::fsutil::unique()));
    let out = Command::new(&lipo)
        .arg("-create")
        .arg("-output")
        .arg(&tmp)
        .arg(sidecar.installed)
        .arg(&other_path)
        .output()
        .at("could not run", &lipo)?;
    if !out.status.success() {
        let _ = fs::remove_file(&tmp);
        return Err(Error::new(
            ErrorKind::BuildFailed,
            format!(
                "pyinstaller-build: `lipo -create` failed for {} ({}):\n{}",
                universal.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
        ));
    }
    let bytes = fs::read(&tmp).at("could not read", &tmp)?;
    let _ = fs::remove_file(&tmp);
    write_atomic(&universal, &bytes, true)?;
    let made = Made { halves, binary_hash: blake3::hash(&bytes).to_hex().to_string() };
    write_atomic(&made_record, &serde_json::to_vec(&made).expect("serializable"), false)?;
    Ok(Some(format!("made {} from both architectures", universal.display())))
}

fn read<T: serde::de::DeserializeOwned>(path: PathBuf) -> Option<T> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extract_once_sidecar_removes_only_a_universal_file_the_crate_made() {
        let tmp = tempfile::tempdir().unwrap();
        let (spec_dir, bin) = (tmp.path().join("spec"), tmp.path().join("binaries"));
        fs::create_dir_all(&spec_dir).unwrap();
        fs::create_dir_all(&bin).unwrap();
        let universal = bin.join(sidecar_file_name("api", UNIVERSAL));
        fs::write(&universal, "the app's own").unwrap();
        assert_eq!(remove_made_universal(&spec_dir, "api", &bin).unwrap(), None, "not the crate's: kept");
        assert!(universal.exists());
        fs::write(spec_dir.join("universal.json"), "{}").unwrap();
        assert!(remove_made_universal(&spec_dir, "api", &bin).unwrap().unwrap().contains("no universal form"));
        assert!(!universal.exists() && !spec_dir.join("universal.json").exists());
    }

    #[test]
    fn the_other_architecture_needs_a_universal2_interpreter() {
        let py = Path::new("/usr/local/bin/python3");
        assert_eq!(target_arch("aarch64-apple-darwin", "aarch64-apple-darwin", "macosx-14.0-arm64", py).unwrap(), None);
        let universal = "macosx-10.13-universal2";
        assert_eq!(target_arch("x86_64-apple-darwin", "aarch64-apple-darwin", universal, py).unwrap(), Some("x86_64"));
        assert_eq!(target_arch("aarch64-apple-darwin", "x86_64-apple-darwin", universal, py).unwrap(), Some("arm64"));
        let err = target_arch("x86_64-apple-darwin", "aarch64-apple-darwin", "macosx-14.0-arm64", py).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CrossCompile);
        let msg = err.to_string();
        assert!(
            msg.contains("universal2") && msg.contains("macosx-14.0-arm64") && msg.contains("/usr/local/bin/python3")
        );
        assert!(msg.contains("PYINSTALLER_BUILD_PYTHON"), "{msg}");
        assert!(both_macos("x86_64-apple-darwin", "aarch64-apple-darwin"));
        assert!(!both_macos("x86_64-apple-darwin", "x86_64-unknown-linux-gnu"));
        assert!(!both_macos("aarch64-apple-ios", "aarch64-apple-darwin"));
    }
}
