//! Build a Tauri app's PyInstaller sidecars from `build.rs`: only when their inputs changed, in
//! parallel, installed where Tauri looks for them.
//!
//! # Use
//!
//! ```toml
//! # src-tauri/Cargo.toml
//! [build-dependencies]
//! pyinstaller-build = "0.1"
//!
//! [package.metadata.pyinstaller-build]   # every key optional
//! python-dir = "python"                   # specs and sources; relative to this Cargo.toml
//! specs = ["headless.spec"]               # default: every *.spec directly in python-dir
//! binaries-dir = "binaries"               # where sidecars are installed
//! smoke-test = ["--version"]              # run each fresh binary with these args; must exit 0
//! smoke-test-timeout = 60                 # seconds
//! # a server: pass when it prints the text (stdout or stderr), serves, and keeps running; then stopped
//! # smoke-test = { args = ["--port", "{port}"], ready = "Application startup complete", http = "/health",
//! #                env = { APP_ENV = "test" }, timeout = 30 }
//! python = ".venv/bin/python"             # default: discovered (below)
//! requirements = "requirements.txt"       # or a uv.lock / poetry.lock; the crate owns the environment
//! pyinstaller = "6.22.3"                  # with requirements that don't name it: the one installed
//! extras = ["server"]                     # a lockfile's or pyproject.toml's extras to install
//! groups = ["build"]                      # its dependency groups, instead of the tool's default
//! jobs = 2                                # most specs built at once; default: cargo's -j
//! env = ["APP_FLAVOR"]                    # extra env vars your specs read (declared, not set)
//! pyinstaller-env = { APP_MODE = "desktop" }  # set for PyInstaller (and the spec it runs)
//! run-in = "."                            # the folder PyInstaller runs in, relative to python-dir
//! cache-dir = "target/pyinstaller-build"  # the crate's work folder
//! audit-threshold = 1000000               # bytes; see "The audit"
//! compression = { debug = 1 }             # zlib level per profile; release: PyInstaller's own
//! binary-cache-mb = 1024                  # built binaries kept for instant switch-backs; 0: off
//! allow-missing-imports = false           # true: a missing top-level import is a warning
//! launch = "onefile"                      # or "extract-once": unpacked once per user, one process
//!
//! [package.metadata.pyinstaller-build.sidecars.api]   # a sidecar without a spec file, named `api`
//! script = "main.py"                                   # relative to python-dir
//! options = ["--collect-submodules", "uvicorn"]        # PyInstaller's command-line options
//! smoke-test = { args = ["--port", "0"], ready = "Waiting for commands" }  # this sidecar's own
//!
//! [package.metadata.pyinstaller-build.sidecars.entrypoint]   # settings of `entrypoint.spec`
//! install-as = "binaries/statements"                          # an `externalBin` entry
//! run-in = ".."                                               # this sidecar's own (also `pyinstaller-env`)
//!
//! [package.metadata.pyinstaller-build.sidecars.main]   # settings of `main.spec`, a onedir spec
//! resource = "bin/python/main"                          # installed as this folder; see "Onedir sidecars"
//! ```
//!
//! ```no_run
//! // src-tauri/build.rs
//! fn main() {
//!     pyinstaller_build::build();
//!     // tauri_build::build();
//! }
//! ```
//!
//! Then `cargo build`, `cargo test`, `tauri dev`, `tauri build` and CI all produce
//! `binaries/<name>-<target-triple>[.exe]`, the name from each spec's `EXE(name=...)`, before
//! `tauri_build::build()` checks for them. List them in `tauri.conf.json` as
//! `"externalBin": ["binaries/<name>"]`: the config then decides where each goes (below).
//!
//! # Names and places: `tauri.conf.json`
//!
//! An app with a Tauri config (`tauri.conf.json`, `.json5` or `Tauri.toml` beside `Cargo.toml`,
//! the platform file such as `tauri.linux.conf.json` merged on top, then `TAURI_CONFIG`, as the
//! Tauri CLI and tauri-build read it) has its sidecars installed where `bundle.externalBin` says,
//! whatever the specs call their outputs:
//!
//! * a spec's output is matched to the entry with the same file name (`binaries/api` for `api`),
//!   and installed as `<entry>-<target-triple>[.exe]`, in the entry's folder (binaries-dir then
//!   does not matter for it). An output that already ends with the target triple
//!   (`name=f'app-sidecar-{target_triple}'`, the triple computed in the spec) is matched without
//!   it: the file never carries the triple twice, and the warnings name it `app-sidecar`;
//! * an output that matches no entry is mapped by its table's `install-as`
//!   (`[package.metadata.pyinstaller-build.sidecars.entrypoint] install-as = "binaries/statements"`,
//!   the key being the spec's file name without `.spec`, or the literal `EXE(name=...)` it
//!   builds, or a sidecar's key). With a Tauri config `install-as` must be one of its entries
//!   (else an error before anything runs, listing them); without one it is simply where the
//!   sidecar goes, relative to the package folder;
//! * an output that neither matches nor is mapped goes into binaries-dir by its name, as
//!   without a Tauri config;
//! * after a build, every entry must be provided: by a sidecar of the build, or by a file the
//!   app puts there itself (any non-empty file that is not the crate's skip placeholder: a tool
//!   built by another step). An entry that is neither is one error naming every such entry, the
//!   sidecars installed at no entry, and the `install-as` line to add. The sidecars are
//!   installed by then (the next build finds them up to date), but the build fails, as
//!   tauri-build would;
//! * a file the crate installed for a spec at another name (the doubled triple of an earlier
//!   version, or before an `install-as`) is removed once every spec of the build succeeded, if it
//!   is still the file the crate installed; a placeholder committed at the new path is replaced,
//!   with one note on untracking it.
//!
//! So an app whose specs and `externalBin` agree needs no key beyond where its Python is.
//! Without a Tauri config (plain cargo users) sidecars go into binaries-dir by name.
//!
//! # Specs run as their authors ran them
//!
//! PyInstaller runs in the spec's folder (a sidecar without a spec file: its generated spec's
//! folder), with the environment cargo runs in. A spec written for another folder or for
//! variables its `Makefile` set gets them with two keys, at the top of the table (every
//! sidecar) or in a sidecar's table (a spec's table is named after its file name without
//! `.spec`):
//!
//! ```toml
//! [package.metadata.pyinstaller-build.sidecars.server]       # server.spec
//! run-in = ".."                                               # relative to python-dir
//! pyinstaller-env = { APP_PYINSTALLER_EXCLUDE_WEBUI = "1" }   # over the table's pyinstaller-env
//! ```
//!
//! `run-in` is the folder PyInstaller runs in (`Path.cwd()` in the spec; relative paths the spec
//! opens). `pyinstaller-env` *sets* variables for PyInstaller and the spec, unlike `env`, which
//! only declares variables whose values come from cargo's environment. Both are part of the
//! fingerprint (an edit rebuilds; the fast path is not taken across one) and of the shared
//! cache's key; a variable the spec reads that `pyinstaller-env` sets counts by the value set.
//! Paths the spec reads relative to `run-in` are traced as absolute paths: a file outside
//! python-dir is an input by content, as any other. With either key set, the shared cache is not
//! asked before the environment exists (hash-pinned requirements).
//!
//! # Sidecars without a spec file
//!
//! A table under `[package.metadata.pyinstaller-build.sidecars]` is a sidecar built from a
//! `script` and PyInstaller's own command-line `options`, as `pyinstaller <options> <script>`
//! run in python-dir would build it: relative paths in the options (`--add-data static:static`,
//! `--paths`, `--icon`, hooks) mean what they meant there. The crate writes its spec with
//! PyInstaller's own spec writer (`PyInstaller.building.makespec`, in the build's interpreter),
//! always onefile and named after the table's key, into its cache (never into python-dir), and
//! writes it again only when the script's name, the options, python-dir's place or the toolchain
//! (PyInstaller's version included) change. From then on it is a spec like any other:
//! fingerprint, fast path, audit, binary store. The binary is `<key>-<target>[.exe]`.
//!
//! Options may be pasted from a `pyinstaller` command line as they are. What the crate decides
//! itself is left out: `-y/--noconfirm` (it always replaces its own output) silently,
//! `--distpath` and `--workpath` (it decides where PyInstaller writes, and installs into
//! binaries-dir) and `--clean` (it owns PyInstaller's cache; `PYINSTALLER_BUILD_FORCE=1` builds
//! from a clean one) with one warning when the spec is written. Options that fight the crate are
//! one error naming every such option of every sidecar, before any environment is made or Python
//! runs: `-D/--onedir` (a sidecar is one file), `-n/--name` (the key is the name), `--specpath`,
//! `--upx-dir`, `--log-level`, `-h`, `-v`; PyInstaller's own parser then catches their
//! abbreviations (`--spec`) and a second script. `-F/--onefile` is accepted and changes nothing. Spec files and sidecars without one mix; a
//! sidecar named like a spec (`api` and `api.spec`) is an error. With only such sidecars,
//! python-dir needs no `.spec` file.
//!
//! ## From a `pyinstaller` command line, with sources anywhere
//!
//! A typical Tauri + Python template builds its sidecar in a `package.json` script with
//! `pyinstaller -c -F --clean --name main-<triple> --distpath src-tauri/bin/api src/backends/main.py`,
//! with `requirements.txt` at the repository root and `"externalBin": ["bin/api/main"]`. As it is:
//!
//! ```toml
//! # src-tauri/Cargo.toml
//! [package.metadata.pyinstaller-build]
//! python-dir = "../src/backends"          # relative to this Cargo.toml
//! requirements = "../../requirements.txt" # relative to python-dir
//! binaries-dir = "bin/api"
//!
//! [package.metadata.pyinstaller-build.sidecars.main]   # --name main (the triple is added)
//! script = "main.py"
//! options = ["-c", "-F", "--clean", "--distpath", "src-tauri/bin/api"]  # pasted; the crate's own left out
//! smoke-test = { args = ["--port", "0"], ready = "Waiting for commands", timeout = 30 }
//! ```
//!
//! plus `pyinstaller_build::build();` before `tauri_build::build();` in `build.rs`, and the
//! `package.json` step goes. python-dir, the requirements file and every source under python-dir
//! (a sibling package such as `inference/`, with or without `__init__.py`, included) are
//! watched with `rerun-if-changed`; nothing is written into them.
//!
//! # Smoke tests
//!
//! `smoke-test = ["--version"]` runs each fresh binary with these arguments; it must exit 0
//! within `smoke-test-timeout` (default 60 s). A sidecar that serves never exits on its own:
//! `smoke-test = { args = [...], ready = "text", timeout = 30 }` passes once `text` appears on its
//! stdout or stderr within `timeout` seconds (default `smoke-test-timeout`) *and the process is
//! still running half a second later*: a server that prints its ready line and then dies (a
//! failed import, a port in use) fails. A ready line can still come before the server binds
//! (uvicorn prints "Application startup complete" first), so a probe can prove it serves:
//!
//! * `port-env = "PORT"`: the crate picks a free port, gives it to the binary in that variable
//!   (and as `{port}` in `args`: `args = ["--port", "{port}"]` works without `port-env`), and the
//!   test passes only once `127.0.0.1:<port>` accepts connections. Two copies of the app (`tauri
//!   dev` while a build runs) never collide on a fixed port;
//! * `http = "/health"`: besides, `GET /health` on that port must answer with a 2xx status.
//!
//! Without `ready`, a probe alone decides. The crate then ends the binary's whole process tree (a
//! onefile binary is a bootloader and the Python process it starts): on Unix it runs in its own
//! process group, which gets SIGTERM (the bootloader passes it on and removes its unpacked files),
//! then SIGKILL after 5 s, and the test fails if anything of the group is still running; on
//! Windows `taskkill /T /F` ends the tree (not yet exercised).
//!
//! The binary runs **as the app will run it**, not as a build script runs:
//!
//! * its environment is the one cargo was started with, without every variable cargo sets for
//!   build scripts (`DEBUG`, `HOST`, `TARGET`, `OUT_DIR`, `PROFILE`, `OPT_LEVEL`, `NUM_JOBS`,
//!   `RUSTC`, `RUSTDOC`, `RUSTC_LINKER`, `RUSTC_WRAPPER`, `RUSTC_WORKSPACE_WRAPPER`, every
//!   `CARGO_*` such as `CARGO_CFG_*`, `CARGO_FEATURE_*`, `CARGO_PKG_*`, `CARGO_MANIFEST_*` and
//!   `CARGO_ENCODED_RUSTFLAGS`, the `DEP_<links>_<key>` metadata, and rustup's
//!   `RUSTUP_TOOLCHAIN` and `RUST_RECURSION_COUNT`), and without cargo's folders in the library
//!   search path: an app reading `DEBUG` or `HOST` sees what it will see under Tauri. A variable
//!   of your shell with one of those names is dropped too;
//! * `env = { NAME = "value" }` in the table sets variables for it;
//! * `HOME`, `USERPROFILE`, `XDG_CONFIG_HOME`, `XDG_DATA_HOME`, `XDG_STATE_HOME`,
//!   `XDG_CACHE_HOME`, `XDG_RUNTIME_DIR`, `APPDATA`, `LOCALAPPDATA`, `TMPDIR`, `TMP`, `TEMP` and
//!   `PYINSTALLER_BUILD_LAUNCH_CACHE` (where an extract-once sidecar unpacks)
//!   point into a scratch folder in the system's temporary folder, which is also its working
//!   folder, and which the crate removes after the test: a database or log the app writes into
//!   its default data folder, and a onefile binary's `_MEI*` folder, never land in your folders.
//!
//! Its stdin is an open pipe, as under Tauri, so a command loop on stdin keeps waiting. Its
//! stdout is a pipe, which Python buffers (a frozen program ignores `PYTHONUNBUFFERED`): print the
//! ready text with `flush=True` or to stderr (logging's default), or build with
//! `--python-option u`. Exiting before the text (whatever the status), printing
//! nothing, or a timeout fails the build with the last lines of its output; the previous binary
//! stays. The key goes at the top level (every sidecar) or in a sidecar's table (that one).
//! `PYINSTALLER_BUILD_AUDIT=verify` uses the same smoke test.
//!
//! The smoke test is not part of the fingerprint (PyInstaller never sees it): a change of only
//! the smoke test runs the new one on the installed binary, with no PyInstaller run
//! ([`Outcome::Retested`]), and a binary reinstalled from the binary store passes today's smoke
//! test first. *Known limits:* a process that leaves the group (`setsid`, a daemon that
//! double-forks) is neither stopped nor seen; on Windows nothing checks that the tree is gone
//! after `taskkill`; the free port is free when picked, and another process could take it before
//! the binary binds it (the test then fails, and the next build retries).
//!
//! # A broken module never ships
//!
//! PyInstaller does not fail on a project module that does not compile: it lists it as an
//! "invalid module" in its warn file and leaves it out, so a sidecar whose smoke test does not
//! import it (`--help`) would be installed and fail on first use. Nor does it fail on an import it
//! cannot resolve. So:
//!
//! * before PyInstaller or the fast path runs, every `.py` file under python-dir is compiled by
//!   the build's interpreter (those known to compile with it, by content, are skipped: a small
//!   record in the crate's cache). One that does not compile fails the build at once with
//!   `file:line:col`, the compiler's message and the line; nothing is built or recorded, and the
//!   installed sidecar stays. The fix then builds as any edit does; sources built before (the
//!   fix restores them) get their stored binary back without PyInstaller;
//! * after PyInstaller, before the smoke test, its `warn-<name>.txt` is read. A project module it
//!   lists as invalid fails the build, and so does a module that a project module or entry
//!   script imports at the top level and that it could not find: the message names the module,
//!   the importing file and the fix (the distribution to add to `requirements`, or to install
//!   into the interpreter). Imports in a function, a `try` or an `if` are optional and stay
//!   quiet, as do `from pkg import name` of a package that was found (`name` may be an
//!   attribute). `allow-missing-imports = true` makes a missing import a warning. Either way the
//!   previous binary stays and nothing is recorded, so the next build retries.
//!
//! Every project `.py` file must therefore compile, also one no spec imports (a template that is
//! not Python should not end in `.py` under python-dir). The fast path never takes an edit of a
//! module that imports at the top level a package the last PyInstaller build could not find
//! (the archive would be the same, but the warn file decides whether the sidecar can start):
//! moving `import x` out of its `try` runs PyInstaller, which then fails on it; an edit of a
//! module whose import of it stays optional takes the fast path. *Known limits:*
//! whether a module is the project's is judged from its name (`pkg.shared` is any
//! `pkg/shared.py` under python-dir); a module missing only under a name that looks like an
//! attribute (`from pkg import name`, `pkg` found) is not reported; `allow-missing-imports` is
//! not part of the fingerprint, so turning it off checks again at the next PyInstaller build,
//! not the installed binary.
//!
//! # The interpreter
//!
//! PyInstaller runs as `<python> -m PyInstaller`, the first of: env `PYINSTALLER_BUILD_PYTHON`;
//! the `python` key; `$VIRTUAL_ENV`; `<python-dir>/.venv`; `<package>/.venv`; `python3`, then
//! `python`, on `PATH`. It must have PyInstaller 6 installed (`>=6,<7`, the range the crate is
//! tested with; `<python> -m pip install 'pyinstaller>=6,<7'`): any other version fails before
//! anything is built, naming the version found and, with `requirements`, the line to change (a
//! version pinned there with `==`, or locked, fails before the environment is even installed).
//! An interpreter without PyInstaller fails naming the line that lets the crate provide it
//! (`requirements = "requirements.txt"` in `Cargo.toml`, naming the requirements file or
//! lockfile python-dir has), or the `pip install` into that interpreter.
//!
//! # The managed environment
//!
//! With `requirements` set (a requirements file, or a `pyproject.toml` with
//! `[project] dependencies`, relative to python-dir), the interpreter found above is only the
//! *base*: the crate creates a virtual environment from it and installs the
//! requirements with uv (the `uv` on `PATH`, else its own `uv==0.13.9` from PyPI, installed once
//! into `<cache>/envs/tools/`), as a relocatable environment (`uv venv --relocatable`): no file
//! in it names its folder, so every checkout's environment holds the same bytes.
//! The environment lives in `<cache>/envs/env-<hash>/`, keyed by the base interpreter and the
//! requirements' content, and is shared by every profile and spec: a changed file gets a fresh
//! environment (and rebuilt sidecars); an unchanged one is reused without running anything. It is
//! marked ready only after the install succeeded, so an interrupted install is redone. Its output
//! goes to `env-<hash>.log`. With `CARGO_NET_OFFLINE=true` an existing environment is used and a
//! missing one is an error; nothing touches the network. (`cargo --offline` is not visible to build
//! scripts; set the variable.) The requirements file may live anywhere (`"../../requirements.txt"`);
//! it is watched with `rerun-if-changed` wherever it is.
//!
//! PyInstaller is a build tool, which requirements usually leave out: when they don't name it
//! (in any form, also in a file they include with `-r`), the crate installs the version it is
//! tested with, `pyinstaller==6.22.3`, or the one the `pyinstaller` key chooses (a 6.x release),
//! and that requirement is part of the environment's identity: another version is another
//! environment. It is resolved together with the requirements, or, after hashed requirements
//! (pip wants a hash on every line) and after a lockfile's export that does not name it, installed
//! in a second step; such hashed requirements then no longer determine the environment (see
//! [A hit without creating the environment](#a-hit-without-creating-the-environment)). The warning that says the environment
//! was created says so. When the requirements name PyInstaller, they decide, and setting the key
//! too is an error.
//!
//! ## Lockfiles
//!
//! `requirements` also takes a `uv.lock` or a `poetry.lock` (with its `pyproject.toml` beside it):
//! the environment then holds exactly the locked versions. The lockfile's own tool exports it to
//! pinned, hashed requirements (`uv export --locked --no-emit-project`, every default group, so
//! `dev` too; `poetry export` with every non-optional group, as `poetry install` would), which are
//! installed with `--no-deps`, so nothing else is resolved. A lockfile that no longer matches its
//! `pyproject.toml` is the tool's error ("run `uv lock`"). The environment is keyed by the
//! lockfile and its `pyproject.toml`: a changed lockfile gets a fresh environment and rebuilt
//! sidecars, an unchanged one runs nothing (no tool starts).
//!
//! The tools: a `uv` on `PATH` is used as it is; without one the crate installs `uv==0.13.9` from
//! PyPI into `<cache>/envs/tools/` (about 5 s, once), and makes every managed environment with
//! it. Poetry is always the crate's own `poetry==2.5.1` with `poetry-plugin-export==1.10.1`,
//! installed there by that uv, once, so every machine exports alike. Neither is needed again once the environment
//! exists; with `CARGO_NET_OFFLINE=true` and no environment yet the build fails as above, before
//! any tool is installed. A project the lockfile installs from a local path (a workspace member)
//! is installed by uv as it says, and may write build files beside its sources.
//!
//! `extras` installs the project's extras (`uv export --extra`, `poetry export --extras`; for a
//! `pyproject.toml`, its `[project.optional-dependencies]`), `groups` the dependency groups named
//! instead of the tool's default ones (uv: `--no-default-groups --group`; Poetry: `--only main`
//! and each; a `pyproject.toml`: PEP 735 `[dependency-groups]`, none by default). Each must be
//! declared (else an error lists those that are), and both are part of the environment's
//! identity. The project itself is installed when its tool would (`uv sync`, `poetry install`):
//! with a `[build-system]` (unless `tool.uv.package = false` or Poetry's `package-mode = false`),
//! editable and with `--no-deps` after the locked packages, so a sidecar that imports it or asks
//! `importlib.metadata.version` for it finds it, and its sources are read where they are; a
//! `pyproject.toml` named as `requirements` too. Such an environment is keyed by the project's
//! folder as well: one per checkout.
//!
//! ## Requirements files as tools write them
//!
//! Relative paths in a requirements file (`-e .`, `./pkg`, `dist/app-1.0.tar.gz`) resolve as the
//! tool that wrote it meant: a `uv export` (its first line says so) from its project, the nearest
//! folder up from the file with a `pyproject.toml`; any other from the file's own folder, where
//! `pip install -r requirements.txt` is run. The installer runs in that folder (pip and uv resolve
//! such paths from their working folder; `-r` includes from the including file's). A file with
//! `--hash`es whose every requirement is pinned with `==` (a `poetry export`, `uv export` or
//! `pip-compile --generate-hashes`) is installed with `--no-deps`, as its lockfile's tool
//! installs: nothing outside it could be installed in pip's hash-checking mode anyway, and a
//! dependency the export left out (by an extra or a marker) would only fail it. A local project
//! in such a file, which pip cannot hash, is installed in a step of its own after it. A local
//! project is part of the environment's identity by where it is, and installed as a copy by its
//! files (without caches, build outputs and environments); editable, by its `pyproject.toml`,
//! `setup.cfg` and `setup.py` (its sources are read where they are, as every project file is).
//!
//! # When a spec is rebuilt
//!
//! Each spec has a blake3 fingerprint of: the spec; the project files it packaged (read from
//! PyInstaller's own Analysis records after its first build; every `.py` under python-dir before
//! that); every project file its last PyInstaller run *read* (a module the spec imports, a hook, a
//! config file it opens) or checked for (`os.path.exists`); what could change what that run
//! *found* under python-dir (below); every file it packaged or read from outside python-dir and the
//! interpreter's own folders (a `pathex` folder, a `hookspath` folder, an editable install,
//! system libraries found by `ldd`), by content, and the entries of every such folder its
//! import resolution or the spec listed (a module added to a `pathex` folder can satisfy an
//! optional import); the interpreter (path, version, platform), PyInstaller's version and the installed
//! distributions (each `*.dist-info/RECORD`, so `pip install -U` rebuilds, and each `.pth` file);
//! `TARGET`; the environment variables that change PyInstaller's output
//! (`PYTHONPATH`, `PYTHONOPTIMIZE`, `PYINSTALLER_*`, `SOURCE_DATE_EPOCH`, `LD_LIBRARY_PATH`, ...
//! and your `env`); and every environment variable the spec or PyInstaller read by name
//! (`os.environ[...]`, `os.environ.get`, `os.getenv`, `in os.environ`) in its last run.
//!
//! ## Files PyInstaller never reads rebuild nothing
//!
//! What a run could have found under python-dir is decided from its trace (below), not from
//! file names:
//!
//! * every folder it listed other than for its module search (a data folder it collects with
//!   `datas=[('static', 'static')]`, a `glob` in the spec), by all its entries, hidden files and
//!   `dist/` folders included: a new `static/.env` or `static/dist/` rebuilds;
//! * every folder its module search looked in, by the entries named like the modules it looked
//!   for there (`addon.py`, `addon.pyc`, `addon/`, `addon.cpython-311-x86_64-linux-gnu.so`;
//!   `__init__.*` in a package found as a folder; `*.dist-info` where `importlib.metadata`
//!   looked): a new sourceless `addon.pyc` that satisfies `try: import addon` rebuilds, a new
//!   `logo.png` beside the modules does not;
//! * every path it checked for and did not find, or found to be a folder.
//!
//! A change to a file none of these reach (a `.rs` file, `Cargo.toml`, `Cargo.lock`, an icon,
//! `tauri.conf.json`, tauri-build's `gen/`) changes no fingerprint. So python-dir may be the
//! Rust crate itself (`python-dir = "."` with the specs at `src-tauri`'s root) or the whole
//! repository (`python-dir = "../.."`): a Rust edit, a new icon or a `cargo check` runs no
//! PyInstaller. The first build with such a layout says once that it works and what it costs:
//! cargo reruns the build script when any file it watches under python-dir changes (a Rust edit
//! too), and that run scans python-dir (milliseconds) and finds the sidecars up to date.
//!
//! Before a spec's first build every file under python-dir (but the other specs) counts, and the
//! list of `.py` files and folders; so too after a run that started a program the trace cannot
//! follow (a spec's own `subprocess.run(["git", "describe"])`; PyInstaller's own tools, `ldd`,
//! `objcopy`, `objdump`, `file`, `uname`, ..., and its isolated Python children are known).
//!
//! **The build's own outputs are never inputs.** Cargo's target folder (found from `OUT_DIR`,
//! wherever the default, `CARGO_TARGET_DIR` or `build.target-dir` put it), any folder marked
//! with a `CACHEDIR.TAG` (as cargo marks its target folders), the binaries folder, the crate's
//! work and cache folders (its managed environments too), `.git` and other hidden folders,
//! `node_modules`, `__pycache__`, environments (any folder with a `pyvenv.cfg`), `build`, `dist`,
//! `site-packages` and `venv` folders, hidden files and `*.pyc` are never scanned nor watched.
//! These exclusions apply only where PyInstaller does not reach: a file its run read there is an
//! input by content, and a folder it listed there by its entries, wherever they lie; a module of
//! the crate's managed environment under python-dir is never taken for a project module.
//!
//! ## What a PyInstaller run read
//!
//! The crate runs PyInstaller inside the build's interpreter, under a PEP 578 audit hook (also in
//! PyInstaller's isolated child processes, where hooks import packages): every file opened, every
//! folder listed, every module imported in-process and every environment variable read by name is
//! recorded in the spec's `state.json` (key `reads`) and checked by the next build. A file's hash
//! is reused while its size, nanosecond mtime, ctime and inode are those it was hashed with, so a
//! build with nothing changed stats these files and hashes none. Left out: what the run wrote or
//! removed itself (temporary files, its work folder), the interpreter's own files and installed
//! distributions (covered by their `RECORD`s), `__pycache__`, `/proc`, `/sys` and `/dev`, and
//! these variables, which change between the tools that run cargo (an IDE, a terminal, each
//! `cargo` run) and name no input of their own, or which the crate sets: `PATH` (rust-analyzer
//! rewrites it; the interpreter is fixed and libraries are found by the loader's paths), `PWD`,
//! `OLDPWD`, `SHLVL`, `_`, `TERM`, `COLUMNS`, `LINES` (the shell's and terminal's state), `TMPDIR`,
//! `TMP`, `TEMP` (where temporary files go, not what they hold), `CARGO_MAKEFLAGS`, `MAKEFLAGS`,
//! `MFLAGS` (cargo's jobserver, new on every run), `PYTHONHASHSEED`, `PYTHONDONTWRITEBYTECODE`,
//! `PYINSTALLER_CONFIG_DIR`. A copy of the whole environment that the interpreter's own code or
//! PyInstaller makes for a child process reads no variable in particular; a spec that iterates
//! over `os.environ` reads every one. List a variable in `env` to make it an input before the
//! first build, or when only C code or a subprocess reads it.
//!
//! Every file read is compared, after the run, with the stat it had when it was opened (every
//! listed folder with the stat it had when listed): one that changed before the run ended (an
//! editor saving while PyInstaller packages) is never recorded with content PyInstaller did not
//! see; the crate drops PyInstaller's cache and builds again, and fails after a second change.
//!
//! When the fingerprint matches the one this profile installed and the installed binary still
//! has the bytes it was given, nothing runs and nothing is written. When the same fingerprint was
//! built before (a revert, a branch switch back, the other profile), its binary comes from the
//! crate's binary store (`<cache>/binaries/<fingerprint>/`, least recently used evicted beyond
//! `binary-cache-mb`) without PyInstaller. When only project module bodies changed, the fast path
//! (below) rewrites them into the last build's archive. Otherwise PyInstaller runs. Either way the
//! binary is smoke-tested, then put into place atomically, and only if its bytes differ, as a copy
//! of its own (never a hard link to the store's: a tool that edits the sidecar in place must not
//! change the stored binary; on file systems that can, Btrfs or XFS, the kernel may share the
//! blocks). A stored binary's hash is checked before it is reused.
//!
//! PyInstaller runs with `PYTHONHASHSEED=0` (reproducible output) and, in debug builds, with
//! `PYINSTALLER_ZLIB_COMPRESSION_LEVEL=1`: archive compression is most of a large onefile build's
//! packaging time (~19 s at PyInstaller's level 9 for a pandas sidecar, ~2 s at level 1, for a
//! ~10% bigger binary). Release builds keep PyInstaller's levels. Both are set with `compression`
//! and are part of the fingerprint.
//!
//! PyInstaller's own cache (its `--workpath`) is kept between builds, but never decides
//! freshness: it compares whole-second mtimes, ignores deleted files, and does not notice a new
//! PyInstaller, package or environment. The crate drops it (not the whole work folder) whenever a
//! change is one it would miss, and when files change while PyInstaller runs it builds once more.
//!
//! Cargo reruns the build script only when a `rerun-if-changed` path or `rerun-if-env-changed`
//! variable changed. The crate lists every project file, every project folder whose subtree
//! holds nothing it ignores (cargo scans folders recursively, so folders that hold a `.venv` or
//! `__pycache__` are not listed, only their contents), `Cargo.toml`, the interpreter, each
//! installed distribution's `RECORD` and each `.pth` file, every file the last runs read or
//! packaged outside python-dir, every outside folder they listed whose tree holds at most 2,000
//! entries, every variable they read, and the installed sidecars.
//!
//! ## Known limits
//!
//! * **Files that get older.** Cargo reruns a build script only for a watched path whose mtime is
//!   newer than its last run. A restored cache (`actions/cache`, `tar`, `rsync -t`), `cp -p`,
//!   `touch -d`, or a checkout tool that sets old mtimes can change content while cargo reports
//!   the script `Fresh`, so nothing is checked. Once the script runs for any reason, the crate
//!   compares content (and ctime), so the change is then seen. After such a restore, build once
//!   with `PYINSTALLER_BUILD_FORCE=1`, or `touch` the changed file (or `Cargo.toml`).
//! * **New entries cargo does not watch.** Site-packages folders are not given to cargo (it would
//!   scan every installed file on every build: 0.05 s for the benchmark's pandas environment,
//!   10,000 entries, more than half the 0.09 s no-change build; 0.12 s for 46,000), nor are
//!   outside folders of more than 2,000 entries (`/usr/lib/x86_64-linux-gnu`, say): a
//!   distribution or `.pth` file *added* with nothing else changed, a new file directly in a
//!   project folder that also holds an ignored folder (typically `__pycache__`, or the folder
//!   holding `src-tauri` and its target folder: a new `addon.pyc` beside a script at the
//!   repository's root that the module search looked for), or a new library
//!   in such a system folder is seen at the next build that reruns the script; the fingerprint
//!   then sees it.
//! * **What the audit hook cannot see.** Reads by programs PyInstaller or the spec start
//!   (`ldd`, `objcopy`, a spec's own `subprocess.run`) other than PyInstaller's isolated Python
//!   children, variables read by C code (`getenv` in an extension module), and `os.stat`-only
//!   checks (`os.path.exists` of a file outside python-dir decides nothing the crate records).
//!   Files inside site-packages that no `RECORD` lists (edited by hand) are not inputs. List such
//!   variables in `env`; after such an edit build with `PYINSTALLER_BUILD_FORCE=1`.
//!
//! # Launch mode: extract once, one process
//!
//! A onefile sidecar unpacks itself into a new temporary folder at every start and runs Python in
//! a child process, which outlives the sidecar when the app kills it. `launch = "extract-once"`
//! (at the top level, or in a sidecar's or a spec file's table under `sidecars`; [`Build::launch`],
//! [`Sidecar::launch`]) keeps
//! Tauri's contract (one file at `binaries/<name>-<triple>`, `externalBin`, `sidecar()`) and
//! changes what that file is:
//!
//! * the spec is built **onedir**: a onefile spec unchanged is built in its onedir form (the same
//!   `Analysis`; its `EXE` with `exclude_binaries=True` and without the binaries, datas and
//!   symbolic links, which go to a `COLLECT` of it, as a onedir spec passes them; `runtime_tmpdir`
//!   dropped), done in the crate's PyInstaller runner, never in your spec; a spec-less
//!   sidecar's generated spec likewise; a onedir spec with its own
//!   `COLLECT` is built as it is (in `"onefile"` mode it is an error naming this key). A spec with
//!   several `EXE`s or `COLLECT`s, or a `COLLECT` of something else, is an error naming it;
//! * the installed file is a small std-only launcher (`src/launch/launcher.rs`, compiled by the
//!   `rustc` cargo gives the build script for `TARGET`, once per compiler, target and launcher
//!   source, into `<cache-dir>/launchers`) with the onedir folder packed after it, each file
//!   raw-deflated at zlib level 9 by the build's interpreter, and a trailer holding the payload's
//!   blake3 hash: its id;
//! * on start it looks for `<cache>/pyinstaller-build/<name>/<id>` (`<cache>`: `$XDG_CACHE_HOME`
//!   or `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows;
//!   `PYINSTALLER_BUILD_LAUNCH_CACHE=<dir>` replaces `<cache>/pyinstaller-build`). Present with
//!   its marker: it starts the program at once. Otherwise it extracts into a temporary sibling,
//!   syncs the files, writes the marker last, and renames the folder into place; a launcher that
//!   loses that race uses the winner's folder, a folder without its marker (a launch killed
//!   mid-way leaves only a `.tmp-*` sibling; a damaged or planted one) is moved aside and
//!   extracted again. A cache folder it cannot write: it unpacks into a private folder of the
//!   user's in the system's temporary folder and says so in one line on stderr;
//! * after extracting a new id it prunes the other ids of the same sidecar that no running
//!   instance holds: each instance holds the folder's `.lock` shared for its whole life (on Unix
//!   the descriptor survives `exec`), the pruner takes it exclusively, without waiting, and moves
//!   the folder aside before deleting it, so a folder in use is never removed;
//! * **Unix**: the launcher `exec`s the onedir program: one process, same PID, `argv[0]` and the
//!   arguments forwarded; Tauri's kill reaches Python itself. **Windows**: it puts itself in a Job
//!   Object with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE` before starting the program (which inherits
//!   the job), so the program dies with the launcher however it ends, and it forwards the exit
//!   code; the streams are inherited.
//!
//! When the app dies without killing the sidecar (a crash, a force quit): on Unix the sidecar is
//! an orphan like any process (no `PR_SET_PDEATHSIG`: it fires when the *thread* that spawned
//! the child ends, and Tauri spawns from runtime threads that come and go, so it would kill
//! healthy sidecars); its stdin pipe from the app reaches end-of-file, which a sidecar that
//! reads stdin (`tauri-plugin-shell` gives it one) should treat as the signal to exit. On
//! Windows the job closes with the launcher, which the app's death does not end by itself: the
//! same stdin advice holds.
//!
//! Everything else holds: the mode and the launcher's hash are part of the fingerprint, the
//! binary store's and the shared cache's keys; the smoke test runs the launcher as installed,
//! unpacking into its scratch folder; `PYINSTALLER_BUILD_SKIP` placeholders are as before. So does
//! the fast path: the onedir program is the onefile form's executable with a smaller archive
//! (its PYZ, entry scripts and options; `COLLECT` copies the binaries and datas beside it), so an
//! edit rewrites the program's archive and re-packs the folder, every other member copied byte
//! for byte from the last build's payload, and the warning says so. After each build a self-test
//! re-packs the kept folder that way and must give the installed file's bytes, or the fast path
//! is off for that sidecar. The audit covers the onedir program and every file beside it, on
//! disk. On macOS the launcher is linked unsigned; with its payload appended, its Mach-O headers
//! are fixed so that `codesign` accepts the file (as PyInstaller's `fix_exe_for_code_signing`
//! does for its onefile executables), and it is signed ad hoc. *Not yet:* hash-pinned lookups
//! before the environment exists, and a `universal-apple-darwin` sidecar (not made in this mode:
//! `lipo` would drop the payload); the Windows and macOS launchers are compile-checked only. Two apps with a sidecar of the same name share its cache folder and prune each
//! other's ids when not running (each then unpacks again on its next start).
//!
//! # Onedir sidecars in `bundle.resources`
//!
//! Some apps ship a PyInstaller onedir folder instead of an `externalBin` file: `tauri.conf.json`
//! bundles it with `"resources": ["bin/python/main/"]` (or a map, `{"bin/python/main/": "python/"}`)
//! and the app starts `$RESOURCE/bin/python/main/main` itself. A sidecar's table with
//! `resource = "bin/python/main"` (a folder relative to the package folder;
//! [`SidecarSettings::resource`]) builds it that way:
//!
//! * the spec is built onedir exactly as in extract-once mode (its own `COLLECT` as it is, a
//!   onefile spec or a spec-less sidecar in its onedir form), and packed into one file, the
//!   extract-once payload without a launcher before it (zlib level 1: it is stored and shared,
//!   never shipped). That file is what the fingerprint, the binary store, the shared cache and
//!   `PYINSTALLER_BUILD_FORCE` deal with, as with any binary;
//! * installing it unpacks it into a hidden sibling of the folder (`.main.staging-*`), where the
//!   smoke test runs the program; then the old folder is renamed aside, the new one renamed into
//!   place, and the old one removed. A failed smoke test installs and records nothing. The stamp
//!   holds a digest of the folder's tree (names, contents, execute bits), checked on every build
//!   as the hash of an installed binary is: a folder changed by hand, or left missing by a build
//!   killed between the two renames, is installed again. A folder already there that the crate
//!   did not make (no program or `_internal` in it, not empty, not a placeholder) is an error,
//!   never replaced; a folder that would hold the package or binaries-dir is refused;
//! * with a Tauri config, a `bundle.resources` entry must bundle the whole folder: the folder
//!   itself or one above it (Tauri walks a plain folder path recursively), or a `<folder>/**/*`
//!   glob; `<folder>/*` leaves `_internal/` out. Otherwise one error names the sidecar, the folder
//!   and the entry to add. `resource` with `install-as`, or with the sidecar's own
//!   `launch = "extract-once"`, is an error; the table's `launch` does not apply to it;
//! * `PYINSTALLER_BUILD_SKIP=1`: tauri-build fails on a `resources` path that does not exist, so a
//!   missing folder is made holding a placeholder program (it exits 1 saying it was skipped);
//!   the next real build replaces the folder, and a release build refuses the placeholder;
//! * a folder the crate installed is removed when its sidecar is no longer built or moves to
//!   another folder, if it still is what the crate installed; a changed one stays;
//! * not yet: the fast path (an edit runs PyInstaller), lookups before the environment exists
//!   (hash-pinned requirements), `universal-apple-darwin`; on Windows a folder whose program is
//!   running cannot be renamed aside, and the build says to close it.
//!
//! # The fast path: a module edit in about a second
//!
//! With its own cache, PyInstaller answers any edit of a project `.py` with a full re-analysis of
//! every module the app imports (about 20 s for pandas and numpy on two cores) and a new archive.
//! Yet an edit that only changes what a module *does* changes one compressed entry in the archive
//! and nothing else. So after every PyInstaller build the crate keeps a snapshot of it
//! (`<spec>/fastpath/`: the executable, the bootloader, each project module's entry and
//! *analysis*, the size and mtime of every other file the analysis used), and when the next
//! change qualifies it recompiles only the changed modules, in the build's own interpreter and with
//! PyInstaller's own writer, copies every other entry byte for byte, and swaps the new archive
//! into the executable's `pydata` section, laid out exactly as PyInstaller's
//! `objcopy --add-section pydata=...` lays it out on Linux. The binary is then smoke-tested and
//! installed like any other; it is byte-identical to what PyInstaller would have built (the
//! end-to-end tests compare them).
//!
//! A module's *analysis* is what PyInstaller derives from its contents, computed with
//! PyInstaller's own module-graph scanner: its imports in order with their flags (conditional,
//! in a `try`, in a function), its global names (they decide whether `from pkg import x` imports a
//! submodule), and what PyInstaller's code scanners read (constant-argument calls, ctypes
//! attribute loads). An edit that changes the analysis can still take the fast path, because the
//! snapshot also records the build's import graph (`graph.json`: when each node was created and
//! fully imported, each node's edges in order, the two walks that decide the archive's order) and
//! the crate proves that a stock build of the new analysis would differ only in the edited
//! entries:
//!
//! * **new or removed global names** (a new function or class) are fine, unless the names of a
//!   package (its `__init__`, or a module it star-imports) change where the last build has a
//!   missing module of that name (`P.name`): then the graph would change;
//! * **new, removed or reordered imports** are fine when every module they name (with its parent
//!   packages, and `X.n` for `from X import n` when `X` is a package) was a module of the last
//!   build (and, for `from X import n` where `n` is only a global of `X`, nothing named `n` or
//!   `n.*` is in `X`'s folders: modulegraph looks for the submodule first), already imported
//!   before the edited module (so the graph is built the same way but
//!   for its edges), no hook scans its importers, and replaying PyInstaller's walks of the graph
//!   with the new edges keeps every order that reaches the archive: the runtime hooks', the base
//!   library's, the extension modules' (the order their shared libraries are found in) and the
//!   files hooks collect; the set of collected modules must stay the same. A changed import in
//!   an *entry script* always runs PyInstaller (its imports decide the base library's order);
//! * a changed constant call in a module whose importers are scanned (`ctypes`,
//!   `importlib.metadata`, `importlib_metadata`, `pkg_resources`, and whatever a hook passes to
//!   `get_code_using`, found at snapshot time in every hook folder PyInstaller searched:
//!   PyInstaller's own, pyinstaller-hooks-contrib's and the spec's `hookspath`; PyInstaller's
//!   matplotlib hook scans `matplotlib.use(...)`) runs PyInstaller. Any change at all of a module
//!   that imports a module scanned by a hook outside PyInstaller itself, or that a hook reaches
//!   while reading the import graph, runs PyInstaller: such a hook may read anything.
//!
//! The fast path is taken only when all of these hold, else PyInstaller runs as usual and the
//! warning and [`SpecReport::fast_path_refused`] say why (`no fast path: proj.util imports wave,
//! which the last build did not bundle`, `util.py's imports changed the order of the runtime
//! hooks`, `the entry script's imports changed ...`, `a hook scans the code of X's importers`):
//!
//! * the spec was built by PyInstaller before, on Linux with Python 3.11 or newer (before 3.11
//!   marshal flags a name for back-references by its reference count across PyInstaller's whole
//!   process, which no other process can reproduce), as a single onefile `Analysis`/`PYZ`/
//!   `EXE` without `noarchive`, optimization, strip or UPX, PyInstaller ran its analysis (not
//!   reused from its cache, so the graph was recorded), and its snapshot passed its
//!   **self-test**: right after the build, every project module's entry re-derived by the fast
//!   path's writer, in a fresh interpreter, and the archive rebuilt from them, must equal
//!   PyInstaller's byte for byte (a PyInstaller version that writes differently, or a spec that
//!   patches PyInstaller, fails it), and swapping archives of every length modulo 8 into the
//!   executable must give what `objcopy` makes of the bootloader and the same archive (a failed
//!   self-test names the first differing entry and byte: `the rewritten PKG differs from
//!   PyInstaller's in the PYZ's entry app.util, at byte 1111 of its uncompressed contents`);
//! * every entry is marshalled in PyInstaller's **interning state**: `""` and the one-character
//!   Latin-1 strings are shared by the whole process, and marshal writes them as interned or not
//!   by a flag the process's history sets (json's C encoder interns `[`, `]`, `{`, `}`; loading
//!   a `.pyc` or compiling a module interns others). The snapshot records, as PyInstaller's
//!   writers write each project entry, which of them were interned (beside each archive, so an
//!   archive PyInstaller reuses from its cache keeps the record of the run that wrote it), with
//!   the interpreter, marshal version, optimization level (which must be 0) and hash seed of its
//!   process. The fast path's interpreter must match those, interns exactly that set before it
//!   marshals (it cannot un-intern: it refuses if it interned more on its own), and checks the
//!   set after each module: an edit that adds a one-character constant compiling interns (`"7"`,
//!   `"x"`) which PyInstaller's process had not interned runs PyInstaller, since PyInstaller
//!   compiles every module before writing any and could write other entries otherwise;
//! * every entry is **named** as PyInstaller's process named it: before PyInstaller 6.16 a code
//!   object's file name is its path less the longest folder of that process's `sys.path` and
//!   `pathex` (where Analysis puts the entry script's folder, so `server/main.py` is packed as
//!   `main.py`); the snapshot records those folders as the writers write each project entry, and
//!   the fast path strips the very same ones;
//! * the snapshot is unmodified since its self-test (the executable is hashed);
//! * the toolchain, installed packages, environment variables, settings (compression level
//!   included) are unchanged, and so is what the last build could find under python-dir (the
//!   files it used, the folders it listed, the names its module search looked up; every file
//!   and folder before a completely traced build);
//! * every changed file is a project module in the archive's PYZ, or an entry script, that no
//!   hook targets; so an edited spec, config or data file runs PyInstaller. Every entry made
//!   from the file is rewritten (an entry script another module imports is in the PKG and the
//!   PYZ; a file under two `pathex` folders is two modules). What was packed is read from the
//!   archives' own TOCs, so entries the spec hands `PYZ()`/`EXE()` itself count too;
//! * no changed module was imported or read while PyInstaller ran other than by PyInstaller's
//!   own analysis and compilation of it (the spec importing it for its `hiddenimports`, reading
//!   its text with `open()`, running it with `runpy.run_path`; a hook; an isolated child), nor is
//!   also packed another way (a data file: `module_collection_mode` `py` or `pyz+py`, a TOC
//!   tuple or a `Tree()` of the spec's; a module outside the PYZ);
//! * every other file the analysis used still has its size and nanosecond mtime;
//! * each changed module compiles and its analysis is unchanged or proved harmless as above;
//! * the changed modules are unchanged after they were compiled.
//!
//! Namespace packages (folders without `__init__.py`) are archived as PyInstaller does, as empty
//! markers; their modules take the fast path like any other.
//!
//! *Known limits:* an import that makes PyInstaller meet an extension module earlier than before
//! runs PyInstaller even though the archive would usually be the same (the order extensions are
//! met in is the order their shared libraries are looked up in, so first-wins could differ); so
//! does a new import of a module first imported after the edited one (`import json` in a module
//! imported before the one that brought json in), and any change of a module that imports
//! `ctypes` or a metadata API if it changes a constant-argument call (`print("...")` included).
//! A PyInstaller run that reuses its own cached analysis records no graph, so the next edit runs
//! PyInstaller once more. (What such a run reads lacks what the analysis read, its hooks say:
//! the record of the run that analysed is kept with it.)
//!
//! The snapshot is never modified: each fast path is relative to the last PyInstaller build, and
//! the next PyInstaller build replaces it. PyInstaller's own cache is left as it was, so it still
//! sees every edit since then. Other platforms and onedir specs always build with PyInstaller.
//!
//! # The audit: what makes a sidecar big
//!
//! After every real build the crate reads PyInstaller's own records (the binary's archive and the
//! PYZ inside it, the Analysis TOC, and the import graph its analysis built, with each import's
//! kind: at module level, in a function, in a `try`, under an `if`) and lists, per top-level
//! package: the compressed bytes it adds (modules, extension modules, shared libraries, data),
//! whether a project module imports it, and the import chain that pulled it in (entry script →
//! ... → package).
//!
//! "Imports it" counts every form: an import at module level, in a `try` or under an `if`, inside
//! a function ("lazily imported by `agent.py`" when that is the only use), and
//! `importlib.import_module("x")`/`__import__("x")` with a literal name; a package the project
//! imports is never suggested. Import names are mapped to the installed distributions (from each
//! one's `top_level.txt` and `RECORD`), so a distribution and its modules go together: with
//! `from PIL import Image` in the project, both `PIL` and `pillow` (the entry that holds
//! `pillow.libs`, shown as the distribution's name) are the project's; likewise `yaml` and
//! `pyyaml`, `cv2` and `opencv-python`, `sklearn` and `scikit-learn`, `bs4` and `beautifulsoup4`,
//! `dateutil` and `python-dateutil` ([`Package::distribution`], [`Package::imported_as`],
//! [`Package::lazily_imported_by`]).
//!
//! "No project module imports it" is not enough: `fastapi` imports `pydantic` at module level, so
//! a FastAPI sidecar cannot start without it. A package is a candidate only when every chain
//! from the program (its entry scripts, runtime hooks and project modules) to it passes through
//! an optional import, like uvicorn's `try: import uvloop`; a chain of module-level imports makes
//! it required, and the table shows that chain ([`Package::required_by`]). A package reached only
//! through a hidden import (a hook's `hiddenimports`, `--collect-submodules`, the spec's) may
//! well be imported at run time, nothing says when: it is shown as "verify before excluding"
//! with that chain, never suggested. Candidates are then packages of at least `audit-threshold`
//! bytes (default 1 MB), usual suspects a headless sidecar rarely needs (`tkinter`, `unittest`,
//! `pydoc`, ...) and bundled test suites; a usual suspect that a module-level chain reaches is
//! also "verify before excluding". What the spec already excludes is
//! respected. A build whose analysis was cached from before the crate recorded import kinds
//! counts every import as module-level (nothing transitive is suggested until PyInstaller
//! analyses again). The table is `<cache>/<python-dir>-<hash>/<spec>/audit.md` (JSON beside it, and in
//! [`SpecReport::audit`]). One `cargo:warning` per spec appears when a *new* candidate does.
//!
//! `PYINSTALLER_BUILD_AUDIT=verify` proves which candidates (and "verify before excluding"
//! suspects) are safe to drop: the spec is built again in scratch folders, once with each added
//! to `excludes` (the spec file is never edited: the crate adds them to `Analysis(...)` at build
//! time), each result must build and pass the smoke test (a ready-line one too: each server is
//! started, seen ready and stopped), then once with all safe ones together. The table then shows each exclude's
//! size and build-time savings and the `excludes=[...]` line to paste into the spec; the installed
//! sidecar is untouched. It needs a `smoke-test`, and runs once per fingerprint.
//!
//! # The shared cache: binaries built on another machine
//!
//! With the `shared-cache` feature and `PYINSTALLER_BUILD_CACHE_URL` set, a spec that is neither
//! up to date nor in the local binary store is looked up in a store shared between machines
//! before the fast path and PyInstaller (a miss costs one small request; a hit saves the fast
//! path too). Two kinds of store, both on storage teams already run:
//!
//! * `https://host/path` (or `http://`): an HTTP cache in the Bazel layout, `GET`/`PUT` on
//!   `<url>/ac/<key>` (the entry) and `<url>/cas/<sha256>` (the binary), as bazel-remote
//!   (`--disable_http_ac_validation`) and nginx's WebDAV module (`dav_methods PUT;
//!   create_full_put_path on;`) serve it. `PYINSTALLER_BUILD_CACHE_TOKEN` sends a bearer token,
//!   `PYINSTALLER_BUILD_CACHE_USERNAME`/`_PASSWORD` basic auth.
//! * `s3://bucket/prefix`: objects `<prefix>/ac/<key>` and `<prefix>/cas/<sha256>`, requests
//!   signed locally (AWS Signature Version 4) with `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
//!   and `AWS_SESSION_TOKEN`, in `AWS_REGION` (or `AWS_DEFAULT_REGION`; default `us-east-1`).
//!   `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` points at an S3-compatible server (R2, MinIO,
//!   GCS's S3 API), addressed path-style. Without credentials requests go unsigned (a public
//!   bucket) and nothing is uploaded. Grant `s3:ListBucket` too: without it S3 answers a missing
//!   entry with 403, which the crate takes as a failure.
//!
//! The key is the fingerprint's inputs without anything machine-specific: every project file by
//! its path relative to python-dir and its content (all of them, not only what the spec
//! packaged: a fresh checkout has no PyInstaller records yet), the list of modules and folders,
//! the spec, `TARGET`, the settings and environment variables of the fingerprint, the
//! interpreter's version, platform and PyInstaller version, the interpreter and libpython by
//! content, and each installed distribution by name, version and the rows of its `RECORD` that
//! lie inside site-packages (pip writes the environment's own path into console scripts). So two
//! checkouts at different paths, with different target folders and environments, get the same
//! key, and the binary itself holds no checkout path (the end-to-end tests compare the bytes).
//! What a build read or packaged outside python-dir, as the fingerprint records it (files such
//! as a `pathex` module or a system library, folder listings, environment variables the spec
//! read), is listed in the entry by hash (a value may be a secret), paths under the package
//! relative to it; a reader takes the entry only when its own match. So are the environment's
//! files a build packaged that no kept `RECORD` row covers, by content and named relative to
//! the environment: a `RECORD` itself (numpy's hook packages numpy's `dist-info`, whose
//! `RECORD` holds the hashes of its console scripts), `INSTALLER`, or a distribution without a
//! `RECORD`. The crate's managed environments are relocatable, so those files are the same in
//! every checkout's environment and such binaries are shared between checkouts at any path (the
//! end-to-end test compares the bytes of a forced build at the other path); in an environment
//! that names its path (pip's console scripts, a `direct_url.json` of a local install, an
//! editable install's `.pth`) they differ, and a checkout whose environment is elsewhere gets a
//! miss and builds. Every miss says why, on the sidecar's warning line and in the report
//! ([`SharedCache`]): no entry for the key, the file, folder, variable or environment path an
//! entry's check found different, or the shared cache off and why; the closing line of a build
//! that asked the shared cache counts its hits and misses. *Known limits:* the interpreter's standard library is
//! identified by its version string and binaries, not file by file; an installed file is
//! trusted to match its `RECORD` row.
//!
//! A sidecar without a spec file is keyed by what its spec was made from and what the writer
//! wrote, with python-dir's place taken out (the writer makes the options' paths absolute); the
//! writer's own paths to the script are relative to the crate's folder, so checkouts share it
//! when their crate folder sits at the same place relative to python-dir (the default does).
//!
//! ## A hit without creating the environment
//!
//! When `requirements` is a requirements file that pins every requirement by version *and*
//! hash (pip's require-hashes mode, as `uv pip compile --generate-hashes` or
//! `pip-compile --generate-hashes` write it; only `--index-url`, `--extra-index-url`,
//! `--find-links` and `--trusted-host` options besides), PyInstaller among them (else the crate
//! adds it from the index), the environment is determined before
//! it exists: by that file, the base interpreter (by content, with its version, ABI, platform,
//! and glibc or macOS version: what pip picks wheels by), the installer (uv's version) and what
//! the installer reads besides: the `PIP_*`/
//! `UV_*` variables that can change what is installed, its configuration files (pip's, or uv's
//! and the project's `uv.toml`/`[tool.uv]`) and the wheels in local `--find-links` folders.
//! Indexes count, without credentials (their variables are read without
//! `rerun-if-env-changed`, as a token may be in them): every archive is pinned by hash, but pip
//! installs the best-ranked of the pinned archives the index offers, so a mirror without the
//! newest manylinux wheel installs another. The crate installs such requirements with
//! `--only-binary :all:` (pip prefers a wheel to an sdist of the same version anyway); if an
//! sdist is needed, it installs as pip would and the environment is not taken as determined.
//! What determined an environment is taken when it is created and kept with it; binaries
//! built in it are stored under a second key computed from that. On a machine where the
//! environment does not exist yet, that key is asked first: when every spec is up to date or a
//! hit, the build downloads, verifies, smoke-tests and installs them, and never creates the
//! environment or runs PyInstaller (the warning says `requirements pinned by hash: no Python
//! environment created`). An entry that lists environment files is taken this way when its
//! environment was relocatable and none of those files names a folder of its machine (the
//! environment's or the checkout's), or else when it was at the very path this one would be
//! created at. Otherwise nothing was
//! installed, and the build creates the environment and goes on as usual. Linux needs glibc
//! (musl's version is not among the facts); not on macOS (its universal sidecar is made from
//! both halves' work folders) nor with sidecars without a spec file (PyInstaller's writer
//! needs the environment).
//!
//! A hit is downloaded, checked against its size and BLAKE3, smoke-tested, put into the local
//! store and installed like any build; the warning says `downloaded <name> from the shared
//! cache` and [`Outcome::Downloaded`] is reported. In read-write mode (the default;
//! `PYINSTALLER_BUILD_CACHE_MODE=read-only` for pull requests) every binary PyInstaller or the
//! fast path built and the smoke test passed is uploaded in the background, content first, then
//! its entry; the build waits for uploads only at its end.
//!
//! With `PYINSTALLER_BUILD_CACHE_SIGNING_KEY`, each entry carries an HMAC-SHA256 over its key,
//! file name, size, hashes and checks, and a reader rejects entries that are unsigned or signed
//! with another key. Poisoning is still best prevented by the store's own permissions: write
//! only from trusted CI, read-only credentials elsewhere.
//!
//! The shared cache never fails a build: a server that is down (3 s connect timeout), a
//! timeout, any unexpected status, a denied upload, a corrupted or truncated download, a wrong
//! or missing signature, or an entry over `PYINSTALLER_BUILD_CACHE_MAX_MB` (default 1024) is one
//! warning naming the cause; the shared cache is then not asked again in that build, and the
//! build goes on locally. Nothing is stored or installed before its hash is verified.
//! Credentials are read without `rerun-if-env-changed` (cargo writes announced values into its
//! fingerprint files); changing them never reruns the build script.
//!
//! Content the store already holds (a `HEAD` with the same size) is not sent again. *Known
//! limits:* that size check means a same-size corrupted blob is not replaced by a writer (its
//! readers still reject it); the shared cache is asked once per build, so a first failure
//! switches it off until the next one.
//!
//! # Environment variables
//!
//! | Variable | Effect |
//! |---|---|
//! | `PYINSTALLER_BUILD_SKIP=1` | build nothing; placeholders stand in for missing sidecars (below) |
//! | `PYINSTALLER_BUILD_FORCE=1` | wipe each spec's PyInstaller work folder and build with `--clean` |
//! | `PYINSTALLER_BUILD_PYTHON` | the interpreter to use |
//! | `PYINSTALLER_BUILD_CACHE_DIR` | the crate's work folder |
//! | `PYINSTALLER_BUILD_AUDIT=verify` | prove which audit candidates can be excluded (above) |
//! | `CARGO_NET_OFFLINE=true` | with `requirements`: never install, use the existing environment |
//! | `PYINSTALLER_BUILD_CACHE_URL` | the shared cache: `https://...` or `s3://bucket/prefix` (feature `shared-cache`) |
//! | `PYINSTALLER_BUILD_CACHE_MODE` | `read-write` (default) or `read-only` |
//! | `PYINSTALLER_BUILD_CACHE_SIGNING_KEY` | sign uploaded entries; accept only entries signed with it |
//! | `PYINSTALLER_BUILD_CACHE_MAX_MB` | largest binary downloaded or uploaded (default 1024) |
//! | `PYINSTALLER_BUILD_CACHE_TOKEN`, `_USERNAME`, `_PASSWORD` | HTTP cache credentials (bearer, basic) |
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL[_S3]` | S3 |
//!
//! With `DOCS_RS` set nothing is built or written.
//!
//! # Skipping: rust-analyzer, lint jobs, checks for other platforms
//!
//! For rust-analyzer, which runs build scripts on load and on save, set the skip switch in its
//! settings: `"rust-analyzer.cargo.extraEnv": { "PYINSTALLER_BUILD_SKIP": "1" }` (and give it its
//! own target folder, `"rust-analyzer.cargo.targetDir": true`, so its runs do not alternate with
//! yours). CI lint jobs (`cargo clippy`) and `cargo check --target <other platform>` set it too.
//!
//! `tauri_build::build()` fails when an `externalBin` file is missing, so a skipped build puts a
//! **placeholder** where each sidecar that is not installed belongs (where a real build would
//! install it: its `externalBin` entry, `install-as` or binaries-dir; `TARGET` decides the name,
//! so a check for another platform gets `<name>-x86_64-pc-windows-msvc.exe`, say). Run, a
//! placeholder prints `<name>: this is a pyinstaller-build placeholder, not the sidecar ...` and
//! exits 1. On Windows it is the same text, not a program: starting it fails (Windows reports it
//! is not a valid application). A placeholder is never stored or stamped, so the next build
//! without the switch builds and replaces it; a file already at the path (a real sidecar, or an
//! earlier placeholder) is never touched, and a real build installing at the same moment wins.
//! The [`Report`] lists each spec as [`Outcome::Placeholder`] or [`Outcome::Skipped`].
//!
//! The names come without running Python: from the `name='...'` string literal of the spec's one
//! `EXE(...)` call, else from the spec's last build in the crate's cache. A spec whose name is
//! computed (`name=NAME`) and that was never built gets no placeholder, and a warning says so.
//!
//! **A release build never gets a placeholder.** With the switch set in a release build (cargo's
//! `PROFILE` is `release`) or under `tauri build` (the `tauri` crate's `DEP_TAURI_DEV` is
//! `false`), a sidecar that is missing or a placeholder is an error naming each one, so a bundle
//! never ships a placeholder. A release build whose sidecars are all real may skip.
//!
//! # Where files go
//!
//! * `<binaries-dir>/<name>-<target>[.exe]` (or where `externalBin` and `install-as` say): the
//!   sidecars, and nothing else of the crate's. A
//!   placeholder committed to git at a sidecar's name (so that Tauri found the file) is replaced
//!   by the sidecar with one warning saying how to untrack it (`git rm --cached`, a `.gitignore`
//!   line): the build installs the sidecar before `tauri_build::build()` looks for it. A sidecar
//!   the crate installed from a spec (or sidecar table) that is no longer built is removed, with
//!   a warning, when every spec of the build succeeded and the file is still the one the crate
//!   installed; nothing else in the folder is touched.
//! * `<temp>/pyinstaller-build-locks/<hash of binaries-dir's path>.lock`: one build at a time.
//! * `<target-dir>/pyinstaller-build/<python-dir>-<hash>/<spec>/`: PyInstaller's work and dist
//!   folders, `build.log` (its full output), `smoke.log`, the fast path's snapshot. Shared by
//!   debug and release builds.
//! * `<target-dir>/pyinstaller-build/<python-dir>-<hash>/<sidecar>/spec/`: the spec written for a
//!   sidecar without a spec file (`makespec.log` beside it).
//! * `<target-dir>/pyinstaller-build/envs/`: managed environments, with their install logs.
//! * `<target-dir>/pyinstaller-build/binaries/`: the binary store.
//! * the shared cache (when configured): `ac/<key>` entries and `cas/<sha256>` binaries.
//! * `$OUT_DIR/pyinstaller-build/`: what this profile installed (one record per binaries folder:
//!   checkouts sharing a target folder share `OUT_DIR`), and `report.json`.
//!
//! Nothing is written into python-dir, except where python-dir holds these folders (cargo's
//! target folder, say): they are never its inputs.
//!
//! # Parallelism and locking
//!
//! Specs that need building run at once, bounded by `jobs`, cargo's jobserver and `NUM_JOBS`.
//! Each spec's output goes to its own log. When one fails, the others still finish and install;
//! every failure is printed and the first is returned. A file lock named after the binaries folder
//! (in the temporary folder, so that nothing but the sidecars is in the binaries folder) lets one
//! build of the project run at a time (a terminal and rust-analyzer, or debug and release); the
//! second waits and then finds the work done. A PyInstaller left running by a killed cargo holds
//! its spec's lock until it exits, and its output is never taken as done.
//!
//! # Targets
//!
//! PyInstaller does not cross-compile: a `TARGET` other than `HOST` is an error, except Android
//! and iOS targets, for which the crate does nothing, with `PYINSTALLER_BUILD_SKIP` (a check
//! for another platform gets that platform's placeholders), and the other macOS architecture:
//!
//! * **macOS**: `x86_64-apple-darwin` on Apple Silicon or `aarch64-apple-darwin` on an Intel Mac
//!   (what `tauri build --target universal-apple-darwin` asks for) builds with
//!   `EXE(target_arch=...)` set for `TARGET` when the interpreter is universal2
//!   (`sysconfig.get_platform()` ends in `universal2`, as with the python.org installer; your
//!   packages then need universal2 wheels); otherwise the error names that fix. An Intel Mac
//!   cannot run arm64 code, so it skips the smoke test of an arm64 build, and says so. Once both
//!   `<name>-aarch64-apple-darwin` and `<name>-x86_64-apple-darwin` are installed from the same
//!   sources (every file under python-dir, the toolchain, environment and settings), the crate
//!   makes `<name>-universal-apple-darwin` with `lipo`, the file Tauri's bundler looks for with
//!   that target; when one half is rebuilt alone later, the universal file is removed rather
//!   than bundled with two different programs in it.
//! * **Windows**: sidecars are `<name>-<target>.exe`, a venv's interpreter is
//!   `Scripts\python.exe`. A sidecar that is running (the app under `tauri dev`) cannot be
//!   replaced, but can be renamed: the crate renames it aside (`.<file>.<id>.old`, removed by a
//!   later install once it has exited) and puts the new one in its place; if even that fails,
//!   the old file stays whole and the error says to close the app. (tauri-build's own copy into
//!   `target/<profile>/` can still fail while the app runs.) A smoke test that times out is
//!   killed with its whole process tree (`taskkill /T`; not yet run on Windows).
//!
//! # Troubleshooting
//!
//! * Bad input and what the build says (in each case nothing is installed, the last good binary
//!   stays, and nothing is recorded, so the next build retries):
//!   * a module that does not compile: "a project module does not compile. PyInstaller would
//!     leave it out of the sidecar without failing ...", then `pkg/shared.py:2:12: invalid
//!     syntax` and the line with a caret under the error;
//!   * a project module PyInstaller left out anyway: "PyInstaller left a project module of
//!     app.spec out as invalid: pkg.shared (pkg/shared.py)";
//!   * a missing top-level import: "PyInstaller could not find a module that app.spec imports
//!     unconditionally, so the sidecar would fail at start: yaml, imported at the top level of
//!     pkg/config.py", and the fix: the file to add its distribution to;
//!   * a failed smoke test: "the smoke test of app.spec failed:" with the command, why, and its
//!     output; why is "exited with exit status: 1", "printed ready, then exited with ...: it does
//!     not keep serving", "did not serve within 30 s: nothing accepted connections on
//!     127.0.0.1:PORT (the port given in PORT)", or "GET /health on ... answered HTTP/1.0 500".
//! * Why did it rebuild? The `built ...` warning says, naming files relative to python-dir and
//!   why they matter to the spec (`worker.py changed: worker.spec's last build packaged it`,
//!   `addon.pyc is new, where app.spec's last build's module search looked for a module of that
//!   name`, `the entries of static changed, which app.spec's last build listed`, `the
//!   toolchain, environment or settings changed`, ...), as does [`SpecReport::reason`], and
//!   why the fast path was not taken (`no fast path: proj.util imports wave, which the last
//!   build did not bundle`); `build.log` starts with the exact command; `report.json` in `OUT_DIR` has each
//!   fingerprint.
//! * A stale PyInstaller cache (say, after editing PyInstaller's own files): build once with
//!   `PYINSTALLER_BUILD_FORCE=1`.
//!
//! # `tauri dev`
//!
//! The Tauri CLI restarts the app (and so reruns this build) only for changes in `src-tauri` and
//! in the folders of `build.additionalWatchFolders`; `.gitignore` hides top-level entries from it
//! and `.taurignore` (plus its built-in `node_modules/`, `target/`, `gen/`) hides anything. Cargo's
//! `rerun-if-changed` does not make it look. So, in a debug build of an app with a
//! `tauri.conf.json` (`.json5`, `Tauri.toml`, the platform file merged on top), the crate checks
//! that every project file and the requirements file are watched and that the binaries folder
//! is not (an installed sidecar would restart the app a second time), and says once what to add:
//!
//! ```text
//! warning: pyinstaller-build: `tauri dev` does not watch ../python (e.g. ../python/main.py): saving a
//!          Python file there does not restart the app, so its sidecar is not rebuilt until you restart `tauri dev`.
//! warning: Fix: in tauri.conf.json, add "../python" to "build": { "additionalWatchFolders": [...] }.
//! ```
//!
//! ```json
//! { "build": { "additionalWatchFolders": ["../python"] } }
//! ```
//!
//! and `binaries/` in `src-tauri/.taurignore`. It never edits either file.

