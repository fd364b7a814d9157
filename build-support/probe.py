"""Describe the interpreter pyinstaller-build runs PyInstaller with, as one JSON object on stdout."""
import sys

# Run as `python -c`, the cwd (the user's python-dir) would come first on sys.path, and a project
# module named like a stdlib one (json.py) would shadow it inside this helper and PyInstaller.
sys.path[:] = [p for p in sys.path if p not in ("", ".")]

import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sysconfig  # noqa: E402


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


def glibc():
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None


def seeded():
    """The wheels `python -m venv` seeds an environment with (pip, and setuptools before 3.12)."""
    try:
        import ensurepip
    except ImportError:
        return None
    import glob

    here = os.path.dirname(ensurepip.__file__)
    # Debian's ensurepip has no bundled wheels: it seeds from its own wheel folder.
    wheels = glob.glob(os.path.join(here, "_bundled", "*.whl")) or glob.glob("/usr/share/python-wheels/*.whl")
    return sorted((os.path.basename(w), os.path.getsize(w)) for w in wheels)


def tags():
    """What pip picks wheels by: the interpreter's ABI and platform, glibc's or macOS's version."""
    import platform

    manylinux = any(os.path.isfile(os.path.join(p, "_manylinux.py")) for p in sys.path if p)
    return [sys.version, sys.implementation.name, sys.implementation.cache_tag, sys.maxsize, sys.byteorder,
            sysconfig.get_platform(), sysconfig.get_config_var("SOABI"), sysconfig.get_config_var("EXT_SUFFIX"),
            sysconfig.get_config_var("Py_DEBUG"), sysconfig.get_config_var("Py_GIL_DISABLED"),
            platform.machine(), platform.mac_ver()[0], glibc(), manylinux]


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
        # For an environment not yet created from this base interpreter (venv/mod.rs).
        "real_executable": os.path.realpath(sys.executable),
        "os": sys.platform,
        "glibc": glibc(),
        "seeded": seeded(),
        "tags": tags(),
    },
    sys.stdout,
)
