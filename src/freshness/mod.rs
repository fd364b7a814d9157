//! Whether a spec's installed binary is still what a build of its sources would give, and if
//! not, why.
//!
//! The pipeline, for each spec at each build:
//! 1. [`fingerprint`]: what the binary depends on, hashed — the *context* (toolchain,
//!    environment, settings, the project's file set, what the last run read outside python-dir)
//!    and the *files* (the contents of the project files it depends on);
//! 2. [`reads`]: what the last PyInstaller run read (traced), made into inputs of its spec, and
//!    at each plan what of it changed;
//! 3. [`state`]: what the spec's work folder was last built from, and whether PyInstaller's own
//!    cache would notice what changed since (it never decides freshness);
//! 4. [`Stale`]: why a spec is built, typed, and rendered as a sentence only where a user reads
//!    it (the warning line, the report).

pub(crate) mod fingerprint;
pub(crate) mod reads;
pub(crate) mod stale;
pub(crate) mod state;

pub(crate) use stale::{Changed, Stale};
