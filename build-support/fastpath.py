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

Marshal's bytes also depend on the process that marshals: whether a one-character string (or "")
is interned, which the process's history decides (see `interned`). PyInstaller's writers are
watched while they write the project's entries (`watch_writers`), and the helper marshals in that
same state or refuses.
"""
import ast
import hashlib
import io
import json
import marshal
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
    # `repr`, not `json.dumps`: json's C encoder interns "[", "]", "{" and "}" the first time it
    # runs, which would change how every later module is marshalled (see `interned`).
    return hashlib.sha256(repr(sorted(record.items())).encode()).hexdigest()


# Marshal writes a string as interned (type code `Z`, or `t` when not ASCII) or not (`z`, `u`)
# according to the object's own interned flag, which only `sys.intern` and its C equivalents set.
# A string constant of a freshly compiled module is a fresh object, never interned, unless the
# compiler interns it (it interns those made of identifier characters, which both processes
# compile alike) or it is a process-wide singleton: "" and the 256 one-character Latin-1 strings.
# Up to CPython 3.12 a singleton's flag is process history (3.13 interns them all at start-up):
# json's C encoder interns the brackets (up to 3.11), loading a .pyc that marshalled one as
# interned interns it, so does compiling a module that holds one as a constant the compiler
# interns ("7"). Interning is never undone for a singleton (the cache keeps it alive), so a
# process's set only grows.
SINGLETONS = [chr(i) for i in range(256)] + [""]


def interned():
    """Which singletons this process has interned, as a bit set (bit i: `SINGLETONS[i]`).

    Read through marshal itself, which only reads the flag: `sys.intern(s) is s` would intern."""
    bits = 0
    for i, s in enumerate(SINGLETONS):
        if marshal.dumps(s)[0] & 0x7F in (0x5A, 0x74):  # TYPE_SHORT_ASCII_INTERNED, TYPE_INTERNED
            bits |= 1 << i
    return bits


def describe(bits):
    return ", ".join(repr(SINGLETONS[i]) for i in range(len(SINGLETONS)) if bits >> i & 1)


def process_facts():
    """What else of this process marshal and PyInstaller's writers depend on: the interpreter
    (marshal's format), the optimization level (`optimize=-1` compiles follow it) and the string
    hash seed (a frozenset constant is marshalled in its iteration order)."""
    return {
        "python": sys.version,
        "marshal": marshal.version,
        "optimize": sys.flags.optimize,
        "hash": repr(hash("pyinstaller-build")),
    }


# For the archive being written: {entry name: [[interned before its write, after, strip paths], ...]}.
_writing = []


def strip_paths():
    """What PyInstaller before 6.16 removes from the front of a code object's `co_filename` before
    it marshals a module or script: the longest of these folders that prefixes it
    (`strip_paths_in_code` in building/utils.py reads `sys.path + CONF['pathex']` of the
    process that writes). Analysis puts the entry script's top-level folder in `pathex`, so
    `<python-dir>/pyserver/main.py` is written as `main.py`: a fresh interpreter, with neither
    that folder nor the spec's `pathex` on its path, keeps the absolute path. From 6.16
    (pyinstaller#9226) the writers name an entry from its archive name instead
    (`replace_filename_in_code_object`), and nothing reads these."""
    from PyInstaller.config import CONF

    return list(sys.path) + list(CONF.get("pathex") or ())


class _StrippedAs:
    """Within: `strip_paths_in_code` sees the paths PyInstaller's process had when it wrote."""

    def __init__(self, paths):
        from PyInstaller.config import CONF

        self.conf, self.paths = CONF, paths

    def __enter__(self):
        self.saved = sys.path[:], self.conf.get("pathex")
        sys.path[:], self.conf["pathex"] = self.paths, []

    def __exit__(self, *exc):
        sys.path[:], self.conf["pathex"] = self.saved


def watch_writers(project):
    """Records, for each project entry PyInstaller's writers marshal, the interning state it was
    marshalled in, into `<archive>.interned` beside the archive (a PYZ that PyInstaller reuses
    from its cache keeps the record of the run that wrote it). Recording only: it reads flags,
    and writes its record with `repr`, never json's C encoder (which would intern)."""
    from PyInstaller.archive import writers

    def ours(path):
        return isinstance(path, str) and path not in ("-", "") and os.path.realpath(path).startswith(project + os.sep)

    def watch(cls, wanted):
        entry_method = cls.__dict__["_write_entry"]
        classmethod_ = isinstance(entry_method, classmethod)
        write_entry = entry_method.__func__ if classmethod_ else entry_method

        def recording_entry(owner, fp, entry, *args):
            if not _writing or not wanted(entry):
                return write_entry(owner, fp, entry, *args)
            before, paths = interned(), strip_paths()
            result = write_entry(owner, fp, entry, *args)
            _writing[-1].setdefault(entry[0], []).append([before, interned(), paths])
            return result

        cls._write_entry = classmethod(recording_entry) if classmethod_ else recording_entry
        init = cls.__init__

        def recording_init(self, filename, *args, **kwargs):
            _writing.append({})
            try:
                init(self, filename, *args, **kwargs)
            finally:
                entries = _writing.pop()
            st = os.stat(filename)
            with open(filename + ".interned", "w") as f:
                f.write(repr({"archive": [st.st_size, st.st_mtime_ns], "process": process_facts(), "entries": entries}))

        cls.__init__ = recording_init

    watch(writers.ZlibArchiveWriter, lambda e: ours(e[1]))
    watch(writers.CArchiveWriter, lambda e: e[3] in ("s", "s1", "s2") and ours(e[1]))


def written(archive):
    """The interning record of an archive PyInstaller wrote, or None if it has none or the
    archive changed since it was made."""
    try:
        with open(archive + ".interned") as f:
            record = ast.literal_eval(f.read())
        st = os.stat(archive)
    except (OSError, ValueError, SyntaxError):
        return None
    return record if record["archive"] == [st.st_size, st.st_mtime_ns] else None


def entry_states(modules, pyz_path, pkg_path):
    """Sets each project module's `interned` (its entry's state when PyInstaller marshalled it)
    and returns the process facts, or why the fast path cannot reproduce the writes."""
    records = {}
    for kind, path in (("pyz", pyz_path), ("script", pkg_path)):
        records[kind] = written(path)
        if records[kind] is None:
            return None, "no record of the interning state %s was written in" % os.path.basename(path)
    if records["pyz"]["process"] != records["script"]["process"]:
        return None, "the PYZ and the PKG were written by different interpreters or settings"
    facts = records["pyz"]["process"]
    if facts["optimize"] != 0:
        return None, "PyInstaller ran with optimization level %d (-O or PYTHONOPTIMIZE)" % facts["optimize"]
    for m in modules:
        states = records[m["kind"]]["entries"].get(m["name"])
        if not states:
            return None, "PyInstaller's writers did not record %s" % m["name"]
        if any(s != states[0] for s in states) or states[0][0] != states[0][1]:
            return None, "the interning state changed while PyInstaller wrote %s" % m["name"]
        if len(states[0]) < 3:
            return None, "no record of the folders PyInstaller strips from %s's file name" % m["name"]
        paths = facts.setdefault("strip_paths", {}).setdefault(m["kind"], states[0][2])
        if paths != states[0][2]:
            return None, "PyInstaller's search path changed while it wrote the %s entries" % m["kind"]
        m["interned"] = "%x" % states[0][0]
    return facts, None


def derive(module, process, graph=None, batch=None):
    """A module's archive entry and analysis: {fingerprint, analysis, blob (hex), length, refused}
    or {error}, written as PyInstaller's process (`process`, the snapshot's facts) wrote it. With
    the last build's analysis (`old`) and graph, `refused` says why the change of analysis could
    reach other bytes of the archive, or is None when it provably cannot."""
    from PyInstaller.archive.writers import CArchiveWriter, ZlibArchiveWriter
    from PyInstaller.building import utils

    path, kind, name = module["path"], module["kind"], module["name"]
    try:
        with open(path, "rb") as f:
            source = f.read()
        is_package = os.path.splitext(os.path.basename(path))[0] == "__init__"
        record, co = analysis(name, path, source, is_package)
    except SyntaxError as e:
        return {"error": "%s does not compile: %s" % (os.path.basename(path), e.msg)}
    out = io.BytesIO()
    with _StrippedAs(process["strip_paths"][kind]):
        if kind == "pyz":
            # `co` stays alive while marshalled, as in PyInstaller's code cache (its module graph
            # keeps the original when PYZ.assemble strips a copy, which shares its other
            # constants): refcounts decide marshal's back-references, hence the bytes.
            written = utils.strip_paths_in_code(co) if process["pyz_strips"] else co
            ZlibArchiveWriter._write_entry(out, (name, path, "PYMODULE"), {name: written})
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

    for _star, target, fromlist, level, _ in record["imports"]:
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
                # modulegraph looks for the submodule first, whatever the package's global names
                # (`_import_importable_package_submodules`): a lookup that finds something adds it.
                found_as = submodule_candidate(attr, package)
                if found_as:
                    return None, "%s imports %s from %s: modulegraph looks for the submodule %s first, and %s is there" % (
                        name,
                        attr,
                        absolute,
                        sub,
                        found_as,
                    )
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


def submodule_candidate(attr, package):
    """A file or folder in the package's path that a lookup of submodule `attr` could find (any
    entry named `attr` or `attr.<suffix>`), or None; the package's path unknown counts as found."""
    if "path" not in package:
        return "a package path the last build did not record"
    for d in package["path"]:
        try:
            entries = os.listdir(d)
        except OSError:
            continue
        for e in entries:
            if e == attr or e.split(".", 1)[0] == attr:
                return os.path.join(d, e)
    return None


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
            packages[ident] = {
                "names": sorted(node._global_attr_names),
                "subs": sorted(node._submodule_basename_to_node),
                "path": list(getattr(node, "packagepath", None) or ()),
            }
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


def names_used(code):
    """The global and attribute names a function's code uses, its comprehensions' included (a
    nested code object before Python 3.12)."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, type(code)):
            names |= names_used(const)
    return names


def snapshot(workpath, distpath, project_dir, out_dir):
    """Records what the fast path needs after a stock build, or why it cannot apply."""
    os.makedirs(out_dir, exist_ok=True)
    result = {"disabled": None, "modules": [], "others": [], "process": None}
    try:
        result["disabled"] = _snapshot(workpath, distpath, os.path.realpath(project_dir), out_dir, result)
    except Exception as e:  # the fast path is an optimisation: it never fails a build
        result["disabled"] = "the snapshot failed: %s: %s" % (type(e).__name__, e)
    with open(os.path.join(out_dir, "snapshot.json"), "w") as f:
        json.dump(result, f)


def _snapshot(workpath, distpath, project, out_dir, result):
    import glob

    from PyInstaller.archive.readers import CArchiveReader
    from PyInstaller.building.api import COLLECT, EXE, PKG, PYZ
    from PyInstaller.building.build_main import Analysis
    from PyInstaller.utils.misc import load_py_data_struct

    if not sys.platform.startswith("linux"):
        return "only Linux executables are rewritten so far"
    if sys.version_info < (3, 11):
        # Before 3.11 marshal flags an interned string (a name) for back-references only when its
        # reference count is above one, so a name used once in a module is written one way or the
        # other depending on whether any other object of the process holds it: every module
        # PyInstaller holds in memory decides, which no other process can reproduce.
        return (
            "on Python %d.%d marshal's bytes depend on which names the whole PyInstaller process holds, "
            "which the fast path cannot reproduce (it needs Python 3.11 or newer)" % sys.version_info[:2]
        )
    specs = glob.glob(os.path.join(workpath, "*", ""))
    if len(specs) != 1:
        return "the work folder holds %d spec folders" % len(specs)
    work = specs[0]
    tocs = {t: glob.glob(os.path.join(work, t + "-*.toc")) for t in ("Analysis", "PYZ", "PKG", "EXE", "COLLECT")}
    # Extract-once mode builds the onedir form: the EXE's PKG (PYZ, scripts, options) is appended
    # to the program as in onefile, while COLLECT copies the binaries and datas beside it.
    launch = None
    if os.environ.get("PYINSTALLER_BUILD_LAUNCH"):
        with open(os.environ["PYINSTALLER_BUILD_LAUNCH"]) as f:
            launch = json.load(f)
    shape = [1, 1, 1, 1, 0 if launch is None else 1]
    if [len(tocs[t]) for t in ("Analysis", "PYZ", "PKG", "EXE", "COLLECT")] != shape:
        return "the spec is not a single %s Analysis/PYZ/EXE" % ("onefile" if launch is None else "onedir")
    load = lambda cls, toc: dict(zip([g[0] for g in cls._GUTS], load_py_data_struct(toc)))  # noqa: E731
    a, pkg, exe = load(Analysis, tocs["Analysis"][0]), load(PKG, tocs["PKG"][0]), load(EXE, tocs["EXE"][0])
    pyz_toc = load(PYZ, tocs["PYZ"][0]).get("toc") or ()
    if a.get("noarchive") or not exe.get("append_pkg", True) or bool(exe.get("exclude_binaries")) != bool(launch):
        return "the spec uses noarchive, a side-loaded PKG or excluded binaries"
    if exe.get("strip") or exe.get("upx") or (launch and (launch.get("strip") or launch.get("upx"))):
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
    # What was packed, from the archives' own TOCs rather than the Analysis': a spec may hand
    # EXE() and PYZ() entries of its own (TOC tuples, a Tree()). Each project module in the PYZ
    # or script in the PKG is rewritten; a project file packed any other way (a data file, a
    # module outside the PYZ) is a copy no rewrite reaches, so its modules refuse.
    modules, packed = [], {}
    for name, path, typecode in pyz_toc:
        if ours(path):
            if typecode != "PYMODULE":
                return "%s is compiled with optimization (%s)" % (name, typecode)
            if not path.endswith(".py"):
                # Collected from a .pyc alone: it is not recompiled, so any change to it refuses.
                continue
            modules.append({"path": path, "kind": "pyz", "name": name})
    for name, path, typecode in pkg.get("toc") or ():
        if not ours(path):
            continue
        if launch is not None and typecode in ("BINARY", "EXTENSION", "DATA", "ZIPFILE"):
            continue  # excluded from a onedir PKG (PKG.assemble): COLLECT copies it, seen below
        if typecode == "PYSOURCE":
            if name not in entries:
                return "entry script %s is not in the PKG" % name
            modules.append({"path": path, "kind": "script", "name": name, "compress": bool(entries[name][3])})
        else:
            packed.setdefault(os.path.realpath(path), name)
    if launch is not None:
        # What COLLECT copied into the folder: a project file there is a copy no rewrite reaches.
        for name, path, typecode in load(COLLECT, tocs["COLLECT"][0]).get("toc") or ():
            if ours(path) and typecode != "DEPENDENCY":
                packed.setdefault(os.path.realpath(path), name)
    for name, path, typecode in a.get("scripts") or ():
        if ours(path) and typecode != "PYSOURCE":
            return "entry script %s is optimized" % name
    pyz_path = os.path.join(work, os.path.basename(load(PYZ, tocs["PYZ"][0])["name"]))
    result["process"], why = entry_states(modules, pyz_path, pkg_path)
    if why:
        return why
    # Before 6.16 PYZ.assemble strips the paths of every code object itself (the writer then
    # marshals what it is given), while the PKG's writer strips a script's; from 6.16 both
    # writers name entries from their archive names.
    result["process"]["pyz_strips"] = "strip_paths_in_code" in names_used(PYZ.assemble.__code__)
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
        copy = packed.get(os.path.join(project, m["path"]))
        if copy is not None:
            m["refuse"] = "%s is also packed as %s" % (m["path"], copy)
        m["info"] = dict(i, watched=watched.get(m["name"], {}))
    with open(os.path.join(out_dir, "graph.json"), "w") as f:
        json.dump(record, f)
    result["modules"] = modules
    used = set()
    lists = [a.get(key) or () for key in ("scripts", "pure", "binaries", "datas", "zipfiles", "_modules_outside_pyz")]
    if launch is not None:
        # A onedir spec may hand COLLECT files of its own; the program itself is this build's.
        collect_toc = load(COLLECT, tocs["COLLECT"][0]).get("toc") or ()
        lists.append([e for e in collect_toc if len(e) == 3 and e[2] != "EXECUTABLE"])
    for toc in lists + [pyz_toc, pkg.get("toc") or ()]:
        for entry in toc:
            if len(entry) == 3 and real(entry[1]) and os.path.isfile(entry[1]) and not ours(entry[1]):
                used.add(os.path.abspath(entry[1]))
    for path in sorted(used):
        st = os.stat(path)
        result["others"].append([path, st.st_size, st.st_mtime_ns])
    return None


def derive_all(request):
    """The request's modules derived, each marshalled in the interning state PyInstaller wrote it
    in (its `interned`), or all refused with why that state cannot be reproduced; the last build's
    graph is read only if an analysis changed."""
    modules = request["modules"]

    def refused(why):
        return [{"error": why} for _ in modules]

    facts, mine = request.get("process"), process_facts()
    if not facts or "strip_paths" not in facts or "pyz_strips" not in facts:
        return refused("the last build's snapshot recorded no process state")
    for key in sorted(mine):
        if facts.get(key) != mine[key]:
            return refused("the helper's %s (%s) is not PyInstaller's (%s)" % (key, mine[key], facts.get(key)))
    states = []
    for m in modules:
        if not m.get("interned"):
            return refused("the snapshot recorded no interning state for %s" % m["name"])
        states.append(int(m["interned"], 16))
    # Whatever the helper imports interns what it interns (loading a .pyc can) before any state is
    # checked: nothing is imported lazily while modules are marshalled.
    from PyInstaller.archive import writers  # noqa: F401
    from PyInstaller.building import utils as building_utils  # noqa: F401
    from PyInstaller.config import CONF  # noqa: F401
    from PyInstaller.depend import bytecode, utils  # noqa: F401
    from PyInstaller.lib.modulegraph import modulegraph  # noqa: F401

    analysis("pyinstaller_build_warm_up", "warm_up.py", b"import os\n", False)
    loaded = []

    def graph():
        if not loaded:
            try:
                with open(request["graph"]) as f:
                    loaded.append(json.load(f))  # the decoder interns nothing (checked after each module)
            except (OSError, ValueError):
                loaded.append(None)
        return loaded[0]

    # The new global names of every package in this batch: a `from P import x` resolves against them.
    last, now = "the helper's start-up", interned()
    batch = {}
    for m in modules:
        if m["kind"] == "pyz" and os.path.basename(m["path"]) == "__init__.py":
            try:
                with open(m["path"], "rb") as f:
                    batch[m["name"]] = set(analysis(m["name"], m["path"], f.read(), True)[0]["names"])
            except SyntaxError:
                pass
    if batch and interned() != now:
        last, now = "compiling the packages' __init__ modules", interned()
    # The states of one build only grow: derived from the smallest up, each is reached by
    # interning what it adds.
    results = [None] * len(modules)
    for i in sorted(range(len(modules)), key=lambda i: bin(states[i]).count("1")):
        want, name = states[i], modules[i]["name"]
        if now & ~want:
            return refused(
                "%s interned %s, which PyInstaller's process had not when it wrote %s: a stock build "
                "would marshal it otherwise" % (last, describe(now & ~want), name)
            )
        for j in range(len(SINGLETONS)):
            if want >> j & 1 and not now >> j & 1:
                sys.intern(SINGLETONS[j])
        now = interned()
        if now != want:
            return refused("the interning state PyInstaller wrote %s in could not be reproduced (%s)" % (name, describe(now ^ want)))
        results[i] = derive(modules[i], facts, graph, batch)
        last, now = "deriving %s" % name, interned()
        if now != want:
            # A new one-character constant that compiling interns ("7", "x"): PyInstaller compiles
            # every module before it writes any, so it would be interned for all of them.
            return refused(
                "compiling %s interned %s, which PyInstaller's process had not when it wrote the archive: "
                "a stock build would, and could write other entries otherwise" % (name, describe(now & ~want))
            )
    return results


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
        watch_writers(os.path.realpath(sys.argv[4]))
    except Exception:
        pass
