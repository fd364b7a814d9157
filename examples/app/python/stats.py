"""Stdlib-only sidecar: summary statistics of its arguments."""
import statistics
import sys

from shared import APP_VERSION, answer

if __name__ == "__main__":
    if sys.argv[1:] == ["--version"]:
        print(f"stats {APP_VERSION}")
        sys.exit(0)
    numbers = [float(a) for a in sys.argv[1:]]
    print(answer("stats", f"mean={statistics.mean(numbers):g} median={statistics.median(numbers):g}"))
