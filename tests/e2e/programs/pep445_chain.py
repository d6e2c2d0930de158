"""tracemalloc and other PEP 445 allocators in any order with heapshape (test_pep445.py).

argv[1] is a mode made of words joined by '+':
  start    tracemalloc.start() here (else it is started by the environment or -X, or not at all)
  restart  tracemalloc.stop() then tracemalloc.start() before the measured allocations
  wrap     a C allocator of the test's own (pep445_wrapper.so, argv[2]) wraps the OBJ domain
           around the measured allocations and is removed again
Prints one JSON line: tracemalloc's count and size for the KEEP line and its traced memory,
and the wrapper's call count."""
import ctypes
import json
import sys
import tracemalloc

N = 20000
mode = sys.argv[1].split("+")
out = {"tracing_at_start": tracemalloc.is_tracing()}
if "start" in mode:
    tracemalloc.start()
if "restart" in mode:
    tracemalloc.stop()
    gap = [str(i) * 5 for i in range(N)]  # GAP
    tracemalloc.start()
lib = None
if "wrap" in mode:
    lib = ctypes.CDLL(sys.argv[2])
    assert lib.hs_wrap_install() == 0
    before = lib.hs_wrap_calls()
keep = [str(i) * 4 for i in range(N)]  # KEEP
if lib is not None:
    out["wrapper_calls"] = lib.hs_wrap_calls() - before
    assert lib.hs_wrap_remove() == 0
after = [str(i) * 3 for i in range(N)]  # AFTER
if tracemalloc.is_tracing():
    snap = tracemalloc.take_snapshot()
    with open(__file__) as f:
        lines = f.read().splitlines()
    for st in snap.statistics("lineno"):
        fr = st.traceback[0]
        for tag in ("KEEP", "AFTER"):
            if fr.filename == __file__ and lines[fr.lineno - 1].endswith("# " + tag):
                out[tag.lower()] = [st.count, st.size]
    out["traced"] = tracemalloc.get_traced_memory()[0]
    # tracemalloc keeps tracing until exit: its trace entries for the KEEP and AFTER blocks are
    # still allocated when heapshape takes its exit snapshot (test_pep445 checks they are not
    # counted as the program's Python memory)
print(json.dumps(out))
