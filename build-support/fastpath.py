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
import re
import shutil
import sys

# Modules whose importers PyInstaller itself scans for constant call arguments (ctypes library
# names, distribution names): `get_code_using` in building/build_main.py and depend/analysis.py.
# Hooks add more; the snapshot finds those in the hooks that can run.
PYINSTALLER_SCANS = ("ctypes", "importlib.metadata", "importlib_metadata", "pkg_resources")
_graph = None


def analysis(name, path, source, is_package):
    """What PyInstaller's Analysis derives from a module's contents: (record, code).

    The record holds the imports in order with their flags (from modulegraph's own scanner), the
    global names (read for `from package import name`) and a digest of what PyInstaller's code
    scanners read of the module (constant-argument calls, ctypes attribute loads), compared only
    for modules whose importers are scanned.
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
        flags = [edge.conditional, edge.tryexcept, edge.function, edge.fromlist] if edge else None
        imports.append([bool(star), target, list(fromlist or ()), level, flags])
    return {"imports": imports, "names": sorted(node._global_attr_names), "calls": scanned_digest(co)}, co


def scanned_digest(co):
    from PyInstaller.depend import bytecode

    calls = sorted(repr(v) for v in bytecode.recursive_function_calls(co).values())
    try:
        from PyInstaller.depend import utils

        getattrs = sorted(repr(v) for v in bytecode.search_recursively(utils._scan_code_for_ctypes_getattr, co).values())
    except AttributeError:  # another PyInstaller: then every change of a scanned module differs
        import marshal

        getattrs = [marshal.dumps(co).hex()]
    return hashlib.sha256(repr((calls, getattrs)).encode()).hexdigest()


def fingerprint(record):
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def derive(module, graph=None, batch=None):
    """A module's archive entry and analysis: {fingerprint, analysis, blob (hex), length, refused}
    or {error}. With the last build's analysis (`old`) and graph, `refused` says why the change
    of analysis could reach other bytes of the archive, or is None when it provably cannot."""
    from PyInstaller.archive.writers import CArchiveWriter, ZlibArchiveWriter

    path, kind, name = module["path"], module["kind"], module["name"]
    try:
        with open(path, "rb") as f:
            source = f.read()
        is_package = os.path.splitext(os.path.basename(path))[0] == "__init__"
        record, co = analysis(name, path, source, is_package)
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
    result = {"fingerprint": fingerprint(record), "analysis": record, "blob": out.getvalue().hex(), "length": length}
    old = module.get("old")
    if old is not None and fingerprint(old) != result["fingerprint"]:
        result["refused"] = verdict(module, is_package, old, record, graph, batch or {})
    return result


# Node types that are a module PyInstaller found (as opposed to missing, excluded, aliased or
# added by a hook at run time).
FOUND = {"SourceModule", "Package", "NamespacePackage", "BuiltinModule", "Extension", "ExtensionPackage", "CompiledModule"}


def verdict(module, is_package, old, new, graph, batch):
    """Why a stock build of the new analysis could differ from the last one anywhere but in this
    module's own entry, or None when it provably cannot.

    PyInstaller's output depends on the import graph only through which nodes exist and the
    order of its depth-first walks (runtime-hook order, base-library order, first-wins among
    equal destination names), plus the code scanners of `get_code_using`. A changed import of
    module M leaves both alone when each target already existed (a submodule: fully imported)
    before M was created, so the construction of the graph is unchanged but for M's own edges,
    and the walks, replayed with M's new edges, keep every order that reaches the archive.
    """
    info, path = module.get("info") or {}, os.path.basename(module["path"])
    if new["calls"] != old["calls"] and info.get("scanned"):
        return "%s's constant calls changed, and %s" % (path, info["scanned"])
    if new["names"] != old["names"] and module["kind"] == "pyz":
        if info.get("names_unknown"):
            return "%s's global names changed, and %s" % (path, info["names_unknown"])
        for name in sorted(set(new["names"]) ^ set(old["names"])):
            missing = (info.get("watched") or {}).get(name)
            if missing:
                return "%s's global name %s changed, and the last build has a missing module %s" % (path, name, missing)
    if new["imports"] == old["imports"]:
        return None
    if module["kind"] != "pyz":
        return "the entry script's imports changed (they decide the order of the base library)"
    if [i[:4] for i in new["imports"]] == [i[:4] for i in old["imports"]]:
        return None  # only their flags changed, which reach the warn file alone
    if any(i[0] for i in new["imports"] + old["imports"]) and [i for i in new["imports"] if i[0]] != [
        i for i in old["imports"] if i[0]
    ]:
        return "%s's star imports changed" % path
    g = graph()
    if g is None:
        return "the last build recorded no import graph"
    name = module["name"]
    me = g["nodes"].get(name)
    if me is None or me["done"] is None:
        return "%s is not a module of the last build's import graph" % name
    before, why = targets(name, is_package, old, g, batch)
    if why:
        return "%s's imports changed and the old ones could not be resolved (%s)" % (path, why)
    after, why = targets(name, is_package, new, g, batch)
    if why:
        return why
    if after == before:
        return None
    # M's own edges are those made while it was imported, its parent's last; later ones (a hook's,
    # a package's to its submodules) stay as they are.
    parent = name.rpartition(".")[0]
    own = [t for e, t in g["out"][name] if e < me["done"]]
    later = [[e, t] for e, t in g["out"][name] if e >= me["done"]]
    if own != before + ([parent] if parent and parent not in before else []):
        return "%s's imports changed, and its edges in the last build's graph are not the ones modelled" % path
    changed = set(before) ^ set(after)
    if [t for t in before if t in after] != [t for t in after if t in before]:
        changed = set(before) | set(after)
    for t in sorted(changed):
        if t in g["scanned"]:
            return "%s's imports of %s changed, and %s" % (path, t, g["scanned"][t])
        # A top-level module that exists is only linked to; a submodule (and each package on the
        # way to it) must also be linked to its package already, or the import would add that
        # edge at another point of the graph.
        parts = t.split(".")
        for i in range(1, len(parts) + 1):
            node = g["nodes"][".".join(parts[:i])]
            if i > 1:
                ready = node["done"] is not None and node["done"] <= me["born"]
            else:
                ready = node["seq"] is not None and node["seq"] < me["seq"]
            if not ready:
                return "%s's imports of %s changed, and the last build imported %s only after %s" % (
                    path,
                    t,
                    ".".join(parts[:i]),
                    name,
                )
    edges = dict(g["out"])
    edges[name] = [[-1, t] for t in after + ([parent] if parent and parent not in after else [])] + later
    for walk_name, clock in (("w1", g["w1_clock"]), ("w2", None)):
        old_walk, new_walk = replay(g["out"], g["top"], clock), replay(edges, g["top"], clock)
        if set(old_walk) != set(new_walk):
            return "%s's imports changed which modules PyInstaller collects" % path
        for what, idents in g["matter"][walk_name].items():
            keep = set(idents)
            if [n for n in old_walk if n in keep] != [n for n in new_walk if n in keep]:
                return "%s's imports changed the order of %s" % (path, what)
    return None


def replay(out, top, clock):
    """PyInstaller's walk (`iter_graph` from the entry script) of the recorded graph, as it was
    when the edge clock read `clock` (or in the end): the identifiers in walk order."""
    visited, stack, order = {top}, [top], []
    while stack:
        current = stack.pop()
        order.append(current)
        for e, tail in out.get(current, ()):
            if (clock is None or e < clock) and tail not in visited:
                visited.add(tail)
                stack.append(tail)
    return order


def targets(name, is_package, record, g, batch):
    """The graph nodes the module's imports make edges to, in order, as modulegraph resolves
    them against the last build's graph; or why they cannot be resolved without new nodes."""
    nodes, out = g["nodes"], []

    def found(ident):
        n = nodes.get(ident)
        return n is not None and n["type"] in FOUND

    for star, target, fromlist, level, _ in record["imports"]:
        if level and level > 0:
            base = name if is_package else name.rpartition(".")[0]
            for _ in range(level - 1):
                base = base.rpartition(".")[0]
            if not base:
                return None, "%s has a relative import beyond its top package" % name
            absolute = base + "." + target if target else base
        else:
            absolute = target
        parts = absolute.split(".")
        for i in range(1, len(parts) + 1):
            part = ".".join(parts[:i])
            if part in nodes and not found(part):
                return None, "%s imports %s, a %s in the last build's graph" % (name, part, nodes[part]["type"])
            if not found(part):
                return None, "%s imports %s, which the last build did not bundle" % (name, part)
        hit = [absolute]
        package = g["packages"].get(absolute)
        if fromlist and package is not None:
            for attr in fromlist:
                if attr == "*":
                    continue
                sub = absolute + "." + attr
                if attr in package["subs"]:
                    hit.append(sub)
                    continue
                names = batch.get(absolute)
                if names is not None and (attr in names) != (attr in package["names"]):
                    return None, "%s imports %s from %s, whose global names changed too" % (name, attr, absolute)
                if attr not in package["names"]:
                    return None, "%s imports %s, which the last build did not bundle" % (name, sub)
                if sub in g["prehooks"]:
                    return None, "%s imports %s from %s, and a pre-import hook is named for %s" % (name, attr, absolute, sub)
        for t in hit:
            if t not in out:
                out.append(t)
    return out, None


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


