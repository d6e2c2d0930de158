"""mixed_before.py rewritten along `heapshape advise`: one numpy structured array with packed
fields (8 + 52 + 8 + 1 = 69 bytes per reading) instead of one dict per reading. The lines
marked DATA hold all the data."""
import random

import numpy as np

N = 300_000
rng = random.Random(3)

n = N
rec = np.dtype([("id", np.int64), ("name", "U13"), ("value", np.float64), ("ok", np.bool_)])
table = np.empty(n, dtype=rec)  # DATA
for i in range(n):
    table[i] = (i, "sensor-%06d" % i, rng.random(), i % 3 == 0)
