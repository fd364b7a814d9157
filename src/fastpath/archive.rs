//! PyInstaller's onefile archives, read and rewritten byte for byte.
//!
//! A PKG (CArchive) is `[blobs][TOC][88-byte cookie]`; one of its blobs is the PYZ, which is
//! `[17-byte header][zlib blobs][marshal'd TOC]`. Both keep their blobs back to back in TOC order,
//! so replacing a few blobs means copying every other one unchanged and rewriting the offsets.
//! Names, flags and padding are copied from the base, never re-derived: only offsets and lengths
//! change. (Layouts from PyInstaller 6.x `archive/writers.py`; the fast path's self-test
//! checks this module against every stock build it snapshots.)

use std::collections::HashMap;

const COOKIE_MAGIC: &[u8; 8] = b"MEI\x0c\x0b\x0a\x0b\x0e";
const COOKIE_LEN: usize = 88;
const TOC_HEAD: usize = 18;
const PYZ_HEADER: usize = 17;

/// A parsed PKG; blobs are borrowed from its bytes.
pub(crate) struct Pkg<'a> {
    pub entries: Vec<PkgEntry<'a>>,
    /// Cookie bytes after the lengths: Python version and library name, copied as they were.
    tail: &'a [u8],
}

pub(crate) struct PkgEntry<'a> {
    pub name: String,
    pub typecode: u8,
    pub compressed: bool,
    pub uncompressed_len: u32,
    pub blob: &'a [u8],
    /// The NUL-terminated, padded name field.
    raw_name: &'a [u8],
}

fn be32(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes(s.try_into().unwrap())).ok_or_else(|| "truncated".into())
}

impl<'a> Pkg<'a> {
    pub(crate) fn parse(data: &'a [u8]) -> Result<Pkg<'a>, String> {
        let cookie = data.len().checked_sub(COOKIE_LEN).ok_or("too short for a PKG")?;
        if &data[cookie..cookie + 8] != COOKIE_MAGIC || be32(data, cookie + 8)? as usize != data.len() {
            return Err("no PKG cookie at the end".into());
        }
        let (toc_offset, toc_len) = (be32(data, cookie + 12)? as usize, be32(data, cookie + 16)? as usize);
        if toc_offset + toc_len != cookie {
            return Err("the TOC does not end at the cookie".into());
        }
        let mut entries = Vec::new();
        let (mut at, mut next_blob) = (toc_offset, 0usize);
        while at < cookie {
            let len = be32(data, at)? as usize;
            let (offset, stored) = (be32(data, at + 4)? as usize, be32(data, at + 8)? as usize);
            if len < TOC_HEAD || at + len > cookie || offset != next_blob || offset + stored > toc_offset {
                return Err(format!("unexpected TOC entry at {at}"));
            }
            let raw_name = &data[at + TOC_HEAD..at + len];
            let end = raw_name.iter().position(|&b| b == 0).unwrap_or(raw_name.len());
            entries.push(PkgEntry {
                name: String::from_utf8_lossy(&raw_name[..end]).into_owned(),
                uncompressed_len: be32(data, at + 12)?,
                compressed: data[at + 16] != 0,
                typecode: data[at + 17],
                blob: &data[offset..offset + stored],
                raw_name,
            });
            next_blob = offset + stored;
            at += len;
        }
        if next_blob != toc_offset {
            return Err("the blobs do not end at the TOC".into());
        }
        Ok(Pkg { entries, tail: &data[cookie + 20..] })
    }

    /// The PKG with the given blobs replaced (by entry name: new blob, new uncompressed length).
    pub(crate) fn rewrite(&self, new: &HashMap<&str, (&[u8], u32)>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.iter().map(|e| e.blob.len()).sum::<usize>() + 4096);
        let mut toc = Vec::new();
        for e in &self.entries {
            let (blob, uncompressed) = new.get(e.name.as_str()).copied().unwrap_or((e.blob, e.uncompressed_len));
            toc.extend_from_slice(&((TOC_HEAD + e.raw_name.len()) as u32).to_be_bytes());
            toc.extend_from_slice(&(out.len() as u32).to_be_bytes());
            toc.extend_from_slice(&(blob.len() as u32).to_be_bytes());
            toc.extend_from_slice(&uncompressed.to_be_bytes());
            toc.extend_from_slice(&[e.compressed as u8, e.typecode]);
            toc.extend_from_slice(e.raw_name);
            out.extend_from_slice(blob);
        }
        let toc_offset = out.len();
        out.extend_from_slice(&toc);
        out.extend_from_slice(COOKIE_MAGIC);
        out.extend_from_slice(&((toc_offset + toc.len() + COOKIE_LEN) as u32).to_be_bytes());
        out.extend_from_slice(&(toc_offset as u32).to_be_bytes());
        out.extend_from_slice(&(toc.len() as u32).to_be_bytes());
        out.extend_from_slice(self.tail);
        out
    }
}

