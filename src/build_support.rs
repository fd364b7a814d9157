//! The Python the crate runs, in one place: every script of `build-support/`, embedded in the
//! crate, with how the Rust side calls it and reads what it gives back.
//!
//! Each script's module docstring is its full contract (what it does, its `argv`, the variables
//! it reads, what it writes); the docs below say how the crate holds up its end: which function
//! runs it, in which interpreter and folder, with which arguments and variables, and which Rust
//! type reads its answer. A change to one side is a change to the other.
//!
//! The scripts run on every Python the crate supports, down to 3.8 (the fast path's snapshot
//! needs 3.11, and says so when it is off). Run as `python -c`, the working folder comes first on
//! `sys.path`, where a project module named like a standard one (`json.py`) would shadow the
//! script's imports: each constant says in which folder its script runs, and all but `pack.py`
//! drop `""` and `"."` from `sys.path`.
//!
//! Checked as code: `.ci/run` lints `build-support/` and the Python tests with ruff, pinned
//! (`ruff==0.17.6`: pyflakes' and bugbear's rules and E4/E7/E9 for Python 3.8; E9 fails on a
//! file that does not parse), F821 allowed in `run_pyinstaller.py` only, which uses names that
//! [`TRACE`] and [`AUDIT`] define when they are inserted into it. Their tests:
//!
//! * `tests/python/` (`test_audit.py`, `test_pack.py`, standard `unittest`, importing the scripts
//!   from `build-support/` as modules), run by `tests/testsuite/python_helpers.rs`;
//! * unit tests that run a script in `python3`: `src/sources.rs` ([`COMPILE_CHECK`]),
//!   `src/launch/mod.rs` and `src/onedir.rs` ([`PACK`]);
//! * the runner ([`RUN_PYINSTALLER`] with [`TRACE`], [`AUDIT`], [`FASTPATH`]) and [`PROBE`]
//!   against the fake PyInstaller of `tests/fake-pyinstaller` (`tests/testsuite/fake_pyinstaller.rs`,
//!   `observed.rs`, ...), and every script against real PyInstaller in the end-to-end tests
//!   (`tests/testsuite/end_to_end.rs`, `fastpath_*.rs`, `launch.rs`, `soundness.rs`, ...).
//!
//! This module uses nothing of the crate: any module may use it.

/// `build-support/probe.py`: what an interpreter says about itself, as one JSON object on stdout
/// (`executable`, `version`, `platform`, `prefix`, `prefixes`, `site_dirs`, `pyinstaller`,
/// `libpython`, `real_executable`, `os`, `glibc`, `seeded`, `tags`). No arguments; it reads no
/// variable of its own. Run two ways, stdin closed, with `PYTHONDONTWRITEBYTECODE=1`:
///
/// * [`crate::toolchain::probe`]: `<python> -c PROBE` in the discovered interpreter, in the
///   build script's working folder. The answer is read into [`crate::toolchain::Toolchain`]
///   (through its private `Answer`: `version`, `platform`, `site_dirs`, `prefixes`,
///   `pyinstaller`, `libpython`); stdout that is not that JSON is
///   `ErrorKind::InterpreterNotFound`, with stderr. The toolchain is cached as
///   `probe-v3-<key>.json`, keyed by the interpreter, not by this text: a change to what the
///   probe answers must bump that `v3`.
/// * [`crate::toolchain::base_facts`]: `<python> -I -c PROBE` (isolated: no `PYTHON*`
///   variables, no user site) in a base interpreter, in the temporary folder; read as a
///   `serde_json::Value`, by [`crate::venv::pinned_basis`] (`os`, `glibc`, `real_executable`,
///   `libpython`, `tags`) and `venv::requires_python::check` (`version`); `None` when
///   it does not run or answer.
pub(crate) const PROBE: &str = include_str!("../build-support/probe.py");

/// `build-support/compile_check.py`: compiles project modules with the interpreter's own
/// `compile()`, as PyInstaller's module graph will. Run as `<python> -c COMPILE_CHECK ...` in the
/// build's interpreter, with the build's environment ([`crate::process::build_env`]), in a
/// scratch folder of its own; its stdout is not read. Two modes, each with a request file and an
/// answer file:
///
/// * `<request.json> <errors.json>`, by [`crate::sources::compile_all`] (in
///   `<project cache>/compile-<unique>/`): the request is the list of module paths, the answer
///   the list of errors (`path`, `line`, `col`, `end_col`, `msg`, `text`), read as
///   `Vec<sources::CompileError>`; one or more is `ErrorKind::BrokenModule`, a
///   failed run or no answer `ErrorKind::BuildFailed`.
/// * `--top-level <request.json> <answer.json>`, by [`crate::sources::imports_missing`] (the fast
///   path's check, in `imports-<unique>/` beside the spec's work folder): the request is
///   `{"paths": [...], "missing": [top-level packages]}`, the answer the `[path, module]` of
///   each import of a missing package at the top level, read as `Vec<(PathBuf, String)>`; a
///   failed run refuses the fast path.
pub(crate) const COMPILE_CHECK: &str = include_str!("../build-support/compile_check.py");