#![deny(missing_docs)]
// The examples are build scripts, whose `fn main` is the point.
#![allow(clippy::needless_doctest_main)]

mod audit;
mod builder;
mod cache;
mod cargo;
mod devwatch;
mod error;
mod fastpath;
mod freshness;
mod fsutil;
mod hashing;
mod install;
mod jobs;
mod launch;
mod macos;
mod makespec;
mod onedir;
mod pinned;
mod placement;
mod process;
mod project;
mod pyinstaller;
mod report;
mod settings;
mod skip;
mod smoke;
mod sources;
mod spec;
mod tauri_config;
mod toolchain;
mod venv;
mod workdir;

pub use audit::{Audit, ExcludeResult, Package, Verification};
pub use builder::{Build, Compression, Sidecar, SidecarSettings};
pub use error::{Error, ErrorKind, Result};
pub use launch::Launch;
pub use report::{Outcome, Report, SharedCache, SpecReport};
pub use smoke::SmokeTest;

use cargo::{cargo_env, Cargo};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Builds the specs configured in `[package.metadata.pyinstaller-build]`; on error prints the
/// message and exits 1. Call it from `build.rs`, before `tauri_build::build()`.
///
/// ```no_run
/// fn main() {
///     let report = pyinstaller_build::build();
///     assert!(report.specs.iter().all(|s| s.installed.exists()));
/// }
/// ```
pub fn build() -> Report {
    match try_build() {
        Ok(report) => report,
        Err(e) => {
            eprintln!("\n{e}\n");
            std::process::exit(1);
        }
    }
}

