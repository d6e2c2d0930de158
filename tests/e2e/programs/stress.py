"""Stress programs for test_stress.py; argv[1] picks one.
  forks    4 threads allocate while the main thread forks 300 children (each builds a list and
           leaves with os._exit); prints the children's exit statuses
  signals  4 threads allocate while SIGUSR2 is sent 200 times, each after the previous
           snapshot appeared (argv[2]: the snapshot path prefix); prints the threads' sums
  forksnap one thread forks 50 times while the main thread takes 50 snapshots through the API
  bigkill  keeps 1 GB live (1024 bytearrays of 1 MiB) and waits to be killed"""
import ctypes
import glob
import os
import signal
import sys
import threading
import time

mode = sys.argv[1]
stop = threading.Event()
sums = [0] * 4


def churn(k):
    n = 0
    while not stop.is_set():
        d = {"k": [str(i) for i in range(50)]}
        n += len(d["k"])
    sums[k] = n


threads = [threading.Thread(target=churn, args=(k,)) for k in range(4)]
if mode in ("forks", "signals"):
    for t in threads:
        t.start()

if mode == "forks":
    statuses = []
    for i in range(300):
        pid = os.fork()
        if pid == 0:
            x = [str(j) for j in range(100)]  # CHILD
            os._exit(len(x) % 7)
        statuses.append(os.waitpid(pid, 0)[1])
    stop.set()
    for t in threads:
        t.join()
    print(sorted(set(os.waitstatus_to_exitcode(s) if hasattr(os, "waitstatus_to_exitcode") else s >> 8 for s in statuses)), len(statuses))
elif mode == "signals":
    prefix = sys.argv[2]
    for i in range(1, 201):
        os.kill(os.getpid(), signal.SIGUSR2)
        deadline = time.monotonic() + 60
        while not os.path.exists("%s.%d.hsnap" % (prefix, i)) and time.monotonic() < deadline:
            time.sleep(0.002)
    stop.set()
    for t in threads:
        t.join()
    print(all(s > 0 for s in sums), len(glob.glob(prefix + ".*.hsnap")))
elif mode == "forksnap":
    lib = ctypes.CDLL(None)
    codes = []

    def forker():
        for i in range(50):
            pid = os.fork()
            if pid == 0:
                os._exit(3)
            codes.append(os.waitpid(pid, 0)[1] >> 8)

    t = threading.Thread(target=forker)
    t.start()
    ok = 0
    for i in range(50):
        ok += lib.heapshape_snapshot(("%s.api%d.hsnap" % (sys.argv[2], i)).encode()) == 0
    t.join()
    print(ok, sorted(set(codes)), len(codes))
elif mode == "bigkill":
    big = [bytearray(1 << 20) for i in range(1024)]  # BIG
    print("ready", flush=True)
    time.sleep(120)
