"""What each top-level package adds to a onefile binary, from PyInstaller's own records.

`audit(...)` reads the built executable's archive (each entry's compressed size), the PYZ inside
it (each module's), the Analysis TOC, and the import graph PyInstaller's analysis built: who
imports whom, and how (at module level, in a function, in a `try`, under an `if`), saved by
`record_imports()` beside the cross-reference file PyInstaller writes (`xref-<spec>.html`, the
fallback, without the kinds). It returns a JSON-ready dict. Defined here, called by the runner
around a build, in the build's own interpreter.

A package no project module imports is suggested for exclusion only when every chain of imports
from the program to it passes through an optional import (in a function, a `try` or an `if`):
one chain of module-level imports (`fastapi.exceptions` importing `pydantic`) means the program
needs it to start, whatever the project itself imports.

An archive entry is named by its import name (`PIL`) or, for the files a distribution brings
besides its modules (`pillow.libs`, a `.dist-info` folder), by the distribution (`pillow`): each is
mapped to its installed distribution and that distribution's import names (from `top_level.txt`
and `RECORD`), so the project's `from PIL import Image` makes both `PIL` and `pillow` its own.
"""
import ast
import collections
import json
import os
import re
import sys


def _imports_file(xref):
    folder, name = os.path.split(xref)
    return os.path.join(folder, "imports-" + name[len("xref-"):].rsplit(".", 1)[0] + ".json")


def record_imports():
    """Make each Analysis save its import graph's edges with their kinds, when it writes its xref
    file (that is, whenever it really analysed): a cached Analysis keeps the last ones.

    The graph keeps one datum per edge, and a hook's hidden import of a module replaces what the
    import statement said about it, so every datum an edge is given is noted as it is added."""
    try:
        from PyInstaller.building import build_main
        from PyInstaller.lib.modulegraph import modulegraph
    except ImportError:
        return  # another PyInstaller: the audit falls back to the xref file
    original = getattr(build_main.Analysis, "_write_graph_debug", None)
    graph_class = getattr(modulegraph, "ModuleGraph", None)
    if original is None or not hasattr(graph_class, "_updateReference"):
        return  # another PyInstaller: the audit falls back to the xref file

    def noting(method):
        def note(self, fromnode, tonode, *args, **kwargs):
            data = args[0] if args else kwargs.get("edge_data")
            a, b = getattr(fromnode, "graphident", None), getattr(tonode, "graphident", None)
            if isinstance(a, str) and isinstance(b, str):
                self.__dict__.setdefault("_pyinstaller_build_edges", {}).setdefault((a, b), []).append(data)
            return method(self, fromnode, tonode, *args, **kwargs)
        return note

    graph_class._updateReference = noting(graph_class._updateReference)
    graph_class.add_edge = noting(graph_class.add_edge)
    graph_class.createReference = graph_class.add_edge

    def kinds_of(data):
        """[] for a module-level import statement; its optional kinds; or "hidden import" for an
        edge that is no statement (a hook's or the spec's hidden import, PyInstaller's own)."""
        statements = [d for d in data if isinstance(d, modulegraph.DependencyInfo)]
        optional = [[k for k, on in (("in a try", d.tryexcept), ("in a function", d.function),
                                     ("conditional", d.conditional)) if on] for d in statements]
        if any(not kinds for kinds in optional):
            return []
        if len(statements) < len(data):
            # It may well run, nothing says when: never counted as optional.
            return ["hidden import"]
        return sorted({k for kinds in optional for k in kinds})

    def write_graph_debug(self):
        original(self)
        try:
            from PyInstaller.config import CONF

            noted = self.graph.__dict__.get("_pyinstaller_build_edges", {})
            edges = []
            graph = self.graph.graph
            for edge in graph.edge_list():
                _, data, head, tail = graph.describe_edge(edge)
                if not isinstance(head, str) or not isinstance(tail, str):
                    continue
                kinds = kinds_of(noted.get((head, tail)) or [data])
                edges.append([os.path.basename(head), os.path.basename(tail), kinds])
            with open(_imports_file(CONF["xref-file"]), "w") as f:
                json.dump(edges, f)
        except Exception:  # the audit is advice: it never fails a build
            pass

    build_main.Analysis._write_graph_debug = write_graph_debug


# Packages a headless sidecar rarely needs, flagged whatever their size.
USUAL_SUSPECTS = {
    "tkinter", "_tkinter", "unittest", "test", "pydoc", "pydoc_data", "lib2to3", "idlelib", "turtle",
    "turtledemo", "doctest", "IPython", "matplotlib", "PIL", "scipy", "setuptools", "pip", "pytest",
}