/// `build-support/makespec.py`: writes the spec of a sidecar given as a `script` and `options`,
/// with PyInstaller's own parser and spec writer. Run by [`crate::makespec::generate`] (its
/// `write_spec`) as `<python> -c MAKESPEC <spec folder> <sidecar name> <script> <option...>` in
/// the build's interpreter, in python-dir (`script` and the options' relative paths are relative
/// to it), with `PYTHONDONTWRITEBYTECODE=1` set and the rest of the environment inherited; stdout
/// and stderr go to `<sidecar folder>/makespec.log`. Its output is the file
/// `<spec folder>/<name>.spec`, which [`crate::makespec::Generated`] names and digests; exit
/// status 2 with an `ERROR:` line names an option that fights the crate (`ErrorKind::Config`
/// either way).
///
/// This text is hashed into the spec's regeneration key and into `Generated::digest` and
/// `Generated::portable` (the fingerprint and the shared-cache key): a new writer, new specs.
pub(crate) const MAKESPEC: &str = include_str!("../build-support/makespec.py");

/// `build-support/run_pyinstaller.py`: runs PyInstaller on one spec under the spec's lock, then
/// records what it packaged. Run by [`crate::pyinstaller::run`] as `<python> -c <runner>` in the
/// build's interpreter ([`crate::pyinstaller::Invocation`]), where `<runner>` is this text with
/// its three marker lines (`# @TRACE@ ...`, `# @AUDIT@ ...`, `# @FASTPATH@ ...`, the markers
/// `pyinstaller::run` replaces) replaced by [`TRACE`], [`AUDIT`], and [`FASTPATH`] when the build
/// is snapshotted (`Extras::snapshot`) or nothing.
///
/// Arguments: `<lock> <records.json> <audit.json> <python-dir> <snapshot folder or ->`, then
/// PyInstaller's: `--noconfirm --workpath <work> --distpath <dist> [--clean] <spec>` (paths of
/// [`crate::workdir::SpecDir`]; the runner also accepts `-` for the audit, which the crate never
/// passes). In the spec's folder, or its `run-in` folder. Variables set by the caller:
/// `PYINSTALLER_CONFIG_DIR` (PyInstaller's own), `PYINSTALLER_BUILD_TRACE` and
/// `PYINSTALLER_BUILD_TRACE_SCRIPT` (see [`TRACE`]), `PYINSTALLER_BUILD_NOT_PROJECT` (the
/// folders under python-dir that are not the project's, read by [`AUDIT`] and [`FASTPATH`]),
/// `PYINSTALLER_BUILD_LAUNCH` (extract-once or a resource folder; removed otherwise),
/// `PYINSTALLER_BUILD_EXTRA_EXCLUDES` (the audit's verify builds), and the build's environment
/// ([`crate::process::build_env`]: `PYTHONHASHSEED=0`, `PYTHONDONTWRITEBYTECODE=1`, and
/// `PYINSTALLER_BUILD_TARGET_ARCH` only for a macOS build of the other architecture).
///
/// What it leaves, read back by `pyinstaller::run` and after it:
///
/// * stdout and stderr (PyInstaller's log): the spec's `build.log`; a failure is
///   `ErrorKind::BuildFailed` with its tail;
/// * `records.json`: the sorted absolute paths of every file the spec's Analysis packaged and of
///   its inputs, the `Vec<PathBuf>` of [`crate::pyinstaller::Output::records`];
/// * `$PYINSTALLER_BUILD_TRACE` (`reads.json`): what the run read ([`TRACE`]'s record, plus
///   `data` and `cached_analysis`), read by [`crate::freshness::reads::Raw::read`];
/// * `audit.json`, when it finds the executable it built: [`AUDIT`]'s answer, read as
///   [`crate::audit::Audit`] by [`crate::audit::read`] (an audit that raised writes
///   `{"error": ...}`, which reads as an empty `Audit`);
/// * `$PYINSTALLER_BUILD_LAUNCH` ([`crate::launch::BUILT_FILE`]): the onedir form's
///   `{"folder", "program", "strip", "upx"}`, read by [`crate::launch::pack`] (`Built`) and by
///   [`FASTPATH`]'s snapshot;
/// * the snapshot folder's files, when snapshotted: see [`FASTPATH`].
pub(crate) const RUN_PYINSTALLER: &str = include_str!("../build-support/run_pyinstaller.py");

