//! A Linux onefile executable: the bootloader with the PKG in an ELF section named `pydata`, as
//! PyInstaller makes it with `objcopy --add-section pydata=<pkg>`.
//!
//! objcopy appends the new section after the bootloader's sections, then writes the section name
//! table and the section header table after it. Only those two move when the PKG's length
//! changes, so a new executable is the old one with the section swapped, the sections after it
//! shifted and the header table re-aligned: 50 MB written once instead of written, copied and
//! rewritten by objcopy. The layout is checked here, and the fast path's self-test compares the
//! result with objcopy's for every alignment remainder.

use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::process::Command;

/// An executable PyInstaller assembled, parsed enough to swap its PKG.
pub(crate) struct Onefile<'a> {
    bytes: &'a [u8],
    pydata: Range<usize>,
    /// The end of the last section's data: the header table's padding follows.
    data_end: usize,
    shoff: usize,
    pydata_header: usize,
    /// Headers of the sections after `pydata`, whose offsets move with its length.
    after: Vec<usize>,
}

// ELF64 header and section header fields (offsets in bytes).
const E_PHOFF: usize = 0x20;
const E_SHOFF: usize = 0x28;
const E_PHENTSIZE: usize = 0x36;
const E_PHNUM: usize = 0x38;
const E_SHENTSIZE: usize = 0x3a;
const E_SHNUM: usize = 0x3c;
const E_SHSTRNDX: usize = 0x3e;
const SH_NAME: usize = 0;
const SH_TYPE: usize = 4;
const SH_FLAGS: usize = 8;
const SH_OFFSET: usize = 24;
const SH_SIZE: usize = 32;
const SH_ADDRALIGN: usize = 48;
const P_OFFSET: usize = 8;
const P_FILESZ: usize = 32;
const SHDR_LEN: usize = 64;
const SHF_ALLOC: u64 = 2;
const SHT_NOBITS: u32 = 8;
/// objcopy aligns an ELF64 section header table to 8 bytes.
const TABLE_ALIGN: usize = 8;

