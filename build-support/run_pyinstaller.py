"""Run PyInstaller for one spec under a lock, then record what it packaged.

argv: <lock file> <records json> <audit json or -> <project dir> <snapshot dir or -> <pyinstaller args...>
env PYINSTALLER_BUILD_EXTRA_EXCLUDES: comma-separated modules added to every Analysis' excludes
(the audit's verify mode; the user's spec is never edited).
env PYINSTALLER_BUILD_TARGET_ARCH: the EXE's target_arch when the spec sets none (macOS).
env PYINSTALLER_BUILD_LAUNCH: extract-once mode: the spec is built onedir (a onefile EXE becomes
the same EXE without its binaries and datas plus a COLLECT of them), and where to write which
folder and program it made.
env PYINSTALLER_BUILD_TRACE: where to write what the run read (build-support/trace.py), and
PYINSTALLER_BUILD_TRACE_SCRIPT: that file, run in front of PyInstaller's isolated children.

The lock is taken here, by the process that does the work, so a PyInstaller left running after
cargo was killed still holds it and the next build waits for it instead of sharing its work folder.
The records (every source file of the spec's Analysis) let the next build fingerprint exactly the
project files this spec packaged.
"""
import sys

# Run as `python -c`, the cwd (the user's python-dir) would come first on sys.path, and a project
# module named like a stdlib one (json.py) would shadow it inside this helper and PyInstaller.
sys.path[:] = [p for p in sys.path if p not in ("", ".")]

# @TRACE@ (build-support/trace.py is inserted here)

import os  # noqa: E402

trace_path = os.environ.get("PYINSTALLER_BUILD_TRACE")
if trace_path:
    # Before PyInstaller is imported: everything it and the spec read is seen.
    trace = _Trace()
    trace.install()

# @AUDIT@ (build-support/audit.py is inserted here)

# @FASTPATH@ (build-support/fastpath.py is inserted here)

import glob  # noqa: E402
import json  # noqa: E402

lock_path, records_path, audit_path, project_dir, snapshot_dir = sys.argv[1:6]
args = sys.argv[6:]
lock = open(lock_path, "a+b")
if os.name == "nt":
    import msvcrt

    lock.seek(0)
    msvcrt.locking(lock.fileno(), msvcrt.LK_LOCK, 1)
else:
    import fcntl

    fcntl.flock(lock.fileno(), fcntl.LOCK_EX)

extra_excludes = [e for e in os.environ.get("PYINSTALLER_BUILD_EXTRA_EXCLUDES", "").split(",") if e]
if extra_excludes:
    import inspect

    from PyInstaller.building import build_main

    original = build_main.Analysis.__init__
    signature = inspect.signature(original)

    def with_excludes(*a, **kw):
        bound = signature.bind(*a, **kw)
        bound.arguments["excludes"] = list(bound.arguments.get("excludes") or []) + extra_excludes
        original(*bound.args, **bound.kwargs)

    build_main.Analysis.__init__ = with_excludes

target_arch = os.environ.get("PYINSTALLER_BUILD_TARGET_ARCH")
if target_arch:
    # A macOS sidecar for the other architecture (universal2 interpreter): what `--target-arch`
    # does for a generated spec, done for the user's spec. A spec that asks for another thin
    # architecture would build a binary that does not match its name.
    from PyInstaller.building import build_main

    original_exe = build_main.EXE.__init__

    def with_target_arch(*a, **kw):
        asked = kw.get("target_arch")
        if asked not in (None, target_arch, "universal2"):
            sys.exit(f"pyinstaller-build: the spec asks for EXE(target_arch={asked!r}), but TARGET needs {target_arch!r}")
        kw["target_arch"] = asked or target_arch
        original_exe(*a, **kw)

    build_main.EXE.__init__ = with_target_arch

launch_path = os.environ.get("PYINSTALLER_BUILD_LAUNCH")
if launch_path:
    # A onefile spec unchanged, built in its onedir form: the same Analysis and EXE arguments,
    # with `exclude_binaries` (which puts the binaries and datas in the EXE's dependencies) and
    # a COLLECT of them, as `pyi-makespec --onedir` writes it. A onedir spec is built as it is.
    from PyInstaller.building import build_main

    launch_made = {"exe": None, "collect": None}
    original_launch_exe = build_main.EXE.__init__
    original_launch_collect = build_main.COLLECT.__init__

    def launch_refuse(why):
        sys.exit("pyinstaller-build: this spec cannot be built as one extract-once sidecar: %s" % why)

    # What a onedir spec passes to COLLECT instead of EXE: `a.binaries` and `a.datas` (SYMLINK
    # entries included, which PKG would otherwise keep even with `exclude_binaries`, making the
    # program a onefile one).
    launch_collected = {"BINARY", "EXTENSION", "DATA", "ZIPFILE", "SYMLINK"}

    def launch_exe(self, *a, **kw):
        if launch_made["exe"] is not None:
            launch_refuse("it makes more than one EXE(...); a sidecar is one program (set `launch = \"onefile\"`)")
        onefile = not kw.get("exclude_binaries", False)
        collected = []
        if onefile:
            kw = dict(kw, exclude_binaries=True)
            kw.pop("runtime_tmpdir", None)  # where onefile unpacks: no meaning for onedir
            kept = []
            for arg in a:
                if isinstance(arg, (list, tuple)) and not isinstance(arg, build_main.PYZ):
                    collected.extend(e for e in arg if len(e) == 3 and e[2] in launch_collected)
                    arg = [e for e in arg if not (len(e) == 3 and e[2] in launch_collected)]
                kept.append(arg)
            a = kept
        original_launch_exe(self, *a, **kw)
        launch_made["exe"] = self
        if onefile:
            name = os.path.basename(kw.get("name") or self.name)
            if name.lower().endswith(".exe"):
                name = name[:-4]
            build_main.COLLECT(
                self,
                collected,
                strip=kw.get("strip", False),
                upx=kw.get("upx", False),
                upx_exclude=kw.get("upx_exclude", []),
                name=name,
            )

    def launch_collect(self, *a, **kw):
        if launch_made["collect"] is not None:
            launch_refuse("it makes more than one COLLECT(...)")
        exes = [x for x in a if isinstance(x, build_main.EXE)]
        if len(exes) != 1 or exes[0] is not launch_made["exe"]:
            launch_refuse("its COLLECT(...) does not hold exactly its one EXE(...)")
        # Entries the program's own archive would unpack at every start (the onefile way).
        unpacked = sorted(e[0] for e in exes[0].toc if len(e) == 3 and e[2] in ("SYMLINK", "DEPENDENCY"))
        if unpacked:
            launch_refuse("its EXE(...) itself carries files to unpack (%s); pass them to COLLECT(...)" % ", ".join(unpacked[:5]))
        original_launch_collect(self, *a, **kw)
        launch_made["collect"] = self
        with open(launch_path, "w") as f:
            # Whether COLLECT strips or UPX-compresses its binaries: its TOC file does not say, and
            # the fast path's snapshot must know (build-support/fastpath.py).
            made = {"folder": os.path.basename(self.name), "program": os.path.basename(exes[0].name)}
            # As COLLECT decided them: UPX only where it is available (`CONF['upx_available']`).
            strip, upx = bool(getattr(self, "strip_binaries", kw.get("strip"))), bool(getattr(self, "upx_binaries", kw.get("upx")))
            json.dump(dict(made, strip=strip, upx=upx), f)

    build_main.EXE.__init__ = launch_exe
    build_main.COLLECT.__init__ = launch_collect

