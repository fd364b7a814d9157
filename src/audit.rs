//! Which packages make a sidecar big, which of them the project never imports, and (in verify
//! mode) which can really be excluded and what that saves.
//!
//! The facts come from PyInstaller's own records after each real build (`build-support/audit.py`
//! reads the binary's archive, the PYZ inside it, the Analysis TOC and the xref file); this module
//! keeps them, tells the user when a new candidate appears, and runs the verification builds.

use crate::error::{IoContext, Result};
use crate::fsutil;
use crate::pyinstaller::{self, Invocation};
use crate::workdir::SpecDir;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

/// What a spec's binary is made of, per top-level package.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Audit {
    /// Size of the executable.
    pub binary_bytes: u64,
    /// Sum of the compressed entries of its archive (everything but the bootloader and index).
    pub archive_bytes: u64,
    /// Packages at least this big that no project module imports are candidates.
    pub threshold: u64,
    /// What the spec already excludes.
    pub excludes: Vec<String>,
    /// The build recorded how each module imports the next (else every import counted as
    /// binding, and only test suites could be suggested).
    pub imports_known: bool,
    /// Every top-level package (and test suite), biggest first. Names in parentheses are the
    /// Python runtime and PyInstaller's own parts.
    pub packages: Vec<Package>,
    /// The result of `PYINSTALLER_BUILD_AUDIT=verify`, when it ran.
    pub verified: Option<Verification>,
}

/// One top-level package in a binary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Package {
    /// `pandas`, `numpy.tests`, `(python runtime)`...
    pub package: String,
    /// Compressed bytes it adds: modules, extension modules, shared libraries, data.
    pub bytes: u64,
    /// Part of the standard library.
    pub stdlib: bool,
    /// The installed distribution it belongs to (`pillow` for `PIL`, and for the `pillow` entry
    /// that holds `pillow.libs`), when one ships it.
    pub distribution: Option<String>,
    /// Some project module imports it (anywhere, also inside a function), by its own name or
    /// by another import name of its distribution.
    pub imported_by_project: bool,
    /// The import names the project uses for it, when not its own (`PIL` for `pillow`).
    pub imported_as: Vec<String>,
    /// The project modules that import it only inside a function, when no project module
    /// imports it at module level: still the project's import, never suggested.
    pub lazily_imported_by: Vec<String>,
    /// The shortest import chain that pulled it in: project module → ... → package.
    pub chain: Vec<String>,
    /// A chain of module-level imports only (no function, `try` or `if` on the way) from the
    /// program to it: the program needs it to start, so it is never suggested. Empty when every
    /// chain passes through an optional import.
    pub required_by: Vec<String>,
    /// When no module-level chain reaches it, but one through a hidden import does (a hook's
    /// `hiddenimports`, the spec's, `--collect-submodules`): that chain. Such a package may be
    /// imported at run time, nothing says when: never suggested, "verify before excluding".
    pub hidden_import_by: Vec<String>,
    /// The first optional import on `chain` (`uvicorn.loops.auto → uvloop (in a try)`), when no
    /// module-level or hidden-import chain reaches it.
    pub optional_import: Option<String>,
    /// For a usual suspect a module-level chain reaches, or a package a hidden import reaches:
    /// not suggested, but worth proving with `PYINSTALLER_BUILD_AUDIT=verify` ("verify before
    /// excluding").
    pub verify_first: Option<String>,
    /// Why it could be excluded, if it is a candidate.
    pub suggestion: Option<String>,
    /// `package`, `suspect` (rarely needed by a headless sidecar) or `tests` (a bundled test suite).
    pub kind: String,
    /// Not part of Python or PyInstaller, not imported by the project, not already excluded.
    pub excludable: bool,
}

/// What verify mode found: each candidate excluded on its own, then all safe ones together.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Verification {
    /// The fingerprint of the build that was verified (verify mode does not repeat itself).
    pub fingerprint: String,
    /// The binary's size and build time without extra excludes (a clean scratch build).
    pub baseline_bytes: u64,
    /// Seconds of that build.
    pub baseline_secs: f64,
    /// One result per candidate.
    pub results: Vec<ExcludeResult>,
    /// All safe excludes together still build and pass the smoke test.
    pub combined_ok: bool,
    /// Size and build-time saved by all safe excludes together.
    pub combined_bytes_saved: i64,
    /// Seconds saved by all safe excludes together.
    pub combined_secs_saved: f64,
    /// The line to paste into the spec's `Analysis(...)` (for a sidecar without a spec file, the
    /// `--exclude-module` options to add to its `options`).
    pub excludes_line: String,
}