/// [`build`], returning the error instead of exiting.
///
/// ```no_run
/// if let Err(e) = pyinstaller_build::try_build() {
///     panic!("sidecars: {e}");
/// }
/// ```
pub fn try_build() -> Result<Report> {
    Build::from_manifest()?.try_compile()
}

impl Build {
    /// Builds every spec that needs it and installs the sidecars; see the crate docs for when a
    /// spec is rebuilt.
    ///
    /// ```no_run
    /// let report = pyinstaller_build::Build::new().try_compile()?;
    /// # Ok::<(), pyinstaller_build::Error>(())
    /// ```
    pub fn try_compile(&self) -> Result<Report> {
        jobs::jobserver();
        let cargo = Cargo { capture: self.capture.clone() };
        let skip = cargo.flag("PYINSTALLER_BUILD_SKIP");
        if cargo.env("DOCS_RS").is_some() {
            cargo.warning("pyinstaller-build: skipped (DOCS_RS is set); sidecars were not built");
            return Ok(Report::default());
        }
        let env = BuildEnv::new(self)?;
        for (label, test) in self.smoke_tests() {
            test.validate(label)?;
        }
        if env.target_os_is_mobile() {
            return Ok(Report::default());
        }
        if skip {
            return self.skipped(&cargo, &env);
        }
        // A Mac builds for its other architecture too, given a universal2 interpreter (macos.rs).
        if !macos::both_macos(&env.target, &env.host) {
            env.check_not_cross()?;
        }
        let Folders { python_dir, binaries_dir, cache_root } = self.folders(&cargo, &env);
        let mut skip = vec![cache_root.clone(), binaries_dir.clone()];
        // Installed folders hold no project module, wherever python-dir is.
        let resource_dirs = self.settings.values().filter_map(|s| s.resource.as_ref());
        skip.extend(resource_dirs.map(|r| tauri_config::normalize(&env.manifest_dir.join(r))));
        // The build's own outputs are never scanned, wherever python-dir is.
        let outputs = env.target_dirs();
        let scan_start = std::time::Instant::now();
        let project = project::Project::scan(&python_dir, &[skip.clone(), outputs.clone()].concat())?;
        let layout = layout_note(&project, &python_dir, scan_start.elapsed());
        let mut specs = match project.specs(&self.specs) {
            // Sidecars without spec files need none.
            Err(e) if e.kind() == ErrorKind::NoSpecs && self.specs.is_empty() && !self.sidecars.is_empty() => vec![],
            other => other?,
        };
        let project_cache = workdir::project_cache(&cache_root, &python_dir);
        venv::check_setting(self.pyinstaller.as_deref(), self.requirements.is_some())?;
        venv::check_selection(!self.extras.is_empty() || self.groups.is_some(), self.requirements.is_some())?;
        makespec::check_options(self.sidecars.iter().map(|(name, s)| (name, &s.options[..], self.onedir(name))))?;
        let tauri_config = tauri_config::TauriConfig::load(&cargo, &env.manifest_dir, &env.target_os());
        for file in tauri_config.iter().flat_map(|c| &c.files) {
            cargo.rerun_if_changed(file);
        }
        let settings::Resolved { install_as, resources, runs, run, keys } =
            settings::resolve(self, &specs, &python_dir)?;
        let any_resource = !resources.is_empty();
        let placement = placement::Placement::new(
            &env.manifest_dir,
            &binaries_dir,
            &env.target,
            tauri_config.as_ref(),
            (install_as, resources),
        )?;
        let base = toolchain::discover(&cargo, self.python.as_deref(), &python_dir, &env.manifest_dir)?;
        let requirements = self.requirements.as_ref().map(|r| python_dir.join(r));
        // `tauri build` and release builds are not watched; `tauri dev` and plain debug builds
        // hear once what keeps a Python edit from reaching the running app.
        let dev = !env.release && cargo_env("DEP_TAURI_DEV").is_none_or(|v| v != "false");
        if let Some(config) = tauri_config.as_ref().filter(|_| dev) {
            // Sources and specs: what a developer saves and expects to see in the running app.
            let source = |f: &&String| [".py", ".pyw", ".spec"].iter().any(|e| f.ends_with(e));
            let files =
                project.files.keys().filter(source).map(|f| project.path(f)).chain(requirements.clone()).collect();
            let inputs =
                devwatch::Inputs { app_dir: &env.manifest_dir, files, install_dirs: placement.folders(), config };
            devwatch::check(&cargo, &inputs, &project_cache.join("tauri-dev-advice.txt"));
        }
        let envs_dir = cache_root.join("envs");
        let request = requirements.as_deref().map(|requirements| venv::Request {
            base: &base,
            requirements,
            envs_dir: &envs_dir,
            offline: cargo.flag("CARGO_NET_OFFLINE"),
            uv: which::which("uv").ok(),
            cargo: &cargo,
            pyinstaller: self.pyinstaller.as_deref(),
            selection: venv::Selection { extras: self.extras.clone(), groups: self.groups.clone() },
        });
        let force = cargo.flag("PYINSTALLER_BUILD_FORCE");
        let store =
            cache::Store { dir: cache_root.join("binaries"), limit: self.binary_cache_mb.unwrap_or(1024) * 1_000_000 };
        let mut cache = cache::Cache::new(store, &cargo, &env.manifest_dir);
        let stamps_dir = env.out_dir.join("pyinstaller-build");
        let mut basis = None;
        if let Some(request) = &request {
            // Watched wherever they are: outside python-dir no other rule covers them.
            for file in venv::inputs(request.requirements) {
                cargo.rerun_if_changed(&file);
            }
            let (_, env_dir, ready) = venv::locate(request)?;
            // Hash-pinned requirements: the binaries may be had without the environment. Not for
            // sidecars without a spec file (writing it needs the environment), nor on macOS,
            // whose universal sidecar is made from both halves' work folders.
            // Nor when `run-in` or `pyinstaller-env` are set: the keys asked there do not hold them.
            let plain = self.sidecars.is_empty()
                && env.target == env.host
                && !force
                && !env.target.ends_with("-apple-darwin")
                && [&run].into_iter().chain(runs.values()).all(|r| *r == settings::Run::default())
                // The launcher joins the key of an extract-once sidecar: compiled only below.
                && self.launch == Launch::Onefile
                && self.launch_own.is_empty()
                // A resource folder is installed by unpacking, which that path does not do.
                && !any_resource;
            if !ready && plain {
                basis = venv::pinned_basis(request);
            }
            if let Some(basis) = &basis {
                let _lock = lock_project(&binaries_dir)?;
                let context = self.context(&cargo, &env, String::new());
                let package_name = cargo_env("CARGO_PKG_NAME").and_then(|n| n.into_string().ok());
                let pinned = pinned::Request {
                    project: &project,
                    specs: &specs,
                    context: &context,
                    basis,
                    cache: &cache,
                    env_dir: &env_dir,
                    project_cache: &project_cache,
                    binaries_dir: &binaries_dir,
                    stamps_dir: &stamps_dir,
                    smoke_test: self.smoke_test.as_ref(),
                    smoke_test_timeout: self.smoke_test_timeout.unwrap_or(Duration::from_secs(60)),
                    cargo_dirs: env.cargo_dirs(),
                    package_name: package_name.as_deref(),
                    env_value: &|k| cargo.env(k).map(|v| v.to_string_lossy().into_owned()),
                    place: &|spec, output| placement.place(&project::spec_stem(spec), output),
                };
                if let Some((reports, watch)) = pinned::run(&pinned)? {
                    let done = finish_pinned(&cargo, &env, &project, &base, &cache, &stamps_dir, reports, watch)?;
                    let built: Vec<_> =
                        done.specs.iter().map(|s| (project::spec_stem(&s.spec), s.installed.clone())).collect();
                    placement.check_entries(&built)?;
                    return Ok(done);
                }
            }
        }
        let (python, determined_by) = match &request {
            None => (base.clone(), None),
            // The basis just computed, if any: not the interpreter asked twice.
            Some(request) => self.environment(&cargo, request, basis)?,
        };
        let toolchain = toolchain::probe(&python, &project_cache)?;
        let setup = toolchain::Setup {
            requirements: requirements.as_deref(),
            manifest_dir: &env.manifest_dir,
            python_dir: &python_dir,
        };
        toolchain::check_supported(&toolchain, &setup)?;
        // Built here from what determines the environment: stored for readers without one too.
        let pinned = determined_by.filter(|_| cache.can_upload());
        cache.set_environment(cache::env_root(&toolchain), pinned.as_deref().map(cache::pinned_digest));
        let target_arch = match macos::both_macos(&env.target, &env.host) {
            true => macos::target_arch(&env.target, &env.host, &toolchain.platform, &python)?,
            false => None,
        };
        let mut context = self.context(&cargo, &env, toolchain.fingerprint());
        let mut smoke_test = self.smoke_test.clone();
        if let Some(arch) = target_arch {
            context.env.push((pyinstaller::TARGET_ARCH_VAR.to_string(), Some(arch.to_string())));
            // An Intel Mac cannot run arm64 code (an Apple Silicon Mac runs x86_64 through Rosetta).
            if arch == "arm64" && env.host.starts_with("x86_64") && smoke_test.take().is_some() {
                cargo.warning(&format!(
                    "pyinstaller-build: no smoke test for `{}`: this Intel Mac cannot run arm64 binaries",
                    env.target
                ));
            }
        }
        let _lock = lock_project(&binaries_dir)?;
        let generated =
            self.generate_specs(&mut specs, &python_dir, &python, &toolchain, &project_cache, (&cargo, &binaries_dir))?;
        // By key (a sidecar's name, a spec file's stem), as `Shared::key` names them.
        // Keyed as the other settings are: a table named by a spec's literal output is its stem's.
        let mut launch_own: std::collections::BTreeMap<String, Launch> =
            self.launch_own.iter().map(|(k, l)| (keys.get(k).cloned().unwrap_or_else(|| k.clone()), *l)).collect();
        launch_own.extend(self.sidecars.iter().filter_map(|(name, s)| s.launch.map(|l| (name.clone(), l))));
        // A resource sidecar is onedir whatever the table's `launch` says (its own cannot be
        // extract-once: settings.rs).
        for spec in &specs {
            let key = generated.get(spec).map_or_else(|| project::spec_stem(spec), |(g, _)| g.name.clone());
            if placement.is_resource(&key) {
                launch_own.insert(key, Launch::Onefile);
            }
        }
        let launcher = self.launcher(&cargo, &cache_root, &env.target, &specs, &generated, &launch_own)?;
        let shared = spec::Shared {
            launch: self.launch,
            launch_own,
            launcher,
            folder_packer: launch::Launcher::folder(),
            staged: Default::default(),
            cargo: &cargo,
            project: &project,
            context: &context,
            python: &python,
            toolchain: &toolchain,
            project_cache,
            binaries_dir,
            stamps_dir,
            target: env.target.clone(),
            smoke_test,
            smoke_test_timeout: self.smoke_test_timeout.unwrap_or(Duration::from_secs(60)),
            generated,
            force,
            cache,
            audit_threshold: self.audit_threshold.unwrap_or(1_000_000),
            audit_verify: cargo.env("PYINSTALLER_BUILD_AUDIT").is_some_and(|v| v == "verify"),
            package_name: cargo_env("CARGO_PKG_NAME").map(|n| n.to_string_lossy().into_owned()),
            not_project: [skip.clone(), outputs.clone()].concat(),
            skip,
            cargo_dirs: env.cargo_dirs(),
            allow_missing_imports: self.allow_missing_imports,
            requirements: requirements.clone(),
            outputs,
            placement,
            runs,
            run,
        };

        let plans = specs.iter().map(|s| spec::plan(&shared, s)).collect::<Result<Vec<_>>>()?;
        // A module that does not compile would be left out of the binary by PyInstaller, which
        // does not fail on it (sources.rs): nothing is built, nothing recorded.
        if plans.iter().any(spec::Plan::builds) {
            // What compiles is the interpreter's business alone, not the installed packages'.
            let interpreter = format!("{}\n{}", toolchain.python.display(), toolchain.version);
            sources::compile_all(&project, &python, &context.env, &interpreter, &shared.project_cache)?;
        }
        let limit = self.jobs.unwrap_or(env.jobs);
        // What each spec had installed before: a file that now goes elsewhere is removed after.
        let previous: Vec<spec::Stamp> =
            specs.iter().filter_map(|s| spec::Stamp::read(&shared.stamps_dir, &shared.binaries_dir, s)).collect();
        let results = jobs::run_all(plans, limit, |plan| spec::execute(&shared, plan));
        let report = finish(&cargo, &shared, &toolchain, &env, results, (&specs, &previous))?;
        if let Some(note) = layout.filter(|_| report.specs.iter().any(|s| s.outcome == Outcome::Built)) {
            note_once(&cargo, &shared.project_cache, &note);
        }
        Ok(report)
    }
}

