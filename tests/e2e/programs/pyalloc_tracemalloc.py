# tracemalloc running when the switch to traced comes (tests/e2e/test_pyalloc_untraced.py):
# the shim's MEM/OBJ link goes on top of tracemalloc's hooks, and after tracemalloc.stop()
# (which restores the allocator it saved, below the shim's link) the chain check puts it back.
import ctypes
import tracemalloc

lib = ctypes.PyDLL(None)
tracemalloc.start()
a = [bytes(40) for _ in range(10000)]  # A: untraced, tracemalloc's alone
print(lib.heapshape_trace_python_allocators())
b = [bytes(40) for _ in range(10000)]  # B: both
n = tracemalloc.take_snapshot().statistics("lineno")
tracemalloc.stop()
c = [bytes(40) for _ in range(10000)]  # C: heapshape's again
