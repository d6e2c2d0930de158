"""One run of the fidelity comparison (bench/fidelity.py): a workload between two snapshots.

    python -X tracemalloc=1 fidelity_driver.py tracemalloc WORKLOAD OUTDIR
    heapshape run -- python fidelity_driver.py heapshape WORKLOAD OUTDIR

WORKLOAD is `pyperf:NAME` (bench/workloads/NAME.py, run as __main__ with its quick iteration
count, its globals kept; `pyperf:NAME@serial` with sys.setswitchinterval(100), so that its threads
run one after another) or `stdlib:NAME` (bench/fidelity_workloads.py: setup before snapshot 0,
run after it, its result kept). Snapshot 0 is taken after setup, snapshot A after the work, with
everything the work built still alive. Both tools import the same modules (tracemalloc, ctypes,
json) so that the two processes differ only in the profiler.

tracemalloc: writes OUTDIR/tm.json = {"live": statistics("lineno") of A, "diff":
A.compare_to(0, "lineno")}, both without this file's and tracemalloc.py's traces.
heapshape: writes OUTDIR/0.hsnap and OUTDIR/A.hsnap through the shim's heapshape_snapshot.
"""
import ctypes
import gc
import json
import os
import runpy
import sys
import tempfile
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL, WORKLOAD, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
ITERATIONS = int(sys.argv[4]) if len(sys.argv) > 4 else None


_EXCLUDED = [tracemalloc.__file__, os.path.abspath(__file__)]


def _tm_filter(snap):
    return snap.filter_traces([tracemalloc.Filter(False, f) for f in _EXCLUDED])


# Filtering snapshot 0 leaves caches behind that were live in A only, so tracemalloc's 0->A
# diff showed memory the workload never made: fnmatch compiles each pattern once (~1.8 KiB at
# re/_compiler.py) and filter_traces' isinstance(filters, Iterable) fills the ABC's subclass
# cache (448 B at <frozen abc>:123, also in the live view). Both are filled here, in both
# processes, before snapshot 0.
import fnmatch  # noqa: E402  (tracemalloc imports it anyway)
for _pattern in _EXCLUDED:
    fnmatch.fnmatch(os.path.abspath(__file__), _pattern)
_tm_filter(tracemalloc.Snapshot((), 1))
# runpy.run_path imports pkgutil on its first call, and pkgutil's namedtuple ModuleInfo is the
# 22nd subclass of tuple here: adding it grows tuple's subclass dict, whose 568-byte table was
# allocated while `posix` was imported during initialization (the 11th subclass,
# os.stat_result), before -X tracemalloc starts. heapshape saw that table allocated and sees it
# freed (-568 B at <frozen importlib._bootstrap>:488 in 0->A); tracemalloc never traced it, so
# its diff cannot show the free. That start-up effect is not what the 0->A view compares.
import pkgutil  # noqa: E402,F401
# The snapshot call, resolved once here and not at the snapshot: between the workload's end and
# snapshot A, ctypes.PyDLL(None) and the symbol lookup built a class and dozens of objects, and
# every one re-created from a free list moved a dead block to a ctypes line in heapshape only
# (tracemalloc captures first thing in take_snapshot()).
_LIBC = ctypes.PyDLL(None)
_CALL = _LIBC.heapshape_snapshot if TOOL == "heapshape" else _LIBC.strlen
_CALL.argtypes = [ctypes.c_char_p]
_PATHS = {tag: os.path.join(OUT, tag + ".hsnap").encode() for tag in ("0", "A")}
gc.collect()  # the compile's garbage (re/_parser.py cycles), before snapshot 0 too


def _rows(stats, diff):
    out = []
    for s in stats:
        f = s.traceback[0]
        r = {"filename": f.filename, "lineno": f.lineno, "size": s.size, "count": s.count}
        if diff:
            r["size_diff"], r["count_diff"] = s.size_diff, s.count_diff
        out.append(r)
    return out


_snap0 = None

# CPython's method cache (_PyType_Lookup, 4096 entries) holds a strong reference to the name of
# every lookup it caches, in a slot chosen from the type's version tag and the name's ADDRESS.
# A name made afresh at each call (pickle's save_global: getattr(cls, '__qualname__') of a
# static type is a new 45-byte str "date" per call, then getattr(module, name)) occupies a new
# slot each time and stays alive until another lookup takes that slot: how many survive depends
# on where each string was allocated, i.e. on the process (tracemalloc alone: 45, 62 and 152 of
# them at pickle.py:1053 in three runs on 3.12). Both processes empty the cache just before each
# capture (sys._clear_type_cache: 3.8-3.14), so that the views compare the tools' attribution
# and not address luck. See docs/FIDELITY.md.
_clear_type_cache = getattr(sys, "_clear_internal_caches", None) or sys._clear_type_cache


def snapshot(tag):
    global _snap0
    # The same ctypes call in both processes, just before the capture: heapshape's is the
    # snapshot, tracemalloc's a strlen of the same path. A call allocates (its argument tuple,
    # the converted c_char_p) and may re-create dead objects from free lists; made in both, its
    # effects are the same in both (at this file's lines, left out of both sides).
    _clear_type_cache()
    r = _CALL(_PATHS[tag])
    if TOOL == "tracemalloc":
        snap = _tm_filter(tracemalloc.take_snapshot())
        if tag == "0":
            _snap0 = snap
            return
        doc = {"live": _rows(snap.statistics("lineno"), False),
               "diff": _rows(snap.compare_to(_snap0, "lineno"), True)}
        with open(os.path.join(OUT, "tm.json"), "w") as f:
            json.dump(doc, f)
    elif r != 0:
        sys.exit("heapshape_snapshot failed")


def flush_free_lists():
    """A full collection empties CPython's free lists. Called after snapshot 0 in both
    processes: take_snapshot() builds its result while tracemalloc ignores its own allocations,
    and those untraced tuples, ints and lists, once dropped, sit in the free lists; an object
    the workload then re-creates in one is invisible to tracemalloc (it re-attributes only
    blocks it traces), which made it miss a few KiB at some lines (heapq.py in a
    Counter.most_common, 3%)."""
    gc.collect()


# gc.collect() before snapshot 0 too: the dead objects on the free lists at that moment include
# some allocated during initialization, before -X tracemalloc started; flushed after snapshot 0,
# they were frees in heapshape's 0->A diff and nothing in tracemalloc's.


def main():
    kind, name = WORKLOAD.split(":", 1)
    with tempfile.TemporaryDirectory(prefix="hs-fidelity-") as tmp:
        if kind == "pyperf":
            if name.endswith("@serial"):
                # the threads one after another (no switch for 100 s): both processes make the
                # same allocations in the same order, whatever their speed (docs/FIDELITY.md,
                # "Threads")
                name = name[:-len("@serial")]
                sys.setswitchinterval(100)
            sys.path.insert(0, os.path.join(HERE, "workloads"))
            path = os.path.join(HERE, "workloads", name + ".py")
            sys.argv = [path] + ([str(ITERATIONS)] if ITERATIONS else [])
            gc.collect()  # before snapshot 0 as well (below)
            snapshot("0")
            flush_free_lists()
            kept = runpy.run_path(path, run_name="__main__")
            snapshot("A")
        else:
            sys.path.insert(0, HERE)
            import fidelity_workloads
            setup, run = fidelity_workloads.get(name)
            state = setup(tmp)
            gc.collect()  # before snapshot 0 as well (below)
            snapshot("0")
            flush_free_lists()
            kept = run(state)
            snapshot("A")
        del kept


if __name__ == "__main__":
    main()
