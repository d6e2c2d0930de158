"""For test_writers: which forked children write a snapshot. A forked child starts with a copy
of its parent's tables; it writes only when its live heap rose 256 KiB above its level at
the fork. Children that leave with os._exit (as multiprocessing's do):
  small     builds 1,000 strings (about 60 KB): writes nothing
  big       builds 100,000 floats (3.2 MB) and keeps them: writes
  freed     builds them and frees them again before leaving: writes (its peak)
and two multiprocessing workers (fork start method): one that runs a trivial target (writes
nothing) and one that builds the floats (writes). Prints JSON: the pids of each kind."""
import json
import multiprocessing
import os


def small():
    data = [str(j) for j in range(1000)]  # SMALL
    return len(data)


def big():
    data = [float(j) for j in range(100_000)]  # BIG
    return data


def child(kind):
    pid = os.fork()
    if pid == 0:
        if kind == "small":
            small()
        elif kind == "big":
            keep = big()
            assert keep
        else:
            keep = big()
            del keep
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


parent = [str(i) * 3 for i in range(50_000)]  # PARENT: the children inherit 3 MB
pids = {kind: [child(kind)] for kind in ("small", "big", "freed")}
ctx = multiprocessing.get_context("fork")
for kind, target in (("small", small), ("big", big)):
    p = ctx.Process(target=target)
    p.start()
    p.join()
    assert p.exitcode == 0
    pids[kind].append(p.pid)
print(json.dumps(pids))
