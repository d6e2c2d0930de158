"""Prints what the program can see of its own process (tests/e2e/test_program_view.py):
sys.modules and os.environ's HEAPSHAPE_ROOT* keys.
With an argument it imports atexit itself after start-up and registers a callback."""
import os
import sys

KEEP = [float(i) for i in range(200_000)]  # GLOBAL: alive until finalization

if len(sys.argv) > 1:
    import atexit

    atexit.register(lambda: print("program atexit ran", flush=True))
print("modules:", sorted(sys.modules))
print("environ:", sorted(k for k in os.environ if k.startswith("HEAPSHAPE_ROOT")))