if audit_path != "-":
    record_imports()

# Whether an Analysis was taken from PyInstaller's cache rather than run: then the spec's hooks
# did not run and nothing the analysis reads was read, and the crate keeps the last record's.
analyses = {"run": 0, "cached": 0}
if trace_path:
    from PyInstaller.building import build_main

    original_assemble, original_postinit = build_main.Analysis.assemble, build_main.Analysis.__postinit__

    def noting_assemble(self, *a, **kw):
        self._pyib_assembled = True
        return original_assemble(self, *a, **kw)

    def noting_postinit(self, *a, **kw):
        original_postinit(self, *a, **kw)
        analyses["run" if getattr(self, "_pyib_assembled", False) else "cached"] += 1

    build_main.Analysis.assemble = noting_assemble
    build_main.Analysis.__postinit__ = noting_postinit

try:
    from PyInstaller.isolated import _parent
except ImportError:  # a PyInstaller without isolated children
    _parent = None
if trace_path and _parent is not None:
    from pathlib import Path

    # Hooks that import a package do it in an isolated child: traced the same way.
    os.environ["PYINSTALLER_BUILD_TRACE_CHILD"] = str(_parent.CHILD_PY)
    _parent.CHILD_PY = Path(os.environ["PYINSTALLER_BUILD_TRACE_SCRIPT"])

from PyInstaller.__main__ import run  # noqa: E402

run(args)
if trace_path:
    trace.active = True  # what the crate's own bookkeeping reads below is no input

from PyInstaller.building.build_main import Analysis  # noqa: E402
from PyInstaller.utils.misc import load_py_data_struct  # noqa: E402

workpath = args[args.index("--workpath") + 1]
names = [g[0] for g in Analysis._GUTS]
sources = set()
data_sources = set()
for toc in glob.glob(os.path.join(workpath, "*", "Analysis-*.toc")):
    guts = dict(zip(names, load_py_data_struct(toc)))
    for key in ("scripts", "pure", "binaries", "datas", "zipfiles"):
        for entry in guts.get(key) or ():
            if len(entry) == 3 and isinstance(entry[1], str):
                sources.add(os.path.abspath(entry[1]))
                if key == "datas":
                    data_sources.add(os.path.abspath(entry[1]))
    for script in guts.get("inputs") or ():
        sources.add(os.path.abspath(script))
with open(records_path, "w") as f:
    json.dump(sorted(sources), f)

if trace_path:
    # Collected as data too (a module's source with `module_collection_mode` `py` or `pyz+py`).
    with open(trace_path, "w") as f:
        json.dump(trace.record({"data": sorted(data_sources), "cached_analysis": analyses["cached"] > 0}), f)

distpath = args[args.index("--distpath") + 1]
built = [os.path.join(distpath, n) for n in os.listdir(distpath)]
# A onefile binary, or in the launch modes the onedir folder with its program in it.
exe, folder = (built[0], None) if len(built) == 1 and os.path.isfile(built[0]) else (None, None)
if len(built) == 1 and os.path.isdir(built[0]) and launch_path and os.path.isfile(launch_path):
    with open(launch_path) as f:
        program = json.load(f)["program"]
    exe, folder = os.path.join(built[0], program), built[0]
if audit_path != "-" and exe is not None and os.path.isfile(exe):
    tocs = sorted(glob.glob(os.path.join(workpath, "*", "Analysis-00.toc")))
    guts = dict(zip(names, load_py_data_struct(tocs[0]))) if tocs else {}
    try:
        result = audit(exe, os.path.dirname(tocs[0]) if tocs else workpath, project_dir, guts, folder)
    except Exception as e:  # the audit is advice: it never fails a build
        result = {"error": "%s: %s" % (type(e).__name__, e)}
    with open(audit_path, "w") as f:
        json.dump(result, f)

if snapshot_dir != "-":
    snapshot(workpath, distpath, project_dir, snapshot_dir)