def _owner(name, typecode):
    """The top-level package an archive entry belongs to ('(...)' for the Python runtime itself)."""
    if typecode in ("m", "M") and name.startswith(("pyimod", "pyiboot")):
        return "(pyinstaller bootstrap)"
    if typecode == "s":
        return "(pyinstaller runtime hooks)" if name.startswith("pyi_rth") else "(project scripts)"
    if typecode == "Z":
        return "(python stdlib: base_library.zip)"
    if typecode in ("m", "M"):
        return name.split(".")[0]
    first = name.replace("\\", "/").split("/")[0]
    if first == name:  # a file at the top of the bundle
        if first.startswith("libpython") or first.startswith("python3"):
            return "(python runtime)"
        return "(shared libraries)"
    if first == "lib-dynload" or re.fullmatch(r"python3\.\d+", first):
        return "(python stdlib extensions)"
    if first.endswith(".dist-info") or first.endswith(".egg-info"):
        return first.split("-")[0]
    if first.endswith(".libs"):
        return first[: -len(".libs")]
    return first


class _Imports(ast.NodeVisitor):
    """The top-level names a module imports, each as `(name, lazy)`: `lazy` when the import is
    inside a function (it runs when the function does). Import statements, and
    `importlib.import_module("x")` or `__import__("x")` with a literal name."""

    def __init__(self):
        self.found = set()
        self.depth = 0

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _add(self, name):
        if name:
            self.found.add((name.split(".")[0], self.depth > 0))

    def visit_Import(self, node):
        for a in node.names:
            self._add(a.name)

    def visit_ImportFrom(self, node):
        if node.level == 0:
            self._add(node.module)

    def visit_Call(self, node):
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
        if name in ("import_module", "__import__") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and not arg.value.startswith("."):
                self._add(arg.value)
        self.generic_visit(node)


def _project_imports(files, project_dir):
    """Top-level name -> {"eager": files, "lazy": files}: the project modules (relative to
    `project_dir`) that import it at module level (in a `try` or an `if` too), and those that
    import it only inside a function."""
    names = collections.defaultdict(lambda: {"eager": set(), "lazy": set()})
    for path in files:
        try:
            with open(path, "rb") as f:
                tree = ast.parse(f.read(), path)
        except (SyntaxError, ValueError, OSError):
            continue
        visitor = _Imports()
        visitor.visit(tree)
        rel = os.path.relpath(path, project_dir).replace(os.sep, "/")
        for name, lazy in visitor.found:
            names[name]["lazy" if lazy else "eager"].add(rel)
    return names


def _normalize(name):
    """A distribution's name as PEP 503 compares them (`Pillow`, `python_dateutil`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _distributions(path=None):
    """(import name -> distribution names, normalized distribution name -> (name, import
    names)) for the distributions installed on `path` (default `sys.path`). Import names come
    from `top_level.txt` (setuptools writes it) and from `RECORD` (every installer does): its
    top-level folders and modules that are identifiers (not `pillow.libs`, `*.dist-info`)."""
    try:
        from importlib import metadata
    except ImportError:  # Python 3.7: no mapping, names are compared as they are
        return {}, {}
    by_import = collections.defaultdict(set)
    by_name = {}
    for dist in metadata.distributions(**({"path": path} if path is not None else {})):
        name = dist.metadata["Name"] if dist.metadata else None
        if not name:
            continue
        tops = set()
        for line in (dist.read_text("top_level.txt") or "").splitlines():
            line = line.strip().replace("\\", "/").split("/")[0]
            if line.isidentifier():
                tops.add(line)
        # RECORD's text, not `dist.files`, which on Python 3.12 and later stats every file.
        for line in (dist.read_text("RECORD") or "").splitlines():
            path = line.rsplit(",", 2)[0].strip('"') if line.count(",") >= 2 else line
            parts = [p for p in path.replace("\\", "/").split("/") if p]
            first = parts[0] if parts else ""
            if len(parts) == 1:
                # A module at the top: `six.py`, `_cffi_backend.cpython-311-x86_64-linux-gnu.so`.
                stem = first.split(".")[0]
                if first.endswith((".py", ".so", ".pyd")) and stem.isidentifier():
                    tops.add(stem)
            elif first.isidentifier() and first != "__pycache__":
                tops.add(first)
        key = _normalize(name)
        known = by_name.get(key, (name, set()))
        by_name[key] = (known[0], known[1] | tops)
        for top in tops:
            by_import[top].add(name)
    return by_import, by_name


def _mapping(package, by_import, by_name):
    """(distribution names, import names) of an archive entry: an import name's distributions,
    or the distribution an entry named after one (`pillow` from `pillow.libs`) is; its import
    names are all of its distributions', and its own name."""
    dists = set(by_import.get(package, ()))
    if not dists and _normalize(package) in by_name:
        dists.add(by_name[_normalize(package)][0])
    names = {package}
    for d in dists:
        names |= by_name.get(_normalize(d), (d, set()))[1]
    return sorted(dists), names


