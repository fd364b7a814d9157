"""What each top-level package adds to a onefile binary, from PyInstaller's own records.

`audit(...)` reads the built executable's archive (each entry's compressed size), the PYZ inside
it (each module's), the Analysis TOC, and the cross-reference file PyInstaller writes
(`xref-<spec>.html`: who imports whom), and returns a JSON-ready dict. Defined here, called by the
runner after a build, in the build's own interpreter.
"""
import ast
import collections
import os
import re
import sys

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


def _project_imports(files):
    """Top-level names project code imports, anywhere in a module (also inside functions)."""
    names = set()
    for path in files:
        try:
            tree = ast.parse(open(path, "rb").read(), path)
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


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


def audit(exe, workdir, project_dir, guts):
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

    project_dir = os.path.abspath(project_dir)
    project_files = []
    project_modules = set()
    for key in ("scripts", "pure"):
        for name, path, _t in guts.get(key) or ():
            if isinstance(path, str) and os.path.abspath(path).startswith(project_dir + os.sep):
                project_files.append(path)
                project_modules.update({name, name + ".py", os.path.basename(path)})
    direct = _project_imports(project_files)
    project_tops = {m.split(".")[0] for m in project_modules}
    excludes = set(guts.get("excludes") or ())
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    graph = _import_graph(os.path.join(workdir, "xref-%s.html" % os.path.basename(workdir)))

    packages = []
    for package, size in sizes.most_common():
        runtime = package.startswith("(")
        imported = package in direct or package in project_tops
        entry = {
            "package": package,
            "bytes": size,
            "stdlib": package in stdlib,
            "imported_by_project": imported,
            "chain": [] if runtime or imported else _chain(graph, project_modules, package),
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
            "chain": _chain(graph, project_modules, top), "kind": "tests",
            "excludable": package not in excludes and top not in direct,
        })
    return {
        "binary_bytes": binary_bytes,
        "archive_bytes": archive_bytes,
        "excludes": sorted(excludes),
        "packages": packages,
    }
