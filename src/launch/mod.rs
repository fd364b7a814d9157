//! The `extract-once` launch mode: a sidecar built onedir and installed as one file, a small
//! launcher with the onedir folder packed after it, which unpacks it once per user and then
//! starts it from there (`launcher.rs`, the program itself).
//!
//! The pipeline, for a spec in this mode: the launcher is compiled for `TARGET` once per
//! toolchain and source (`compile`), its hash joins the spec's fingerprint; PyInstaller builds
//! the spec's onedir form (`build-support/run_pyinstaller.py`, told by `PYINSTALLER_BUILD_LAUNCH`);
//! `pack` turns the folder into the installed file, which everything after (smoke test, store,
//! shared cache, install) treats as the binary.
//!
//! A onedir sidecar installed as a `bundle.resources` folder (src/onedir.rs) takes the same
//! path with [`Launcher::folder`], an empty launcher: [`pack_folder`] is the one step from a
//! onedir folder in the work folder to the packed file for both.

use crate::build_support::PACK;
use crate::cargo::Cargo;
use crate::error::{Error, ErrorKind, IoContext, Result};
use serde::Deserialize;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCE: &str = include_str!("launcher.rs");
/// How the launcher is compiled (part of its cache key).
const FLAGS: &[&str] = &[
    "--edition",
    "2021",
    "--crate-type",
    "bin",
    "--crate-name",
    "pyinstaller_build_launcher",
    "-C",
    "opt-level=3",
    "-C",
    "panic=abort",
    "-C",
    "codegen-units=1",
    "-C",
    "strip=symbols",
];
/// zlib level of the payload's files.
const LEVEL: u32 = 9;
/// zlib level of a resource folder's packed form, which is only stored and shared, never
/// shipped (it is unpacked when installed): level 9 took 7.6 s of CPU for a stdlib sidecar's
/// 38 MB folder, level 1 0.56 s, for a file 7% bigger (16.4 vs 17.6 MB).
const FOLDER_LEVEL: u32 = 1;

mod macho;

/// The launcher's own source, also the crate's reader of the payload (a resource folder is
/// unpacked with it: src/onedir.rs).
#[path = "launcher.rs"]
#[allow(dead_code)]
pub(crate) mod launcher;

/// How an installed sidecar starts: the `launch` key, at the top level or in a sidecar's table.
///
/// ```
/// use pyinstaller_build::{Build, Launch};
/// Build::new().launch(Launch::ExtractOnce);
/// assert_eq!(Launch::default(), Launch::Onefile);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Launch {
    /// `"onefile"`: PyInstaller's onefile binary, unpacked into a new temporary folder at every
    /// start by a bootloader that runs Python in a child process.
    #[default]
    Onefile,
    /// `"extract-once"`: the spec built onedir, installed as a launcher carrying it; unpacked
    /// once per user into a cache folder, then started from there in the launcher's own process
    /// (Unix) or in a Job Object that dies with it (Windows).
    ExtractOnce,
}

impl TryFrom<String> for Launch {
    type Error = String;
    fn try_from(value: String) -> std::result::Result<Launch, String> {
        match value.as_str() {
            "onefile" => Ok(Launch::Onefile),
            "extract-once" => Ok(Launch::ExtractOnce),
            other => Err(format!("`launch` is \"onefile\" or \"extract-once\", not {other:?}")),
        }
    }
}

/// What a onedir build is packed behind: a compiled launcher (extract-once), or nothing (a
/// onedir sidecar installed as a resource folder, whose packed form is the payload alone).
#[derive(Clone, Debug)]
pub(crate) struct Launcher {
    /// The compiled launcher; `None` for a resource folder.
    pub path: Option<PathBuf>,
    /// blake3 of its bytes and of how the payload is packed behind it (`pack.py` and the
    /// deflate level): part of the fingerprint and cache keys of every spec it carries.
    pub hash: String,
    /// The zlib level the payload's files are packed at.
    pub level: u32,
    /// A macOS launcher: once the payload is appended, its Mach-O headers are fixed and it is
    /// signed ad hoc (`macho.rs`).
    pub macos: bool,
}

impl Launcher {
    /// The empty prefix of a resource folder's packed form: the trailer names the program, and
    /// the file is never run as it is (src/onedir/ unpacks it).
    pub(crate) fn folder() -> Launcher {
        let mut hash = blake3::Hasher::new();
        // What packs the folder and what unpacks it (launcher.rs's `unpack`, modes and links).
        hash.update(b"resource folder\0").update(PACK.as_bytes()).update(&FOLDER_LEVEL.to_le_bytes());
        hash.update(SOURCE.as_bytes());
        Launcher { path: None, hash: hash.finalize().to_hex().to_string(), level: FOLDER_LEVEL, macos: false }
    }

    /// How messages name the mode.
    pub(crate) fn mode(&self) -> &'static str {
        match self.path {
            Some(_) => "an extract-once sidecar",
            None => "a resource folder",
        }
    }
}