/// Where a build reads and writes, shared by real and skipped builds.
struct Folders {
    python_dir: PathBuf,
    binaries_dir: PathBuf,
    cache_root: PathBuf,
}

impl Build {
    /// Whether the sidecar `name` is built onedir: a `resource` folder, or in extract-once mode
    /// (its own `launch`, else the top level's).
    fn onedir(&self, name: &str) -> bool {
        let own = self.sidecars.get(name).and_then(|s| s.launch).or_else(|| self.launch_own.get(name).copied());
        self.settings.get(name).is_some_and(|s| s.resource.is_some())
            || own.unwrap_or(self.launch) == Launch::ExtractOnce
    }

    /// Every smoke test set, with what it belongs to.
    fn smoke_tests(&self) -> impl Iterator<Item = (&str, &SmokeTest)> {
        let own = self.sidecars.iter().filter_map(|(name, s)| Some((name.as_str(), s.smoke_test.as_ref()?)));
        self.smoke_test.iter().map(|t| ("smoke-test", t)).chain(own)
    }

    fn folders(&self, cargo: &Cargo, env: &BuildEnv) -> Folders {
        let python_dir = env.manifest_dir.join(self.python_dir.as_deref().unwrap_or(Path::new("python")));
        let python_dir = python_dir.canonicalize().unwrap_or(python_dir);
        let binaries_dir = env.manifest_dir.join(self.binaries_dir.as_deref().unwrap_or(Path::new("binaries")));
        let cache_root = match cargo.env("PYINSTALLER_BUILD_CACHE_DIR").map(PathBuf::from).or(self.cache_dir.clone()) {
            Some(dir) => env.manifest_dir.join(dir),
            None => workdir::default_cache_root(&env.out_dir, &env.manifest_dir),
        };
        Folders { python_dir, binaries_dir, cache_root }
    }
}

