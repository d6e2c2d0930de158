"""For test_writers: N forked children that end at the same moment (a pool's workers). Each
builds 100,000 floats (3.2 MB, so it writes by the growth rule), then all wait on one pipe and
leave with os._exit together when the parent closes it. Prints JSON: the children's pids."""
import json
import os
import sys

n = int(sys.argv[1])
r, w = os.pipe()
pids = []
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        os.close(w)
        keep = [float(j) for j in range(100_000)]
        os.read(r, 1)  # returns when the parent closes the pipe: all children at once
        os._exit(0)
    pids.append(pid)
os.close(r)
import time
time.sleep(1.0)  # every child has built its floats
os.close(w)
for pid in pids:
    os.waitpid(pid, 0)
print(json.dumps(pids))