/// The launcher for `target`, compiled by cargo's `rustc` into `cache_root/launchers` unless a
/// launcher of this very compiler, target, flags and source is there. `users` names the sidecars
/// that need it, for the error.
pub(crate) fn compile(cargo: &Cargo, cache_root: &Path, target: &str, users: &[String]) -> Result<Launcher> {
    let rustc = cargo.env("RUSTC").unwrap_or_else(|| "rustc".into());
    let linker = cargo.env("RUSTC_LINKER");
    let fail = |why: String| {
        Error::new(
            ErrorKind::Config,
            format!(
                "pyinstaller-build: could not compile the extract-once launcher for `{target}`, which `launch = \"extract-once\"` \
                 of {} needs: {why}\nFix: {}or set `launch = \"onefile\"` for it.",
                users.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
                match why.contains("can't find crate for `std`") {
                    true => format!("install the target's standard library (`rustup target add {target}`), "),
                    false => "make the compiler and linker above work for this target, ".to_string(),
                }
            ),
        )
    };
    let version = Command::new(&rustc)
        .arg("-vV")
        .output()
        .map_err(|e| fail(format!("`{}` did not run: {e}", Path::new(&rustc).display())))?;
    let macos = target.contains("apple-darwin");
    // Linked unsigned on macOS (arm64's linker signs ad hoc), so that its headers can be fixed
    // before it is signed with its payload (macho.rs).
    let unsigned: &[&str] = if macos { &["-C", macho::NO_ADHOC_SIGNATURE] } else { &[] };
    let mut key = blake3::Hasher::new();
    key.update(&version.stdout);
    for part in [
        target.as_bytes(),
        SOURCE.as_bytes(),
        FLAGS.join(" ").as_bytes(),
        unsigned.join(" ").as_bytes(),
        b"--remap-path-prefix=<dir>=launcher",
    ] {
        key.update(&(part.len() as u64).to_le_bytes()).update(part);
    }
    if let Some(linker) = &linker {
        key.update(linker.as_encoded_bytes());
    }
    let dir = cache_root.join("launchers").join(&key.finalize().to_hex()[..16]);
    let exe = if target.contains("windows") { "launcher.exe" } else { "launcher" };
    let path = dir.join(exe);
    if !path.is_file() {
        fs::create_dir_all(&dir).at("could not create", &dir)?;
        let source = dir.join("launcher.rs");
        fs::write(&source, SOURCE).at("could not write", &source)?;
        let tmp = dir.join(format!("{exe}.{}.tmp", std::process::id()));
        let mut cmd = Command::new(&rustc);
        cmd.args(FLAGS).args(unsigned).arg("--target").arg(target).arg("-o").arg(&tmp).arg(&source);
        // Panic locations would carry this folder (the checkout's path, often a user name) into
        // every sidecar, and make the launcher's hash, so the shared-cache key, differ per clone.
        let mut remap = std::ffi::OsString::from("--remap-path-prefix=");
        remap.push(dir.as_os_str());
        remap.push("=launcher");
        cmd.arg(remap);
        if let Some(linker) = &linker {
            cmd.arg("-C").arg(format!("linker={}", Path::new(linker).display()));
        }
        // The launcher owes nothing to the app's own flags or wrappers.
        cmd.env_remove("RUSTC_WRAPPER").env_remove("CARGO_ENCODED_RUSTFLAGS");
        let out = cmd.output().map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            let _ = fs::remove_file(&tmp);
            return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_string()));
        }
        fs::rename(&tmp, &path).at("could not write", &path)?;
    }
    // The installed file is the launcher then pack.py's payload: a change to either is another
    // binary, which no stored or shared entry of the old one may stand for.
    let mut hash = blake3::Hasher::new();
    hash.update(&fs::read(&path).at("could not read", &path)?);
    hash.update(PACK.as_bytes()).update(&LEVEL.to_le_bytes());
    Ok(Launcher { path: Some(path), hash: hash.finalize().to_hex().to_string(), level: LEVEL, macos })
}

/// What `run_pyinstaller.py` says the spec's onedir form is.
#[derive(Deserialize)]
struct Built {
    /// The COLLECT's folder, in dist.
    folder: String,
    /// The EXE's file name in it.
    program: String,
}

/// The file name of what `run_pyinstaller.py` writes about the onedir form, in the spec's folder.
pub(crate) const BUILT_FILE: &str = "launch.json";

