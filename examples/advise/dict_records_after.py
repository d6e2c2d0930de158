"""dict_records_before.py rewritten along `heapshape advise`: one float64 column per field
instead of one dict per point. The lines marked DATA hold all the data that stays alive."""
import random

import numpy as np

N = 300_000
rng = random.Random(1)

n = N
x = np.empty(n, dtype=np.float64)  # DATA
y = np.empty(n, dtype=np.float64)  # DATA
z = np.empty(n, dtype=np.float64)  # DATA
for i in range(n):
    x[i], y[i], z[i] = rng.random(), rng.random(), rng.random()
