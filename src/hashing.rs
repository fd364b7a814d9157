//! Content hashes: a file's blake3 (fingerprints, the binary store, the fast path's snapshots)
//! and hex, the form every record of the crate keeps a hash in (the shared cache's SHA-256
//! addresses and signatures too).

use crate::error::{IoContext, Result};
use std::fs;
use std::io::Read;
use std::path::Path;

/// The blake3 of the file at `path`, read in pieces (a sidecar is tens of megabytes).
pub(crate) fn hash_file(path: &Path) -> Result<[u8; 32]> {
    let mut file = fs::File::open(path).at("could not read", path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).at("could not read", path)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(*hasher.finalize().as_bytes())
}

/// `bytes` as lowercase hex, two digits a byte: a blake3 as state files keep it, a SHA-256 or an
/// HMAC as S3 and the shared cache's signatures want it.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(DIGITS[usize::from(b >> 4)] as char);
        text.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_hashes_as_its_bytes_do_and_hex_is_blake3s() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&path, &bytes).unwrap();
        let hash = hash_file(&path).unwrap();
        assert_eq!(hash, *blake3::hash(&bytes).as_bytes(), "read in pieces, hashed whole");
        assert_eq!(hex(&hash), blake3::hash(&bytes).to_hex().as_str());
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert!(hash_file(&tmp.path().join("missing")).unwrap_err().to_string().contains("missing"));
    }
}
