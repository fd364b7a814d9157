"""The Python half of the fast path: what only the build's interpreter can do exactly.

Two uses, both inside the interpreter and PyInstaller that build the spec:

* `snapshot(...)`, called by the runner right after a stock build: lists the spec's project
  modules and the files the analysis used, and copies the bootloader, so the crate can later
  rewrite only what an edit changed (it copies the executable itself).
* `python -c <this file> --fastpath-derive <request.json> <out.json>`: compiles the given modules
  into their archive entries, with their analysis fingerprints.

An entry is produced by PyInstaller's own writer methods on an in-memory file. Deriving always
runs in a fresh process, never in the build's: a spec may patch PyInstaller in-process (a
compression level, say), and the crate's self-test must see what the fast path will produce.
"""
import ast
import hashlib
import io
import json
import os
import shutil
import sys

# Modules whose import makes PyInstaller read constant call arguments (ctypes library names,
# importlib.metadata / pkg_resources distribution names): their calls are part of the fingerprint.
CALL_SCANNED = ("ctypes", "importlib", "importlib_metadata", "pkg_resources")
_graph = None


def analysis_fingerprint(name, path, source, is_package):
    """What PyInstaller's Analysis derives from a module's contents, hashed.

    The imports with their flags (scanned by modulegraph's own AST visitor), the global names
    (its bytecode scan decides `from pkg import x` submodule imports with them) and, for modules
    importing ctypes or metadata APIs, every constant-argument call. Returns (fingerprint, code).
    """
    global _graph
    from PyInstaller.lib.modulegraph import modulegraph as mg

    if _graph is None:
        _graph = mg.ModuleGraph(path=[])
    node = (mg.Package if is_package else mg.SourceModule)(name, path)
    # Exactly modulegraph's `_load_module` + `_safe_import_module`.
    co_ast = compile(source, path, "exec", ast.PyCF_ONLY_AST, True)
    co = compile(co_ast, path, "exec", 0, True)
    _graph._scan_code(node, co, co_ast)
    imports = []
    for star, (target, _, fromlist, level), kw in node._deferred_imports:
        edge = kw.get("edge_attr")
        flags = (edge.conditional, edge.tryexcept, edge.function, edge.fromlist) if edge else None
        imports.append((star, target, fromlist, level, flags))
    names = {target for _, target, _, _, _ in imports} | {f for i in imports for f in (i[2] or ())}
    calls = None
    if any((n or "").split(".")[0] in CALL_SCANNED for n in names):
        from PyInstaller.depend import bytecode

        calls = sorted(repr(v) for v in bytecode.recursive_function_calls(co).values())
    digest = repr((imports, sorted(node._global_attr_names), calls)).encode()
    return hashlib.sha256(digest).hexdigest(), co


def derive(module):
    """A module's archive entry and fingerprint: {fingerprint, blob (hex), length} or {error}."""
    from PyInstaller.archive.writers import CArchiveWriter, ZlibArchiveWriter

    path, kind, name = module["path"], module["kind"], module["name"]
    try:
        with open(path, "rb") as f:
            source = f.read()
        is_package = os.path.splitext(os.path.basename(path))[0] == "__init__"
        fingerprint, co = analysis_fingerprint(name, path, source, is_package)
    except SyntaxError as e:
        return {"error": "%s does not compile: %s" % (os.path.basename(path), e.msg)}
    out = io.BytesIO()
    if kind == "pyz":
        # `co` stays alive while marshalled, as in PyInstaller's code cache: refcounts decide
        # marshal's back-references, hence the bytes.
        ZlibArchiveWriter._write_entry(out, (name, path, "PYMODULE"), {name: co})
        length = None
    else:
        writer = CArchiveWriter.__new__(CArchiveWriter)
        writer._collected_names = set()
        entry = writer._write_entry(out, (name, path, module["compress"], "s"))
        length = entry[2]
    return {"fingerprint": fingerprint, "blob": out.getvalue().hex(), "length": length}


