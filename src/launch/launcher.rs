//! The launcher of an `extract-once` sidecar: a small std-only program that carries a PyInstaller
//! onedir program after its own bytes, unpacks it once into a per-user cache folder, and from then
//! on starts it from there at once.
//!
//! The crate compiles this file alone with the `rustc` cargo gives the build script, for `TARGET`
//! (src/launch/compile.rs), and appends the payload and a trailer (src/launch/pack.rs):
//!
//! ```text
//! [launcher][payload: entries][sidecar name][payload offset u64][payload length u64][id: 32 bytes][name length u32][MAGIC]
//! ```
//!
//! The id is the blake3 hash of the payload. A payload entry is
//! `kind u8 (0 folder, 1 file, 2 symlink) | mode u32 | path length u32 | path ('/'-separated)`,
//! then for a file `method u8 (0 stored, 1 raw deflate) | size u64 | stored length u64 | bytes`,
//! for a symlink `target length u32 | target`.
//!
//! No crate: it is built in every user's build, for every target, by a plain `rustc` call.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The last bytes of a launcher with a payload.
pub const MAGIC: &[u8; 8] = b"PYIBLNC1";
/// The fixed part of the trailer (after the sidecar's name).
pub const TRAILER_LEN: usize = 8 + 8 + 32 + 4 + 8;
/// Moves the cache folder (the smoke test, a portable install, tests).
pub const CACHE_VAR: &str = "PYINSTALLER_BUILD_LAUNCH_CACHE";
/// The kinds of a payload's entries.
pub const FOLDER: u8 = 0;
pub const FILE: u8 = 1;
pub const SYMLINK: u8 = 2;
/// Written last into a folder being extracted: a folder without it is never run.
pub const MARKER: &str = ".complete";
/// Held shared by every running instance (through `exec` on Unix), exclusively by a pruner.
pub const LOCK: &str = ".lock";

#[allow(dead_code)]
fn main() {
    match run() {
        Ok(code) => std::process::exit(code),
        Err(message) => {
            eprintln!("pyinstaller-build launcher: {message}");
            std::process::exit(127);
        }
    }
}

/// What the trailer says.
#[derive(Debug, PartialEq, Eq)]
pub struct Trailer {
    pub payload_offset: u64,
    pub payload_len: u64,
    pub id: [u8; 32],
    pub name: String,
}

