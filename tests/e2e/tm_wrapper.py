"""Runs a script under tracemalloc (start it with -X tracemalloc=1) and, from an atexit
callback registered before the script runs (so it runs after the script's own callbacks, as
heapshape's does), writes Snapshot.statistics(KEY)[:LIMIT] as JSON to OUT.
Usage: python -X tracemalloc=1 tm_wrapper.py OUT KEY LIMIT SCRIPT [ARGS...]"""
import atexit
import json
import runpy
import sys
import tracemalloc

OUT, KEY, LIMIT = sys.argv[1], sys.argv[2], int(sys.argv[3])
SELF = __file__


def _dump():
    snap = tracemalloc.take_snapshot()
    snap = snap.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__),
                               tracemalloc.Filter(False, SELF)])
    stats = snap.statistics(KEY)[:LIMIT]
    with open(OUT, "w") as f:
        json.dump([{"filename": s.traceback[0].filename, "lineno": s.traceback[0].lineno,
                    "size": s.size, "count": s.count} for s in stats], f)


atexit.register(_dump)
script = sys.argv[4]
sys.argv = sys.argv[4:]
_globals = runpy.run_path(script, run_name="__main__")  # keep the script's objects alive
