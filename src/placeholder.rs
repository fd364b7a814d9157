//! What a skipped build leaves where a sidecar goes (skip.rs writes it), and how any build tells
//! it from a real binary (placement.rs, onedir.rs).

use std::fs;
use std::path::Path;

/// What every placeholder contains, so the crate (and a reader) can tell one from a sidecar.
pub(crate) const MARKER: &str = "pyinstaller-build placeholder";

/// Whether `path` is a placeholder a skipped build wrote.
pub(crate) fn is_placeholder(path: &Path) -> bool {
    let small = fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() < 4096);
    small && fs::read(path).is_ok_and(|b| String::from_utf8_lossy(&b).contains(MARKER))
}

/// What a placeholder holds. On Unix a shell script that says it was skipped and exits 1. On
/// Windows the same text: it is not a program, so starting it fails (Windows reports it is not a
/// valid application), and a reader who opens it sees why.
pub(crate) fn placeholder_text(name: &str) -> String {
    format!(
        "#!/bin/sh\n\
         # {MARKER}: {name} was not built (PYINSTALLER_BUILD_SKIP was set).\n\
         echo '{name}: this is a {MARKER}, not the sidecar: PYINSTALLER_BUILD_SKIP was set when it was built. \
         Build again without PYINSTALLER_BUILD_SKIP to get the real one.' >&2\n\
         exit 1\n"
    )
}