/// `build-support/trace.py`: a PEP 578 audit hook that records what a PyInstaller run reads.
/// Used twice by [`crate::pyinstaller::run`]:
///
/// * inserted into [`RUN_PYINSTALLER`], which installs it (class `_Trace`) before PyInstaller
///   is imported when `PYINSTALLER_BUILD_TRACE` is set, and writes its record there;
/// * written to [`crate::workdir::SpecDir::tracer`] (`trace.py`), named by
///   `PYINSTALLER_BUILD_TRACE_SCRIPT`, and run as a file in front of PyInstaller's isolated
///   child processes: the runner makes it their script, with the child's own in
///   `PYINSTALLER_BUILD_TRACE_CHILD` (set by the runner, not the crate). Each child writes its
///   record to `$PYINSTALLER_BUILD_TRACE.child-<pid>.json`.
///
/// Both records are read, and the children's merged, by
/// [`crate::freshness::reads::Raw::read`].
pub(crate) const TRACE: &str = include_str!("../build-support/trace.py");

/// `build-support/audit.py`: what each top-level package adds to the binary, from PyInstaller's
/// records. Never run on its own: inserted into [`RUN_PYINSTALLER`], which calls its
/// `record_imports()` before PyInstaller runs (each Analysis then saves its import graph, as
/// `imports-<spec>.json` beside its `xref-<spec>.html`) and its `audit(...)` after, and writes
/// the answer to its audit file. It reads `PYINSTALLER_BUILD_NOT_PROJECT`. The answer is read as
/// [`crate::audit::Audit`] ([`crate::audit::read`]), which the crate completes and saves again.
/// Unit-tested by `tests/python/test_audit.py`.
pub(crate) const AUDIT: &str = include_str!("../build-support/audit.py");

/// `build-support/fastpath.py`: the Python half of the fast path, in the spec's interpreter and
/// environment. Two uses:
///
/// * snapshot: the text the spec's stock builds give [`crate::pyinstaller::Extras::snapshot`]
///   (`spec::invocation`), inserted into [`RUN_PYINSTALLER`]. Inserted, it watches PyInstaller's
///   analysis and archive writers (the project being the runner's `argv[4]`, python-dir), and
///   the runner calls its `snapshot(...)` after the build, which never fails it and writes into
///   the snapshot folder ([`crate::workdir::SpecDir::fastpath`]): `snapshot.json` (with why the
///   fast path is off, if it is), read as
///   `fastpath::snapshot::Snapshot` by [`crate::fastpath::after_build`]; `graph.json`,
///   the import graph handed back to the derive mode; and `bootloader`, a copy of the EXE's
///   bootloader. It reads `PYINSTALLER_BUILD_LAUNCH` (the onedir form's `strip` and `upx`) and
///   `PYINSTALLER_BUILD_NOT_PROJECT`.
/// * derive: `fastpath::helper::derive` runs `<python> -c FASTPATH --fastpath-derive
///   <request.json> <derived.json>` in a fresh process, in a scratch folder of the spec's
///   `fastpath/out/`, with the build's environment ([`crate::process::build_env`]). The request
///   is `{"graph": graph.json or null (the self-test), "process": the snapshot's, "modules":
///   [{"path", "kind", "name", "compress", "old", "info", "interned"}]}`; the answer one entry
///   per module, read as `Vec<fastpath::snapshot::Derived>`; a failed run or an
///   answer of another length refuses the fast path.
pub(crate) const FASTPATH: &str = include_str!("../build-support/fastpath.py");

/// `build-support/pack.py`: packs a onedir folder into the payload of an extract-once launcher,
/// in the format `src/launch/launcher.rs` reads ([`crate::launch::launcher`]). Run as
/// `<python> -I -c PACK ...` by [`crate::launch::pack_folder`] in the build's interpreter (its
/// zlib compresses), isolated (it imports only the standard library: no project module or
/// `PYTHON*` variable can stand in for one), with the build's environment
/// ([`crate::process::build_env`]); a failure's stderr is the error. Arguments:
/// `<onedir folder> <payload> <zlib level> <program> [<base payload> [<fresh name>...]]`. It writes
/// the payload (`<out>.payload`, read back and put behind the launcher); the top-level `program`
/// is stored, every other file deflated or copied from the base. With a base it prints
/// `{"fresh": [...], "same_entries": bool}` on stdout, read as [`crate::launch::Repacked`];
/// without, stdout is not read. The fast path writes the program's stored entry itself
/// ([`crate::launch::repack_program`]), in the layout of pack.py's `file_entry`.
///
/// This text is hashed, with the zlib level, into [`crate::launch::Launcher`]'s `hash`
/// ([`crate::launch::compile`], [`crate::launch::Launcher::folder`]), part of the fingerprint and
/// cache keys of every spec it packs. Unit-tested by `tests/python/test_pack.py`.
pub(crate) const PACK: &str = include_str!("../build-support/pack.py");
