"""Record what a PyInstaller run reads, so the crate can make each of those reads an input.

A PEP 578 audit hook sees every file opened (`open`, also for `io.open_code`, which imports use),
every folder listed (`os.listdir`, `os.scandir`, which `glob`, `os.walk` and importlib's path
finder use), every program started, and every path the run itself creates or removes;
`os.environ` is made to note the names read from it. Two reads have no audit event and are
noted by wrapping: the names importlib's path finder looks up in each folder (a folder it lists
matters only for those names: a new `icon.png` beside the modules finds nothing, a new
`addon.pyc` can satisfy `import addon`), and paths checked with `os.stat`/`os.lstat` (which
`os.path.exists` and `isfile` call): a spec's `if os.path.exists("extra.json")` depends on a file
it never opens. For each file and folder the hook keeps its stat at the moment it was read:
the crate compares that with the stat after the run, so a file edited while PyInstaller ran is
never recorded with content PyInstaller did not see.

Used twice: inserted into the runner (the PyInstaller process), and, as a file of its own, in
front of PyInstaller's isolated child processes (hooks that import packages run there).
"""
import os
import sys


class _Trace:
    # Not regular files, or not the project's: never inputs.
    SKIP = ("/proc/", "/sys/", "/dev/")

    def __init__(self):
        self.files = {}  # path -> stat tuple, or None when missing, at first read
        self.changed = set()  # read twice with different stats
        self.dirs = {}  # path -> stat tuple at first listing
        self.plain = set()  # listed by something else than importlib's path finder
        self.lookups = {}  # folder -> names importlib's path finder looked up in it
        self.probes = {}  # path -> its stat when first checked by os.stat/os.lstat, or None
        self.programs = set()  # programs started (their first argument)
        self.written = set()  # created, written, renamed or removed by the run: outputs, not inputs
        self.env = set()
        self.active = False
        self.bulk, self.bulk_next = [], 0  # keys of an owned iteration over os.environ, in order
        self.owned = tuple({os.path.join(p, "") for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)})
        self.consulted = set()  # files read by code other than PyInstaller's own (see `consulting`)
        self.child = False  # in an isolated child, every read serves a hook: none is PyInstaller's own
        self.stdlib = os.path.join(os.path.dirname(os.path.abspath(os.__file__)), "")

    def copying(self, key):
        """Whether this read is the next of an owned iteration's (the copy for a child)."""
        if self.bulk_next < len(self.bulk) and self.bulk[self.bulk_next] == key:
            self.bulk_next += 1
            return True
        self.bulk, self.bulk_next = [], 0
        return False

    def caller_is_owned(self):
        """Whether the code iterating over os.environ is the interpreter's or its packages'."""
        f = sys._getframe(2)
        plumbing = ("_collections_abc.py", os.sep + "os.py", "<frozen _collections_abc>", "<frozen os>")
        while f is not None and f.f_code.co_filename.endswith(plumbing):
            f = f.f_back
        if f is None:
            return False
        name = f.f_code.co_filename
        return name.startswith("<frozen ") or os.path.abspath(name).startswith(self.owned)

    def stat(self, path):
        try:
            st = getattr(self, "real_stat", os.stat)(path)
        except (OSError, ValueError):
            return None
        posix = os.name != "nt"
        return [st.st_size, st.st_mtime_ns, st.st_ctime_ns if posix else 0, st.st_ino if posix else 0, st.st_mode]

    def path(self, p):
        if isinstance(p, int) or p is None:
            return None
        try:
            p = os.fsdecode(p)
        except TypeError:
            return None
        if not p:
            p = "."
        p = os.path.abspath(p)
        return None if p.startswith(self.SKIP) else p

    def hook(self, event, args):
        if self.active:
            return
        self.active = True
        try:
            if event == "open":
                self.opened(*args[:3])
            elif event in ("os.listdir", "os.scandir"):
                path = self.path(args[0])
                if path is not None:
                    if path not in self.dirs:
                        self.dirs[path] = self.stat(path)
                    # The path finder fills its cache of the folder's names; what it then finds
                    # is decided by the names it looks up, noted in `lookups`. PyInstaller looks
                    # for the top of a script's package by listing folders for `__init__.py`.
                    caller = sys._getframe(1).f_code
                    if caller.co_name == "get_path_to_toplevel_modules":
                        self.lookups.setdefault(path, set()).add("__init__")
                    # `importlib.metadata` lists each folder on the path for distributions' metadata.
                    elif caller.co_name == "children" and "metadata" in caller.co_filename:
                        self.lookups.setdefault(path, set()).update(("*.dist-info", "*.egg-info", "*.egg", "egg-info"))
                    elif not (caller.co_name == "_fill_cache" and caller.co_filename.startswith("<frozen importlib")):
                        self.plain.add(path)
            elif event == "subprocess.Popen":
                argv = args[1]
                argv = [argv] if isinstance(argv, (str, bytes)) else list(argv or ())
                traced_child = len(argv) > 1 and os.fsdecode(argv[1]) == os.environ.get("PYINSTALLER_BUILD_TRACE_SCRIPT")
                program = args[0] if args[0] is not None else (argv[0] if argv else None)
                if program is not None and not traced_child:
                    self.programs.add(os.fsdecode(program))
            # (`subprocess` itself starts programs with `os.posix_spawn` or a fork: seen above.)
            elif event in ("os.system", "os.exec", "os.spawn", "os.startfile"):
                self.programs.add("%s %r" % (event, args[:1]))
            elif event in ("os.remove", "os.rename", "shutil.rmtree", "tempfile.mkdtemp", "tempfile.mkstemp", "os.mkdir"):
                for a in args[:2] if event == "os.rename" else args[:1]:
                    path = self.path(a)
                    if path is not None:
                        self.written.add(path)
        except Exception:
            pass
        finally:
            self.active = False

    def opened(self, path, mode, flags):
        path = self.path(path)
        if path is None:
            return
        writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
            mode is None and isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        )
        if writing:
            self.written.add(path)
            return
        st = self.stat(path)
        if st is not None and not (st[4] & 0o170000 == 0o100000):  # only regular files hold content
            return
        if path not in self.files:
            self.files[path] = st
        elif self.files[path] != st:
            self.changed.add(path)
        if path not in self.consulted and not path.startswith(self.owned) and self.consulting():
            self.consulted.add(path)

    def consulting(self):
        """Whether the code opening a file is other than PyInstaller's own, which reads a project
        file only to analyse and compile it (or copy it, as its archive's TOC says): the spec
        (`open().read()`, `runpy.run_path`), a hook, another package, an isolated child. What
        such code reads can change what the build does, beyond the file's own archive entries.

        Decided by the innermost frame that is neither the standard library nor this helper; a
        frame of any hook, or of a file that is neither installed (the interpreter's, PyInstaller's,
        a site-packages folder's) nor the spec, anywhere on the stack makes the read that code's."""
        if self.child:
            return True
        pyinstaller = sys.modules.get("PyInstaller")
        home = getattr(pyinstaller, "__file__", None)
        if not home:
            return True
        home = os.path.join(os.path.dirname(os.path.abspath(home)), "")
        hooks = os.path.join(home, "hooks", "")
        own = _Trace.hook.__code__.co_filename
        innermost = None
        f = sys._getframe(2)
        while f is not None:
            name = f.f_code.co_filename
            if name == own or name.startswith("<"):  # this helper, the runner, frozen importlib
                pass
            elif name.startswith(self.stdlib) and "-packages" not in name:
                pass
            else:
                if innermost is None:
                    innermost = name
                if name.startswith(hooks) or ("hook" in os.path.basename(name) and not name.startswith(home)):
                    return True
                installed = name.startswith(self.owned) or name.startswith(home) or "-packages" in name
                if not installed and not name.endswith(".spec"):
                    return True
            f = f.f_back
        return innermost is None or not innermost.startswith(home) or innermost.startswith(hooks)

    def install(self):
        sys.addaudithook(self.hook)
        trace = self
        environ = type(os.environ)

        class Noted(environ):
            # Every read by name (`[]`, `get`, `in`, `os.getenv`) comes through `__getitem__`.
            def __getitem__(self, key):
                if not trace.active and isinstance(key, str) and not trace.copying(key):
                    trace.env.add(key)
                return environ.__getitem__(self, key)

            # A copy of the whole environment for a child process (`dict(os.environ, ...)`) by the
            # interpreter's own code or PyInstaller reads no variable in particular: its reads
            # follow the keys in iteration order. The spec iterating over it reads every one.
            def __iter__(self):
                owned = trace.caller_is_owned()
                trace.bulk, trace.bulk_next = [], 0
                for key in environ.__iter__(self):
                    if owned:
                        trace.bulk.append(key)
                    yield key

            def copy(self):
                trace.active = True
                try:
                    return environ.copy(self)
                finally:
                    trace.active = False

        os.environ.__class__ = Noted

        stat, lstat = os.stat, os.lstat

        # A callable object, not a function: a class that took `os.stat` as an attribute before
        # this ran (Python 3.8's `pathlib._NormalAccessor.stat = os.stat`) calls it as
        # `self.stat(path)`, and a function there would be bound as a method.
        class Checked:
            __slots__ = ("real",)

            def __init__(self, real):
                self.real = real

            def __call__(self, path, *a, **kw):
                if not trace.active and not a and not kw.get("dir_fd"):
                    trace.active = True
                    try:
                        p = trace.path(path)
                        if p is not None and p not in trace.probes and p not in trace.files:
                            trace.probes[p] = trace.stat(p)
                    except Exception:
                        pass
                    finally:
                        trace.active = False
                return self.real(path, *a, **kw)

        def probed(real):
            return Checked(real)

        self.real_stat = stat
        os.stat, os.lstat = probed(stat), probed(lstat)

        from importlib.machinery import FileFinder

        find_spec = FileFinder.find_spec

        def noted_find_spec(finder, fullname, target=None):
            if not trace.active:
                trace.lookups.setdefault(os.path.abspath(finder.path or "."), set()).add(fullname.rpartition(".")[2])
            return find_spec(finder, fullname, target)

        FileFinder.find_spec = noted_find_spec

    def record(self, extra=None):
        """What was read, as JSON-ready data. Paths under a written path are outputs."""
        written = sorted(self.written)

        def output(p):
            import bisect

            i = bisect.bisect_right(written, p)
            return i > 0 and (p == written[i - 1] or p.startswith(written[i - 1] + os.sep))

        # The interpreter's own files and its installed distributions are inputs already.
        owned = self.owned

        def kept(p):
            return not p.startswith(owned) and not output(p)

        parents = {os.path.dirname(w) for w in written}
        imported = set()
        for m in list(sys.modules.values()):
            f = getattr(m, "__file__", None)
            if isinstance(f, str) and kept(os.path.abspath(f)):
                imported.add(os.path.abspath(f))
        result = {
            "files": [[p, st[:4] if st else None, p in self.changed] for p, st in sorted(self.files.items()) if kept(p)],
            "dirs": [
                [p, st[:4] if st else None, p in parents, p not in self.plain]
                for p, st in sorted(self.dirs.items())
                if kept(p)
            ],
            "lookups": [[d, sorted(n)] for d, n in sorted(self.lookups.items()) if kept(d)],
            "probes": [
                [p, st[:4] if st else None, bool(st and st[4] & 0o170000 == 0o040000)]
                for p, st in sorted(self.probes.items())
                if kept(p) and p not in self.files
            ],
            "programs": sorted(self.programs),
            "env": sorted(self.env),
            "imported": sorted(imported),
            "consulted": sorted(p for p in self.consulted if kept(p)),
        }
        result.update(extra or {})
        return result


def _child_main():
    """Runs PyInstaller's isolated child traced, then writes its record beside the parent's."""
    import json
    import runpy

    trace = _Trace()
    trace.child = True
    trace.install()
    child, out = os.environ["PYINSTALLER_BUILD_TRACE_CHILD"], os.environ["PYINSTALLER_BUILD_TRACE"]
    sys.argv[0] = child

    try:
        runpy.run_path(child, run_name="__main__")
    finally:
        trace.active = True
        with open("%s.child-%d.json" % (out, os.getpid()), "w") as f:
            json.dump(trace.record(), f)


# Run as a file (not inserted into the runner, which runs as `python -c`).
if __name__ == "__main__" and sys.argv[0] != "-c":
    _child_main()