/// Packs the onedir folder PyInstaller left in `dist` behind the launcher, into `dist/<program>`;
/// the folder moves to `keep`. Returns the packed file.
pub(crate) fn pack(
    launcher: &Launcher,
    python: &Path,
    env: &[(String, Option<String>)],
    spec_name: &str,
    built: &Path,
    dist: &Path,
    keep: &Path,
) -> Result<PathBuf> {
    let mismatch = |why: &str| {
        Error::new(
            ErrorKind::Config,
            format!(
                "pyinstaller-build: `{spec_name}` cannot be built as {}: {why}.\nFix: give the spec one \
                 `EXE(...)` and at most one `COLLECT(...)` of it{}.",
                launcher.mode(),
                match launcher.path {
                    Some(_) => ", or set `launch = \"onefile\"` for it",
                    None => "",
                }
            ),
        )
    };
    let Built { folder, program } = fs::read(built)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| mismatch("the spec made no `COLLECT(...)` of its `EXE(...)`"))?;
    let onedir = dist.join(&folder);
    let entries = fs::read_dir(dist).at("could not list", dist)?.count();
    if entries != 1 || !onedir.join(&program).is_file() {
        return Err(mismatch(&format!(
            "`{}` should hold only the folder `{folder}` with `{program}` in it",
            dist.display()
        )));
    }
    crate::fsutil::remove_dir(keep)?;
    fs::rename(&onedir, keep).at("could not move", &onedir)?;
    let out = dist.join(&program);
    pack_folder(launcher, python, env, keep, &program, &out, None).map_err(|why| {
        Error::new(
            ErrorKind::BuildFailed,
            format!("pyinstaller-build: packing `{}` for `{spec_name}` failed: {why}", keep.display()),
        )
    })?;
    Ok(out)
}

/// A base to re-pack from: an earlier payload of `pack.py`, whose members are reused for files
/// whose name, mode and contents are unchanged, except for the `fresh` ones, always compressed.
pub(crate) struct Base<'a> {
    pub payload: &'a Path,
    pub fresh: &'a [&'a str],
}

/// What re-packing from a base found.
#[derive(Debug, Deserialize)]
pub(crate) struct Repacked {
    /// The files compressed (not taken from the base) and the links whose target changed.
    pub fresh: Vec<String>,
    /// Whether the folder held exactly the base's entries.
    pub same_entries: bool,
}

/// The one way from an onedir folder (`program` in it) to the file the crate stores, shares and
/// installs, in both modes: `pack.py` packs the folder in `python`, the build's interpreter (its
/// zlib compresses every member, at the launcher's level), and the launcher (none for a resource
/// folder) goes in front, written executable to `out`. Deterministic: the same folder gives the
/// same bytes.
/// With a `base`, unchanged members are copied from it byte for byte instead of compressed again
/// (the fast path), and what was not is returned.
pub(crate) fn pack_folder(
    launcher: &Launcher,
    python: &Path,
    env: &[(String, Option<String>)],
    onedir: &Path,
    program: &str,
    out: &Path,
    base: Option<Base>,
) -> std::result::Result<Option<Repacked>, String> {
    let payload = out.with_extension("payload");
    let mut cmd = Command::new(python);
    cmd.arg("-I").arg("-c").arg(PACK).arg(onedir).arg(&payload).arg(launcher.level.to_string()).arg(program);
    if let Some(base) = &base {
        cmd.arg(base.payload).args(base.fresh);
    }
    crate::process::build_env(&mut cmd, env);
    let output = cmd.output().map_err(|e| format!("could not run {}: {e}", python.display()))?;
    let read = fs::read(&payload);
    let _ = fs::remove_file(&payload);
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
    }
    let repacked = match base {
        Some(_) => Some(serde_json::from_slice(&output.stdout).map_err(|e| format!("pack.py's answer: {e}"))?),
        None => None,
    };
    let bytes = read.map_err(|e| format!("could not read {}: {e}", payload.display()))?;
    write_packed(launcher, &bytes, program, out)?;
    Ok(repacked)
}

/// The installed file for `payload`, written executable to `out`: the launcher (none for a
/// resource folder), the payload and the trailer; on macOS its headers fixed and signed ad hoc.
fn write_packed(launcher: &Launcher, payload: &[u8], program: &str, out: &Path) -> std::result::Result<(), String> {
    let prefix = match &launcher.path {
        Some(path) => fs::read(path).map_err(|e| format!("could not read {}: {e}", path.display()))?,
        None => Vec::new(),
    };
    let mut packed = assemble(&prefix, payload, program);
    if launcher.macos {
        macho::cover_appended(&mut packed).map_err(|why| format!("the macOS launcher's headers: {why}"))?;
    }
    fs::write(out, packed).map_err(|e| format!("could not write {}: {e}", out.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(out, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("could not make {} executable: {e}", out.display()))?;
    }
    if launcher.macos {
        macho::sign_ad_hoc(out)?;
    }
    Ok(())
}

/// The installed file for `payload` (a `pack.py` payload of a folder with `program` at its top)
/// with the program's entry replaced by `new_program`'s, written to `out`. `pack.py` writes a
/// folder as its entries one after another, each depending only on its own file, and the
/// program's entry as its bytes stored behind a header: so this is what packing the folder with
/// `new_program` in it gives, without reading the rest of the folder or running an interpreter.
/// (The fast path's self-test checks both ways agree after every PyInstaller build.)
pub(crate) fn repack_program(
    launcher: &Launcher,
    payload: &[u8],
    new_program: &Path,
    program: &str,
    out: &Path,
) -> std::result::Result<(), String> {
    let at = entries(payload)?
        .into_iter()
        .find(|e| e.kind == launcher::FILE && e.path == program)
        .ok_or_else(|| format!("the payload has no entry for {program}"))?
        .bytes;
    let data = fs::read(new_program).map_err(|e| format!("could not read {}: {e}", new_program.display()))?;
    let mode = file_mode(new_program).map_err(|e| format!("could not read {}: {e}", new_program.display()))?;
    let mut spliced = Vec::with_capacity(payload.len() - at.len() + data.len() + program.len() + 30);
    spliced.extend_from_slice(&payload[..at.start]);
    // pack.py's `file_entry` with method 0 (stored).
    spliced.push(launcher::FILE);
    spliced.extend_from_slice(&mode.to_le_bytes());
    spliced.extend_from_slice(&(program.len() as u32).to_le_bytes());
    spliced.extend_from_slice(program.as_bytes());
    spliced.push(0);
    spliced.extend_from_slice(&(data.len() as u64).to_le_bytes());
    spliced.extend_from_slice(&(data.len() as u64).to_le_bytes());
    spliced.extend_from_slice(&data);
    spliced.extend_from_slice(&payload[at.end..]);
    write_packed(launcher, &spliced, program, out)
}

/// A file's mode as `pack.py` records it: `0o755` when its owner may run it, else `0o644`.
pub(crate) fn file_mode(path: &Path) -> std::io::Result<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(if fs::metadata(path)?.permissions().mode() & 0o100 != 0 { 0o755 } else { 0o644 })
    }
    #[cfg(not(unix))]
    {
        fs::metadata(path).map(|_| 0o644)
    }
}

