"""heapshape 'numpy_pipe': a numpy pipeline with many temporaries: arrays of 100,000 floats
through elementwise expressions, reductions and boolean masks (ITERATIONS rounds)."""
import numpy as np

from _common import iterations, report

n = iterations(400)
rng = np.random.default_rng(7)
x = rng.random(100_000)
y = rng.random(100_000)
acc = 0.0
kept = []
for r in range(n):
    z = (x * 2.5 + y) / (1.0 + x * y)
    w = np.sqrt(z) - np.log1p(y)
    m = w > w.mean()
    s = np.where(m, w, -w).cumsum()
    acc += float(s[-1]) + float((z[m] ** 2).sum())
    if r % 100 == 0:
        kept.append(s.copy())
report("numpy_pipe", n, "%.6e %d" % (acc, len(kept)))