def _import_graph(xref):
    """module -> modules it imports, from PyInstaller's xref HTML ('imported by' lists)."""
    imports = collections.defaultdict(set)
    try:
        text = open(xref, encoding="utf-8", errors="replace").read()
    except OSError:
        return imports
    for node in text.split('<div class="node">')[1:]:
        m = re.search(r'<a name="([^"]+)"', node)
        if not m:
            continue
        name = m.group(1)
        section = node.split("imported by:", 1)
        if len(section) == 2:
            for importer in re.findall(r'<a href="#([^"]+)"', section[1].split("</div>", 1)[0]):
                imports[importer].add(name)
    return imports


def _load_imports(xref):
    """module -> {imported: kinds} from record_imports()'s file, or None."""
    try:
        with open(_imports_file(xref)) as f:
            edges = json.load(f)
    except (OSError, ValueError):
        return None
    graph = collections.defaultdict(dict)
    for importer, imported, kinds in edges:
        graph[importer][imported] = kinds
    return graph


def _hard_parents(graph, roots, binding):
    """Every module reached from `roots` through edges whose kinds are `binding` only, with the
    importer that reached it first (breadth first: the shortest such chain)."""
    parents = {r: None for r in roots}
    queue = collections.deque(sorted(roots))
    while queue:
        node = queue.popleft()
        for nxt, kinds in sorted(graph.get(node, {}).items()):
            if set(kinds) <= binding and nxt not in parents:
                parents[nxt] = node
                queue.append(nxt)
    return parents


def _path_to(parents, node):
    path = []
    while node is not None:
        path.append(node)
        node = parents[node]
    return path[::-1]


def _chain(graph, sources, package):
    """Shortest import chain from a project module to any module of `package`."""
    queue = collections.deque((s, [s]) for s in sorted(sources))
    seen = set(sources)
    while queue:
        node, path = queue.popleft()
        for nxt in sorted(graph.get(node, ())):
            if nxt in seen:
                continue
            if nxt.split(".")[0] == package:
                return path + [nxt]
            seen.add(nxt)
            queue.append((nxt, path + [nxt]))
    return []


def _not_project(path):
    """Under the crate's own folders or cargo's target folders, which python-dir may hold."""
    dirs = [p for p in os.environ.get("PYINSTALLER_BUILD_NOT_PROJECT", "").split(os.pathsep) if p]
    return any(os.path.abspath(path).startswith(os.path.join(os.path.abspath(d), "")) for d in dirs)


def folder_sizes(folder, program, contents):
    """What each owner takes on disk in a onedir folder beside its `program` (what COLLECT copied:
    binaries, datas, base_library.zip), the files in the `contents` folder named as the archive
    would name them."""
    sizes = collections.Counter()
    for root, _dirs, files in os.walk(folder):
        for f in files:
            path = os.path.join(root, f)
            rel = os.path.relpath(path, folder).replace(os.sep, "/")
            if rel == program or os.path.islink(path):
                continue
            if contents not in ("", ".") and rel.startswith(contents + "/"):
                rel = rel[len(contents) + 1:]
            typecode = "Z" if rel == "base_library.zip" else "b"
            sizes[_owner(rel, typecode)] += os.path.getsize(path)
    return sizes