impl Trailer {
    /// The folder name of this payload: 128 bits of its id are plenty to tell builds apart.
    pub fn id_hex(&self) -> String {
        self.id[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Parses the trailer from the file's last bytes (`tail` holds at least the fixed part, and as
/// many bytes before it as could be read); `file_len` is the whole file's length.
pub fn parse_trailer(tail: &[u8], file_len: u64) -> Result<Trailer, String> {
    let broken = || "this launcher carries no sidecar (its payload is missing or cut short)".to_string();
    if tail.len() < TRAILER_LEN || &tail[tail.len() - 8..] != MAGIC {
        return Err(broken());
    }
    let fixed = &tail[tail.len() - TRAILER_LEN..];
    let u64_at = |i: usize| u64::from_le_bytes(fixed[i..i + 8].try_into().expect("8 bytes"));
    let (payload_offset, payload_len) = (u64_at(0), u64_at(8));
    let id: [u8; 32] = fixed[16..48].try_into().expect("32 bytes");
    let name_len = u32::from_le_bytes(fixed[48..52].try_into().expect("4 bytes")) as usize;
    let before = tail.len() - TRAILER_LEN;
    if name_len == 0 || name_len > before || name_len > 255 {
        return Err(broken());
    }
    let name = std::str::from_utf8(&tail[before - name_len..before]).map_err(|_| broken())?.to_string();
    let end = payload_offset.checked_add(payload_len).ok_or_else(broken)?;
    let trailer_end = end.checked_add(name_len as u64 + TRAILER_LEN as u64).ok_or_else(broken)?;
    if trailer_end != file_len || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(broken());
    }
    Ok(Trailer { payload_offset, payload_len, id, name })
}

/// How far from the end of its file a trailer is looked for: on macOS the code signature follows
/// it (src/launch/macho.rs), about 52 bytes per 4 KiB page of the file, so 16 MiB covers a
/// payload of over a gigabyte.
const SEARCH: u64 = 16 << 20;

/// The trailer of a file with a payload (a launcher, or a resource folder's packed form): at the
/// end of the file, or, when something follows it (a macOS code signature), the last place
/// before the end where a whole trailer ends, within [`SEARCH`] bytes.
pub fn read_trailer(file: &mut File) -> Result<Trailer, String> {
    let len = file.metadata().map_err(|e| format!("cannot read its own file: {e}"))?.len();
    let mut read_at = |start: u64, n: u64| -> Result<Vec<u8>, String> {
        let mut buf = vec![0; n as usize];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| format!("cannot read its own file: {e}"))?;
        Ok(buf)
    };
    let want = (TRAILER_LEN as u64 + 255).min(len);
    let at_end = parse_trailer(&read_at(len - want, want)?, len);
    if at_end.is_ok() {
        return at_end;
    }
    let from = len.saturating_sub(SEARCH);
    let region = read_at(from, len - from)?;
    let mut end = region.len();
    while let Some(at) = region[..end].windows(MAGIC.len()).rposition(|w| w == MAGIC) {
        let trailer_end = at + MAGIC.len();
        let tail = &region[trailer_end.saturating_sub(TRAILER_LEN + 255)..trailer_end];
        if let Ok(trailer) = parse_trailer(tail, from + trailer_end as u64) {
            return Ok(trailer);
        }
        end = at + MAGIC.len() - 1;
    }
    at_end
}

fn run() -> Result<i32, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find its own file: {e}"))?;
    let mut file = File::open(&exe).map_err(|e| format!("cannot open {}: {e}", exe.display()))?;
    let trailer = read_trailer(&mut file)?;
    let (dir, lock) = match cache_root() {
        Some(root) => match ready(&root.join(&trailer.name), &trailer, &mut file) {
            Ok(found) => found,
            Err(e) => {
                let temp = temp_root()?;
                eprintln!(
                    "pyinstaller-build launcher: cannot use the cache folder {} ({e}); unpacking into {}",
                    root.display(),
                    temp.display()
                );
                ready(&temp.join(&trailer.name), &trailer, &mut file).map_err(|e| format!("cannot unpack: {e}"))?
            }
        },
        None => {
            let temp = temp_root()?;
            ready(&temp.join(&trailer.name), &trailer, &mut file).map_err(|e| format!("cannot unpack: {e}"))?
        }
    };
    drop(file);
    start(&dir.join(program_name(&trailer.name)), lock)
}

/// `<per-user cache>/pyinstaller-build`, or the folder in [`CACHE_VAR`].
// The app's environment at run time: no build script here, nothing for cargo to watch.
#[allow(clippy::disallowed_methods)]
fn cache_root() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var(CACHE_VAR) {
        return Some(dir);
    }
    let base = if cfg!(windows) {
        var("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|h| h.join("Library").join("Caches"))
    } else {
        var("XDG_CACHE_HOME").filter(|p| p.is_absolute()).or_else(|| var("HOME").map(|h| h.join(".cache")))
    };
    base.map(|b| b.join("pyinstaller-build"))
}

