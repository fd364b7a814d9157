"""Worker sidecar: stdlib only."""
import sys

from prism import VERSION
from prism.core import envelope, parse_numbers

if __name__ == "__main__":
    if sys.argv[1:] == ["--version"]:
        print(f"prism_worker {VERSION}")
        sys.exit(0)
    print(envelope("total", sum(parse_numbers(sys.argv[1:]))))
