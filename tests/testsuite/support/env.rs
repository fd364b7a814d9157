//! The test process's environment, which every test of the suite shares.
//!
//! The fast tests run the crate in this process, and the crate reads its switches
//! (`PYINSTALLER_BUILD_SKIP`, `PYTHONOPTIMIZE`, the `PATH` it finds `lipo` on, ...) from the
//! process environment, so a test that needs one must set it here, and no other test may see it:
//!
//! * a test that sets variables holds [`lock`] for its whole run and sets them with
//!   [`Env::set`], whose guard puts back what was there when it drops (on a panic too);
//! * a test that runs the crate in this process, or reads a variable a test may set, holds
//!   [`read`] for its whole run;
//! * a test that holds neither starts its processes (cargo, a sidecar, `python3`) through
//!   [`Clean`], which starts them while no test has a variable set, so a child never inherits
//!   one. End-to-end tests give their variables to the child (`Command::env`), never to this
//!   process.
//!
//! ```ignore
//! let env = support::env::lock();
//! let report = {
//!     let _skip = env.set(&[("PYINSTALLER_BUILD_SKIP", "1")]);
//!     f.build("debug").try_compile()
//! };
//! ```

use std::ffi::{OsStr, OsString};
use std::io;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Held for writing by a test that sets variables, for reading by every test that reads them.
static ENV: RwLock<()> = RwLock::new(());

/// The environment as no test has changed it, for as long as the guard lives.
///
/// A poisoned lock is taken all the same: the test that panicked holding it had its variables
/// put back before the lock was released (its [`Vars`] drop before its [`Env`]).
pub fn read() -> RwLockReadGuard<'static, ()> {
    ENV.read().unwrap_or_else(|e| e.into_inner())
}

/// The environment for this test alone, to change with [`Env::set`], until the guard drops.
pub fn lock() -> Env {
    Env(ENV.write().unwrap_or_else(|e| e.into_inner()))
}

/// A test's hold on the process environment: see [`lock`].
pub struct Env(#[allow(dead_code)] RwLockWriteGuard<'static, ()>);

impl Env {
    /// Sets `vars` until the returned guard drops, which puts back each one's previous value (or
    /// removes it), on a panic too.
    pub fn set<V: AsRef<OsStr>>(&self, vars: &[(&str, V)]) -> Vars<'_> {
        let saved = vars
            .iter()
            .map(|(key, value)| {
                #[allow(clippy::disallowed_methods)] // the test's own environment, put back on drop
                let old = std::env::var_os(key);
                std::env::set_var(key, value);
                (key.to_string(), old)
            })
            .collect();
        Vars { saved, _env: self }
    }
}

/// Variables set by [`Env::set`], put back when this drops.
pub struct Vars<'a> {
    saved: Vec<(String, Option<OsString>)>,
    _env: &'a Env,
}

impl Drop for Vars<'_> {
    fn drop(&mut self) {
        for (key, old) in self.saved.drain(..).rev() {
            match old {
                Some(value) => std::env::set_var(&key, value),
                None => std::env::remove_var(&key),
            }
        }
    }
}

/// Starting a process while no test has a variable set: the child inherits the environment as
/// no test changed it. Only the start waits (for a fast test's build), not the run. Never from a
/// test that holds [`read`] or [`lock`] (it would wait for itself): such a test starts its
/// processes with `Command`'s own methods.
pub trait Clean {
    /// `Command::spawn`, while no test has a variable set.
    fn spawn_clean(&mut self) -> io::Result<Child>;
    /// `Command::output`, its input empty and its output captured (explicit `stdin`, `stdout`
    /// and `stderr` settings are replaced).
    fn output_clean(&mut self) -> io::Result<Output>;
    /// `Command::status`.
    fn status_clean(&mut self) -> io::Result<ExitStatus>;
}

impl Clean for Command {
    fn spawn_clean(&mut self) -> io::Result<Child> {
        let _env = read();
        // A program this process just wrote (a copy of a sidecar) can be "busy" for a moment:
        // another test's thread may have forked while the file was open for writing, and its
        // child holds that descriptor until it execs (Linux's ETXTBSY race). Tests share one
        // process, so retry briefly.
        let mut tries = 0;
        loop {
            match self.spawn() {
                Err(e) if e.kind() == io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn output_clean(&mut self) -> io::Result<Output> {
        self.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn_clean()?.wait_with_output()
    }

    fn status_clean(&mut self) -> io::Result<ExitStatus> {
        self.spawn_clean()?.wait()
    }
}

/// The guard's promise, which every test that sets a variable relies on: the previous value is
/// back after the guard drops, on a panic too.
#[test]
fn a_variable_set_through_the_guard_is_put_back_even_after_a_panic() {
    const KEY: &str = "PYINSTALLER_BUILD_TEST_ENV_GUARD";
    #[allow(clippy::disallowed_methods)] // the test's own variable
    let value = || std::env::var_os(KEY);
    let env = lock();
    let _before = env.set(&[(KEY, "before")]);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _during = env.set(&[(KEY, "during"), ("PYINSTALLER_BUILD_TEST_ENV_GUARD_NEW", "1")]);
        assert_eq!(value().as_deref(), Some(OsStr::new("during")));
        panic!("a failing test");
    }));
    assert!(panicked.is_err());
    assert_eq!(value().as_deref(), Some(OsStr::new("before")), "the previous value is back");
    #[allow(clippy::disallowed_methods)] // the test's own variable
    let new = std::env::var_os("PYINSTALLER_BUILD_TEST_ENV_GUARD_NEW");
    assert_eq!(new, None, "a variable that was not set is removed again");
    drop(_before);
    drop(env);
    assert_eq!(value(), None);
}
