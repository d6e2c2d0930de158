"""A program's own reference tracer (tests/e2e/test_reftracer_chain.py): the free-list
reproducer of freelist_reuse.py before, during and after a counting tracer of
reftracer_counter.c (argv[1], loaded with ctypes.PyDLL) installed through
PyRefTracer_SetTracer, twice. Prints one JSON line: the tracer's counts for each window,
what PyRefTracer_GetTracer answered, and whether libpython is shared."""
import ctypes
import json
import sys

lib = ctypes.PyDLL(sys.argv[1])
for name in ("ht_creates", "ht_destroys", "ht_removed", "ht_bad_data"):
    getattr(lib, name).restype = ctypes.c_long
N = 10000


def counts():
    return [lib.ht_creates(), lib.ht_destroys(), lib.ht_removed(), lib.ht_bad_data()]


keep1 = []
for i in range(N):
    t = [i, i]
    del t
    keep1.append([i])  # KEEP1
r_install = lib.ht_install()
cur_on = lib.ht_current()
keep2 = []
for i in range(N):
    t = [i, i]
    del t
    keep2.append([i])  # KEEP2
r_remove = lib.ht_remove()
first = counts()
cur_off = lib.ht_current()
keep3 = []
for i in range(N):
    t = [i, i]
    del t
    keep3.append([i])  # KEEP3
lib.ht_install()
keep4 = []
for i in range(N):
    t = [i, i]
    del t
    keep4.append([i])  # KEEP4
lib.ht_remove()
second = counts()
print(json.dumps({"install": r_install, "remove": r_remove, "current_on": cur_on, "current_off": cur_off,
                  "first": first, "second": second,
                  "shared": any("libpython" in l for l in open("/proc/self/maps"))}))