/// An entry of a `pack.py` payload (the format in `launcher.rs`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub kind: u8,
    pub mode: u32,
    pub path: String,
    /// Where the whole entry lies in the payload.
    pub bytes: std::ops::Range<usize>,
    /// A file's method (0 stored, 1 raw deflate) and size; 0 for the others.
    pub method: u8,
    pub size: u64,
    /// Where a file's stored bytes, or a link's target, lie in the payload.
    pub data: std::ops::Range<usize>,
}

/// The entries of a payload, in order; an error if it is not one.
pub(crate) fn entries(payload: &[u8]) -> std::result::Result<Vec<Entry>, String> {
    let bad = || "the payload is damaged".to_string();
    let take = |at: &mut usize, n: usize| -> std::result::Result<std::ops::Range<usize>, String> {
        let range = *at..at.checked_add(n).filter(|&end| end <= payload.len()).ok_or_else(bad)?;
        *at = range.end;
        Ok(range)
    };
    let number = |at: &mut usize, n: usize| -> std::result::Result<u64, String> {
        let mut le = [0u8; 8];
        le[..n].copy_from_slice(&payload[take(at, n)?]);
        Ok(u64::from_le_bytes(le))
    };
    let (mut at, mut found) = (0, Vec::new());
    while at < payload.len() {
        let start = at;
        let kind = number(&mut at, 1)? as u8;
        let mode = number(&mut at, 4)? as u32;
        let len = number(&mut at, 4)? as usize;
        let path = String::from_utf8(payload[take(&mut at, len)?].to_vec()).map_err(|_| bad())?;
        let (mut method, mut size, mut data) = (0, 0, at..at);
        match kind {
            launcher::FOLDER => {}
            launcher::FILE => {
                method = number(&mut at, 1)? as u8;
                size = number(&mut at, 8)?;
                let stored = usize::try_from(number(&mut at, 8)?).map_err(|_| bad())?;
                data = take(&mut at, stored)?;
            }
            launcher::SYMLINK => {
                let len = number(&mut at, 4)? as usize;
                data = take(&mut at, len)?;
            }
            _ => return Err(bad()),
        }
        found.push(Entry { kind, mode, path, bytes: start..at, method, size, data });
    }
    Ok(found)
}

/// Puts `folder`, the onedir folder `packed` was just packed from, into the launcher cache at
/// `cache_root` as the launcher would have unpacked it (its id's folder, files' modes as
/// `pack.py` records them, the lock and the marker), so that `packed` starts it without
/// unpacking. Only for a smoke test's scratch cache: nothing is synced. A copy, never a link: what
/// the tested program writes into its folder stays there. The copy is checked against the
/// payload's entries (each path and kind, each file's size, each link's target, and the bytes of
/// every stored file, the program among them) before it is marked complete; an error leaves no
/// folder, and the launcher then unpacks the payload itself.
pub(crate) fn seed_cache(packed: &Path, folder: &Path, cache_root: &Path) -> std::result::Result<(), String> {
    let mut file = fs::File::open(packed).map_err(|e| format!("could not open {}: {e}", packed.display()))?;
    let trailer = launcher::read_trailer(&mut file)?;
    let bytes = fs::read(packed).map_err(|e| format!("could not read {}: {e}", packed.display()))?;
    let start = usize::try_from(trailer.payload_offset).map_err(|_| "the trailer is damaged")?;
    let payload = start
        .checked_add(trailer.payload_len as usize)
        .and_then(|end| bytes.get(start..end))
        .ok_or("the trailer is damaged")?;
    let dir = cache_root.join(&trailer.name).join(trailer.id_hex());
    let seeded = copy_unpacked(folder, &dir)
        .map_err(|e| format!("could not copy {} to {}: {e}", folder.display(), dir.display()))
        .and_then(|()| same_as_payload(&dir, payload));
    if let Err(why) = seeded {
        let _ = fs::remove_dir_all(&dir);
        return Err(why);
    }
    let write = |name: &str, text: &str| fs::write(dir.join(name), text);
    write(launcher::LOCK, "").and_then(|_| write(launcher::MARKER, &trailer.id_hex())).map_err(|e| e.to_string())
}