/// One candidate, excluded on its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExcludeResult {
    /// The excluded module.
    pub package: String,
    /// The build succeeded and the smoke test passed.
    pub safe: bool,
    /// Binary bytes saved (negative if it grew).
    pub bytes_saved: i64,
    /// Build seconds saved.
    pub secs_saved: f64,
    /// Why it is not safe.
    pub failure: Option<String>,
}

impl Audit {
    /// The candidates: packages with a suggestion.
    ///
    /// ```
    /// let audit = pyinstaller_build::Audit::default();
    /// assert_eq!(audit.candidates().count(), 0);
    /// ```
    pub fn candidates(&self) -> impl Iterator<Item = &Package> {
        self.packages.iter().filter(|p| p.suggestion.is_some())
    }

    /// What verify mode tries to exclude: the candidates, and the usual suspects to verify
    /// before excluding.
    pub(crate) fn to_verify(&self) -> impl Iterator<Item = &Package> {
        self.packages.iter().filter(|p| p.suggestion.is_some() || p.verify_first.is_some())
    }
}

/// The audit of the spec's last real build, if there is one.
pub(crate) fn read(dir: &SpecDir) -> Option<Audit> {
    serde_json::from_slice(&fs::read(dir.audit()).ok()?).ok()
}

impl Audit {
    /// Entries of one distribution go together (`PIL`, and `pillow` for its `pillow.libs`): when
    /// the project imports one, it imports them all, and none may be excluded.
    fn share_distributions(&mut self) {
        let mut imported: std::collections::BTreeMap<String, (Vec<String>, Vec<String>)> = Default::default();
        for p in self.packages.iter().filter(|p| p.imported_by_project) {
            for d in p.distribution.iter().flat_map(|d| d.split(", ")) {
                let (names, lazily) = imported.entry(d.to_string()).or_default();
                names.push(p.imported_as.first().unwrap_or(&p.package).clone());
                lazily.extend(p.lazily_imported_by.iter().cloned());
            }
        }
        for p in &mut self.packages {
            let shared = p.distribution.iter().flat_map(|d| d.split(", ")).find_map(|d| imported.get(d));
            if let (false, Some((names, lazily))) = (p.imported_by_project, shared) {
                p.imported_by_project = true;
                p.excludable = false;
                p.imported_as = names.clone();
                p.lazily_imported_by = lazily.clone();
            }
        }
    }

    /// Marks the candidates for `threshold`; says whether that changed anything (a new threshold
    /// needs no rebuild: the sizes are known).
    pub(crate) fn apply_threshold(&mut self, threshold: u64) -> bool {
        let before: Vec<Option<String>> = self.packages.iter().map(|p| p.suggestion.clone()).collect();
        self.share_distributions();
        self.threshold = threshold;
        for p in &mut self.packages {
            let reached = match &p.optional_import {
                Some(import) => format!("; only optional imports reach it: {import}"),
                None => String::new(),
            };
            let required = !p.required_by.is_empty();
            let hidden = !p.hidden_import_by.is_empty();
            let big = p.kind == "suspect" || (p.kind == "package" && p.bytes >= threshold);
            p.suggestion = match p.kind.as_str() {
                _ if !p.excludable || p.imported_by_project => None,
                "tests" if p.bytes >= threshold / 4 => Some("exclude: a bundled test suite".to_string()),
                _ if required || hidden => None,
                "suspect" => Some(format!("exclude: rarely needed by a headless sidecar{reached}")),
                "package" if p.bytes >= threshold => {
                    Some(format!("exclude if unused: no project module imports it{reached}"))
                }
                _ => None,
            };
            p.verify_first = match () {
                _ if !p.excludable || !big => None,
                _ if required && p.kind == "suspect" => {
                    Some(format!("verify before excluding: imported at module level by {}", p.required_by.join(" → ")))
                }
                _ if hidden && !required => Some(format!(
                    "verify before excluding: a hidden import reaches it: {}",
                    p.hidden_import_by.join(" → ")
                )),
                _ => None,
            };
        }
        self.packages.iter().map(|p| &p.suggestion).ne(before.iter())
    }
}

