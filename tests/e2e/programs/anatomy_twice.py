"""Builds programs/records.py's 400,000 records, then takes two snapshots of the same heap
through the shim's API: the first with the anatomy pass the CPU gets (POPCNT on x86-64 since
2008), the second with HEAPSHAPE_ANATOMY_PORTABLE=1 (the copy for CPUs without it)."""
import ctypes
import os
import runpy
import sys

here = os.path.dirname(os.path.abspath(__file__))
kept = runpy.run_path(os.path.join(here, "records.py"))
snap = ctypes.PyDLL(None).heapshape_snapshot
snap.argtypes = [ctypes.c_char_p]
snap.restype = ctypes.c_int
a, b = sys.argv[1].encode(), sys.argv[2].encode()
if snap(a) != 0:
    sys.exit("first snapshot failed")
os.environ["HEAPSHAPE_ANATOMY_PORTABLE"] = "1"
if snap(b) != 0:
    sys.exit("second snapshot failed")