impl Build {
    /// `PYINSTALLER_BUILD_SKIP`: nothing is built; missing sidecars get placeholders (skip.rs).
    fn skipped(&self, cargo: &Cargo, env: &BuildEnv) -> Result<Report> {
        let Folders { python_dir, binaries_dir, cache_root } = self.folders(cargo, env);
        let release = env.release || cargo_env("DEP_TAURI_DEV").is_some_and(|v| v == "false");
        // Placed as a real build would place them (a spec's key is its file name here).
        let config = tauri_config::TauriConfig::load(cargo, &env.manifest_dir, &env.target_os());
        let setting = |get: fn(&SidecarSettings) -> Option<&PathBuf>| {
            let set = self.settings.iter().filter_map(move |(k, s)| Some((k, get(s)?)));
            set.map(|(k, p)| (k.clone(), p.to_string_lossy().replace('\\', "/"))).collect()
        };
        let (install_as, resources) = (setting(|s| s.install_as.as_ref()), setting(|s| s.resource.as_ref()));
        let placement = placement::Placement::new(
            &env.manifest_dir,
            &binaries_dir,
            &env.target,
            config.as_ref(),
            (install_as, resources),
        )?;
        let request = skip::Request {
            place: &|key, output| placement.place(key, output),
            python_dir: &python_dir,
            specs: &self.specs,
            sidecars: &self.sidecars.keys().cloned().collect::<Vec<_>>(),
            project_cache: &workdir::project_cache(&cache_root, &python_dir),
            release,
            target: &env.target,
        };
        let (sidecars, unnamed) = skip::run(&request)?;
        let placeholders: Vec<&str> = sidecars.iter().filter(|s| s.placeholder).map(|s| s.name.as_str()).collect();
        cargo.warning(&match placeholders.as_slice() {
            [] => "pyinstaller-build: skipped (PYINSTALLER_BUILD_SKIP is set); sidecars were not built".to_string(),
            names => format!(
                "pyinstaller-build: skipped (PYINSTALLER_BUILD_SKIP is set); placeholders stand in for {} (they \
                 exit 1 when run; the next build without PYINSTALLER_BUILD_SKIP replaces them)",
                names.join(", ")
            ),
        });
        for message in unnamed {
            cargo.warning(&message);
        }
        let mut report = Report::default();
        for s in sidecars {
            let spec_path = python_dir.join(&s.spec);
            cargo.rerun_if_changed(&spec_path);
            cargo.rerun_if_changed(&s.installed);
            report.specs.push(SpecReport {
                outcome: if s.placeholder { Outcome::Placeholder } else { Outcome::Skipped },
                ..SpecReport::new(s.spec, s.name, s.installed)
            });
        }
        Ok(report)
    }

