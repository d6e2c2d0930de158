# For test_advise: two fork children each build the same 150,000 float records at the same
# line (and leave with os._exit, as multiprocessing does); the parent builds none.
import os
import random


def build():
    rng = random.Random(5)
    return [{"x": rng.random(), "y": rng.random(), "z": rng.random()} for _ in range(150_000)]  # FORKED


pids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        data = build()
        os._exit(0 if len(data) == 150_000 else 1)
    pids.append(pid)
status = [os.waitpid(p, 0)[1] for p in pids]
print("children", status)
