"""Partial per-test snapshots (heapshape_mark, heapshape_snapshot_since_mark): a "session"
with many sites, then a "test" that allocates at GROW, frees at OLD and calls make() from a
second place. Full snapshots right before the mark and right before the partial pair are the
oracle (tests/e2e/test_partial.py). Run with --frames 3. argv[1]: the output directory."""
import ctypes
import os
import sys

lib = ctypes.PyDLL(None)
snap = lib.heapshape_snapshot
snap.argtypes = [ctypes.c_char_p]
since = lib.heapshape_snapshot_since_mark
since.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
mark = lib.heapshape_mark
out = sys.argv[1]
P = {n: os.path.join(out, n + ".hsnap").encode() for n in
     ("nomark", "full_before", "full_after", "after", "before", "after_only")}


def make(n):
    return [bytearray(200) for _ in range(n)]  # SIBLING


# the session so far: many sites the test will not touch
src = "\n".join("v%d = bytearray(%d)" % (i, 64 + i) for i in range(3000))
ns = {}
exec(compile(src, os.path.join(out, "many.py"), "exec"), ns)
old = [str(i) * 4 for i in range(4000)]  # OLD
first = make(10)  # FIRST_CALL
untouched = bytearray(6000)  # UNTOUCHED

print("nomark", since(P["nomark"], None))  # CALL
snap(P["full_before"])  # CALL
mark()  # CALL
grown = [bytearray(1000) for _ in range(300)]  # GROW
del old[:1000]
second = make(5)  # SECOND_CALL
snap(P["full_after"])  # CALL
print("pair", since(P["after"], P["before"]))  # CALL
print("after only", since(P["after_only"], None))  # CALL
