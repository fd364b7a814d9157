//! The crate's one error type: each kind is a failure the user can act on.

use std::fmt;
use std::io;
use std::path::Path;

/// Why building the sidecars failed.
///
/// The `Display` text is the whole story: what failed, where, the command that ran, the last lines
/// of its log, and what to do about it. [`Build::compile`](crate::Build::compile) prints it and
/// exits 1; [`Build::try_compile`](crate::Build::try_compile) returns it.
///
/// ```
/// # use pyinstaller_build::{Error, ErrorKind};
/// fn explain(err: &Error) -> &'static str {
///     match err.kind() {
///         ErrorKind::InterpreterNotFound | ErrorKind::PyInstallerMissing => "install PyInstaller",
///         _ => "read the message",
///     }
/// }
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<io::Error>,
}

/// The kinds of [`Error`], one per thing a user can fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `[package.metadata.pyinstaller-build]` or a builder setting is invalid.
    Config,
    /// The Python folder does not exist, or holds no spec.
    NoSpecs,
    /// No Python interpreter was found.
    InterpreterNotFound,
    /// The interpreter runs but cannot import PyInstaller.
    PyInstallerMissing,
    /// `TARGET` is not the host: PyInstaller does not cross-compile.
    CrossCompile,
    /// PyInstaller exited with an error for a spec.
    BuildFailed,
    /// The freshly built binary failed its smoke test.
    SmokeTestFailed,
    /// A project module does not compile, or PyInstaller left it out as invalid.
    BrokenModule,
    /// A project module imports, at the top level, a module PyInstaller could not find.
    MissingImport,
    /// Inputs kept changing while PyInstaller ran.
    InputsChanged,
    /// Reading or writing a file failed.
    Io,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), source: None }
    }

    pub(crate) fn io(what: &str, path: &Path, source: io::Error) -> Self {
        Error { kind: ErrorKind::Io, message: format!("{what} `{}`: {source}", path.display()), source: Some(source) }
    }

    /// What kind of failure this is.
    ///
    /// ```
    /// # use pyinstaller_build::{Build, ErrorKind};
    /// let dir = std::env::temp_dir();
    /// let err = Build::new()
    ///     .manifest_dir(&dir)
    ///     .out_dir(&dir)
    ///     .target("x86_64-unknown-linux-gnu")
    ///     .host("x86_64-unknown-linux-gnu")
    ///     .python_dir("no/such/folder")
    ///     .try_compile()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NoSpecs);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The same error with a line of context added.
    pub(crate) fn note(mut self, note: &str) -> Error {
        self.message = format!("{}\n{note}", self.message.trim_end());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds the path to an `io::Error`, so every I/O failure names its file.
pub(crate) trait IoContext<T> {
    fn at(self, what: &str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, what: &str, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io(what, path, e))
    }
}

/// The last `lines` lines of a log file, for error messages.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].iter().map(|l| format!("    {l}\n")).collect()
}
