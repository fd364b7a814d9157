//! Why a spec is built, as data. The plan decides it; it becomes a sentence only where a user
//! reads it (the warning line and `report.json`), as cargo keeps its `DirtyReason`. Tests match
//! variants, not substrings.

use std::fmt;

/// Why a spec is built (or only re-tested).
///
/// The sentences name files relative to python-dir, and say why each matters to the spec:
/// users first ask "why did it rebuild?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stale {
    /// `PYINSTALLER_BUILD_FORCE` is set.
    Forced,
    /// A PyInstaller run left its log and no state behind: it failed or was interrupted.
    LastRunFailed,
    /// The last build's binary failed its smoke test (its log is newer than PyInstaller's), so
    /// nothing was recorded.
    LastSmokeTestFailed,
    /// The spec was never built here.
    NeverBuilt,
    /// Only the smoke test changed: the installed binary is tested again, never rebuilt.
    SmokeTest,
    /// Something the last run read outside the project files changed (`owner`: how messages
    /// name the spec).
    Read { owner: String, changed: Vec<Changed> },
    /// The toolchain, environment or settings changed; unless the last run was `traced`
    /// completely, the project's set of files is part of that too.
    Context { traced: bool },
    /// Project files the spec depends on changed, each with why it counts.
    Files { owner: String, files: Vec<(String, Counts)> },
    /// Nothing the fingerprint holds changed, so the installed binary is missing or was changed.
    Installed,
}

/// Why a changed project file counts for a spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Counts {
    /// The last build packaged it.
    Packaged,
    /// The last build read it (a spec's own import, a data file).
    Read,
    /// The last build started programs the crate does not trace: every file counts.
    Untraced,
}

/// One change in what the last run read ([`Reads::digest`](super::reads::Reads::digest)).
/// Paths are relative to python-dir when inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Changed {
    /// A module-search folder gained an entry named like a module the search looked for.
    LookupAdded(String),
    /// A module-search folder lost such an entry.
    LookupRemoved(String),
    /// The entries of a module-search folder changed otherwise.
    LookupOther(String),
    /// A path the run checked for appeared.
    ProbeAppeared(String),
    /// A path the run checked for went.
    ProbeRemoved(String),
    /// A file the run read changed.
    File(String),
    /// A folder the run listed changed.
    Dir(String),
    /// A variable the run read changed.
    Env(String),
}

impl Changed {
    /// The sentence, with `build` naming whose last build it is ("the last build", or
    /// "app.spec's last build").
    fn describe(&self, build: &str) -> String {
        let search = format!("where {build}'s module search looked for a module of that name");
        match self {
            Changed::LookupAdded(p) => format!("{p} is new, {search}"),
            Changed::LookupRemoved(p) => format!("{p} was removed, {search}"),
            Changed::LookupOther(dir) => format!("the modules in {dir} changed, {search}"),
            Changed::ProbeAppeared(p) => format!("{p} now exists, which {build} checked for"),
            Changed::ProbeRemoved(p) => format!("{p} was removed, which {build} checked for"),
            Changed::File(p) => format!("{p} changed, which {build} read"),
            Changed::Dir(p) => format!("the entries of {p} changed, which {build} listed"),
            Changed::Env(name) => format!("the environment variable {name} changed"),
        }
    }
}

impl fmt::Display for Changed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe("the last build"))
    }
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let build = |owner: &str| format!("{owner}'s last build");
        match self {
            Stale::Forced => f.write_str("PYINSTALLER_BUILD_FORCE is set"),
            Stale::LastRunFailed => f.write_str("its last PyInstaller build did not succeed"),
            Stale::LastSmokeTestFailed => f.write_str("its last build failed its smoke test"),
            Stale::NeverBuilt => f.write_str("no previous successful build"),
            Stale::SmokeTest => f.write_str("its smoke test changed"),
            Stale::Read { owner, changed } => {
                let first = changed.first().map(|c| c.describe(&build(owner))).unwrap_or_default();
                match changed.len() {
                    0 | 1 => f.write_str(&first),
                    n => write!(f, "{first}; and {} more", n - 1),
                }
            }
            Stale::Context { traced: true } => f.write_str("the toolchain, environment or settings changed"),
            Stale::Context { traced: false } => {
                f.write_str("the toolchain, environment, settings or set of files changed")
            }
            Stale::Files { owner, files } => {
                let one = |(rel, counts): &(String, Counts)| {
                    let why = match counts {
                        Counts::Packaged => format!("{} packaged it", build(owner)),
                        Counts::Read => format!("{} read it", build(owner)),
                        Counts::Untraced => {
                            "every file under python-dir counts: the last build started programs the crate does not \
                             trace"
                                .to_string()
                        }
                    };
                    format!("{rel} changed: {why}")
                };
                match files.as_slice() {
                    [] => Stale::Installed.fmt(f),
                    [a] => f.write_str(&one(a)),
                    [a, b] => write!(f, "{}; {}", one(a), one(b)),
                    [a, b, rest @ ..] => write!(f, "{}; {}; and {} more", one(a), one(b), rest.len()),
                }
            }
            Stale::Installed => f.write_str("the installed binary is missing or was changed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sentences_are_the_ones_users_read() {
        let owner = "app.spec".to_string();
        let files = |n: usize| Stale::Files {
            owner: owner.clone(),
            files: (0..n).map(|i| (format!("m{i}.py"), [Counts::Packaged, Counts::Read][i % 2])).collect(),
        };
        assert_eq!(files(1).to_string(), "m0.py changed: app.spec's last build packaged it");
        assert_eq!(
            files(2).to_string(),
            "m0.py changed: app.spec's last build packaged it; m1.py changed: app.spec's last build read it"
        );
        assert!(files(4).to_string().ends_with("; and 2 more"));
        let read = Stale::Read { owner, changed: vec![Changed::File("/etc/x".into()), Changed::Env("A".into())] };
        assert_eq!(read.to_string(), "/etc/x changed, which app.spec's last build read; and 1 more");
        assert_eq!(Changed::Dir("data".into()).to_string(), "the entries of data changed, which the last build listed");
        assert_eq!(
            Changed::LookupAdded("pkg/x.py".into()).to_string(),
            "pkg/x.py is new, where the last build's module search looked for a module of that name"
        );
        assert_eq!(Stale::Context { traced: true }.to_string(), "the toolchain, environment or settings changed");
    }
}
