"""Headless analysis sidecar: pandas + numpy."""
import sys

from prism import VERSION
from prism.core import envelope, parse_numbers
from prism.tables import summarize

if __name__ == "__main__":
    if sys.argv[1:] == ["--version"]:
        print(f"prism_headless {VERSION}")
        sys.exit(0)
    print(envelope("summary", summarize(parse_numbers(sys.argv[1:]))))

REVISION = 0  # the benchmark changes this value: an edit of a module body
