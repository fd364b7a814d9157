"""A fake PyInstaller for pyinstaller-build's fast tests (like cc-rs's fake compiler).

It records its argv, writes an Analysis TOC naming the spec's scripts and the project modules
listed in the spec's `# modules:` comment, and writes a shell-script "binary" that prints the
spec's name and the content of those files. Knobs, from the spec text:
  FAIL              exit 1 like a broken spec
  # sleep: N        take N seconds (to observe parallelism); or env FAKE_PYINSTALLER_SLEEP
  # edit: FILE      append a line to FILE during the first run (an edit saved mid-build)
  # onedir          produce dist/<name>/<name>
"""
import os

# Within the range the crate supports, unless a test asks for another.
__version__ = os.environ.get("FAKE_PYINSTALLER_VERSION", "6.99.0+fake")
