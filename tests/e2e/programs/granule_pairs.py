"""Two blocks of 16 bytes (object() instances) in one 32-byte granule of the shim's shadow table
(the first recorded in the granule's main slot, the second in its side slot), freed in either
order, on four threads switching every few microseconds, so that the two blocks of a granule are
often two threads'. Each round a thread makes N objects (CHURN), drops every other one (the
lower halves of their granules in odd rounds, the upper ones in even rounds), makes N/2 objects
it keeps (KEEP, mostly in the halves just freed, next to a live CHURN object) and drops the rest
of CHURN. At the end KEEP holds exactly THREADS x ROUNDS x N/2 objects and CHURN none. Prints the
number of kept objects that shared their granule with a live CHURN object when made."""
import sys
import threading

THREADS, ROUNDS, N = 4, 30, 4000
sys.setswitchinterval(1e-5)
keep = [[None] * (ROUNDS * N // 2) for _ in range(THREADS)]
shared = [0] * THREADS


def work(t):
    k = keep[t]
    j = 0
    for r in range(ROUNDS):
        a = [object() for _ in range(N)]  # CHURN
        if r % 2:
            del a[::2]  # DROP_EVEN
        else:
            del a[1::2]  # DROP_ODD
        for _ in range(N // 2):
            k[j] = object()  # KEEP
            j += 1
        ids = set(map(id, a))
        shared[t] += sum(1 for o in k[j - N // 2:j] if id(o) ^ 16 in ids)
        del a, ids


threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
for th in threads:
    th.start()
for th in threads:
    th.join()
print("shared", sum(shared), "kept", sum(sum(1 for o in k if o is not None) for k in keep))