    /// Writes the spec of every sidecar without a spec file (PyInstaller's own writer, into the
    /// cache) and adds it to `specs`.
    /// The extract-once launcher, compiled when a spec needs it.
    fn launcher(
        &self,
        cargo: &Cargo,
        cache_root: &Path,
        target: &str,
        specs: &[String],
        generated: &std::collections::BTreeMap<String, (makespec::Generated, Option<SmokeTest>)>,
        launch_own: &std::collections::BTreeMap<String, Launch>,
    ) -> Result<Option<launch::Launcher>> {
        let users: Vec<String> = specs
            .iter()
            .filter_map(|spec| {
                let (label, own) = match generated.get(spec) {
                    Some((g, _)) => (g.name.clone(), launch_own.get(&g.name).copied()),
                    None => (spec.clone(), launch_own.get(&project::spec_stem(spec)).copied()),
                };
                (own.unwrap_or(self.launch) == Launch::ExtractOnce).then_some(label)
            })
            .collect();
        match users.is_empty() {
            true => Ok(None),
            false => launch::compile(cargo, cache_root, target, &users).map(Some),
        }
    }

    fn generate_specs(
        &self,
        specs: &mut Vec<String>,
        python_dir: &Path,
        python: &Path,
        toolchain: &toolchain::Toolchain,
        project_cache: &Path,
        (cargo, binaries_dir): (&Cargo, &Path),
    ) -> Result<std::collections::BTreeMap<String, (makespec::Generated, Option<SmokeTest>)>> {
        let mut generated = std::collections::BTreeMap::new();
        for (name, sidecar) in &self.sidecars {
            let bad_name = name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', ':']);
            if bad_name {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("pyinstaller-build: `{name}` cannot name a sidecar (it becomes a file name); use letters, digits, `-` and `_`."),
                ));
            }
            if let Some(spec) = specs.iter().find(|s| project::spec_stem(s) == *name) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "pyinstaller-build: the sidecar `{name}` and the spec `{spec}` share a name; their work folders would collide.\n\
                         Fix: rename the sidecar in [package.metadata.pyinstaller-build.sidecars], or build it from the spec only."
                    ),
                ));
            }
            // Checked before anything ran (`makespec::check_options`).
            let options = makespec::sort_options(name, &sidecar.options, self.onedir(name)).unwrap_or_default();
            let g = makespec::generate(&makespec::Request {
                name,
                script: &sidecar.script,
                options: &options.kept,
                python_dir,
                python,
                toolchain,
                dir: project_cache.join(name),
            })?;
            if let Some(note) = makespec::ignored_note(name, &options.ignored, binaries_dir).filter(|_| g.written) {
                cargo.warning(&note);
            }
            let id = g.spec.to_string_lossy().into_owned();
            specs.push(id.clone());
            generated.insert(id, (g, sidecar.smoke_test.clone()));
        }
        Ok(generated)
    }

    /// The managed environment's interpreter, and what determined it when the requirements do
    /// (`venv::Env::pinned`).
    fn environment(
        &self,
        cargo: &Cargo,
        request: &venv::Request,
        pinned: Option<Vec<String>>,
    ) -> Result<(PathBuf, Option<Vec<String>>)> {
        let start = std::time::Instant::now();
        let managed = venv::ensure(request, pinned)?;
        if managed.created {
            let secs = start.elapsed().as_secs_f64();
            let provided = match &managed.provided {
                Some(p) => {
                    format!(", with `{p}` added: `{}` does not name PyInstaller", request.requirements.display())
                }
                None => String::new(),
            };
            cargo.warning(&format!(
                "pyinstaller-build: created the Python environment {} in {secs:.1} s{provided}",
                managed.dir.display()
            ));
        }
        Ok((managed.python, managed.pinned))
    }

    /// Everything but the project's files that a binary depends on.
    fn context(&self, cargo: &Cargo, env: &BuildEnv, toolchain: String) -> freshness::fingerprint::Context {
        let vars = freshness::fingerprint::PYINSTALLER_ENV.iter().copied().chain(self.env.iter().map(String::as_str));
        let value = |k: &str| {
            let mut v = cargo.env(k).map(|v| v.to_string_lossy().into_owned());
            if k == "PYINSTALLER_ZLIB_COMPRESSION_LEVEL" && v.is_none() {
                v = self.compression.unwrap_or_default().level(env.release).map(|l| l.to_string());
            }
            freshness::fingerprint::without_cargo_dirs(k, v, &env.cargo_dirs())
        };
        freshness::fingerprint::Context {
            toolchain,
            target: env.target.clone(),
            env: vars.map(|k| (k.to_string(), value(k))).collect(),
            // Nothing yet: the smoke test is not PyInstaller's input (a change re-tests the binary).
            settings: String::new(),
        }
    }
}

