# heapshape_exact() in sampled mode: what is allocated while it is on is recorded block by
# block (weight 1), and freeing those blocks later takes back exactly that weight.
import ctypes
import sys

lib = ctypes.PyDLL(None)
lib.heapshape_exact.argtypes = [ctypes.c_int]
mode = lib.heapshape_exact(1)
keep = [bytearray(300) for _ in range(4000)]  # EXACT_KEEP
lib.heapshape_exact(0)
del keep[::2]  # frees half of them with exact recording off
print(mode, len(keep))
sys.stdout.flush()
