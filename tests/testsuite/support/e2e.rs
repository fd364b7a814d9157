//! End-to-end helpers: a copy of a fixture crate built by real cargo with real PyInstaller.

use super::env::Clean;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::SystemTime;

/// One cargo at a time: they share a target folder (its lock would serialize them anyway).
pub static CARGO: Mutex<()> = Mutex::new(());

pub struct App {
    pub _tmp: tempfile::TempDir,
    pub root: PathBuf,
}

pub struct Output {
    pub ok: bool,
    pub stderr: String,
}

impl Output {
    /// The crate's `cargo:warning` lines, as cargo shows them.
    pub fn warnings(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.contains("pyinstaller-build:") && l.starts_with("warning")).collect()
    }
}

impl App {
    /// A copy of `tests/fixtures/sidecars` in its managed environment (`requirements`), with
    /// `extra` added to its metadata table.
    pub fn new(extra: &str) -> App {
        App::unmanaged(&format!("requirements = \"requirements.txt\"\n{extra}"))
    }

    /// The fixture with whatever interpreter the crate discovers.
    pub fn unmanaged(extra: &str) -> App {
        App::from("tests/fixtures/sidecars", extra)
    }

    /// A copy of the fixture crate at `fixture` (relative to this crate).
    pub fn from(fixture: &str, extra: &str) -> App {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("app");
        copy_fixture(fixture, &root, extra);
        let app = App { _tmp: tmp, root };
        // Unique to this copy: its builds really build, never satisfied from the binary store
        // an earlier run left in the shared target folder.
        app.set_id(&app.root.display().to_string());
        app
    }

    /// Makes the copy's sources unique to `id`: `fixture-id.txt` (an input of every spec until
    /// its first build) and a comment in each spec (always an input: after that build only what
    /// PyInstaller read counts). No build of it is satisfied from another copy's binary, unless
    /// both are given the same id (checkouts of the same sources).
    pub fn set_id(&self, id: &str) {
        let python = self.root.join("python");
        fs::write(python.join("fixture-id.txt"), id).unwrap();
        for e in fs::read_dir(&python).unwrap().flatten() {
            if e.file_name().to_string_lossy().ends_with(".spec") {
                let spec = fs::read_to_string(e.path()).unwrap();
                let spec: String =
                    spec.lines().filter(|l| !l.starts_with("# fixture copy: ")).map(|l| format!("{l}\n")).collect();
                fs::write(e.path(), format!("{spec}# fixture copy: {id}\n")).unwrap();
            }
        }
    }

    pub fn cargo(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let _one = CARGO.lock().unwrap_or_else(|e| e.into_inner());
        let mut cmd = fixture_cargo(&self.root);
        cmd.arg("build").args(args);
        for var in [
            "PYINSTALLER_BUILD_SKIP",
            "PYINSTALLER_BUILD_FORCE",
            "PYINSTALLER_BUILD_PYTHON",
            "PYINSTALLER_BUILD_CACHE_DIR",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        let out = cmd.output_clean().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        Output { ok: out.status.success(), stderr }
    }

    pub fn build(&self, args: &[&str]) -> Output {
        let out = self.cargo(args, &[]);
        assert!(out.ok, "cargo build {args:?} failed:\n{}", out.stderr);
        out
    }

    pub fn write(&self, rel: &str, text: &str) {
        fs::write(self.root.join("python").join(rel), text).unwrap();
    }

    pub fn binary(&self, name: &str) -> PathBuf {
        let triple = host_triple();
        self.root.join("binaries").join(format!("{name}-{triple}"))
    }

    pub fn run(&self, name: &str) -> String {
        self.run_with(name, &[])
    }

    pub fn run_with(&self, name: &str, args: &[&str]) -> String {
        let out = Command::new(self.binary(name)).args(args).output_clean().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn mtime(&self, name: &str) -> SystemTime {
        fs::metadata(self.binary(name)).unwrap().modified().unwrap()
    }
}

/// The fixture crate at `fixture` (relative to this crate) copied to `root`, its manifest made
/// from `Cargo.toml.in` with this crate's path and `extra` in its metadata table.
pub fn copy_fixture(fixture: &str, root: &Path, extra: &str) {
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture), root);
    write_manifest(root, extra);
}