/// A parsed PYZ: its header, its modules in TOC order, and the TOC's marshal layout.
pub(crate) struct Pyz<'a> {
    header: &'a [u8],
    pub modules: Vec<PyzModule<'a>>,
    list_flag: u8,
}

pub(crate) struct PyzModule<'a> {
    pub name: String,
    pub blob: &'a [u8],
    kind: i32,
    /// The marshal'd name, copied as it was (its string type and reference flag).
    raw_name: &'a [u8],
    /// Marshal type bytes of the entry's outer and inner tuple (with their reference flags).
    tuple_types: [u8; 2],
}

const FLAG_REF: u8 = 0x80;

/// The subset of marshal a PYZ TOC uses: `[(name, (kind, offset, length)), ...]`.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
    /// Objects marshal flagged for back-references: only small ints are expected to be referenced.
    refs: Vec<Option<i32>>,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.data.get(self.at).ok_or("truncated TOC")?;
        self.at += 1;
        Ok(b)
    }
    fn le32(&mut self) -> Result<u32, String> {
        let s = self.data.get(self.at..self.at + 4).ok_or("truncated TOC")?;
        self.at += 4;
        Ok(u32::from_le_bytes(s.try_into().unwrap()))
    }
    fn int(&mut self) -> Result<i32, String> {
        let t = self.byte()?;
        match t & !FLAG_REF {
            b'i' => {
                let v = self.le32()? as i32;
                if t & FLAG_REF != 0 {
                    self.refs.push(Some(v));
                }
                Ok(v)
            }
            b'r' => {
                let idx = self.le32()? as usize;
                self.refs.get(idx).copied().flatten().ok_or_else(|| "unexpected reference".into())
            }
            _ => Err(format!("unexpected marshal type {t:#x} for an int")),
        }
    }
    fn tuple(&mut self, n: usize) -> Result<u8, String> {
        let t = self.byte()?;
        if t & !FLAG_REF != b')' || self.byte()? as usize != n {
            return Err("unexpected TOC tuple".into());
        }
        if t & FLAG_REF != 0 {
            self.refs.push(None);
        }
        Ok(t)
    }
    fn string(&mut self) -> Result<(&'a [u8], String), String> {
        let start = self.at;
        let t = self.byte()?;
        let len = match t & !FLAG_REF {
            b'z' | b'Z' => self.byte()? as usize,
            b'a' | b'A' | b'u' | b't' => self.le32()? as usize,
            _ => return Err(format!("unexpected marshal type {t:#x} for a name")),
        };
        let text = self.data.get(self.at..self.at + len).ok_or("truncated TOC")?;
        self.at += len;
        if t & FLAG_REF != 0 {
            self.refs.push(None);
        }
        Ok((&self.data[start..self.at], String::from_utf8_lossy(text).into_owned()))
    }
}

