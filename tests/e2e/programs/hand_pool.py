"""Multiprocessing under a shim preloaded by hand (tests/e2e/test_root_by_hand.py): a spawn
pool and a fork pool of two workers each build 100,000 floats per task (3.2 MB: the workers
write), then a spawn Process does it once more. multiprocessing's resource tracker and the
workers' ends race the root: the tracker ends after it (when the root's pipe closes), and
Pool.terminate() sends SIGTERM to workers that may be writing their exit snapshots. Prints
the root's pid."""
import multiprocessing
import os


def build(_=None):
    keep = [float(j) for j in range(100_000)]  # WORKER
    return len(keep)


if __name__ == "__main__":
    root = [str(i) * 3 for i in range(50_000)]  # ROOT
    for method in ("spawn", "fork"):
        ctx = multiprocessing.get_context(method)
        with ctx.Pool(2) as pool:
            assert pool.map(build, range(4)) == [100_000] * 4
    p = multiprocessing.get_context("spawn").Process(target=build)
    p.start()
    p.join()
    assert p.exitcode == 0
    print(os.getpid())