/// When python-dir holds cargo's target folder or a Rust crate (python-dir = "." at the
/// crate's root, or the repository's root): what the layout costs, in words.
fn layout_note(project: &project::Project, python_dir: &Path, scan: Duration) -> Option<String> {
    if project.tagged.is_empty() && project.crates.is_empty() {
        return None;
    }
    let named = |dirs: &[&String]| dirs.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ");
    let (own, inner): (Vec<&String>, Vec<&String>) = project.crates.iter().partition(|d| d.is_empty());
    let mut holds = Vec::new();
    if !own.is_empty() {
        holds.push("is itself a Rust crate".to_string());
    }
    if !project.tagged.is_empty() {
        holds.push(format!("holds cargo's target folder {}", named(&project.tagged.iter().collect::<Vec<_>>())));
    }
    if !inner.is_empty() {
        holds.push(format!("holds the Rust crate {}", named(&inner)));
    }
    Some(format!(
        "pyinstaller-build: python-dir `{}` {}: this layout works. Target folders are never \
         inputs, and a file no PyInstaller run read or could have found (Rust sources, Cargo.toml, \
         icons, JSON configs) rebuilds no sidecar. The cost: cargo reruns this build script when any \
         of the {} files it watches under python-dir changes (a Rust edit too), and each run scans \
         them ({:.0} ms here) and finds the sidecars up to date. A python-dir holding only the \
         Python sources avoids even that.",
        python_dir.display(),
        holds.join(" and "),
        project.files.len(),
        scan.as_secs_f64() * 1000.0
    ))
}

/// Prints `note` once per project: again only when it says something else.
fn note_once(cargo: &Cargo, project_cache: &Path, note: &str) {
    let marker = project_cache.join("layout-note.txt");
    let first_line = |n: &str| n.split(" (").next().unwrap_or_default().to_string();
    if std::fs::read_to_string(&marker).is_ok_and(|old| first_line(&old) == first_line(note)) {
        return;
    }
    cargo.warning(note);
    let _ = fsutil::write_atomic(&marker, note.as_bytes(), false);
}

/// Tells cargo what to watch, reports what happened, and returns the first failure if any.
fn finish(
    cargo: &Cargo,
    shared: &spec::Shared,
    toolchain: &toolchain::Toolchain,
    env: &BuildEnv,
    results: Vec<Result<SpecReport>>,
    (specs, previous): (&[String], &[spec::Stamp]),
) -> Result<Report> {
    watch_project(cargo, env, shared.project);
    for path in toolchain::watched_files(toolchain) {
        cargo.rerun_if_changed(&path);
    }
    for path in external_inputs(cargo, shared) {
        cargo.rerun_if_changed(&path);
    }
    let mut report = Report::default();
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(spec) => {
                cargo.rerun_if_changed(&spec.installed);
                say(cargo, &spec, &shared.cache);
                audit_warnings(cargo, &spec);
                report.specs.push(spec);
            }
            Err(e) => errors.push(e),
        }
    }
    // Only now: until every spec is installed, any stored entry may be one being installed.
    if errors.is_empty() {
        for spec in &report.specs {
            universal(cargo, shared, spec).unwrap_or_else(|e| errors.push(e));
        }
    }
    // What an earlier build installed from specs no longer built; never while one failed (its
    // output's name is not known, and may be the stale one's).
    if errors.is_empty() {
        let installed: Vec<PathBuf> = report.specs.iter().map(|s| s.installed.clone()).collect();
        let project = &shared.project.root;
        for message in spec::remove_stale(&shared.stamps_dir, &shared.binaries_dir, project, specs, &installed) {
            cargo.warning(&message);
        }
        for message in spec::remove_moved(previous, &installed) {
            cargo.warning(&message);
        }
        // Only now: a file just removed provides no entry.
        let built: Vec<_> = report.specs.iter().map(|s| (shared.key(&s.spec), s.installed.clone())).collect();
        shared.placement.check_entries(&built).unwrap_or_else(|e| errors.push(e));
    }
    let keep: Vec<&str> = report.specs.iter().map(|s| s.fingerprint.as_str()).collect();
    for warning in shared.cache.finish().into_iter().chain(shared.cache.tally(&report.specs)) {
        cargo.warning(&warning);
    }
    if let Err(e) = shared.cache.trim(&keep) {
        cargo.warning(&format!("pyinstaller-build: the binary store was not trimmed: {e}"));
    }
    write_report(&shared.stamps_dir, &report)?;
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(report),
        Some(first) => {
            for other in errors {
                eprintln!("\n{other}\n");
            }
            Err(first)
        }
    }
}

