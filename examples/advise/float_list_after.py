"""float_list_before.py rewritten along `heapshape advise`: one float64 array instead of a
list of float objects. The line marked DATA holds all the data that stays alive."""
import numpy as np

N = 1_000_000

values = np.empty(N, dtype=np.float64)  # DATA
values[:] = np.arange(N) * 0.5