# The import graph of this process's Analysis, recorded while PyInstaller builds it.
_captured = []


def capture():
    """Records, while PyInstaller runs in this process, what the graph's construction and walks
    were: when each node was created and fully imported (on the clock of edge ids, which fix each
    node's edge order), and each node's push and pop in the walk that picks the runtime hooks and
    in the final one. Recording only: nothing PyInstaller does is changed."""
    from PyInstaller.depend.analysis import PyiModuleGraph
    from altgraph.Graph import Graph

    add_node = Graph.add_node

    def recording_add_node(self, node, node_data=None):
        born = self.__dict__.setdefault("_pyib_born", {})
        if node not in born and node not in self.nodes and node not in self.hidden_nodes:
            born[node] = (self.next_edge, len(born))
        return add_node(self, node, node_data)

    Graph.add_node = recording_add_node
    safe_import = PyiModuleGraph._safe_import_module

    def recording_safe_import(self, *args, **kwargs):
        module = safe_import(self, *args, **kwargs)
        if module is not None:
            self.graph.__dict__.setdefault("_pyib_done", {}).setdefault(module.graphident, self.graph.next_edge)
        return module

    PyiModuleGraph._safe_import_module = recording_safe_import
    runtime_hooks = PyiModuleGraph.analyze_runtime_hooks

    def recording_runtime_hooks(self, *args, **kwargs):
        self._pyib_w1 = (walk(self), self.graph.next_edge)
        return runtime_hooks(self, *args, **kwargs)

    PyiModuleGraph.analyze_runtime_hooks = recording_runtime_hooks
    pure_toc = PyiModuleGraph.make_pure_toc

    def recording_pure_toc(self, *args, **kwargs):
        if hasattr(self, "_pyib_w1"):
            _captured.append((self, self._pyib_w1, walk(self)))
        return pure_toc(self, *args, **kwargs)

    PyiModuleGraph.make_pure_toc = recording_pure_toc


