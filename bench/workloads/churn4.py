"""heapshape 'churn4': short-lived tuples, dicts, lists and floats created and dropped in a
tight loop on 4 threads, ITERATIONS loop turns per thread."""
import threading

from _common import iterations, report

THREADS = 4
n = iterations(400_000)
results = [0] * THREADS


def churn(k):
    acc = 0
    for i in range(n):
        t = (i, k, i + 1)
        d = {"a": t, "b": i * 1.5}
        lst = [t, d, str(i)]
        acc += len(lst) + len(d) + t[2]
    results[k] = acc


threads = [threading.Thread(target=churn, args=(k,)) for k in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
report("churn4", n, "%d" % sum(results))
