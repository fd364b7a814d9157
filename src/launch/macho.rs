//! A macOS launcher with its payload that `codesign` accepts.
//!
//! `codesign` refuses a Mach-O executable with bytes after its last segment ("main executable
//! failed strict validation"), and on Apple silicon an unsigned executable does not start at
//! all. PyInstaller meets the same problem with the archive it appends to its bootloader, and
//! solves it in `PyInstaller/utils/osx.py` (`fix_exe_for_code_signing`, 6.22.3): with the
//! executable unsigned, it makes the appended bytes part of the string table (`LC_SYMTAB`'s
//! `strsize`), which is the last thing in the `__LINKEDIT` segment, and grows that segment
//! (`filesize`, and `vmsize` rounded up to the page: 16 KiB on arm64, 4 KiB otherwise) to the end
//! of the file; then it signs the result (ad hoc unless an identity is given). The crate does the
//! same: the launcher is linked without the linker's ad-hoc signature (`-no_adhoc_codesign`),
//! [`cover_appended`] fixes the headers once the payload and trailer are appended, and the build
//! signs the file ad hoc (`codesign -s - --force`); Tauri's bundler may sign it again with the
//! app's identity, which replaces that signature. The signature goes after the trailer, so the
//! launcher finds its trailer by searching back from the end of its file.

/// `MH_MAGIC_64`, little-endian: the only kind of launcher the crate builds (x86_64 and arm64).
const MAGIC_64: u32 = 0xfeed_facf;
const CPU_TYPE_ARM64: u32 = 0x0100_000c;
const LC_SEGMENT_64: u32 = 0x19;
const LC_SYMTAB: u32 = 0x2;
const LC_CODE_SIGNATURE: u32 = 0x1d;
const HEADER_LEN: usize = 32;

/// The linker argument that leaves the launcher unsigned, so that its headers can be fixed
/// before it is signed.
pub(crate) const NO_ADHOC_SIGNATURE: &str = "link-arg=-Wl,-no_adhoc_codesign";

/// Makes everything after the launcher's own bytes (payload, name, trailer) part of its string
/// table and `__LINKEDIT` segment. `image` is the whole file; it must be a thin 64-bit Mach-O
/// without a code signature. Errors say which assumption failed.
pub(crate) fn cover_appended(image: &mut [u8]) -> Result<(), String> {
    let u32_at = |b: &[u8], at: usize| -> Result<u32, String> {
        b.get(at..at + 4).map(|s| u32::from_le_bytes(s.try_into().unwrap())).ok_or("a truncated header".to_string())
    };
    let u64_at = |b: &[u8], at: usize| -> Result<u64, String> {
        b.get(at..at + 8).map(|s| u64::from_le_bytes(s.try_into().unwrap())).ok_or("a truncated header".to_string())
    };
    if u32_at(image, 0)? != MAGIC_64 {
        return Err("not a thin 64-bit little-endian Mach-O executable".into());
    }
    let page: u64 = if u32_at(image, 4)? == CPU_TYPE_ARM64 { 0x4000 } else { 0x1000 };
    let ncmds = u32_at(image, 16)? as usize;
    let file_len = image.len() as u64;
    let (mut linkedit, mut symtab) = (None, None);
    let mut at = HEADER_LEN;
    for _ in 0..ncmds {
        let (cmd, size) = (u32_at(image, at)?, u32_at(image, at + 4)? as usize);
        match cmd {
            LC_CODE_SIGNATURE => {
                return Err("the launcher is signed (it must be linked with -no_adhoc_codesign)".into())
            }
            LC_SEGMENT_64 if image.get(at + 8..at + 24) == Some(b"__LINKEDIT\0\0\0\0\0\0".as_slice()) => {
                linkedit = Some(at)
            }
            LC_SYMTAB => symtab = Some(at),
            _ => {}
        }
        if size < 8 {
            return Err("a load command of no size".into());
        }
        at += size;
    }
    let (Some(seg), Some(sym)) = (linkedit, symtab) else {
        return Err("no __LINKEDIT segment or no symbol table".into());
    };
    if image.len() < sym + 24 || image.len() < seg + 56 {
        return Err("a truncated header".into());
    }
    let stroff = u32_at(image, sym + 16)? as u64;
    let fileoff = u64_at(image, seg + 40)?;
    if stroff > file_len || fileoff > stroff {
        return Err("a string table outside __LINKEDIT".into());
    }
    let strsize = u32::try_from(file_len - stroff).map_err(|_| "a payload over 4 GiB".to_string())?;
    let filesize = file_len - fileoff;
    let vmsize = filesize.div_ceil(page) * page;
    image[sym + 20..sym + 24].copy_from_slice(&strsize.to_le_bytes());
    image[seg + 32..seg + 40].copy_from_slice(&vmsize.to_le_bytes());
    image[seg + 48..seg + 56].copy_from_slice(&filesize.to_le_bytes());
    Ok(())
}