impl<'a> Onefile<'a> {
    /// Parses a little-endian ELF64 executable with a `pydata` section laid out as objcopy does;
    /// anything else is an error, and the fast path is refused.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let bad = |why: &str| format!("the executable is not laid out as objcopy lays it out: {why}");
        if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 || bytes[5] != 1 {
            return Err(bad("not a little-endian ELF64 file"));
        }
        let shoff = usize_at(bytes, E_SHOFF)?;
        let (shnum, shstrndx) = (u16_at(bytes, E_SHNUM)? as usize, u16_at(bytes, E_SHSTRNDX)? as usize);
        if u16_at(bytes, E_SHENTSIZE)? as usize != SHDR_LEN
            || shoff.checked_add(shnum * SHDR_LEN) != Some(bytes.len())
            || shstrndx >= shnum
        {
            return Err(bad("the section header table is not at the end"));
        }
        let headers: Vec<usize> = (0..shnum).map(|i| shoff + i * SHDR_LEN).collect();
        let names = section(bytes, headers[shstrndx])?;
        let named_pydata = |h: usize| -> Result<bool, String> {
            let name = names.get(u32_at(bytes, h + SH_NAME)? as usize..).unwrap_or_default();
            Ok(name.starts_with(b"pydata\0"))
        };
        let mut pydata_header = None;
        for &h in &headers {
            if named_pydata(h)? {
                pydata_header = Some(h);
            }
        }
        let pydata_header = pydata_header.ok_or_else(|| bad("no pydata section"))?;
        let pydata = range(bytes, pydata_header)?;
        let (mut after, mut data_end) = (Vec::new(), pydata.end);
        for &h in headers.iter().filter(|&&h| h != pydata_header) {
            let r = range(bytes, h)?;
            if u32_at(bytes, h + SH_TYPE)? == SHT_NOBITS || r.is_empty() && r.start <= pydata.start {
                continue;
            }
            if r.start < pydata.end {
                if r.end > pydata.start {
                    return Err(bad("a section overlaps pydata"));
                }
                continue;
            }
            // objcopy shifts only unaligned sections that are not loaded.
            if u64_at(bytes, h + SH_FLAGS)? & SHF_ALLOC != 0 || u64_at(bytes, h + SH_ADDRALIGN)? > 1 {
                return Err(bad("a loaded or aligned section follows pydata"));
            }
            after.push(h);
            data_end = data_end.max(r.end);
        }
        let (phoff, phentsize) = (usize_at(bytes, E_PHOFF)?, u16_at(bytes, E_PHENTSIZE)? as usize);
        for p in (0..u16_at(bytes, E_PHNUM)? as usize).map(|i| phoff + i * phentsize) {
            let end = u64_at(bytes, p + P_OFFSET)?.checked_add(u64_at(bytes, p + P_FILESZ)?);
            if end.is_none_or(|end| end > pydata.start as u64) {
                return Err(bad("a segment reaches into pydata"));
            }
        }
        if data_end > shoff
            || shoff != data_end.next_multiple_of(TABLE_ALIGN)
            || bytes[data_end..shoff].iter().any(|&b| b != 0)
        {
            return Err(bad("the section header table is not where objcopy puts it"));
        }
        Ok(Onefile { bytes, pydata, data_end, shoff, pydata_header, after })
    }

    /// The PKG, as the `pydata` section holds it.
    pub(crate) fn pkg(&self) -> &'a [u8] {
        &self.bytes[self.pydata.clone()]
    }

    /// This executable with `pkg` in place of its PKG: what objcopy would make of the same
    /// bootloader and `pkg`.
    pub(crate) fn with_pkg<'b>(&'b self, pkg: &'b [u8]) -> Swapped<'b> {
        let b = self.bytes;
        let shift = |x: usize| x - self.pydata.len() + pkg.len();
        let shoff = shift(self.data_end).next_multiple_of(TABLE_ALIGN);
        let mut head: [u8; 64] = b[..64].try_into().expect("checked by parse");
        head[E_SHOFF..E_SHOFF + 8].copy_from_slice(&(shoff as u64).to_le_bytes());
        let mut tail = vec![0; shoff - shift(self.data_end)];
        let table = tail.len();
        tail.extend_from_slice(&b[self.shoff..]);
        let mut put = |h: usize, field: usize, value: usize| {
            let at = table + (h - self.shoff) + field;
            tail[at..at + 8].copy_from_slice(&(value as u64).to_le_bytes());
        };
        put(self.pydata_header, SH_SIZE, pkg.len());
        for &h in &self.after {
            put(h, SH_OFFSET, shift(usize_at(b, h + SH_OFFSET).expect("checked by parse")));
        }
        Swapped { head, parts: [&b[64..self.pydata.start], pkg, &b[self.pydata.end..self.data_end]], tail }
    }
}

/// A new executable as pieces, so that nothing of the 50 MB base is copied in memory.
pub(crate) struct Swapped<'b> {
    /// The ELF header, with the header table's new offset.
    head: [u8; 64],
    parts: [&'b [u8]; 3],
    /// Padding and the patched section header table.
    tail: Vec<u8>,
}

impl Swapped<'_> {
    fn pieces(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(&self.head[..]).chain(self.parts.iter().copied()).chain(std::iter::once(&self.tail[..]))
    }

    /// The whole executable in one buffer.
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        self.pieces().flatten().copied().collect()
    }

    /// Writes the executable to `path` (mode 755) and returns its blake3, computed meanwhile.
    pub(crate) fn write(&self, path: &Path) -> std::io::Result<blake3::Hash> {
        let (hash, written) = std::thread::scope(|s| {
            let hash = s.spawn(|| {
                let mut hasher = blake3::Hasher::new();
                for piece in self.pieces() {
                    hasher.update(piece);
                }
                hasher.finalize()
            });
            let written = std::fs::File::create(path).and_then(|mut file| {
                self.pieces().try_for_each(|p| file.write_all(p))?;
                Ok(file)
            });
            // Hashing a slice cannot panic.
            (hash.join().unwrap(), written)
        });
        let file = written?;
        #[cfg(unix)]
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        drop(file);
        Ok(hash)
    }
}

