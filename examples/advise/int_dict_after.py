"""int_dict_before.py rewritten along `heapshape advise`: sorted int64 keys and float64 values
in two arrays; a lookup is np.searchsorted. The lines marked DATA hold all the data that stays
alive."""
import numpy as np

N = 300_000

keys = np.empty(N, dtype=np.int64)  # DATA
values = np.empty(N, dtype=np.float64)  # DATA
keys[:] = np.arange(N) * 1_000_003
values[:] = np.arange(N) * 0.25
i = np.searchsorted(keys, 1_000_003 * 7)
assert keys[i] == 1_000_003 * 7 and values[i] == 7 * 0.25
