"""Describe the interpreter pyinstaller-build runs PyInstaller with, as one JSON object on stdout."""
import sys

# Run as `python -c`, the cwd (the user's python-dir) would come first on sys.path, and a project
# module named like a stdlib one (json.py) would shadow it inside this helper and PyInstaller.
sys.path[:] = [p for p in sys.path if p not in ("", ".")]

import importlib.util
import json
import os
import sysconfig


def pyinstaller_version():
    try:
        from importlib.metadata import version

        return version("pyinstaller")
    except Exception:
        pass
    # Not installed as a distribution (a source checkout on PYTHONPATH): ask the package itself.
    if importlib.util.find_spec("PyInstaller") is None:
        return None
    import PyInstaller

    return getattr(PyInstaller, "__version__", "unknown")


site_dirs = []
for entry in sys.path:
    if entry and os.path.basename(entry) in ("site-packages", "dist-packages") and os.path.isdir(entry):
        path = os.path.abspath(entry)
        if path not in site_dirs:
            site_dirs.append(path)

def libpython():
    name = sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY")
    libdir = sysconfig.get_config_var("LIBDIR")
    if not name or not libdir or not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        return None
    path = os.path.join(libdir, name)
    return os.path.realpath(path) if os.path.isfile(path) else None


json.dump(
    {
        "executable": sys.executable,
        "version": sys.version,
        "platform": sysconfig.get_platform(),
        "prefix": sys.prefix,
        # Where the interpreter's own files live: recorded files elsewhere are the project's own.
        "prefixes": sorted({os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}),
        "site_dirs": site_dirs,
        "pyinstaller": pyinstaller_version(),
        "libpython": libpython(),
    },
    sys.stdout,
)