/// Signs the fixed file ad hoc, as PyInstaller signs its executables (`codesign -s - --force`):
/// Apple silicon runs no unsigned program. The build runs on the Mac the sidecar is for, where
/// `codesign` is part of the system.
pub(crate) fn sign_ad_hoc(path: &std::path::Path) -> Result<(), String> {
    let out = std::process::Command::new("/usr/bin/codesign")
        .args(["-s", "-", "--force"])
        .arg(path)
        .output()
        .map_err(|e| format!("could not run /usr/bin/codesign: {e}"))?;
    match out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "`codesign -s - --force {}` failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal arm64 executable: header, `__TEXT`, `__LINKEDIT` and a symbol table whose
    /// strings end the file at 0x8100, then 0x100 appended bytes.
    fn image(extra: &[(u32, u32)]) -> Vec<u8> {
        let mut cmds = Vec::new();
        let segment = |name: &[u8], fileoff: u64, filesize: u64| {
            let mut c = Vec::new();
            c.extend(LC_SEGMENT_64.to_le_bytes());
            c.extend(72u32.to_le_bytes());
            let mut n = [0u8; 16];
            n[..name.len()].copy_from_slice(name);
            c.extend(n);
            c.extend(0u64.to_le_bytes()); // vmaddr
            c.extend(filesize.to_le_bytes()); // vmsize
            c.extend(fileoff.to_le_bytes());
            c.extend(filesize.to_le_bytes());
            c.extend([0u8; 16]); // maxprot, initprot, nsects, flags
            c
        };
        cmds.extend(segment(b"__TEXT", 0, 0x4000));
        cmds.extend(segment(b"__LINKEDIT", 0x4000, 0x4100));
        for v in [LC_SYMTAB, 24, 0x4000, 0, 0x8000, 0x100] {
            cmds.extend(v.to_le_bytes());
        }
        for (cmd, size) in extra {
            cmds.extend(cmd.to_le_bytes());
            cmds.extend(size.to_le_bytes());
            cmds.extend(vec![0u8; *size as usize - 8]);
        }
        let mut out = Vec::new();
        for v in [MAGIC_64, CPU_TYPE_ARM64, 0, 2, 3 + extra.len() as u32, cmds.len() as u32, 0, 0] {
            out.extend(v.to_le_bytes());
        }
        out.extend(cmds);
        out.resize(0x8100, 0);
        out.extend([7u8; 0x100]);
        out
    }

    fn read_u64(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn the_appended_bytes_become_the_end_of_the_string_table_and_of_linkedit() {
        let mut img = image(&[]);
        cover_appended(&mut img).unwrap();
        let linkedit = HEADER_LEN + 72;
        let symtab = HEADER_LEN + 144;
        assert_eq!(u32::from_le_bytes(img[symtab + 20..symtab + 24].try_into().unwrap()), 0x200, "strsize");
        assert_eq!(read_u64(&img, linkedit + 48), 0x4200, "filesize: to the end of the file");
        assert_eq!(read_u64(&img, linkedit + 32), 0x8000, "vmsize: whole 16 KiB pages");
        assert_eq!(read_u64(&img, HEADER_LEN + 48), 0x4000, "__TEXT untouched");
    }

    #[test]
    fn a_signed_or_foreign_file_is_refused_with_the_reason() {
        let mut signed = image(&[(LC_CODE_SIGNATURE, 16)]);
        assert!(cover_appended(&mut signed).unwrap_err().contains("signed"));
        let mut elf = b"\x7fELF and more bytes than a header".to_vec();
        assert!(cover_appended(&mut elf).unwrap_err().contains("not a thin 64-bit"));
        let mut short = image(&[]);
        short.truncate(20);
        assert!(cover_appended(&mut short).is_err());
    }
}
