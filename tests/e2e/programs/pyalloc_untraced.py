# HEAPSHAPE_PYTHON_ALLOCATORS=untraced and the switch (tests/e2e/test_pyalloc_untraced.py).
# Prints one JSON object: which PEP 445 domains carry the shim's hooks before and after
# heapshape_trace_python_allocators(), per-test peaks, and writes two snapshots (argv[1],
# argv[2]) around the switch.
import ctypes
import json
import sys

lib = ctypes.PyDLL(None)


class Alloc(ctypes.Structure):
    _fields_ = [("ctx", ctypes.c_void_p), ("malloc", ctypes.c_void_p), ("calloc", ctypes.c_void_p),
                ("realloc", ctypes.c_void_p), ("free", ctypes.c_void_p)]


class Arena(ctypes.Structure):
    _fields_ = [("ctx", ctypes.c_void_p), ("alloc", ctypes.c_void_p), ("free", ctypes.c_void_p)]


def in_shim(addr):
    for line in open("/proc/self/maps"):
        if "libheapshape" in line:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if lo <= addr < hi:
                return True
    return False


def hooked():
    out = {}
    for name, domain in (("raw", 0), ("mem", 1), ("obj", 2)):
        a = Alloc()
        lib.PyMem_GetAllocator(domain, ctypes.byref(a))
        out[name] = in_shim(a.malloc)
    a = Arena()
    lib.PyObject_GetArenaAllocator(ctypes.byref(a))
    out["arena"] = in_shim(a.alloc)
    return out


get = lib.heapshape_peak_get
get.argtypes = [ctypes.POINTER(ctypes.c_ulonglong)] * 2


def peak():
    p, c = ctypes.c_ulonglong(), ctypes.c_ulonglong()
    get(ctypes.byref(p), ctypes.byref(c))
    return p.value


res = {"before": hooked()}
N = 400_000
keep = [None] * N
lib.heapshape_peak_reset()
big = bytearray(40_000_000)  # BIG
del big
res["peak_big"] = peak()
lib.heapshape_peak_reset()
for i in range(N):
    keep[i] = bytes(40)  # SMALL_A: pymalloc blocks, seen as arenas while untraced
res["peak_small"] = peak()
lib.heapshape_peak_stop()
lib.heapshape_snapshot(sys.argv[1].encode())
res["switch"] = [lib.heapshape_trace_python_allocators(), lib.heapshape_trace_python_allocators()]
res["after"] = hooked()
later = [None] * 100_000
for i in range(100_000):
    later[i] = bytes(40)  # SMALL_B: recorded one by one after the switch
del keep  # the arenas recorded before the switch are freed after it
lib.heapshape_snapshot(sys.argv[2].encode())
print(json.dumps(res))