def walk(graph):
    """The nodes in PyInstaller's own walk order (`iter_graph` from the entry script)."""
    return [n.graphident for n in graph.iter_graph(start=graph._top_script_node)]


GRAPH_API = re.compile(r"\b(module_graph|analysis|iter_graph|get_code_using|graph|get_importers)\b|\.imports\b|\.node\b")


def hooks_that_can_run(graph):
    """{module name: [hook files]} for every hook of a module in the graph, of every kind, in every
    hook folder PyInstaller searched (its own, the entry points' such as pyinstaller-hooks-contrib,
    the spec's hookspath)."""
    found = {}
    for folder, _ in graph._user_hook_dirs:
        for sub in ("", "pre_safe_import_module", "pre_find_module_path"):
            d = os.path.join(folder, sub)
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for f in names:
                if f.startswith("hook-") and f.endswith(".py"):
                    found.setdefault(f[5:-3], []).append(os.path.join(d, f))
    return found


def scanned_targets(path, text):
    """The modules whose importers' code this hook reads through `get_code_using`."""
    targets = []
    for call in ast.walk(ast.parse(text, path)):
        if not isinstance(call, ast.Call):
            continue
        f = call.func
        if (f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)) != "get_code_using":
            continue
        if len(call.args) != 1 or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[0].value, str):
            raise ValueError("%s calls get_code_using with a computed module name" % path)
        targets.append(call.args[0].value)
    return targets