/// Candidates in `new` that were not in `old`.
pub(crate) fn new_candidates(old: Option<&Audit>, new: &Audit) -> Vec<String> {
    let known: BTreeSet<&str> = old.map(|a| a.candidates().map(|p| p.package.as_str()).collect()).unwrap_or_default();
    new.candidates().map(|p| p.package.clone()).filter(|p| !known.contains(p.as_str())).collect()
}

/// Saves the audit (with the verification, if any) as JSON and as a table.
pub(crate) fn save(dir: &SpecDir, spec: &str, audit: &Audit) -> Result<()> {
    fsutil::write_atomic(&dir.audit(), &serde_json::to_vec_pretty(audit).expect("serializable"), false)?;
    fsutil::write_atomic(&dir.audit_table(), table(spec, audit).as_bytes(), false)
}

/// The audit as markdown.
pub(crate) fn table(spec: &str, audit: &Audit) -> String {
    let mb = |b: f64| format!("{:.2}", b / 1e6);
    let mut t = format!(
        "# {spec}: {} MB binary, {} MB of archive entries\n\n| package | MB | imported by project? | pulled in by | suggestion |\n|---|---|---|---|---|\n",
        mb(audit.binary_bytes as f64),
        mb(audit.archive_bytes as f64)
    );
    for p in &audit.packages {
        let chain = [&p.required_by, &p.hidden_import_by].into_iter().find(|c| !c.is_empty()).unwrap_or(&p.chain);
        let normalized = |n: &str| n.to_ascii_lowercase().replace(['_', '.'], "-");
        let distribution = match &p.distribution {
            Some(d) if normalized(d) != normalized(&p.package) => format!(" ({d})"),
            _ => String::new(),
        };
        let how = match (&p.imported_as[..], &p.lazily_imported_by[..]) {
            _ if !p.imported_by_project => "no".to_string(),
            ([], []) => "yes".to_string(),
            (names, []) => format!("yes, as {}", names.join(", ")),
            ([], by) => format!("lazily imported by {}", by.join(", ")),
            (names, by) => format!("lazily imported by {}, as {}", by.join(", "), names.join(", ")),
        };
        t += &format!(
            "| {}{}{} | {} | {} | {} | {} |\n",
            p.package,
            distribution,
            if p.stdlib { " (stdlib)" } else { "" },
            mb(p.bytes as f64),
            how,
            chain.join(" → "),
            p.suggestion.as_deref().or(p.verify_first.as_deref()).unwrap_or("")
        );
    }
    if !audit.packages.is_empty() {
        t += "\n\"pulled in by\" is a chain of module-level imports when one exists (the program needs that \
              package to start: never suggested), else the shortest chain, which passes through an optional import.\n";
    }
    if let Some(v) = &audit.verified {
        t += &format!(
            "\n## Verified (PYINSTALLER_BUILD_AUDIT=verify)\n\nBaseline: {} MB, {:.1} s.\n\n| exclude | safe? | MB saved | build s saved | why not |\n|---|---|---|---|---|\n",
            mb(v.baseline_bytes as f64),
            v.baseline_secs
        );
        for r in &v.results {
            t += &format!(
                "| {} | {} | {} | {:.1} | {} |\n",
                r.package,
                if r.safe { "yes" } else { "no" },
                mb(r.bytes_saved as f64),
                r.secs_saved,
                r.failure.as_deref().unwrap_or("")
            );
        }
        t += &format!(
            "\nAll safe excludes together: {}, {} MB and {:.1} s saved.\n\n```{}\n{}\n```\n",
            if v.combined_ok { "build and smoke test pass" } else { "FAIL (see the verify logs)" },
            mb(v.combined_bytes_saved as f64),
            v.combined_secs_saved,
            if v.excludes_line.starts_with("options") { "toml" } else { "python" },
            v.excludes_line
        );
    }
    t
}

