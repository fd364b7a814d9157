"""Compile project modules the way PyInstaller will, before it runs.

PyInstaller does not fail on a project module that does not compile: it lists it as an "invalid
module" in its warn file and leaves it out of the binary, which then fails when it imports it. So
the crate compiles every project module first, in the build's own interpreter (the same
`compile()` PyInstaller's module graph uses), and fails the build with where and why.

argv: <request json: a list of paths> <answer json: a list of errors>
An error is {"path", "line", "col", "end_col", "msg", "text"}; line and column are 1-based, or null
when the compiler gives none (a null byte, say).

argv: --top-level <request json: {"paths": [...], "missing": [...]}> <answer json>
The answer lists [path, module] for each import, at the top level as PyInstaller's warn file
means it (not in a function, a `try` or an `if`), of a package in "missing".
"""
import json
import sys
import warnings

# Run as `python -c`: nothing of the cwd on sys.path (the crate runs it in its own folder anyway).
sys.path[:] = [p for p in sys.path if p not in ("", ".")]


def check(path):
    try:
        with open(path, "rb") as f:
            source = f.read()
        with warnings.catch_warnings():
            # SyntaxWarnings (an invalid escape, say) are not errors, and PyInstaller builds them.
            warnings.simplefilter("ignore")
            compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as e:  # IndentationError and TabError too
        return {
            "path": path,
            "line": e.lineno,
            "col": e.offset,
            "end_col": getattr(e, "end_offset", None),
            "msg": e.msg,
            "text": e.text,
        }
    except (ValueError, OSError) as e:  # source code with null bytes; unreadable
        return {"path": path, "line": None, "col": None, "end_col": None, "msg": str(e), "text": None}
    return None


def top_level_imports(path, missing):
    import ast

    with open(path, "rb") as f:
        tree = ast.parse(f.read(), path)
    found = []
    # Module-level statements, and the bodies of those that do not make an import optional.
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            names = []
            if not isinstance(node, (ast.If, ast.Try, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                todo.extend(c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt))
        found.extend([path, n] for n in names if n.split(".")[0] in missing)
    return found


def main():
    if sys.argv[1] == "--top-level":
        with open(sys.argv[2]) as f:
            request = json.load(f)
        missing = set(request["missing"])
        found = [hit for path in request["paths"] for hit in top_level_imports(path, missing)]
        with open(sys.argv[3], "w") as f:
            json.dump(found, f)
        return
    with open(sys.argv[1]) as f:
        paths = json.load(f)
    errors = [e for e in map(check, paths) if e is not None]
    with open(sys.argv[2], "w") as f:
        json.dump(errors, f)


main()