def record_graph(graph, w1, w1_clock, w2, project_modules):
    """What the fast path needs of the graph (graph.json), and for each project module (by graph
    identifier: a module's name, a script's path) what it must refuse: {refuse, scanned,
    names_unknown}."""
    import PyInstaller

    g = graph.graph
    born, done = g.__dict__.get("_pyib_born", {}), g.__dict__.get("_pyib_done", {})
    nodes, packages = {}, {}
    for ident in g.nodes:
        node = g.node_data(ident)
        if not isinstance(ident, str):  # the ObjectGraph's own root
            continue
        kind = type(node).__name__
        clock, seq = born.get(ident, (None, None))
        nodes[ident] = {
            "type": kind,
            # The edge clock when the node was created, and its rank among the nodes.
            "born": clock,
            "seq": seq,
            # The edge clock once it was imported (a missing or excluded node: when created).
            "done": done.get(ident, clock if kind in ("MissingModule", "ExcludedModule") else None),
        }
        if isinstance(getattr(node, "_global_attr_names", None), set) and kind in ("Package", "NamespacePackage", "ExtensionPackage"):
            packages[ident] = {"names": sorted(node._global_attr_names), "subs": sorted(node._submodule_basename_to_node)}
    ours = set(project_modules)
    own = os.path.join(os.path.dirname(PyInstaller.__file__), "hooks") + os.sep
    scanned = {t: "PyInstaller scans the code of its importers" for t in PYINSTALLER_SCANS}
    whole = {}  # scanned target -> why any change of an importer refuses
    walkers, prehooks = [], set()
    for name, files in hooks_that_can_run(graph).items():
        if name not in nodes:
            continue
        for f in files:
            if os.path.basename(os.path.dirname(f)).startswith("pre_"):
                prehooks.add(name)
            with open(f, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            for t in scanned_targets(f, text) if "get_code_using" in text else ():
                why = "a hook scans the code of %s's importers (%s)" % (t, f)
                scanned[t] = why
                # PyInstaller's own hooks read constant calls (matplotlib.use); others may read anything.
                if not f.startswith(own):
                    whole[t] = why
            # Reading importers through get_code_using is judged above; any other use of the graph
            # (walking it from the hooked module, say) may read whatever it reaches.
            if GRAPH_API.search(re.sub(r"[\w.]*get_code_using", "", text)):
                walkers.append((name, f))
    info = {m: {} for m in project_modules}
    for name, f in walkers:
        for ident in walk_from(g, name):
            if ident in info and "refuse" not in info[ident]:
                info[ident]["refuse"] = "a hook of %s reads the import graph, which reaches %s (%s)" % (name, ident, f)
    for m in project_modules:
        heads = [h for h in (g.head(e) for e in g.inc_edges(m)) if isinstance(h, str)] if m in g.nodes else []
        tails = [g.tail(e) for e in g.out_edges(m)] if m in g.nodes else []
        for t in tails:
            if t in whole and "refuse" not in info[m]:
                info[m]["refuse"] = "%s imports %s, and %s" % (m, t, whole[t])
            elif t in scanned:
                info[m]["scanned"] = "%s imports %s, and %s" % (m, t, scanned[t])
        # A package's edges to its submodules come from `from package import submodule`.
        strangers = sorted(h for h in heads if h not in ours and not h.startswith(m + ".") and not m.startswith(h + "."))
        if strangers:
            info[m]["names_unknown"] = "%s imports it (it may star-import its names)" % strangers[0]
    out = {i: [[e, g.tail(e)] for e in g.out_edges(i)] for i in g.nodes if isinstance(i, str)}
    # Where walk order reaches the archive: which runtime hooks run first, the base library's
    # member order, and first-wins among collected files (hooks' files; extension modules, whose
    # order is the order their shared-library dependencies are found in). The packages' order,
    # which PyInstaller imports them in to find binary dependencies, matters on Windows only.
    rthooks = [i for i in nodes if i in graph._available_rthooks]
    files = [i for i in nodes if i in graph._additional_files_cache]
    matter = {
        "w1": {"the runtime hooks": rthooks, "the files hooks collect": files},
        "w2": {
            "the base library": [n.graphident for n in graph._base_modules],
            "the extension modules": [i for i, n in nodes.items() if n["type"] in ("Extension", "ExtensionPackage")],
            "the files hooks collect": files,
        },
    }
    top = graph._top_script_node.graphident
    # The replay must be PyInstaller's walk, then and in the end, or nothing can be judged by it.
    if replay(out, top, w1_clock) != w1 or replay(out, top, None) != w2:
        raise RuntimeError("the import graph's walks could not be replayed")
    record = {"nodes": nodes, "packages": packages, "scanned": scanned, "prehooks": sorted(prehooks)}
    record.update(out=out, top=top, w1_clock=w1_clock, matter=matter)
    return record, info


def walk_from(g, start):
    seen, stack = {start}, [start]
    while stack:
        for edge in g.out_edges(stack.pop()):
            tail = g.tail(edge)
            if tail not in seen:
                seen.add(tail)
                stack.append(tail)
    return seen


def watched_names(project, records, packages, nodes):
    """For each project module, the names whose change could turn a missing `P.name` of the last
    build into an ignored global or back: the packages its names reach (itself if a package, and
    transitively each project package that star-imports it) and their missing submodules."""
    star_importers = {}
    for name, (is_package, record) in records.items():
        for star, target, _, level, _ in record["imports"]:
            if not star:
                continue
            if level and level > 0:
                base = name if is_package else name.rpartition(".")[0]
                for _ in range(level - 1):
                    base = base.rpartition(".")[0]
                target = base + "." + target if target else base
            star_importers.setdefault(target, set()).add(name)
    watched = {}
    for name in records:
        reach, todo = {name}, [name]
        while todo:
            for importer in star_importers.get(todo.pop(), ()):
                if importer not in reach:
                    reach.add(importer)
                    todo.append(importer)
        w = {}
        for p in sorted(reach):
            if p in packages:
                prefix = p + "."
                for ident, n in nodes.items():
                    if n["type"] == "MissingModule" and ident.startswith(prefix) and "." not in ident[len(prefix) :]:
                        w.setdefault(ident[len(prefix) :], ident)
        watched[name] = w
    return watched


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

    def real(path):
        # PyInstaller writes `-` (or None) for a namespace package: it has no file, and its PYZ
        # entry is an empty marker that no edit can change. Never resolve it against the cwd.
        return isinstance(path, str) and path not in ("-", "")

    # The crate's own folders and cargo's target folders may lie in python-dir: the managed
    # environment's modules there are not the project's.
    outputs = os.environ.get("PYINSTALLER_BUILD_NOT_PROJECT", "").split(os.pathsep)
    not_project = tuple(os.path.join(os.path.realpath(p), "") for p in outputs if p)

    def ours(path):
        if not real(path):
            return False
        path = os.path.realpath(path)
        return path.startswith(project + os.sep) and not path.startswith(not_project)

    if len(_captured) != 1:
        if not _captured:
            return "PyInstaller reused its cached analysis, so the import graph was not recorded"
        return "the spec runs %d analyses" % len(_captured)
    graph, (w1, w1_clock), w2 = _captured[0]
    hook_dirs = [d for d, _ in graph._user_hook_dirs]
    outside = {e[0] for e in a.get("_modules_outside_pyz") or ()}
    modules = []
    for name, path, typecode in a.get("pure") or ():
        if ours(path) and name not in outside:
            if typecode != "PYMODULE":
                return "%s is compiled with optimization (%s)" % (name, typecode)
            if not path.endswith(".py"):
                # Collected from a .pyc alone: it is not recompiled, so any change to it refuses.
                continue
            modules.append({"path": path, "kind": "pyz", "name": name})
    for name, path, typecode in a.get("scripts") or ():
        if ours(path):
            if typecode != "PYSOURCE" or name not in entries:
                return "entry script %s is optimized or not in the PKG" % name
            modules.append({"path": path, "kind": "script", "name": name, "compress": bool(entries[name][3])})
    pyz = [m for m in modules if m["kind"] == "pyz"]
    # A script's node is named by its path; PyInstaller scans its code like a module's.
    ident = {id(m): m["name"] if m["kind"] == "pyz" else os.path.realpath(m["path"]) for m in modules}
    record, info = record_graph(graph, w1, w1_clock, w2, [ident[id(m)] for m in modules])
    records = {}
    for m in pyz:
        with open(m["path"], "rb") as f:
            is_package = os.path.splitext(os.path.basename(m["path"]))[0] == "__init__"
            records[m["name"]] = (is_package, analysis(m["name"], m["path"], f.read(), is_package)[0])
    watched = watched_names(project, records, record["packages"], record["nodes"])
    for m in modules:
        m["hooked"] = hooked(m["name"], hook_dirs) if m["kind"] == "pyz" else False
        m["path"] = os.path.relpath(os.path.realpath(m["path"]), project)
        i = info.get(ident[id(m)], {})
        m["refuse"] = i.pop("refuse", None)
        m["info"] = dict(i, watched=watched.get(m["name"], {}))
    with open(os.path.join(out_dir, "graph.json"), "w") as f:
        json.dump(record, f)
    result["modules"] = modules
    used = set()
    for key in ("scripts", "pure", "binaries", "datas", "zipfiles", "_modules_outside_pyz"):
        for entry in a.get(key) or ():
            if len(entry) == 3 and real(entry[1]) and os.path.isfile(entry[1]) and not ours(entry[1]):
                used.add(os.path.abspath(entry[1]))
    for path in sorted(used):
        st = os.stat(path)
        result["others"].append([path, st.st_size, st.st_mtime_ns])
    return None


def derive_all(request):
    """The request's modules derived; the last build's graph is read only if an analysis changed."""
    loaded = []

    def graph():
        if not loaded:
            try:
                with open(request["graph"]) as f:
                    loaded.append(json.load(f))
            except (OSError, ValueError):
                loaded.append(None)
        return loaded[0]

    # The new global names of every package in this batch: a `from P import x` resolves against them.
    batch = {}
    for m in request["modules"]:
        if m["kind"] == "pyz" and os.path.basename(m["path"]) == "__init__.py":
            try:
                with open(m["path"], "rb") as f:
                    batch[m["name"]] = set(analysis(m["name"], m["path"], f.read(), True)[0]["names"])
            except SyntaxError:
                pass
    return [derive(m, graph, batch) for m in request["modules"]]


if len(sys.argv) == 4 and sys.argv[1] == "--fastpath-derive":
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    with open(sys.argv[2]) as f:
        request = json.load(f)
    with open(sys.argv[3], "w") as f:
        json.dump(derive_all(request), f)
else:
    # Inserted into the PyInstaller runner, which snapshots the build: record its graph. Never
    # in the way of the build: without a record the snapshot says why the fast path is off.
    try:
        capture()
    except Exception:
        pass
