"""Free-list re-attribution while the program starts and stops tracemalloc itself
(tests/e2e/test_freelist.py): three rounds of the reproducer, before, during and after
tracemalloc. Prints tracemalloc's own figure for the middle round and whether tracemalloc
said it was tracing before it was started, so the test can check that heapshape changed
neither."""
import tracemalloc

before = tracemalloc.is_tracing()
keep1 = []
for i in range(10000):
    t = [i, i]
    del t
    keep1.append([i])  # KEEP1
tracemalloc.start()
keep2 = []
for i in range(10000):
    t = [i, i]
    del t
    keep2.append([i])  # KEEP2
snap = tracemalloc.take_snapshot()
tracemalloc.stop()
with open(__file__) as f:
    line = [n for n, text in enumerate(f, 1) if text.rstrip().endswith("# KEEP2")][0]
stats = [s for s in snap.statistics("lineno") if s.traceback[0].filename == __file__
         and s.traceback[0].lineno == line]
del snap
keep3 = []
for i in range(10000):
    t = [i, i]
    del t
    keep3.append([i])  # KEEP3
print("TRACING_BEFORE %s TM_KEEP2 %d %d SHARED %s" % (
    before, stats[0].count if stats else 0, stats[0].size if stats else 0,
    any("libpython" in l for l in open("/proc/self/maps"))))
