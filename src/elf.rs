//! A Linux onefile executable: the bootloader with the PKG in an ELF section named `pydata`, as
//! PyInstaller makes it with `objcopy --add-section pydata=<pkg>`.
//!
//! objcopy appends the new section after the bootloader's sections, then writes the section name
//! table and the section header table after it. Only those two move when the PKG's length
//! changes, so a new executable is the old one with the section swapped, the sections after it
//! shifted and the header table re-aligned. The layout is checked here, and the self-test
//! compares this module's output with objcopy's for every alignment remainder.

use std::ops::Range;

/// An executable PyInstaller assembled, parsed enough to swap its PKG.
pub(crate) struct Onefile<'a> {
    bytes: &'a [u8],
    /// Where the PKG is.
    pydata: Range<usize>,
    /// The end of the last section's data, before the header table's padding.
    data_end: usize,
    shoff: usize,
    /// Offsets of the section headers to update: (`pydata`'s, those of the sections after it).
    pydata_header: usize,
    after: Vec<usize>,
}

const SHF_ALLOC: u64 = 2;
const SHT_NOBITS: u32 = 8;
/// objcopy aligns an ELF64 section header table to 8 bytes.
const TABLE_ALIGN: usize = 8;

impl<'a> Onefile<'a> {
    /// Parses a little-endian ELF64 executable with a `pydata` section laid out as objcopy does.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let bad = |why: &str| format!("the executable is not laid out as expected: {why}");
        if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 || bytes[5] != 1 {
            return Err(bad("not a little-endian ELF64 file"));
        }
        let shoff = u64_at(bytes, 0x28)? as usize;
        let (shentsize, shnum, shstrndx) =
            (u16_at(bytes, 0x3a)? as usize, u16_at(bytes, 0x3c)? as usize, u16_at(bytes, 0x3e)? as usize);
        if shentsize != 64 || shoff.checked_add(shnum * 64) != Some(bytes.len()) || shstrndx >= shnum {
            return Err(bad("the section header table is not at the end"));
        }
        let header = |i: usize| shoff + i * 64;
        let names = {
            let h = header(shstrndx);
            let (off, size) = (u64_at(bytes, h + 24)? as usize, u64_at(bytes, h + 32)? as usize);
            bytes.get(off..off + size).ok_or_else(|| bad("no section names"))?
        };
        let name = |h: usize| -> Result<&[u8], String> {
            let rest = names.get(u32_at(bytes, h)? as usize..).ok_or_else(|| bad("a section name"))?;
            Ok(&rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())])
        };
        let pydata_header =
            (0..shnum).map(header).find(|&h| name(h).is_ok_and(|n| n == b"pydata")).ok_or_else(|| bad("no pydata"))?;
        let start = u64_at(bytes, pydata_header + 24)? as usize;
        let pydata = start..start + u64_at(bytes, pydata_header + 32)? as usize;
        let (mut after, mut data_end) = (Vec::new(), pydata.end);
        for h in (0..shnum).map(header).filter(|&h| h != pydata_header) {
            let (off, size) = (u64_at(bytes, h + 24)? as usize, u64_at(bytes, h + 32)? as usize);
            if off < pydata.end || u32_at(bytes, h + 4)? == SHT_NOBITS {
                if off + size > pydata.start && u32_at(bytes, h + 4)? != SHT_NOBITS && size > 0 {
                    return Err(bad("a section overlaps pydata"));
                }
                continue;
            }
            // Shifting is only what objcopy does for unaligned, unloaded sections.
            if u64_at(bytes, h + 8)? & SHF_ALLOC != 0 || u64_at(bytes, h + 48)? > 1 {
                return Err(bad("a loaded or aligned section follows pydata"));
            }
            after.push(h);
            data_end = data_end.max(off + size);
        }
        let phoff = u64_at(bytes, 0x20)? as usize;
        for i in 0..u16_at(bytes, 0x38)? as usize {
            let p = phoff + i * u16_at(bytes, 0x36)? as usize;
            if u64_at(bytes, p + 8)? + u64_at(bytes, p + 32)? > pydata.start as u64 {
                return Err(bad("a segment reaches into pydata"));
            }
        }
        if shoff != data_end.next_multiple_of(TABLE_ALIGN) || bytes[data_end..shoff].iter().any(|&b| b != 0) {
            return Err(bad("the section header table is not where objcopy puts it"));
        }
        Ok(Onefile { bytes, pydata, data_end, shoff, pydata_header, after })
    }

    /// The PKG.
    pub(crate) fn pkg(&self) -> &'a [u8] {
        &self.bytes[self.pydata.clone()]
    }

    /// This executable with `pkg` in place of its PKG: what objcopy would make of the same
    /// bootloader and `pkg`.
    pub(crate) fn with_pkg<'b>(&'b self, pkg: &'b [u8]) -> Swapped<'b> {
        let b = self.bytes;
        let delta = pkg.len() as i64 - self.pydata.len() as i64;
        let shift = |x: usize| (x as i64 + delta) as usize;
        let shoff = shift(self.data_end).next_multiple_of(TABLE_ALIGN);
        let mut head: [u8; 64] = b[..64].try_into().expect("checked by parse");
        head[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
        // The header table's padding, then the table.
        let mut tail = vec![0; shoff - shift(self.data_end)];
        let table = tail.len();
        tail.extend_from_slice(&b[self.shoff..]);
        let mut put = |h: usize, field: usize, value: usize| {
            let at = table + (h - self.shoff) + field;
            tail[at..at + 8].copy_from_slice(&(value as u64).to_le_bytes());
        };
        put(self.pydata_header, 32, pkg.len());
        for &h in &self.after {
            put(h, 24, shift(u64_at(b, h + 24).expect("checked by parse") as usize));
        }
        Swapped { head, parts: [&b[64..self.pydata.start], pkg, &b[self.pydata.end..self.data_end]], tail }
    }
}