/// Whether `dir` holds exactly the payload's entries: each path with its kind, each file with its
/// size (and a stored file with its very bytes), each link with its target.
fn same_as_payload(dir: &Path, payload: &[u8]) -> std::result::Result<(), String> {
    let entries = entries(payload)?;
    let differs = |path: &str| format!("{path} is not the payload's");
    for e in &entries {
        let path = launcher::join_checked(dir, &e.path).ok_or_else(|| differs(&e.path))?;
        let meta = fs::symlink_metadata(&path).map_err(|_| differs(&e.path))?;
        let same = match e.kind {
            launcher::FOLDER => meta.is_dir(),
            launcher::FILE => {
                meta.is_file()
                    && meta.len() == e.size
                    && file_mode(&path).is_ok_and(|m| m == e.mode || cfg!(not(unix)))
                    && (e.method != 0 || fs::read(&path).is_ok_and(|b| b[..] == payload[e.data.clone()]))
            }
            _ => fs::read_link(&path).is_ok_and(|t| t.as_os_str().as_encoded_bytes() == &payload[e.data.clone()]),
        };
        if !same {
            return Err(differs(&e.path));
        }
    }
    let count = |d: &Path| -> std::io::Result<usize> {
        let (mut n, mut stack) = (0, vec![d.to_path_buf()]);
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d)? {
                let e = e?;
                n += 1;
                if e.file_type()?.is_dir() {
                    stack.push(e.path());
                }
            }
        }
        Ok(n)
    };
    match count(dir).map_err(|e| e.to_string())? == entries.len() {
        true => Ok(()),
        false => Err("the folder holds entries the payload does not".into()),
    }
}

/// A copy of `from` at `to` as `launcher::unpack` writes a folder `pack.py` packed: files `0o755`
/// when their owner may run them, else `0o644`; links as links.
fn copy_unpacked(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(fs::read_link(&src)?, &dst)?;
            #[cfg(not(unix))]
            return Err(std::io::Error::other(format!("{} is a symbolic link", src.display())));
        } else if kind.is_dir() {
            copy_unpacked(&src, &dst)?;
        } else {
            fs::copy(&src, &dst)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&dst, fs::Permissions::from_mode(file_mode(&src)?))?;
            }
        }
    }
    Ok(())
}

/// Where a spec's last stock onedir folder is kept, in its work folder (`pack`'s `keep`).
pub(crate) fn kept(root: &Path) -> PathBuf {
    root.join("onedir")
}

/// The payload of a file `assemble` wrote, given its launcher's length, and the program's name
/// in the trailer; none if the file is not one.
pub(crate) fn payload_of(packed: &[u8], launcher_len: usize) -> Option<&[u8]> {
    let n = packed.len();
    let magic = packed.get(n.checked_sub(8)?..)?;
    let name_len = u32::from_le_bytes(packed.get(n.checked_sub(12)?..n - 8)?.try_into().ok()?) as usize;
    let at = n.checked_sub(60)?;
    let le = |i: usize| u64::from_le_bytes(packed[i..i + 8].try_into().expect("8 bytes")) as usize;
    let (start, len) = (le(at), le(at + 8));
    (magic == b"PYIBLNC1" && start == launcher_len && start.checked_add(len)?.checked_add(name_len)? == at)
        .then(|| &packed[start..start + len])
}

