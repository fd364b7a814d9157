//! The shared tier when the crate is compiled without its `shared-cache` feature: the same
//! interface, never built. Configuring a shared cache then only says how to turn the feature on.

use super::config::Config;
use super::key::{Check, Places};
use super::outcome::{Fetched, Miss};
use std::path::Path;

/// Never made: there is no shared tier to find anything in.
pub(crate) enum Found {}

/// Never made: [`SharedStore::open`] always says the feature is missing.
pub(super) enum SharedStore {}

impl SharedStore {
    /// The warning that the feature is missing, with the fix.
    pub(super) fn open(config: Config) -> Result<SharedStore, String> {
        Err(format!(
            "pyinstaller-build: PYINSTALLER_BUILD_CACHE_URL is set ({}), but pyinstaller-build was compiled \
             without its `shared-cache` feature; building locally. Fix: \
             `pyinstaller-build = {{ version = \"0.1\", features = [\"shared-cache\"] }}` in [build-dependencies].",
            config.url
        ))
    }

    pub(super) fn url(&self) -> &str {
        match *self {}
    }

    pub(super) fn writes(&self) -> bool {
        match *self {}
    }

    pub(super) fn usable(&self) -> bool {
        match *self {}
    }

    pub(super) fn off_reason(&self) -> Miss {
        match *self {}
    }

    pub(super) fn lookup(&self, _: &str, _: &Places, _: &dyn Fn(&str) -> Option<String>) -> Result<Found, Miss> {
        match *self {}
    }

    pub(super) fn download(&self, found: Found, _: &Path) -> Result<Fetched, Miss> {
        match found {}
    }

    pub(super) fn upload(&self, _: Vec<String>, _: &Path, _: &str, _: Vec<Check>, _: Option<String>, _: bool) {
        match *self {}
    }

    pub(super) fn wait(&self) -> Vec<String> {
        match *self {}
    }
}
