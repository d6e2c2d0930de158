"""300,000 points as dicts {"x", "y", "z"} of floats, kept alive in a list.

    ./heapshape run -- python3 examples/advise/dict_records_before.py
    ./heapshape advise heapshape-python3*-<pid>.hsnap

The advice: struct of arrays, three float64 numpy columns (dict_records_after.py)."""
import random

N = 300_000
rng = random.Random(1)

points = [{"x": rng.random(), "y": rng.random(), "z": rng.random()} for _ in range(N)]  # RECORDS
