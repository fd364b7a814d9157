"""Write the spec of a sidecar given as a script and PyInstaller command-line options.

argv: <spec folder> <sidecar name> <script> <option...>; run with the cwd at python-dir, so the
options' relative paths mean what they meant on a `pyinstaller ... script.py` command line run
there. The options are parsed by PyInstaller's own parser and the spec is written by its own
writer (`PyInstaller.building.makespec.main`), always onefile, named after the sidecar, into the
spec folder (the crate's cache, never python-dir). Paths in the options are made absolute first:
the spec does not live where they were written.

Exit status 2 with an `ERROR:` line on stderr naming every option that fights the crate (the
crate refuses their usual spellings before any Python runs; this catches abbreviations such as
`--spec`). What the crate decides itself (`-y`, `--distpath`, `--workpath`, `--clean`) is build
options, never part of a spec: ignored, however spelled.
"""
import sys

# Run as `python -c`, the cwd (the user's python-dir) would come first on sys.path, and a project
# module named like a stdlib one (json.py) would shadow it inside this helper and PyInstaller.
sys.path[:] = [p for p in sys.path if p not in ("", ".")]

import os  # noqa: E402

spec_dir, name, script = sys.argv[1:4]
options = sys.argv[4:]
where = "the `options` of sidecar `%s`" % name

# dest -> why the crate owns it.
OWNED = {
    "name": "the sidecar's name is its key in [package.metadata.pyinstaller-build.sidecars]",
    "specpath": "the crate writes the spec into its own cache folder",
    "upx_dir": "a build option, not part of the spec the crate builds from",
    "loglevel": "a build option, not part of the spec the crate builds from",
}


def fail(message):
    sys.stderr.write("ERROR: %s\n" % message)
    sys.exit(2)


for option in options:
    if option in ("-h", "--help", "-v", "--version"):
        fail("%s: `%s` does not build anything; remove it." % (where, option))

from PyInstaller.__main__ import generate_parser  # noqa: E402
import PyInstaller.building.makespec as makespec  # noqa: E402

parser = generate_parser()
parser.prog = "pyinstaller (%s)" % where
args = parser.parse_args(options + [script])


def spelled(dest):
    """How the user may have written the option for `dest`."""
    for action in parser._actions:
        if action.dest == dest and action.option_strings:
            return "/".join(action.option_strings)
    return dest


refused = ["`%s` (%s)" % (spelled(dest), why) for dest, why in OWNED.items()
           if getattr(args, dest, None) != parser.get_default(dest)]
if args.onefile is False:
    refused.append("`-D/--onedir` (a Tauri sidecar is a single file, so the crate always builds onefile)")
if refused:
    fail("%s: these fight the crate; remove them: %s." % (where, ", ".join(refused)))
if args.filenames != [script]:
    extra = [f for f in args.filenames if f != script]
    fail("%s: `%s` is not an option; the script is the `script` key." % (where, " ".join(extra)))


def absolute(path):
    return os.path.abspath(os.path.expanduser(path))


opts = vars(args)
opts["datas"] = [(absolute(src), dest) for src, dest in args.datas]
opts["binaries"] = [(absolute(src), dest) for src, dest in args.binaries]
opts["pathex"] = [absolute(p) for entry in args.pathex for p in entry.split(os.pathsep) if p]
opts["hookspath"] = [absolute(p) for p in args.hookspath]
opts["runtime_hooks"] = [absolute(p) for p in args.runtime_hooks]
if args.icon_file:
    opts["icon_file"] = [i if i == "NONE" else absolute(i) for i in args.icon_file]
for key in ("version_file", "splash", "entitlements_file"):
    if opts.get(key):
        opts[key] = absolute(opts[key])
for key in ("manifest", "shorthand_manifest"):
    if opts.get(key) and "<" not in opts[key]:
        opts[key] = absolute(opts[key])
if opts.get("resources"):
    opts["resources"] = [",".join([absolute(r.split(",")[0])] + r.split(",")[1:]) for r in opts["resources"]]
opts.update(onefile=True, name=name, specpath=spec_dir)
filenames = opts.pop("filenames")
makespec.main(filenames, **opts)