impl<'a> Pyz<'a> {
    pub(crate) fn parse(data: &'a [u8]) -> Result<Pyz<'a>, String> {
        if data.len() < PYZ_HEADER || &data[..4] != b"PYZ\0" {
            return Err("not a PYZ archive".into());
        }
        let toc_offset = i32::from_be_bytes(data[8..12].try_into().unwrap()) as usize;
        let mut r = Reader { data, at: toc_offset, refs: Vec::new() };
        let list_flag = r.byte()?;
        if list_flag & !FLAG_REF != b'[' {
            return Err("the PYZ TOC is not a list".into());
        }
        if list_flag & FLAG_REF != 0 {
            r.refs.push(None);
        }
        let n = r.le32()? as usize;
        let mut modules = Vec::with_capacity(n);
        let mut next = PYZ_HEADER;
        for _ in 0..n {
            let outer = r.tuple(2)?;
            let (raw_name, name) = r.string()?;
            let inner = r.tuple(3)?;
            let (kind, offset, length) = (r.int()?, r.int()? as usize, r.int()? as usize);
            if offset != next || offset + length > toc_offset {
                return Err(format!("unexpected offset for {name}"));
            }
            next = offset + length;
            modules.push(PyzModule { name, blob: &data[offset..next], kind, raw_name, tuple_types: [outer, inner] });
        }
        if next != toc_offset || r.at != data.len() {
            return Err("unexpected PYZ layout".into());
        }
        Ok(Pyz { header: &data[..PYZ_HEADER], modules, list_flag })
    }

    /// The PYZ with the given modules' blobs replaced.
    pub(crate) fn rewrite(&self, new: &HashMap<&str, &[u8]>) -> Vec<u8> {
        let mut out = self.header.to_vec();
        let mut w = Writer { toc: vec![self.list_flag], refs: 0, small_ints: HashMap::new() };
        if self.list_flag & FLAG_REF != 0 {
            w.refs += 1;
        }
        w.toc.extend_from_slice(&(self.modules.len() as u32).to_le_bytes());
        for m in &self.modules {
            let blob = new.get(m.name.as_str()).copied().unwrap_or(m.blob);
            w.tuple(m.tuple_types[0], 2);
            w.toc.extend_from_slice(m.raw_name);
            if m.raw_name[0] & FLAG_REF != 0 {
                w.refs += 1;
            }
            w.tuple(m.tuple_types[1], 3);
            w.int(m.kind);
            w.int(out.len() as i32);
            w.int(blob.len() as i32);
            out.extend_from_slice(blob);
        }
        let toc_offset = out.len() as i32;
        out[8..12].copy_from_slice(&toc_offset.to_be_bytes());
        out.extend_from_slice(&w.toc);
        out
    }
}

/// Writes marshal the way CPython does for these objects: an int from -5 to 256 is a shared
/// object, so it is flagged the first time and referenced afterwards; any other int is referenced
/// by its tuple alone, so it is written in full.
struct Writer {
    toc: Vec<u8>,
    refs: u32,
    small_ints: HashMap<i32, u32>,
}

impl Writer {
    fn tuple(&mut self, t: u8, n: u8) {
        self.toc.extend_from_slice(&[t, n]);
        if t & FLAG_REF != 0 {
            self.refs += 1;
        }
    }
    fn int(&mut self, v: i32) {
        if (-5..=256).contains(&v) {
            if let Some(idx) = self.small_ints.get(&v) {
                self.toc.push(b'r');
                self.toc.extend_from_slice(&idx.to_le_bytes());
                return;
            }
            self.small_ints.insert(v, self.refs);
            self.refs += 1;
            self.toc.push(b'i' | FLAG_REF);
        } else {
            self.toc.push(b'i');
        }
        self.toc.extend_from_slice(&v.to_le_bytes());
    }
}

/// The first entry where two PKGs differ, looking into the PYZ when it is the PYZ that differs.
pub(crate) struct Difference<'a> {
    /// `PYZ` or `PKG`.
    pub archive: &'static str,
    pub name: String,
    /// Whether the entries are zlib streams (every PYZ entry is).
    pub compressed: bool,
    pub ours: &'a [u8],
    pub theirs: &'a [u8],
}

/// Where `ours` first differs from `theirs` (PyInstaller's): the first entry whose bytes differ, or
/// None when every entry has the same bytes (then it is the index that differs).
pub(crate) fn first_difference<'a>(ours: &'a [u8], theirs: &'a [u8]) -> Option<Difference<'a>> {
    let (a, b) = (Pkg::parse(ours).ok()?, Pkg::parse(theirs).ok()?);
    let (x, y) = a.entries.iter().zip(&b.entries).find(|(x, y)| x.blob != y.blob || x.name != y.name)?;
    if x.typecode == b'z' && !x.compressed && x.name == y.name {
        if let (Ok(p), Ok(q)) = (Pyz::parse(x.blob), Pyz::parse(y.blob)) {
            if let Some((m, n)) = p.modules.iter().zip(&q.modules).find(|(m, n)| m.blob != n.blob || m.name != n.name) {
                return Some(Difference {
                    archive: "PYZ",
                    name: m.name.clone(),
                    compressed: true,
                    ours: m.blob,
                    theirs: n.blob,
                });
            }
        }
    }
    Some(Difference { archive: "PKG", name: x.name.clone(), compressed: x.compressed, ours: x.blob, theirs: y.blob })
}