/// The fallback: a folder of this user's own in the system's temporary folder.
fn temp_root() -> Result<PathBuf, String> {
    let temp = std::env::temp_dir();
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        extern "C" {
            fn geteuid() -> u32;
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { geteuid() };
        let root = temp.join(format!("pyinstaller-build-{uid}"));
        let _ = fs::DirBuilder::new().mode(0o700).create(&root);
        // Another user could have made it first: then it is not ours to run programs from.
        let meta = fs::symlink_metadata(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o022 != 0 {
            return Err(format!("{} is not a private folder of this user", root.display()));
        }
        Ok(root)
    }
    #[cfg(not(unix))]
    {
        let root = temp.join("pyinstaller-build");
        fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        Ok(root)
    }
}

fn program_name(name: &str) -> String {
    if cfg!(windows) {
        format!("{name}.exe")
    } else {
        name.to_string()
    }
}

/// The extracted folder of this payload under `sidecar_dir`, complete, with its lock held shared.
fn ready(sidecar_dir: &Path, trailer: &Trailer, file: &mut File) -> io::Result<(PathBuf, File)> {
    fs::create_dir_all(sidecar_dir)?;
    let id = trailer.id_hex();
    let target = sidecar_dir.join(&id);
    for _ in 0..5 {
        if let Some(lock) = complete(&target)? {
            return Ok((target, lock));
        }
        let tmp = sidecar_dir.join(format!(".tmp-{id}-{}-{}", std::process::id(), nanos()));
        let extracted = extract(file, trailer, &tmp);
        if let Err(e) = extracted {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        match rename_settled(&tmp, &target) {
            Ok(()) => {
                // The rename itself made durable before anyone is told the folder is there.
                let _ = File::open(sidecar_dir).and_then(|d| d.sync_all());
                if let Some(lock) = complete(&target)? {
                    prune(sidecar_dir, &id);
                    return Ok((target, lock));
                }
            }
            Err(_) => {
                let _ = fs::remove_dir_all(&tmp);
                // Lost a race to another launcher: theirs is as good (checked at the loop's top).
                // A folder without its marker (not ours: planted, or damaged) is moved aside.
                if target.exists() && !target.join(MARKER).is_file() {
                    let aside = sidecar_dir.join(format!(".trash-{id}-{}-{}", std::process::id(), nanos()));
                    if fs::rename(&target, &aside).is_ok() {
                        let _ = fs::remove_dir_all(&aside);
                    }
                }
            }
        }
    }
    Err(io::Error::other(format!("could not settle {}", target.display())))
}

/// Renames the extracted folder into place. On Windows a virus scanner may hold a file just
/// written for a moment, which fails the rename with "access denied": retried for about a
/// second before it counts as a lost race.
fn rename_settled(tmp: &Path, target: &Path) -> io::Result<()> {
    let mut tries = if cfg!(windows) { 20 } else { 1 };
    loop {
        match fs::rename(tmp, target) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied && !target.exists() && tries > 1 => {
                tries -= 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// The folder's lock, held shared, when the folder is complete.
fn complete(target: &Path) -> io::Result<Option<File>> {
    let lock = match File::open(target.join(LOCK)) {
        Ok(lock) => lock,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // Waits only while a pruner holds it (then the folder is gone when it is released).
    lock.lock_shared()?;
    Ok(target.join(MARKER).is_file().then_some(lock))
}

fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// Unpacks the payload into `dir` (new), its files synced, the marker written and synced last.
fn extract(file: &mut File, trailer: &Trailer, dir: &Path) -> io::Result<()> {
    let folders = unpack(file, trailer, dir)?;
    File::create(dir.join(LOCK))?;
    // Folders' entries durable before the marker that vouches for them.
    for folder in folders.iter().rev() {
        let _ = File::open(folder).and_then(|d| d.sync_all());
    }
    let mut marker = File::create(dir.join(MARKER))?;
    marker.write_all(trailer.id_hex().as_bytes())?;
    marker.sync_all()?;
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

/// Unpacks the payload into `dir` (new), each file synced; returns the folders made, `dir`
/// first. (The crate unpacks a resource folder with it too: src/onedir.rs.)
pub fn unpack(file: &mut File, trailer: &Trailer, dir: &Path) -> io::Result<Vec<PathBuf>> {
    fs::create_dir(dir)?;
    file.seek(SeekFrom::Start(trailer.payload_offset))?;
    let mut reader = BufReader::with_capacity(1 << 16, Read::by_ref(file).take(trailer.payload_len));
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("damaged payload: {what}"));
    let mut folders = vec![dir.to_path_buf()];
    loop {
        let mut kind = [0u8; 1];
        if reader.read(&mut kind)? == 0 {
            break;
        }
        let mode = read_u32(&mut reader)?;
        let rel = read_string(&mut reader)?;
        let path = join_checked(dir, &rel).ok_or_else(|| bad("a path leaves its folder"))?;
        match kind[0] {
            FOLDER => {
                fs::create_dir_all(&path)?;
                folders.push(path);
            }
            FILE => {
                let mut method = [0u8; 1];
                reader.read_exact(&mut method)?;
                let size = read_u64(&mut reader)?;
                let stored = read_u64(&mut reader)?;
                let mut data = vec![0; usize::try_from(stored).map_err(|_| bad("too large"))?];
                reader.read_exact(&mut data)?;
                let data = match method[0] {
                    0 => data,
                    1 => inflate(&data, size as usize).map_err(bad)?,
                    _ => return Err(bad("unknown method")),
                };
                if data.len() as u64 != size {
                    return Err(bad("a file's size"));
                }
                let mut out = File::create(&path)?;
                out.write_all(&data)?;
                set_mode(&out, mode)?;
                out.sync_all()?;
            }
            SYMLINK => {
                let link = read_string(&mut reader)?;
                symlink(&link, &path)?;
            }
            _ => return Err(bad("unknown entry")),
        }
    }
    Ok(folders)
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_string(r: &mut impl Read) -> io::Result<String> {
    let len = read_u32(r)? as usize;
    if len > 4096 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "damaged payload: a name too long"));
    }
    let mut b = vec![0; len];
    r.read_exact(&mut b)?;
    String::from_utf8(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "damaged payload: a name"))
}

/// `dir` joined with a relative `/`-separated path that stays inside it.
pub fn join_checked(dir: &Path, rel: &str) -> Option<PathBuf> {
    let mut path = dir.to_path_buf();
    for part in rel.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.contains(['\\', ':']) {
            return None;
        }
        path.push(part);
    }
    Some(path)
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode & 0o755))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn symlink(link: &str, path: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(link, path)
}

#[cfg(not(unix))]
fn symlink(_link: &str, path: &Path) -> io::Result<()> {
    Err(io::Error::other(format!("cannot create the symbolic link {}", path.display())))
}

/// Removes the other extracted ids of this sidecar that no running instance holds, and
/// leftovers of extractions that were killed (older than an hour: one in progress is younger).
fn prune(sidecar_dir: &Path, keep: &str) {
    let Ok(entries) = fs::read_dir(sidecar_dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name == keep {
            continue;
        }
        if name.starts_with(".tmp-") || name.starts_with(".trash-") {
            let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
            if age.is_some_and(|a| a.as_secs() > 3600) {
                let _ = fs::remove_dir_all(&path);
            }
            continue;
        }
        if name.len() != keep.len() || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let Ok(lock) = File::open(path.join(LOCK)) else { continue };
        if lock.try_lock().is_err() {
            continue;
        }
        let aside = sidecar_dir.join(format!(".trash-{name}-{}", std::process::id()));
        if cfg!(windows) {
            // Windows renames no folder with a file open in it: untrusted first (no marker, so
            // no launcher starts from it), under the lock, then moved once the lock is closed.
            let _ = fs::remove_file(path.join(MARKER));
            drop(lock);
            if fs::rename(&path, &aside).is_ok() {
                let _ = fs::remove_dir_all(&aside);
            }
        } else if fs::rename(&path, &aside).is_ok() {
            // Moved away under the lock: a launcher waiting for it then finds no folder.
            drop(lock);
            let _ = fs::remove_dir_all(&aside);
        }
    }
}

/// Unix: becomes the onedir program (same PID, so whoever holds this process holds Python), with
/// the lock's descriptor kept open across `exec` so the folder counts as in use while it runs.
#[cfg(unix)]
fn start(program: &Path, lock: File) -> Result<i32, String> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    extern "C" {
        fn fcntl(fd: i32, cmd: i32, ...) -> i32;
    }
    const F_SETFD: i32 = 2;
    // SAFETY: a valid open descriptor; clearing FD_CLOEXEC only keeps it open across exec.
    unsafe { fcntl(lock.as_raw_fd(), F_SETFD, 0) };
    std::mem::forget(lock);
    let mut args = std::env::args_os();
    let argv0: std::ffi::OsString = args.next().unwrap_or_else(|| program.as_os_str().to_owned());
    let err = std::process::Command::new(program).arg0(argv0).args(args).exec();
    Err(format!("cannot start {}: {err}", program.display()))
}

