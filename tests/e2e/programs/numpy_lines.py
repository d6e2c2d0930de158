# numpy array data attributed to the Python line that created the array.
import numpy as np

zeros = np.zeros(4_000_000)  # ZEROS (32,000,000 bytes of data, calloc'd with the GIL released)
ramp = np.arange(1_000_000, dtype=np.int64) * 3  # RAMP (8,000,000 bytes of data)
print(zeros.nbytes + ramp.nbytes)