def hooked(name, hook_dirs):
    """Whether a hook targets this module or a package above it: a hook may read its sources."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        base = "hook-%s.py" % ".".join(parts[:i])
        for d in hook_dirs:
            for sub in ("", "pre_safe_import_module", "pre_find_module_path"):
                if os.path.isfile(os.path.join(d, sub, base)):
                    return True
    return False


def snapshot(workpath, distpath, project_dir, out_dir):
    """Records what the fast path needs after a stock build, or why it cannot apply."""
    os.makedirs(out_dir, exist_ok=True)
    result = {"disabled": None, "modules": [], "others": []}
    try:
        result["disabled"] = _snapshot(workpath, distpath, os.path.realpath(project_dir), out_dir, result)
    except Exception as e:  # the fast path is an optimisation: it never fails a build
        result["disabled"] = "the snapshot failed: %s: %s" % (type(e).__name__, e)
    with open(os.path.join(out_dir, "snapshot.json"), "w") as f:
        json.dump(result, f)


def _snapshot(workpath, distpath, project, out_dir, result):
    import glob

    import PyInstaller
    from PyInstaller.archive.readers import CArchiveReader
    from PyInstaller.building.api import EXE, PKG
    from PyInstaller.building.build_main import Analysis
    from PyInstaller.utils.misc import load_py_data_struct

    if not sys.platform.startswith("linux"):
        return "only Linux executables are rewritten so far"
    specs = glob.glob(os.path.join(workpath, "*", ""))
    if len(specs) != 1:
        return "the work folder holds %d spec folders" % len(specs)
    work = specs[0]
    tocs = {t: glob.glob(os.path.join(work, t + "-*.toc")) for t in ("Analysis", "PYZ", "PKG", "EXE", "COLLECT")}
    if [len(tocs[t]) for t in ("Analysis", "PYZ", "PKG", "EXE", "COLLECT")] != [1, 1, 1, 1, 0]:
        return "the spec is not a single onefile Analysis/PYZ/EXE"
    load = lambda cls, toc: dict(zip([g[0] for g in cls._GUTS], load_py_data_struct(toc)))  # noqa: E731
    a, pkg, exe = load(Analysis, tocs["Analysis"][0]), load(PKG, tocs["PKG"][0]), load(EXE, tocs["EXE"][0])
    if a.get("noarchive") or not exe.get("append_pkg", True) or exe.get("exclude_binaries"):
        return "the spec uses noarchive, a side-loaded PKG or excluded binaries"
    if exe.get("strip") or exe.get("upx"):
        return "the spec strips or UPX-compresses binaries"
    built = os.listdir(distpath)
    if len(built) != 1:
        return "dist holds %d entries" % len(built)
    pkg_path = os.path.join(work, os.path.basename(pkg["name"]))
    bootloader = exe["exefiles"][0][1]
    shutil.copyfile(bootloader, os.path.join(out_dir, "bootloader"))
    entries = CArchiveReader(pkg_path).toc

    def ours(path):
        return isinstance(path, str) and os.path.realpath(path).startswith(project + os.sep)

    hook_dirs = [os.path.join(os.path.dirname(PyInstaller.__file__), "hooks")]
    hook_dirs += [h[0] if isinstance(h, (tuple, list)) else h for h in a.get("hookspath") or ()]
    outside = {e[0] for e in a.get("_modules_outside_pyz") or ()}
    modules = []
    for name, path, typecode in a.get("pure") or ():
        if ours(path) and name not in outside:
            if typecode != "PYMODULE":
                return "%s is compiled with optimization (%s)" % (name, typecode)
            modules.append({"path": path, "kind": "pyz", "name": name})
    for name, path, typecode in a.get("scripts") or ():
        if ours(path):
            if typecode != "PYSOURCE" or name not in entries:
                return "entry script %s is optimized or not in the PKG" % name
            modules.append({"path": path, "kind": "script", "name": name, "compress": bool(entries[name][3])})
    for m in modules:
        m["hooked"] = hooked(m["name"], hook_dirs) if m["kind"] == "pyz" else False
        m["path"] = os.path.relpath(os.path.realpath(m["path"]), project)
    result["modules"] = modules
    used = set()
    for key in ("scripts", "pure", "binaries", "datas", "zipfiles", "_modules_outside_pyz"):
        for entry in a.get(key) or ():
            if len(entry) == 3 and isinstance(entry[1], str) and os.path.isfile(entry[1]) and not ours(entry[1]):
                used.add(os.path.abspath(entry[1]))
    for path in sorted(used):
        st = os.stat(path)
        result["others"].append([path, st.st_size, st.st_mtime_ns])
    return None


if len(sys.argv) == 4 and sys.argv[1] == "--fastpath-derive":
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    with open(sys.argv[2]) as f:
        request = json.load(f)
    with open(sys.argv[3], "w") as f:
        json.dump([derive(m) for m in request], f)