/// Windows: runs the onedir program in a Job Object that kills it when this process goes (by any
/// means), and exits with its exit code; standard streams are inherited.
#[cfg(windows)]
fn start(program: &Path, lock: File) -> Result<i32, String> {
    use std::ffi::c_void;
    type Handle = *mut c_void;
    #[repr(C)]
    #[derive(Default)]
    struct BasicLimit {
        per_process_user_time_limit: i64,
        per_job_user_time_limit: i64,
        limit_flags: u32,
        minimum_working_set_size: usize,
        maximum_working_set_size: usize,
        active_process_limit: u32,
        affinity: usize,
        priority_class: u32,
        scheduling_class: u32,
    }
    #[repr(C)]
    #[derive(Default)]
    struct ExtendedLimit {
        basic: BasicLimit,
        io: [u64; 6],
        process_memory_limit: usize,
        job_memory_limit: usize,
        peak_process_memory_used: usize,
        peak_job_memory_used: usize,
    }
    #[link(name = "kernel32")]
    extern "system" {
        fn CreateJobObjectW(attributes: *mut c_void, name: *const u16) -> Handle;
        fn SetInformationJobObject(job: Handle, class: i32, info: *mut c_void, len: u32) -> i32;
        fn AssignProcessToJobObject(job: Handle, process: Handle) -> i32;
        fn GetCurrentProcess() -> Handle;
        fn SetConsoleCtrlHandler(handler: Option<unsafe extern "system" fn(u32) -> i32>, add: i32) -> i32;
    }
    const JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: u32 = 0x2000;
    const EXTENDED_LIMIT_INFORMATION: i32 = 9;
    unsafe extern "system" fn ignore(_event: u32) -> i32 {
        1 // Ctrl+C reaches the program too; the launcher waits for it to end.
    }
    // SAFETY: plain Win32 calls with valid arguments; the job handle is never closed, so it lives
    // exactly as long as this process, and the program (which inherits the job) dies with it.
    unsafe {
        let job = CreateJobObjectW(std::ptr::null_mut(), std::ptr::null());
        if !job.is_null() {
            let mut info = ExtendedLimit::default();
            info.basic.limit_flags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
            let len = std::mem::size_of::<ExtendedLimit>() as u32;
            if SetInformationJobObject(job, EXTENDED_LIMIT_INFORMATION, &mut info as *mut _ as *mut c_void, len) != 0 {
                AssignProcessToJobObject(job, GetCurrentProcess());
            }
        }
        SetConsoleCtrlHandler(Some(ignore), 1);
    }
    let status = std::process::Command::new(program)
        .args(std::env::args_os().skip(1))
        .status()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    drop(lock);
    Ok(status.code().unwrap_or(1))
}

