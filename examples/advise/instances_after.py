"""instances_before.py rewritten along `heapshape advise`: one float64 column per attribute
instead of one Particle per particle. The lines marked DATA hold all the data."""
import random

import numpy as np

N = 300_000
rng = random.Random(2)

n = N
x = np.empty(n, dtype=np.float64)  # DATA
y = np.empty(n, dtype=np.float64)  # DATA
vx = np.empty(n, dtype=np.float64)  # DATA
vy = np.empty(n, dtype=np.float64)  # DATA
for i in range(n):
    x[i], y[i], vx[i], vy[i] = rng.random(), rng.random(), rng.random(), rng.random()
