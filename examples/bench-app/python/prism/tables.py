"""Table logic only the headless sidecar imports."""
import numpy as np
import pandas as pd


def summarize(values):
    frame = pd.DataFrame({"x": np.asarray(values, dtype=float)})
    return {"mean": float(frame["x"].mean()), "std": float(frame["x"].std(ddof=0))}

REVISION = 0  # the benchmark changes this value: an edit of a module body
