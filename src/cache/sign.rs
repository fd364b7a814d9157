//! The hashing the shared tier signs and addresses with: SHA-256 (the content's address, SigV4's
//! payload hash), HMAC-SHA256 (SigV4, and entries signed with `PYINSTALLER_BUILD_CACHE_SIGNING_KEY`).

use crate::hashing::hex;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub(super) fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}