// ---------------------------------------------------------------------------------------------
// Raw deflate (RFC 1951), after zlib's `puff.c`: canonical Huffman codes decoded bit by bit.

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    count: u32,
}

impl Bits<'_> {
    fn bits(&mut self, need: u32) -> Result<u32, &'static str> {
        while self.count < need {
            let byte = *self.data.get(self.pos).ok_or("deflate data cut short")?;
            self.pos += 1;
            self.buf |= (byte as u64) << self.count;
            self.count += 8;
        }
        let value = (self.buf & ((1u64 << need) - 1)) as u32;
        self.buf >>= need;
        self.count -= need;
        Ok(value)
    }

    /// Loads bytes until `want` bits are buffered or the data ends; whether they are.
    fn fill(&mut self, want: u32) -> bool {
        while self.count < want {
            let Some(&byte) = self.data.get(self.pos) else { return false };
            self.pos += 1;
            self.buf |= (byte as u64) << self.count;
            self.count += 8;
        }
        true
    }
}

/// Codes up to this long are decoded by one table lookup; longer ones bit by bit.
const FAST_BITS: u32 = 9;

struct Huffman {
    /// Codes of each length.
    count: [u16; 16],
    /// Symbols ordered by code.
    symbol: Vec<u16>,
    /// By the next `FAST_BITS` bits: `length << 9 | symbol` of the code they start with, 0 if
    /// that code is longer.
    fast: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Huffman, &'static str> {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[l as usize] += 1;
        }
        let mut left: i32 = 1;
        for &c in &count[1..] {
            left = (left << 1) - c as i32;
            if left < 0 {
                return Err("over-subscribed Huffman code");
            }
        }
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + count[len];
        }
        let mut symbol = vec![0u16; lengths.len()];
        for (s, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbol[offsets[l as usize] as usize] = s as u16;
                offsets[l as usize] += 1;
            }
        }
        count[0] = 0;
        // Canonical codes: each length's codes are consecutive, in symbol order. Deflate sends
        // them most significant bit first, so the table is indexed by the reversed code.
        let mut fast = vec![0u16; 1 << FAST_BITS];
        let (mut code, mut index) = (0u32, 0usize);
        for len in 1..=FAST_BITS {
            for &sym in &symbol[index..index + count[len as usize] as usize] {
                let reversed = code.reverse_bits() >> (32 - len);
                for slot in (reversed as usize..fast.len()).step_by(1 << len) {
                    fast[slot] = (len as u16) << 9 | sym;
                }
                code += 1;
            }
            index += count[len as usize] as usize;
            code <<= 1;
        }
        Ok(Huffman { count, symbol, fast })
    }

    fn decode(&self, bits: &mut Bits) -> Result<u16, &'static str> {
        if bits.fill(FAST_BITS) {
            let entry = self.fast[(bits.buf & ((1 << FAST_BITS) - 1)) as usize];
            if entry != 0 {
                let len = (entry >> 9) as u32;
                bits.buf >>= len;
                bits.count -= len;
                return Ok(entry & 0x1ff);
            }
        }
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.bits(1)? as i32;
            let count = self.count[len] as i32;
            if code - count < first {
                return Ok(self.symbol[(index + (code - first)) as usize]);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("invalid Huffman code")
    }
}

