//! The binaries already built, in tiers: the local store in the target folder, then (when
//! configured) a store shared between machines. The plan asks them in that order, after the
//! stamp and before the fast path and PyInstaller.

mod local;

pub(crate) use local::{Entry, Store};
