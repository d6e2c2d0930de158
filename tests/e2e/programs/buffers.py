"""Buffers without an object header (tests/e2e/test_anatomy_buffers.py): a numpy array's data,
a bytearray's storage, an array.array's items, a ctypes C array."""
import array
import ctypes

try:
    import numpy as np
except ImportError:
    np = None

nums = np.arange(1_000_000, dtype=np.float64) if np is not None else None  # NUMPY
raw = bytearray(4_000_000)  # BYTEARRAY
arr = array.array("d", bytes(4_000_000))  # ARRAY
carr = (ctypes.c_double * 500_000)()  # CTYPES