/// The warning line for what happened to a spec (nothing when nothing happened).
fn say(cargo: &Cargo, spec: &SpecReport, cache: &cache::Cache) {
    let shared_url = cache.shared_url();
    let missed = cache.missed(spec).unwrap_or_default();
    match spec.outcome {
        Outcome::Built => cargo.warning(&format!(
            "pyinstaller-build: built {} in {:.1} s ({}{}{missed}; log: {})",
            spec.name,
            spec.duration.as_secs_f64(),
            spec.reason,
            spec.fast_path_refused
                .as_ref()
                .filter(|r| **r != spec.reason)
                .map(|r| format!("; no fast path: {r}"))
                .unwrap_or_default(),
            spec.log.display()
        )),
        Outcome::FastPath => cargo.warning(&format!(
            "pyinstaller-build: rebuilt {} in {:.1} s by the fast path, without PyInstaller ({}{} since \
             its last PyInstaller build{}{missed})",
            spec.name,
            spec.duration.as_secs_f64(),
            match spec.repacked {
                true => "its onedir program's archive rewritten and its folder re-packed: ",
                false => "",
            },
            spec.reason,
            // Zero when no smoke test ran (none configured for this sidecar).
            match spec.smoke_test.is_zero() {
                false => format!("; smoke test {:.1} s", spec.smoke_test.as_secs_f64()),
                true => String::new(),
            },
        )),
        Outcome::Restored => cargo.warning(&format!(
            "pyinstaller-build: reinstalled {} (built before from these very inputs; no PyInstaller run)",
            spec.name
        )),
        Outcome::Downloaded => cargo.warning(&format!(
            "pyinstaller-build: downloaded {} from the shared cache {} in {:.1} s ({:.1} MB in {:.1} s; \
             no PyInstaller run; {})",
            spec.name,
            shared_url,
            spec.duration.as_secs_f64(),
            spec.download.0 as f64 / 1e6,
            spec.download.1.as_secs_f64(),
            spec.reason
        )),
        Outcome::Retested => cargo.warning(&format!(
            "pyinstaller-build: re-tested {} in {:.1} s: {}, its inputs did not (no PyInstaller run; the binary was \
             not rebuilt)",
            spec.name,
            spec.smoke_test.as_secs_f64(),
            spec.reason
        )),
        Outcome::UpToDate | Outcome::Skipped | Outcome::Placeholder => {}
    }
}

/// The end of a build that needed no environment (pinned.rs): what to watch, what happened.
#[allow(clippy::too_many_arguments)]
fn finish_pinned(
    cargo: &Cargo,
    env: &BuildEnv,
    project: &project::Project,
    base: &Path,
    cache: &cache::Cache,
    stamps_dir: &Path,
    reports: Vec<SpecReport>,
    watch: Vec<PathBuf>,
) -> Result<Report> {
    watch_project(cargo, env, project);
    for path in watch.iter().map(PathBuf::as_path).chain([base]) {
        cargo.rerun_if_changed(path);
    }
    let mut report = Report::default();
    for spec in reports {
        cargo.rerun_if_changed(&spec.installed);
        say(cargo, &spec, cache);
        report.specs.push(spec);
    }
    for warning in cache.finish().into_iter().chain(cache.tally(&report.specs)) {
        cargo.warning(&warning);
    }
    write_report(stamps_dir, &report)?;
    Ok(report)
}

/// What every build watches: its manifest and the project's files.
fn watch_project(cargo: &Cargo, env: &BuildEnv, project: &project::Project) {
    cargo.rerun_if_changed(&env.manifest_dir.join("Cargo.toml"));
    for path in watched_project_paths(project) {
        cargo.rerun_if_changed(&path);
    }
}

/// `report.json` in `OUT_DIR`: what each spec's build did, for tools and tests.
fn write_report(stamps_dir: &Path, report: &Report) -> Result<()> {
    let json = serde_json::to_vec_pretty(report).expect("serializable");
    fsutil::write_atomic(&stamps_dir.join("report.json"), &json, false)
}

/// On macOS, `<name>-universal-apple-darwin` once both architectures are built from the same
/// sources (macos.rs).
fn universal(cargo: &Cargo, shared: &spec::Shared, spec: &SpecReport) -> Result<()> {
    if !shared.target.ends_with("-apple-darwin") {
        return Ok(());
    }
    let spec_dir = workdir::SpecDir::new(&shared.project_cache, &project::spec_stem(&spec.spec));
    let folder = spec.installed.parent().unwrap_or(&shared.binaries_dir);
    // `lipo` keeps the Mach-O parts of a file, not the payload an extract-once launcher carries
    // (nor a folder).
    if shared.launcher(&spec.spec).is_some() {
        if let Some(done) = macos::remove_made_universal(&spec_dir.root, &spec.name, folder)? {
            cargo.warning(&format!("pyinstaller-build: {}: {done}", spec.name));
        }
        return Ok(());
    }
    // Everything the fingerprint holds but TARGET, conservatively: every file under python-dir.
    let mut h = blake3::Hasher::new();
    let c = shared.context;
    let env: Vec<_> = c.env.iter().filter(|(k, _)| k != pyinstaller::TARGET_ARCH_VAR).collect();
    h.update(format!("{}\0{}\0{env:?}\0{}\0", c.toolchain, c.settings, spec.spec).as_bytes());
    for (file, hash) in &shared.project.files {
        h.update(file.as_bytes()).update(hash);
    }
    let reads = spec_dir
        .read_state()
        .map(|s| s.reads.digest(&shared.project.root, &|k| shared.env_value(k)).0)
        .unwrap_or_default();
    h.update(reads.as_bytes());
    let sources = h.finalize().to_hex().to_string();
    let installed =
        macos::Installed { spec_dir: &spec_dir.root, name: &spec.name, installed: &spec.installed, sources: &sources };
    if let Some(done) = macos::universal(&installed, &shared.target, folder)? {
        cargo.warning(&format!("pyinstaller-build: {}: {done}", spec.name));
    }
    Ok(())
}

/// One line when an audit finds new candidates, and one with what verify mode proved.
fn audit_warnings(cargo: &Cargo, spec: &SpecReport) {
    let Some(audit) = &spec.audit else { return };
    let mb = |b: f64| b / 1e6;
    if !spec.new_candidates.is_empty() {
        let total: u64 = audit.candidates().map(|p| p.bytes).sum();
        cargo.warning(&format!(
            "pyinstaller-build: {}: {} could likely be excluded ({:.1} MB of candidates in all; verify with PYINSTALLER_BUILD_AUDIT=verify); see {}",
            spec.name,
            spec.new_candidates.join(", "),
            mb(total as f64),
            spec.audit_table.display()
        ));
    }
    if let Some(v) = audit.verified.as_ref().filter(|v| v.fingerprint == spec.fingerprint) {
        cargo.warning(&format!(
            "pyinstaller-build: {}: verified `{}` saves {:.1} MB and {:.1} s per build; see {}",
            spec.name,
            v.excludes_line,
            mb(v.combined_bytes_saved as f64),
            v.combined_secs_saved,
            spec.audit_table.display()
        ));
    }
}

/// Existing files the specs packaged or read from outside python-dir and the toolchain, and the
/// folders they listed that cargo can watch cheaply; announces the variables they read.
fn external_inputs(cargo: &Cargo, shared: &spec::Shared) -> std::collections::BTreeSet<PathBuf> {
    let specs = std::fs::read_dir(&shared.project_cache).into_iter().flatten().flatten();
    let states: Vec<_> = specs.filter_map(|e| workdir::SpecDir { root: e.path() }.read_state()).collect();
    let vars: std::collections::BTreeSet<&str> =
        states.iter().flat_map(|s| s.reads.env.iter().map(|(k, _)| k.as_str())).collect();
    for var in vars {
        cargo.env(var);
    }
    let packaged = states.iter().flat_map(|s| s.external.iter().filter(|p| p.is_file()).cloned());
    packaged.chain(states.iter().flat_map(|s| s.reads.watched().map(Path::to_path_buf))).collect()
}

/// Files, and whole folders where cargo's recursive scan would meet nothing the crate ignores.
fn watched_project_paths(project: &project::Project) -> Vec<PathBuf> {
    let clean = |dir: &str| {
        !project.dirs_with_excluded.iter().any(|d| d == dir || dir.is_empty() || d.starts_with(&format!("{dir}/")))
    };
    let mut paths = Vec::new();
    let mut covered: Vec<String> = Vec::new();
    let under = |p: &str, covered: &[String]| covered.iter().any(|c| p.starts_with(&format!("{c}/")));
    if clean("") {
        return vec![project.root.clone()];
    }
    for dir in &project.dirs {
        if !under(dir, &covered) && clean(dir) {
            paths.push(project.path(dir));
            covered.push(dir.clone());
        }
    }
    for file in project.files.keys() {
        if !under(file, &covered) {
            paths.push(project.path(file));
        }
    }
    paths
}

/// The cargo-provided facts, or the builder's overrides of them.
struct BuildEnv {
    manifest_dir: PathBuf,
    out_dir: PathBuf,
    target: String,
    host: String,
    jobs: usize,
    release: bool,
}

impl BuildEnv {
    fn new(build: &Build) -> Result<BuildEnv> {
        let required = |key: &str, set: Option<String>| {
            set.or_else(|| cargo_env(key).map(|v| v.to_string_lossy().into_owned())).ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "pyinstaller-build: {key} is not set; call it from a build script (or set it with the builder)"
                    ),
                )
            })
        };
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned());
        let target = required("TARGET", build.target.clone())?;
        Ok(BuildEnv {
            manifest_dir: required("CARGO_MANIFEST_DIR", path(&build.manifest_dir))?.into(),
            out_dir: required("OUT_DIR", path(&build.out_dir))?.into(),
            host: build
                .host
                .clone()
                .or_else(|| cargo_env("HOST").map(|h| h.to_string_lossy().into_owned()))
                .unwrap_or_else(|| target.clone()),
            target,
            release: cargo_env("PROFILE").is_some_and(|p| p == "release"),
            jobs: cargo_env("NUM_JOBS")
                .and_then(|n| n.to_str()?.parse().ok())
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        })
    }

    /// Cargo's target (and build) folders, which `OUT_DIR` lies in: marked with a `CACHEDIR.TAG`,
    /// else the profile folder holding `build/<package>/out`.
    fn target_dirs(&self) -> Vec<PathBuf> {
        let tagged: Vec<PathBuf> =
            self.out_dir.ancestors().filter(|a| a.join("CACHEDIR.TAG").is_file()).map(Path::to_path_buf).collect();
        if !tagged.is_empty() {
            return tagged;
        }
        let build = self.out_dir.parent().and_then(Path::parent).filter(|b| b.ends_with("build"));
        match (self.out_dir.ends_with("out"), build.and_then(Path::parent)) {
            (true, Some(profile)) => vec![profile.to_path_buf()],
            _ => vec![],
        }
    }

    /// Folders cargo adds to the library search path of build scripts: the target (or build)
    /// folder and the toolchain's sysroot. They differ between `cargo build`, `clippy` and `test`.
    fn cargo_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> =
            self.out_dir.ancestors().filter(|a| a.join("CACHEDIR.TAG").is_file()).map(Path::to_path_buf).collect();
        if let Some(sysroot) =
            cargo_env("RUSTC").map(PathBuf::from).and_then(|r| Some(r.parent()?.parent()?.to_path_buf()))
        {
            if sysroot.is_absolute() {
                dirs.push(sysroot);
            }
        }
        dirs
    }

    /// cargo's `CARGO_CFG_TARGET_OS` (which picks Tauri's platform config file), else read
    /// from `TARGET`.
    fn target_os(&self) -> String {
        if let Some(os) = cargo_env("CARGO_CFG_TARGET_OS") {
            return os.to_string_lossy().into_owned();
        }
        let t = &self.target;
        match () {
            _ if t.contains("windows") => "windows",
            _ if t.contains("apple-darwin") => "macos",
            _ if t.contains("linux") => "linux",
            _ => "",
        }
        .to_string()
    }

    fn target_os_is_mobile(&self) -> bool {
        self.target.contains("android") || self.target.contains("apple-ios")
    }

    fn check_not_cross(&self) -> Result<()> {
        if self.target == self.host {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::CrossCompile,
            format!(
                "pyinstaller-build: cannot build sidecars for `{}` on `{}`: PyInstaller does not cross-compile.\n\
                 Fix: build on a `{}` machine (e.g. a CI runner of that platform), or set \
                 PYINSTALLER_BUILD_SKIP=1 and provide the binaries yourself.",
                self.target, self.host, self.target
            ),
        ))
    }
}

/// One build of this project at a time, across processes (a terminal and rust-analyzer, debug and
/// release). What they share is the binaries folder, but nothing of the crate's goes there (Tauri
/// bundles it, git and `tauri dev` see it): the lock is named after that folder's path in the
/// temporary folder, which every process of the user shares whatever its target folder
/// (rust-analyzer may have its own). A lock file an older crate left in the binaries folder goes.
fn lock_project(binaries_dir: &Path) -> Result<std::fs::File> {
    use error::IoContext;
    std::fs::create_dir_all(binaries_dir).at("could not create", binaries_dir)?;
    let folder = binaries_dir.canonicalize().unwrap_or_else(|_| binaries_dir.to_path_buf());
    let locks = std::env::temp_dir().join("pyinstaller-build-locks");
    std::fs::create_dir_all(&locks).at("could not create", &locks)?;
    let hash = blake3::hash(folder.as_os_str().as_encoded_bytes()).to_hex();
    let path = locks.join(format!("{}.lock", &hash[..24]));
    let file = fsutil::lock_file(&path)?;
    let _ = std::fs::remove_file(binaries_dir.join(".pyinstaller-build.lock"));
    Ok(file)
}
