"""Sidecar using a third-party package (packaging, installed with PyInstaller): sorts versions."""
import sys

from packaging.version import Version

from shared import APP_VERSION, answer

if __name__ == "__main__":
    if sys.argv[1:] == ["--version"]:
        print(f"versions {APP_VERSION}")
        sys.exit(0)
    ordered = sorted(sys.argv[1:], key=Version)
    print(answer("versions", " < ".join(ordered)))
