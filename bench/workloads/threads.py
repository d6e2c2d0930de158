"""heapshape 'threads': many short-lived threads, 16 alive at a time, each building and
dropping a few hundred small objects (ITERATIONS threads)."""
import threading

from _common import iterations, report

n = iterations(3000)
results = [0] * n


def work(k):
    d = {i: (i, str(i)) for i in range(200)}
    results[k] = sum(len(v[1]) for v in d.values()) + k


started = 0
while started < n:
    batch = [threading.Thread(target=work, args=(k,)) for k in range(started, min(n, started + 16))]
    for t in batch:
        t.start()
    for t in batch:
        t.join()
    started += len(batch)
report("threads", n, "%d" % sum(results))
