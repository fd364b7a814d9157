import json
import os
import re
import sys
import time


def run(args):
    work = args[args.index("--workpath") + 1]
    dist = args[args.index("--distpath") + 1]
    spec = os.path.abspath(args[-1])
    stem = os.path.basename(spec)[: -len(".spec")]
    text = open(spec).read()
    folder = os.path.dirname(spec)
    tocdir = os.path.join(work, stem)
    record = {
        "spec": stem,
        "argv": args,
        "start": time.time(),
        "toc_existed": os.path.exists(os.path.join(tocdir, "Analysis-00.toc")),
        "cwd": os.getcwd(),
        "hashseed": os.environ.get("PYTHONHASHSEED"),
        "config_dir": os.environ.get("PYINSTALLER_CONFIG_DIR"),
        "zlib_level": os.environ.get("PYINSTALLER_ZLIB_COMPRESSION_LEVEL"),
    }
    open(os.environ["FAKE_PYINSTALLER_LOG"] + ".started", "a").close()
    m = re.search(r"# sleep: ([0-9.]+)", text)
    sleep = float(m.group(1)) if m else float(os.environ.get("FAKE_PYINSTALLER_SLEEP", "0"))
    time.sleep(sleep)
    m = re.search(r"# edit: (\S+)", text)
    marker = os.path.join(work, "edited")
    if m and not os.path.exists(marker):
        with open(os.path.join(folder, m.group(1)), "a") as f:
            f.write("# edited during the build\n")
        open(marker, "w").close()
    from PyInstaller.building.build_main import Analysis

    Analysis(cached=record["toc_existed"])
    # Modules an analysis reads without packaging them (PyInstaller leaves an invalid one out),
    # read only when there is no cached analysis to reuse, as PyInstaller does.
    m = re.search(r"# reads: (.*)", text)
    if m and not record["toc_existed"]:
        for r in m.group(1).split():
            with open(os.path.join(folder, r)) as f:
                f.read()
    record["end"] = time.time()
    with open(os.environ["FAKE_PYINSTALLER_LOG"], "a") as f:
        f.write(json.dumps(record) + "\n")
    if "FAIL" in text:
        print("fake PyInstaller: SyntaxError in", spec, file=sys.stderr)
        sys.exit(1)
    # Like PyInstaller's module search, which looks for the base library's modules (`json`,
    # `collections`, ...) in the script's folder before the standard library.
    import pkgutil

    for name in ("json", "collections"):
        pkgutil.get_importer(folder).find_spec(name)
    scripts = re.findall(r"Analysis\(\['([^']+)'", text)
    modules = (re.search(r"# modules: (.*)", text) or re.search("()", "")).group(1).split()
    sources = [os.path.join(folder, p) for p in scripts + modules]
    os.makedirs(tocdir, exist_ok=True)
    toc = (
        [os.path.join(folder, s) for s in scripts],
        [(s, os.path.join(folder, s), "PYSOURCE") for s in scripts],
        [(m, os.path.join(folder, m), "PYMODULE") for m in modules],
        [],
    )
    with open(os.path.join(tocdir, "Analysis-00.toc"), "w") as f:
        f.write(repr(toc))
    name = re.search(r"name='([^']+)'", text).group(1)
    content = "".join(open(s).read() for s in sources if os.path.exists(s))
    out = os.path.join(dist, name)
    if "# onedir" in text:
        os.makedirs(out)
        out = os.path.join(out, name)
    with open(out, "w") as f:
        f.write("#!/bin/sh\ncat <<'PYINSTALLER_FAKE_EOF'\n%s %s\nPYINSTALLER_FAKE_EOF\n" % (name, content))
        f.write('[ "$1" = "--fail" ] && exit 3\nexit 0\n')
    os.chmod(out, 0o755)


if __name__ == "__main__":
    run(sys.argv[1:])
