"""tuples_before.py rewritten along `heapshape advise`: one int64 column per tuple position
instead of one tuple per edge. The lines marked DATA hold all the data."""
import numpy as np

N = 300_000

n = N
f0 = np.empty(n, dtype=np.int64)  # DATA
f1 = np.empty(n, dtype=np.int64)  # DATA
f2 = np.empty(n, dtype=np.int64)  # DATA
for i in range(n):
    f0[i], f1[i], f2[i] = i, (i * 7919) % N, 1000 + i % 5000