/// The first offset where two byte strings differ (the shorter one's length if one is a prefix).
pub(crate) fn first_offset(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pyz_rewritten_with_its_own_blobs_is_unchanged_and_new_blobs_shift_offsets() {
        // (name, (kind, offset, length)) for two modules, as CPython marshals them: the list and
        // names flagged, the small int 0 flagged once then referenced, the last tuple flagged.
        let mut data = b"PYZ\0\xa7\x0d\x0d\x0a\0\0\0\0\0\0\0\0\0".to_vec();
        data.extend_from_slice(b"abcXY");
        let toc_offset = data.len() as i32;
        data[8..12].copy_from_slice(&toc_offset.to_be_bytes());
        data.extend_from_slice(b"\xdb\x02\0\0\0");
        data.extend_from_slice(b")\x02\xfa\x01a)\x03\xe9\0\0\0\0\xe9\x11\0\0\0\xe9\x03\0\0\0");
        data.extend_from_slice(b"\xa9\x02\xfa\x01b)\x03r\x02\0\0\0\xe9\x14\0\0\0\xe9\x02\0\0\0");
        let pyz = Pyz::parse(&data).unwrap();
        assert_eq!(
            pyz.modules.iter().map(|m| (m.name.as_str(), m.blob)).collect::<Vec<_>>(),
            [("a", &b"abc"[..]), ("b", &b"XY"[..])]
        );
        assert_eq!(pyz.rewrite(&HashMap::new()), data);
        let longer = vec![7u8; 300];
        let out = pyz.rewrite(&HashMap::from([("a", &longer[..])]));
        let again = Pyz::parse(&out).unwrap();
        assert_eq!(again.modules[0].blob, &longer[..]);
        assert_eq!(again.modules[1].blob, b"XY");
    }

    #[test]
    fn a_pkg_round_trips_and_replaces_one_blob() {
        let entry = |offset: u32, len: u32, name: &[u8]| {
            let mut e = (32u32).to_be_bytes().to_vec();
            for v in [offset, len, len] {
                e.extend_from_slice(&v.to_be_bytes());
            }
            e.extend_from_slice(&[0, b'x']);
            let mut n = name.to_vec();
            n.resize(14, 0);
            e.extend_from_slice(&n);
            e
        };
        let mut data = b"hello!!".to_vec();
        let toc = [entry(0, 5, b"one"), entry(5, 2, b"two")].concat();
        data.extend_from_slice(&toc);
        data.extend_from_slice(COOKIE_MAGIC);
        for v in [7 + 64 + 88, 7, 64, 311] {
            data.extend_from_slice(&(v as u32).to_be_bytes());
        }
        data.extend_from_slice(&[0u8; 64]);
        let pkg = Pkg::parse(&data).unwrap();
        assert_eq!(pkg.entries[1].name, "two");
        assert_eq!(pkg.rewrite(&HashMap::new()), data);
        let out = pkg.rewrite(&HashMap::from([("one", (&b"HI"[..], 2))]));
        let again = Pkg::parse(&out).unwrap();
        assert_eq!((again.entries[0].blob, again.entries[1].blob), (&b"HI"[..], &b"!!"[..]));

        // The first entry that differs, and its first differing byte.
        let other = pkg.rewrite(&HashMap::from([("two", (&b"!?"[..], 2))]));
        let d = first_difference(&other, &data).unwrap();
        assert_eq!((d.archive, d.name.as_str(), d.compressed), ("PKG", "two", false));
        assert_eq!(first_offset(d.ours, d.theirs), 1);
        assert!(first_difference(&data, &data).is_none());
    }
}