/// A new executable, as the pieces to write one after the other: nothing of the base is copied
/// in memory.
pub(crate) struct Swapped<'b> {
    head: [u8; 64],
    parts: [&'b [u8]; 3],
    tail: Vec<u8>,
}

impl Swapped<'_> {
    pub(crate) fn pieces(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(&self.head[..]).chain(self.parts.iter().copied()).chain(std::iter::once(&self.tail[..]))
    }

    pub(crate) fn to_vec(&self) -> Vec<u8> {
        self.pieces().flatten().copied().collect()
    }
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], String> {
    bytes.get(at..at + N).map(|s| s.try_into().expect("N bytes")).ok_or_else(|| "the executable is truncated".into())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    /// objcopy's output for `pkg` added to `elf`.
    fn objcopy(elf: &Path, pkg: &[u8], dir: &Path) -> Vec<u8> {
        let (pkg_path, exe) = (dir.join("pkg"), dir.join("exe"));
        std::fs::write(&pkg_path, pkg).unwrap();
        std::fs::copy(elf, &exe).unwrap();
        let status = Command::new("objcopy")
            .arg("--add-section")
            .arg(format!("pydata={}", pkg_path.display()))
            .arg(&exe)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read(exe).unwrap()
    }

    #[test]
    fn swapping_the_pkg_gives_objcopys_bytes_for_every_length() {
        // Any ELF64 executable stands in for the bootloader: objcopy lays them out alike.
        let Ok(elf) = which::which("true") else { return };
        if which::which("objcopy").is_err() || std::env::consts::ARCH != "x86_64" {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let base = objcopy(&elf, &[7; 100], tmp.path());
        let onefile = Onefile::parse(&base).unwrap();
        assert_eq!(onefile.pkg(), &[7; 100]);
        assert_eq!(onefile.with_pkg(&[7; 100]).to_vec(), base);
        for len in [0, 1, 2, 3, 5, 8, 13, 99, 101, 4096] {
            let pkg: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert_eq!(onefile.with_pkg(&pkg).to_vec(), objcopy(&elf, &pkg, tmp.path()), "a PKG of {len} bytes");
        }
        assert!(Onefile::parse(&std::fs::read(&elf).unwrap()).is_err(), "no pydata section");
    }
}