/// The copied crate at `root` gets its `Cargo.toml` from its `Cargo.toml.in`, with this crate's
/// path and `extra` in its metadata table, and this crate's lock file.
pub fn write_manifest(root: &Path, extra: &str) {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = fs::read_to_string(root.join("Cargo.toml.in"))
        .unwrap()
        .replace("@CRATE@", &crate_dir.display().to_string())
        .replace("@EXTRA@", extra);
    fs::write(root.join("Cargo.toml"), manifest).unwrap();
    // The crate's own lock file: same dependency versions, no registry lookup.
    fs::copy(crate_dir.join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
}

/// Cargo in `root` with the fixtures' shared target folder, compiling without debug info or
/// incremental state: nobody debugs a fixture, and those are most of what a test run writes to
/// disk. Every fixture build must use the same settings, or they rebuild each other's dependencies.
pub fn fixture_cargo(root: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(root)
        .env("CARGO_TARGET_DIR", e2e_target())
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .env("CARGO_INCREMENTAL", "0");
    cmd
}

fn e2e_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-target")
}

impl Drop for App {
    /// Removes the crate's work folders for this copy's projects (the copy itself goes with its
    /// temporary folder): the tests' shared target folder would otherwise keep every test's
    /// PyInstaller work, tens of megabytes each, until the run ends.
    fn drop(&mut self) {
        fn walk(dir: &Path, depth: usize) {
            if let Some(folder) = work_folder(dir) {
                let _ = fs::remove_dir_all(folder);
            }
            if depth == 0 {
                return;
            }
            for e in fs::read_dir(dir).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) && e.file_name() != "binaries" {
                    walk(&e.path(), depth - 1);
                }
            }
        }
        walk(&self.root, 3);
    }
}

/// The crate's work folder in the fixtures' target for the project whose python-dir is `dir`
/// (named as `workdir::project_cache` names it); `None` if `dir` does not exist.
pub fn work_folder(dir: &Path) -> Option<PathBuf> {
    let canonical = dir.canonicalize().ok()?;
    let name = canonical.file_name()?.to_string_lossy().into_owned();
    let hash = blake3::hash(canonical.as_os_str().as_encoded_bytes()).to_hex();
    Some(e2e_target().join("pyinstaller-build").join(format!("{name}-{}", &hash[..12])))
}

pub fn host_triple() -> String {
    let out = Command::new("rustc").arg("-vV").output_clean().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().find_map(|l| l.strip_prefix("host: ")).unwrap().to_string()
}

/// Copies a fixture, filling each `@BLOB@` with random hex (incompressible enough to weigh
/// ~0.3 MB in a binary; generated here so the repository stays small).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            let text = fs::read(e.path()).unwrap();
            if String::from_utf8_lossy(&text).contains("\"@BLOB@\"") {
                let seed = to.join(e.file_name()).to_string_lossy().len() as u64 + text.len() as u64;
                let blob = String::from_utf8(text).unwrap().replace("@BLOB@", &random_hex(300_000, seed));
                fs::write(to.join(e.file_name()), blob).unwrap();
            } else {
                fs::write(to.join(e.file_name()), text).unwrap();
            }
        }
    }
}

pub fn random_hex(bytes: usize, seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..bytes)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{:02x}", x as u8)
        })
        .collect()
}

/// The crate's cache folder for the app's project.
pub fn audit_of_dir(app: &App) -> PathBuf {
    let project = work_folder(&app.root.join("python")).expect("the project's python-dir");
    assert!(project.is_dir(), "the project's cache folder: {}", project.display());
    project
}

/// The audit the crate wrote for a spec.
pub fn audit_of(app: &App, spec: &str) -> pyinstaller_build::Audit {
    serde_json::from_slice(&fs::read(audit_of_dir(app).join(spec).join("audit.json")).unwrap()).unwrap()
}

/// The sizes of every package add up to the archive PyInstaller wrote (its `.pkg`), give or take
/// the archive's own index.
pub fn assert_sizes_add_up(audit: &pyinstaller_build::Audit, pkg: &Path) {
    let counted: u64 = audit
        .packages
        .iter()
        .filter(|p| p.package != "(bootloader, archive index)" && !p.package.contains(".test"))
        .map(|p| p.bytes)
        .sum();
    let pkg = fs::metadata(pkg).unwrap().len();
    let off = (counted as f64 - pkg as f64).abs() / pkg as f64;
    assert!(off < 0.03, "packages add up to {counted} bytes, the archive is {pkg} ({:.1}% off)", off * 100.0);
}

/// The fast path's snapshot folder for a spec.
pub fn fast_path_dir(app: &App, spec: &str) -> PathBuf {
    audit_of_dir(app).join(spec).join("fastpath")
}
