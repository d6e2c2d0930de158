"""Objects re-created from CPython's free lists on four threads (tests/e2e/test_freelist_threads.py).

Each thread drops a list and a dict, then keeps a list, a dict and a tuple: the kept objects
come off the free lists, in blocks another thread may have dropped (the lists and dicts the
main thread drops before the threads start, each thread's last ones when it ends).

    python freelist_threads.py serial   # sys.setswitchinterval(100): the threads run one after
                                        # another, the same allocations in every run and tool
    python freelist_threads.py          # the default switch interval: the threads interleave
"""
import sys
import threading

THREADS, N = 4, 5000
if sys.argv[1:] == ["serial"]:
    sys.setswitchinterval(100)
keep = [[] for _ in range(THREADS)]


def work(k):
    kk = keep[k]
    for i in range(N):
        t = [i, k]  # T_LINE
        d = {"k": t}  # D_LINE
        del t, d
        kk.append(([i], {"v": i}))  # KEEP


dead = [[i] for i in range(1000)]  # DEAD
dead_dicts = [{"a": i} for i in range(1000)]  # DEAD_DICTS
del dead, dead_dicts
threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
for th in threads:
    th.start()
for th in threads:
    th.join()