const LENGTH_BASE: [u16; 29] =
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] =
    [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

/// Inflates raw deflate data (no zlib header), expecting `size` bytes out.
pub fn inflate(data: &[u8], size: usize) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(size);
    let mut bits = Bits { data, pos: 0, buf: 0, count: 0 };
    loop {
        let last = bits.bits(1)?;
        match bits.bits(2)? {
            0 => stored(&mut bits, &mut out)?,
            1 => {
                let mut lengths = [0u8; 288];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..].fill(8);
                codes(&mut bits, &mut out, &Huffman::new(&lengths)?, &Huffman::new(&[5; 30])?)?;
            }
            2 => {
                let (lit, dist) = dynamic(&mut bits)?;
                codes(&mut bits, &mut out, &lit, &dist)?;
            }
            _ => return Err("invalid block type"),
        }
        if last == 1 {
            return Ok(out);
        }
        if out.len() > size {
            return Err("more data than expected");
        }
    }
}

fn stored(bits: &mut Bits, out: &mut Vec<u8>) -> Result<(), &'static str> {
    bits.buf = 0;
    bits.count = 0;
    let header = bits.data.get(bits.pos..bits.pos + 4).ok_or("deflate data cut short")?;
    let len = u16::from_le_bytes([header[0], header[1]]);
    if len != !u16::from_le_bytes([header[2], header[3]]) {
        return Err("stored block length mismatch");
    }
    bits.pos += 4;
    let block = bits.data.get(bits.pos..bits.pos + len as usize).ok_or("deflate data cut short")?;
    out.extend_from_slice(block);
    bits.pos += len as usize;
    Ok(())
}

fn dynamic(bits: &mut Bits) -> Result<(Huffman, Huffman), &'static str> {
    const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
    let nlen = bits.bits(5)? as usize + 257;
    let ndist = bits.bits(5)? as usize + 1;
    let ncode = bits.bits(4)? as usize + 4;
    if nlen > 286 || ndist > 30 {
        return Err("bad code counts");
    }
    let mut lengths = [0u8; 320];
    for &i in &ORDER[..ncode] {
        lengths[i] = bits.bits(3)? as u8;
    }
    let code = Huffman::new(&lengths[..19])?;
    let mut index = 0;
    while index < nlen + ndist {
        let symbol = code.decode(bits)?;
        if symbol < 16 {
            lengths[index] = symbol as u8;
            index += 1;
            continue;
        }
        let (value, repeat) = match symbol {
            16 => (*lengths[..index].last().ok_or("repeat with no first length")?, 3 + bits.bits(2)?),
            17 => (0, 3 + bits.bits(3)?),
            _ => (0, 11 + bits.bits(7)?),
        };
        let end = index + repeat as usize;
        if end > nlen + ndist {
            return Err("too many lengths");
        }
        lengths[index..end].fill(value);
        index = end;
    }
    if lengths[256] == 0 {
        return Err("no end-of-block code");
    }
    Ok((Huffman::new(&lengths[..nlen])?, Huffman::new(&lengths[nlen..nlen + ndist])?))
}

fn codes(bits: &mut Bits, out: &mut Vec<u8>, lit: &Huffman, dist: &Huffman) -> Result<(), &'static str> {
    loop {
        let symbol = lit.decode(bits)? as usize;
        if symbol < 256 {
            out.push(symbol as u8);
            continue;
        }
        if symbol == 256 {
            return Ok(());
        }
        let symbol = symbol - 257;
        if symbol >= 29 {
            return Err("invalid length symbol");
        }
        let len = LENGTH_BASE[symbol] as usize + bits.bits(LENGTH_EXTRA[symbol] as u32)? as usize;
        let symbol = dist.decode(bits)? as usize;
        if symbol >= 30 {
            return Err("invalid distance symbol");
        }
        let distance = DIST_BASE[symbol] as usize + bits.bits(DIST_EXTRA[symbol] as u32)? as usize;
        if distance > out.len() {
            return Err("distance too far back");
        }
        let start = out.len() - distance;
        if distance >= len {
            out.extend_from_within(start..start + len);
        } else {
            for i in 0..len {
                out.push(out[start + i]);
            }
        }
    }
}