/// What PyInstaller does on Linux: `bootloader` with `pkg` added as the `pydata` section, made in
/// the folder `scratch`.
pub(crate) fn objcopy(bootloader: &Path, pkg: &[u8], scratch: &Path) -> Result<Vec<u8>, String> {
    let (pkg_path, exe) = (scratch.join("objcopy.pkg"), scratch.join("objcopy.exe"));
    std::fs::write(&pkg_path, pkg).map_err(|e| e.to_string())?;
    std::fs::copy(bootloader, &exe).map_err(|e| e.to_string())?;
    let mut section = std::ffi::OsString::from("pydata=");
    section.push(&pkg_path);
    let output = Command::new("objcopy")
        .arg("--add-section")
        .arg(section)
        .arg(&exe)
        .output()
        .map_err(|e| format!("could not run objcopy: {e}"))?;
    let bytes = match output.status.success() {
        true => std::fs::read(&exe).map_err(|e| e.to_string()),
        false => Err(format!("objcopy failed: {}", crate::process::last_line(&output.stderr))),
    };
    let _ = (std::fs::remove_file(&exe), std::fs::remove_file(&pkg_path));
    bytes
}

/// A section's bytes.
fn section(bytes: &[u8], header: usize) -> Result<&[u8], String> {
    Ok(&bytes[range(bytes, header)?])
}

/// Where a section's bytes are, checked to be in the file (a NOBITS section's too: harmless).
fn range(bytes: &[u8], header: usize) -> Result<Range<usize>, String> {
    let start = usize_at(bytes, header + SH_OFFSET)?;
    let end = start.checked_add(usize_at(bytes, header + SH_SIZE)?);
    match end {
        Some(end) if end <= bytes.len() || u32_at(bytes, header + SH_TYPE)? == SHT_NOBITS => Ok(start..end),
        _ => Err("a section lies outside the executable".into()),
    }
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], String> {
    at.checked_add(N)
        .and_then(|end| bytes.get(at..end))
        .map(|s| s.try_into().expect("N bytes"))
        .ok_or_else(|| "the executable is truncated".into())
}

fn u16_at(bytes: &[u8], at: usize) -> Result<u16, String> {
    field(bytes, at).map(u16::from_le_bytes)
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, String> {
    field(bytes, at).map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64, String> {
    field(bytes, at).map(u64::from_le_bytes)
}

fn usize_at(bytes: &[u8], at: usize) -> Result<usize, String> {
    usize::try_from(u64_at(bytes, at)?).map_err(|_| "an offset does not fit in memory".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapping_the_pkg_gives_objcopys_bytes_for_every_length() {
        // Any ELF64 executable stands in for the bootloader: objcopy lays them out alike.
        let (Ok(elf), Ok(_)) = (which::which("true"), which::which("objcopy")) else {
            eprintln!("skipped: needs `true` and `objcopy` on PATH");
            return;
        };
        if std::env::consts::ARCH != "x86_64" || !cfg!(target_os = "linux") {
            eprintln!("skipped: needs x86-64 Linux");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let base = objcopy(&elf, &[7; 100], tmp.path()).unwrap();
        let onefile = Onefile::parse(&base).unwrap();
        assert_eq!(onefile.pkg(), &[7; 100]);
        assert_eq!(onefile.with_pkg(&[7; 100]).to_vec(), base);
        for len in [0, 1, 2, 3, 5, 8, 13, 99, 101, 4096] {
            let pkg: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let swapped = onefile.with_pkg(&pkg);
            assert_eq!(swapped.to_vec(), objcopy(&elf, &pkg, tmp.path()).unwrap(), "a PKG of {len} bytes");
            let path = tmp.path().join("written");
            assert_eq!(swapped.write(&path).unwrap(), blake3::hash(&swapped.to_vec()));
            assert_eq!(std::fs::read(&path).unwrap(), swapped.to_vec());
        }
        assert!(Onefile::parse(&std::fs::read(&elf).unwrap()).is_err(), "no pydata section");
        let mut truncated = base.clone();
        truncated.truncate(base.len() - 1);
        assert!(Onefile::parse(&truncated).is_err());
    }
}