/// Builds the spec again in scratch folders, once per candidate excluded, then with every safe
/// one; each result must build and pass the smoke test. The user's spec is never touched.
pub(crate) fn verify(
    base: &Invocation,
    audit: &Audit,
    smoke: &dyn Fn(&Path, &Path) -> Result<Option<String>>,
) -> Result<Verification> {
    let scratch = base.dir.root.join("verify");
    let attempt = |name: &str, excludes: &[String]| -> Result<std::result::Result<(u64, Duration), String>> {
        let dir = SpecDir::new(&scratch, name);
        if dir.root.exists() {
            fs::remove_dir_all(&dir.root).at("could not clear", &dir.root)?;
        }
        fs::create_dir_all(&dir.root).at("could not create", &dir.root)?;
        let start = Instant::now();
        let how = pyinstaller::How { force: false, ..base.how };
        let extras = pyinstaller::Extras { excludes, snapshot: None, ..base.extras };
        let inv = Invocation { dir: &dir, how, extras, ..*base };
        let output = match pyinstaller::run(&inv) {
            Ok(o) => o,
            Err(e) => return Ok(Err(format!("build failed: {}", e.to_string().lines().next().unwrap_or_default()))),
        };
        let elapsed = start.elapsed();
        if let Some(why) = smoke(&output.binary, &dir.smoke_log())? {
            return Ok(Err(format!("smoke test failed: {why}")));
        }
        let size = fs::metadata(&output.binary).at("could not stat", &output.binary)?.len();
        Ok(Ok((size, elapsed)))
    };
    let (baseline_bytes, baseline_time) = attempt("baseline", &[])?.map_err(|e| {
        crate::Error::new(
            crate::ErrorKind::BuildFailed,
            format!("pyinstaller-build: the audit's baseline build of `{}` failed: {e}", base.spec_name),
        )
    })?;
    let mut v = Verification { baseline_bytes, baseline_secs: baseline_time.as_secs_f64(), ..Verification::default() };
    for candidate in audit.to_verify() {
        let result = attempt("candidate", std::slice::from_ref(&candidate.package))?;
        v.results.push(match result {
            Ok((size, time)) => ExcludeResult {
                package: candidate.package.clone(),
                safe: true,
                bytes_saved: baseline_bytes as i64 - size as i64,
                secs_saved: (baseline_time.as_secs_f64() - time.as_secs_f64()),
                failure: None,
            },
            Err(why) => {
                ExcludeResult { package: candidate.package.clone(), failure: Some(why), ..ExcludeResult::default() }
            }
        });
    }
    let safe: Vec<String> = v.results.iter().filter(|r| r.safe).map(|r| r.package.clone()).collect();
    let all: Vec<String> = audit.excludes.iter().cloned().chain(safe.iter().cloned()).collect();
    v.excludes_line = format!("excludes={all:?},").replace('"', "'");
    if !safe.is_empty() {
        if let Ok((size, time)) = attempt("combined", &safe)? {
            v.combined_ok = true;
            v.combined_bytes_saved = baseline_bytes as i64 - size as i64;
            v.combined_secs_saved = baseline_time.as_secs_f64() - time.as_secs_f64();
        }
    } else {
        v.combined_ok = true;
    }
    // Three builds' work and dist folders, never read again: only the report is kept.
    let _ = fs::remove_dir_all(&scratch);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, bytes: u64, kind: &str, excludable: bool) -> Package {
        Package { package: name.into(), bytes, kind: kind.into(), excludable, ..Package::default() }
    }

    #[test]
    fn the_threshold_picks_candidates_without_a_rebuild() {
        let mut audit = Audit {
            packages: vec![
                package("numpy", 9_000_000, "package", false),
                package("matplotlib", 4_000_000, "package", true),
                package("email", 180_000, "package", true),
                package("tkinter", 10_000, "suspect", true),
                package("numpy.tests", 300_000, "tests", true),
                package("(python runtime)", 9_000_000, "package", false),
            ],
            ..Audit::default()
        };
        assert!(audit.apply_threshold(1_000_000));
        let names = |a: &Audit| a.candidates().map(|p| p.package.clone()).collect::<Vec<_>>();
        assert_eq!(names(&audit), ["matplotlib", "tkinter", "numpy.tests"]);
        assert!(!audit.apply_threshold(1_000_000), "same threshold: nothing new");
        let old = audit.clone();
        assert!(audit.apply_threshold(100_000));
        assert_eq!(names(&audit), ["matplotlib", "email", "tkinter", "numpy.tests"]);
        assert_eq!(new_candidates(Some(&old), &audit), ["email"]);
    }

    #[test]
    fn a_distribution_the_project_imports_under_another_name_is_never_suggested() {
        let dist = |name: &str, bytes: u64, distribution: &str| Package {
            distribution: Some(distribution.into()),
            ..package(name, bytes, "package", true)
        };
        // As the audit of a sidecar that does `from PIL import Image` in a function, and whose
        // Python side did not map `pillow.libs` (an older audit, or a name it could not place).
        let mut pil = Package { imported_by_project: true, excludable: false, ..dist("PIL", 2_150_000, "pillow") };
        pil.lazily_imported_by = vec!["src/agent.py".into()];
        let pillow = dist("pillow", 5_760_000, "pillow");
        let yaml = Package {
            imported_by_project: true,
            imported_as: vec!["yaml".into()],
            ..dist("PyYAML", 1_200_000, "PyYAML")
        };
        let unused = dist("opencv_python", 40_000_000, "opencv-python");
        let mut audit = Audit { packages: vec![pil, pillow, yaml, unused], ..Audit::default() };
        audit.apply_threshold(1_000_000);
        assert_eq!(audit.candidates().map(|p| p.package.as_str()).collect::<Vec<_>>(), ["opencv_python"]);
        let pillow = &audit.packages[1];
        assert!(pillow.imported_by_project && !pillow.excludable && pillow.imported_as == ["PIL"], "{pillow:?}");
        assert_eq!(pillow.lazily_imported_by, ["src/agent.py"]);
        assert!(audit.packages[2].suggestion.is_none(), "imported: never suggested, whatever Python said");
        let table = table("agent", &audit);
        assert!(table.contains("| PIL (pillow) | 2.15 | lazily imported by src/agent.py |"), "{table}");
        assert!(table.contains("| pillow | 5.76 | lazily imported by src/agent.py, as PIL |"), "{table}");
        assert!(table.contains("| PyYAML | 1.20 | yes, as yaml |"), "{table}");
        assert!(table.contains("| opencv_python | 40.00 | no |"), "{table}");
    }

    #[test]
    fn a_package_a_module_level_chain_reaches_is_never_suggested() {
        let chain = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut pydantic = package("pydantic", 5_000_000, "package", true);
        pydantic.required_by = chain(&["main.py", "fastapi", "fastapi.exceptions", "pydantic"]);
        let mut uvloop = package("uvloop", 2_000_000, "package", true);
        uvloop.optional_import = Some("uvicorn.loops.auto → uvloop (in a try)".into());
        let mut unittest = package("unittest", 200_000, "suspect", true);
        unittest.required_by = chain(&["main.py", "numpy.testing", "unittest"]);
        let mut hooked = package("hooked", 2_000_000, "package", true);
        hooked.hidden_import_by = chain(&["main.py", "uvicorn", "hooked"]);
        let mut audit = Audit { packages: vec![pydantic, uvloop, unittest, hooked], ..Audit::default() };
        audit.apply_threshold(1_000_000);
        assert_eq!(audit.candidates().map(|p| p.package.as_str()).collect::<Vec<_>>(), ["uvloop"]);
        assert!(audit.packages[0].verify_first.is_none(), "required, and not a usual suspect");
        let hidden = audit.packages[3].verify_first.as_deref().unwrap();
        assert!(hidden.contains("a hidden import reaches it: main.py → uvicorn → hooked"), "{hidden}");
        assert!(audit.packages[1].suggestion.as_deref().unwrap().contains("uvicorn.loops.auto → uvloop (in a try)"));
        let caution = audit.packages[2].verify_first.as_deref().unwrap();
        assert!(
            caution.starts_with("verify before excluding") && caution.contains("numpy.testing → unittest"),
            "{caution}"
        );
        assert_eq!(audit.to_verify().count(), 3, "verify mode tries what to verify before excluding too");
        let table = table("main", &audit);
        assert!(table.contains("main.py → fastapi → fastapi.exceptions → pydantic"), "{table}");
    }
}