def audit(exe, workdir, project_dir, guts, folder=None):
    """The audit of a onefile `exe`, or of a onedir program `exe` and the `folder` it is in
    (sizes on disk: the program's archive, then every file beside it)."""
    from PyInstaller.archive.readers import CArchiveReader
    from PyInstaller.compat import PY3_BASE_MODULES

    # What Python and PyInstaller's own importer need to start: never worth suggesting.
    core = set(PY3_BASE_MODULES) | {"importlib", "zipimport", "struct"}

    pkg = CArchiveReader(exe)
    sizes = collections.Counter()
    tests = collections.Counter()
    archive_bytes = 0
    for name, (_offset, length, _ulen, _cflag, typecode) in pkg.toc.items():
        archive_bytes += length
        if typecode == "z":
            pyz = pkg.open_embedded_archive(name)
            inside = 0
            for module, (_t, _o, ln) in pyz.toc.items():
                sizes[module.split(".")[0]] += ln
                inside += ln
                parts = module.split(".")
                for i, part in enumerate(parts[1:], 1):
                    if part in ("tests", "testing"):
                        tests[".".join(parts[: i + 1])] += ln
                        break
            sizes["(archive overhead)"] += length - inside
        else:
            sizes[_owner(name, typecode)] += length
    binary_bytes = os.path.getsize(exe)
    sizes["(bootloader, archive index)"] = binary_bytes - archive_bytes
    if folder is not None:
        # PyInstaller 6 names the folder beside the program in the archive's options (kept
        # apart from its table of contents by the reader).
        options = list(getattr(pkg, "options", None) or ())
        contents = next((o.split(" ", 1)[1] for o in options if o.startswith("pyi-contents-directory ")), ".")
        beside = folder_sizes(folder, os.path.basename(exe), contents)
        sizes.update(beside)
        binary_bytes += sum(beside.values())

    project_dir = os.path.abspath(project_dir)
    project_files = []
    project_modules = set()
    for key in ("scripts", "pure"):
        for name, path, _t in guts.get(key) or ():
            if isinstance(path, str) and os.path.abspath(path).startswith(project_dir + os.sep) and not _not_project(path):
                project_files.append(path)
                project_modules.update({name, name + ".py", os.path.basename(path)})
    imports = _project_imports(project_files, project_dir)
    direct = set(imports)
    project_tops = {m.split(".")[0] for m in project_modules}
    by_import, by_name = _distributions()
    excludes = set(guts.get("excludes") or ())
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    xref = os.path.join(workdir, "xref-%s.html" % os.path.basename(workdir))
    kinds = _load_imports(xref)
    # Without the kinds (a build from before they were saved), every import counts as binding.
    graph = kinds if kinds is not None else {m: {i: [] for i in ii} for m, ii in _import_graph(xref).items()}
    # What runs at start: the entry scripts and runtime hooks (the graph names them `*.py`) and
    # the project's modules.
    roots = project_modules | {n for n in graph if n.endswith(".py")}
    def chains(parents):
        found = {}
        for module in parents:
            top = module.split(".")[0]
            if not module.endswith(".py") and top not in found:
                found[top] = _path_to(parents, module)
        return found

    # Module-level import statements only: the program needs these to start.
    required_by = chains(_hard_parents(graph, roots, set()))
    # With hidden imports too: these may run, nothing tells when.
    hidden_by = chains(_hard_parents(graph, roots, {"hidden import"}))

    def optional_import(chain):
        """The first optional import on a chain, as `a → b (in a try)`."""
        for a, b in zip(chain, chain[1:]):
            if graph.get(a, {}).get(b) and graph[a][b] != ["hidden import"]:
                return "%s → %s (%s)" % (a, b, ", ".join(graph[a][b]))
        return None

    def first(found):
        return next((f for f in found if f), [])

    packages = []
    for package, size in sizes.most_common():
        runtime = package.startswith("(")
        dists, names = ([], {package}) if runtime else _mapping(package, by_import, by_name)
        names = sorted(names)
        # Imported by the project through any of its distribution's import names, in any form.
        imported_as = [n for n in names if n in direct or n in project_tops]
        imported = bool(imported_as)
        eager = set().union(*(imports[n]["eager"] for n in imported_as if n in imports))
        lazy = set().union(*(imports[n]["lazy"] for n in imported_as if n in imports))
        chain = [] if runtime or imported else first(_chain(graph, roots, n) for n in names)
        required = [] if runtime or imported else first(required_by.get(n) for n in names)
        hidden = [] if runtime or imported or required else first(hidden_by.get(n) for n in names)
        entry = {
            "package": package,
            "bytes": size,
            "stdlib": package in stdlib,
            "distribution": ", ".join(dists) or None,
            "imported_by_project": imported,
            "imported_as": [n for n in imported_as if n != package],
            # Only inside project functions: still the project's import, never suggested.
            "lazily_imported_by": [] if eager or any(n in project_tops for n in imported_as) else sorted(lazy),
            "chain": chain,
            "required_by": required,
            "hidden_import_by": hidden,
            "optional_import": None if required or hidden or not chain else optional_import(chain),
            "kind": "suspect" if package in USUAL_SUSPECTS else "package",
            # The crate decides on suggestions (it knows the threshold); this says what may be.
            "excludable": not runtime
            and not imported
            and package not in core
            and package not in excludes
            and package not in project_tops,
        }
        packages.append(entry)
    for package, size in tests.most_common():
        top = package.split(".")[0]
        packages.append({
            "package": package, "bytes": size, "stdlib": False, "imported_by_project": False,
            "chain": _chain(graph, roots, top), "kind": "tests",
            "excludable": package not in excludes and not any(n in direct for n in _mapping(top, by_import, by_name)[1]),
        })
    return {
        "imports_known": kinds is not None,
        "binary_bytes": binary_bytes,
        "archive_bytes": archive_bytes,
        "excludes": sorted(excludes),
        "packages": packages,
    }