/// `launcher || payload || name || trailer` (launcher.rs describes the layout). `program` is the
/// onedir program's file name; the trailer names it without `.exe`.
fn assemble(launcher: &[u8], payload: &[u8], program: &str) -> Vec<u8> {
    let name = program.strip_suffix(".exe").unwrap_or(program);
    let mut out = Vec::with_capacity(launcher.len() + payload.len() + name.len() + 60);
    out.extend_from_slice(launcher);
    out.extend_from_slice(payload);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&(launcher.len() as u64).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(blake3::hash(payload).as_bytes());
    out.extend_from_slice(&(name.len() as u32).to_le_bytes());
    out.extend_from_slice(b"PYIBLNC1");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trailer_reads_back_what_assemble_wrote() {
        let file = assemble(b"LAUNCHER", b"payload bytes", "api.exe");
        let t = launcher::parse_trailer(&file, file.len() as u64).unwrap();
        assert_eq!((t.payload_offset, t.payload_len, t.name.as_str()), (8, 13, "api"));
        assert_eq!(&t.id, blake3::hash(b"payload bytes").as_bytes());
        assert_eq!(launcher::MAGIC, b"PYIBLNC1");
        assert_eq!(t.id_hex().len(), 32);
        // The tail alone (as the launcher reads it) is enough.
        let tail = &file[file.len() - 70..];
        assert_eq!(launcher::parse_trailer(tail, file.len() as u64).unwrap(), t);
    }

    #[test]
    fn a_trailer_followed_by_a_signature_is_found_by_searching_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = assemble(b"LAUNCHER", b"payload bytes", "api");
        let expected = launcher::parse_trailer(&file, file.len() as u64).unwrap();
        // What codesign appends on macOS, here with the magic in it to mislead the search.
        file.extend_from_slice(&[0xfa; 5000]);
        file.extend_from_slice(b"PYIBLNC1");
        file.extend_from_slice(&[0xde; 3000]);
        let path = dir.path().join("signed");
        fs::write(&path, &file).unwrap();
        let found = launcher::read_trailer(&mut fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(found, expected);
        // Nothing that parses anywhere: the message says the payload is missing.
        fs::write(&path, [7u8; 9000]).unwrap();
        let err = launcher::read_trailer(&mut fs::File::open(&path).unwrap()).unwrap_err();
        assert!(err.contains("carries no sidecar"), "{err}");
    }

    #[test]
    fn the_payload_is_found_behind_a_launcher_of_its_length() {
        let file = assemble(b"LAUNCHER", b"payload bytes", "api");
        assert_eq!(payload_of(&file, 8), Some(&b"payload bytes"[..]));
        // Another launcher's length, a cut file, a plain program: none.
        assert_eq!(payload_of(&file, 7), None);
        assert_eq!(payload_of(&file[..file.len() - 1], 8), None);
        assert_eq!(payload_of(b"short", 0), None);
        assert_eq!(payload_of(&[0u8; 100], 0), None);
    }

    #[test]
    fn a_damaged_trailer_is_refused() {
        let file = assemble(b"LAUNCHER", b"payload", "api");
        // Cut short, a plain binary, a wrong length, a name with a path in it.
        assert!(launcher::parse_trailer(&file[..file.len() - 1], file.len() as u64 - 1).is_err());
        assert!(
            launcher::parse_trailer(b"just a program without any payload at all, long enough to hold one", 80).is_err()
        );
        assert!(launcher::parse_trailer(&file, file.len() as u64 + 1).is_err());
        let evil = assemble(b"L", b"p", "../x");
        assert!(launcher::parse_trailer(&evil, evil.len() as u64).is_err());
    }

    #[test]
    fn paths_stay_inside_the_folder() {
        let dir = Path::new("/c");
        assert_eq!(launcher::join_checked(dir, "_internal/a.so"), Some(dir.join("_internal").join("a.so")));
        for bad in ["../x", "a/../../x", "/etc/passwd", "a//b", "", "a\\..\\b", "C:x"] {
            assert_eq!(launcher::join_checked(dir, bad), None, "{bad}");
        }
    }

    /// Raw deflate streams written by Python's zlib (`compressobj(level, DEFLATED, -15)`).
    #[test]
    fn inflate_reads_zlib_output() {
        // Level 0: one stored block.
        assert_eq!(
            launcher::inflate(&[0x01, 0x05, 0x00, 0xfa, 0xff, b'h', b'e', b'l', b'l', b'o'], 5).unwrap(),
            b"hello"
        );
        // Fixed Huffman codes with a back reference ("abcabcabcabc").
        let fixed = [75, 76, 74, 78, 132, 33, 0];
        assert_eq!(launcher::inflate(&fixed, 12).unwrap(), b"abcabcabcabc");
        // Dynamic Huffman codes.
        let text = b" ;abcdefhiklmnprtuwz ;abcdefhiklmnprtuwzpack each member with deflate; the launczzzz";
        let dynamic = [
            0x6d, 0xca, 0xd1, 0x09, 0x00, 0x21, 0x0c, 0x04, 0xd1, 0x56, 0xb6, 0x0f, 0xab, 0x89, 0xb9, 0x3d, 0x22, 0x46,
            0x11, 0x89, 0x08, 0x56, 0x7f, 0x16, 0x70, 0xf3, 0xf9, 0x18, 0x24, 0xc9, 0xfa, 0xf0, 0xb5, 0x52, 0xbd, 0xf5,
            0x31, 0x63, 0xed, 0x83, 0x1f, 0x1b, 0xa2, 0x15, 0x14, 0x35, 0x34, 0xb6, 0xcc, 0x89, 0x5d, 0xc2, 0x70, 0x27,
            0x97, 0x60, 0x42, 0x18, 0xe1, 0xb2, 0xba, 0x9e, 0xdb, 0x07,
        ];
        assert_eq!(dynamic[0] >> 1 & 3, 2, "a dynamic block");
        assert_eq!(launcher::inflate(&dynamic, text.len()).unwrap(), text);
        // An empty input.
        assert_eq!(launcher::inflate(&[0x03, 0x00], 0).unwrap(), b"");
    }

    #[test]
    fn inflate_refuses_damaged_data() {
        assert!(launcher::inflate(&[75, 76], 12).is_err());
        assert!(launcher::inflate(&[0x07], 0).is_err(), "block type 3");
        assert!(launcher::inflate(&[0x01, 0x05, 0x00, 0x00, 0x00, b'h'], 5).is_err(), "stored length check");
    }

    #[test]
    fn an_unknown_launch_is_a_clear_error() {
        let err = Launch::try_from("fast".to_string()).unwrap_err();
        assert!(err.contains("`launch`") && err.contains("\"extract-once\"") && err.contains("\"fast\""), "{err}");
        assert_eq!(Launch::try_from("extract-once".to_string()), Ok(Launch::ExtractOnce));
    }

    /// Every entry under `root` with its kind, mode and content's hash (links: their target), but
    /// the launcher's lock and marker.
    #[cfg(unix)]
    fn describe(root: &Path) -> Vec<String> {
        use std::os::unix::fs::PermissionsExt;
        let mut found = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in fs::read_dir(&dir).unwrap() {
                let path = e.unwrap().path();
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                let meta = fs::symlink_metadata(&path).unwrap();
                if rel == launcher::MARKER || rel == launcher::LOCK {
                    continue;
                } else if meta.file_type().is_symlink() {
                    found.push(format!("{rel} -> {}", fs::read_link(&path).unwrap().display()));
                } else if meta.is_dir() {
                    found.push(format!("{rel}/"));
                    stack.push(path);
                } else {
                    let mode = meta.permissions().mode() & 0o777;
                    found.push(format!("{rel} {mode:o} {}", blake3::hash(&fs::read(&path).unwrap())));
                }
            }
        }
        found.sort();
        found
    }

    /// A onedir-like folder: the program, a library, an executable data file, a link, an empty
    /// folder.
    #[cfg(unix)]
    fn sample_folder(root: &Path, program: &[u8]) {
        use std::os::unix::fs::PermissionsExt;
        fs::create_dir_all(root.join("_internal/lib")).unwrap();
        fs::create_dir_all(root.join("_internal/empty")).unwrap();
        fs::write(root.join("app"), program).unwrap();
        fs::set_permissions(root.join("app"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(root.join("_internal/lib/a.so"), b"library ".repeat(500)).unwrap();
        fs::write(root.join("_internal/tool.sh"), b"#!/bin/sh\n").unwrap();
        fs::set_permissions(root.join("_internal/tool.sh"), fs::Permissions::from_mode(0o775)).unwrap();
        std::os::unix::fs::symlink("lib/a.so", root.join("_internal/link")).unwrap();
    }

    #[cfg(unix)]
    fn pack_sample(folder: &Path, out: &Path) {
        let (launcher, python) = (Launcher::folder(), Path::new("python3"));
        assert!(pack_folder(&launcher, python, &[], folder, "app", out, None).unwrap().is_none());
    }

    /// The sample folder (its program `program`) in `tmp`, packed, and a cache folder beside them.
    #[cfg(unix)]
    fn packed_sample(tmp: &Path) -> (PathBuf, PathBuf, PathBuf) {
        let folder = tmp.join("app");
        sample_folder(&folder, b"program");
        let packed = tmp.join("packed");
        pack_sample(&folder, &packed);
        (folder, packed, tmp.join("cache"))
    }

    /// The fast path's re-pack (only the program's entry encoded anew) is packing the whole folder.
    #[cfg(unix)]
    #[test]
    fn putting_the_programs_entry_in_place_is_packing_the_folder_with_it() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = tmp.path().join("app");
        sample_folder(&folder, &b"old program ".repeat(300));
        let (old, new, spliced) = (tmp.path().join("old"), tmp.path().join("new"), tmp.path().join("spliced"));
        pack_sample(&folder, &old);
        fs::write(folder.join("app"), b"a new program, longer than the old one ".repeat(400)).unwrap();
        pack_sample(&folder, &new);
        let old_bytes = fs::read(&old).unwrap();
        let payload = payload_of(&old_bytes, 0).unwrap();
        let found = entries(payload).unwrap();
        let found: Vec<(u8, &str)> = found.iter().map(|e| (e.kind, e.path.as_str())).collect();
        let (dir, file, link) = (launcher::FOLDER, launcher::FILE, launcher::SYMLINK);
        // pack.py's order: each folder's names sorted, then its subfolders'.
        let expected = [
            (dir, "_internal"),
            (file, "app"),
            (dir, "_internal/empty"),
            (dir, "_internal/lib"),
            (link, "_internal/link"),
            (file, "_internal/tool.sh"),
            (file, "_internal/lib/a.so"),
        ];
        assert_eq!(found, expected);
        repack_program(&Launcher::folder(), payload, &folder.join("app"), "app", &spliced).unwrap();
        assert_eq!(fs::read(&spliced).unwrap(), fs::read(&new).unwrap());
        // The program is stored: its bytes are in the payload as they are.
        let new_bytes = fs::read(&new).unwrap();
        let program = fs::read(folder.join("app")).unwrap();
        assert!(new_bytes.windows(program.len()).any(|w| w == program), "the program is stored, not deflated");
        // A payload without the program, or cut short: an error, nothing made up.
        let err = repack_program(&Launcher::folder(), payload, &folder.join("app"), "api", &spliced);
        assert!(err.unwrap_err().contains("no entry for api"));
        assert!(entries(&payload[..payload.len() - 1]).is_err());
    }

    /// The smoke test's seeded cache holds what the launcher would have unpacked, marked complete;
    /// the folder it was copied from is left as it was.
    #[cfg(unix)]
    #[test]
    fn a_seeded_cache_folder_is_what_the_launcher_unpacks() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let (folder, packed, cache) = packed_sample(tmp.path());
        let before = describe(&folder);
        seed_cache(&packed, &folder, &cache).unwrap();
        let mut file = fs::File::open(&packed).unwrap();
        let trailer = launcher::read_trailer(&mut file).unwrap();
        let unpacked = tmp.path().join("unpacked");
        launcher::unpack(&mut file, &trailer, &unpacked).unwrap();
        let seeded = cache.join("app").join(trailer.id_hex());
        assert_eq!(fs::read_to_string(seeded.join(launcher::MARKER)).unwrap(), trailer.id_hex());
        assert!(seeded.join(launcher::LOCK).is_file());
        assert_eq!(describe(&seeded), describe(&unpacked));
        assert!(describe(&seeded).contains(&format!("app 755 {}", blake3::hash(b"program"))));
        // A copy: the source keeps its modes (0o700, 0o775), and what the tested program writes
        // into its folder does not reach the source.
        fs::write(seeded.join("_internal/tool.sh"), b"written by the program").unwrap();
        assert_eq!(describe(&folder), before);
        assert_eq!(fs::metadata(folder.join("app")).unwrap().permissions().mode() & 0o777, 0o700);
    }

    /// A folder that is not the payload's (changed, or cut short while copied) is never marked
    /// complete: no folder is left, and the launcher unpacks the payload itself.
    #[cfg(unix)]
    #[test]
    fn a_seed_that_is_not_the_payload_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (folder, packed, cache) = packed_sample(tmp.path());
        let id = launcher::read_trailer(&mut fs::File::open(&packed).unwrap()).unwrap().id_hex();
        type Change<'a> = (&'a str, &'a dyn Fn(&Path));
        let changes: [Change; 4] = [
            ("the program", &|f| fs::write(f.join("app"), b"another program").unwrap()),
            ("a file's size", &|f| fs::write(f.join("_internal/lib/a.so"), b"library").unwrap()),
            ("a file more", &|f| fs::write(f.join("_internal/new"), b"new").unwrap()),
            ("a file less", &|f| fs::remove_file(f.join("_internal/tool.sh")).unwrap()),
        ];
        for (what, change) in changes {
            let copy = tmp.path().join("copy");
            let _ = fs::remove_dir_all(&copy);
            copy_unpacked(&folder, &copy).unwrap();
            change(&copy);
            let err = seed_cache(&packed, &copy, &cache).unwrap_err();
            assert!(err.contains("not the payload's") || err.contains("entries the payload does not"), "{what}: {err}");
            assert!(!cache.join("app").join(&id).exists(), "{what}: a folder was left");
        }
    }

    /// The launcher starts a seeded folder as it is: it does not unpack the payload again.
    #[cfg(unix)]
    #[test]
    fn the_launcher_starts_a_seeded_folder_without_unpacking() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let tmp = tempfile::tempdir().unwrap();
        let exe = tmp.path().join("launcher");
        let source = concat!(env!("CARGO_MANIFEST_DIR"), "/src/launch/launcher.rs");
        let built = Command::new("rustc").args(FLAGS).arg("-o").arg(&exe).arg(source).status().unwrap();
        assert!(built.success());
        let launcher = Launcher { path: Some(exe), hash: String::new(), level: 9, macos: false };
        let folder = tmp.path().join("app");
        fs::create_dir_all(folder.join("_internal")).unwrap();
        fs::write(folder.join("app"), "#!/bin/sh\necho started\n").unwrap();
        fs::set_permissions(folder.join("app"), fs::Permissions::from_mode(0o755)).unwrap();
        let packed = tmp.path().join("out").join("app");
        fs::create_dir_all(packed.parent().unwrap()).unwrap();
        pack_folder(&launcher, Path::new("python3"), &[], &folder, "app", &packed, None).unwrap();
        let cache = tmp.path().join("cache");
        seed_cache(&packed, &folder, &cache).unwrap();
        let id = launcher::read_trailer(&mut fs::File::open(&packed).unwrap()).unwrap().id_hex();
        let program = cache.join("app").join(&id).join("app");
        let inode = fs::metadata(&program).unwrap().ino();
        let out = Command::new(&packed).env(launcher::CACHE_VAR, &cache).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "started\n", "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(fs::metadata(&program).unwrap().ino(), inode, "the seeded folder was replaced");
    }
}
