#!/usr/bin/env python3
"""What a kept test's snapshots cost the pytest plugin, in a process with as many sites as a
long session (more-itertools' suite ends with about 31,000): the pair of partial snapshots
(heapshape_mark() before the test, heapshape_snapshot_since_mark(after, before) after it)
against the two full snapshots the plugin took before format v6 (heapshape_snapshot() twice,
with and without the anatomy pass), and the mark alone. The "test" allocates 300 blocks at one line. Rounds
interleave the three ways; medians of the wall time per test and of the file sizes.

    python3 bench/partial_cost.py [--python PY] [--sites 31000] [--rounds 15]

Run it under /work/wt/quiet for figures to quote. The shim and CLI come from bazel-bin or
$HEAPSHAPE_PRELOAD / $HEAPSHAPE_CLI."""
import argparse
import os
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r'''
import ctypes, os, statistics, sys, time
lib = ctypes.PyDLL(None)
snap = lib.heapshape_snapshot
snap.argtypes = [ctypes.c_char_p]
since = lib.heapshape_snapshot_since_mark
since.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
out, nsites, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
src = "\n".join("v%d = bytearray(%d)" % (i, 32 + i % 512) for i in range(nsites))
exec(compile(src, os.path.join(out, "many.py"), "exec"), {})
keep = []
def test():
    keep.append([bytearray(100) for _ in range(300)])
def p(n):
    return os.path.join(out, n).encode()
res = {"partial": [], "full": [], "mark": []}
size = {"partial": [], "full": [], "mark": []}
for r in range(rounds):
    for way in ("partial", "full", "mark"):
        t0 = time.perf_counter()
        if way == "mark":  # the mark alone, what marking every test would add
            lib.heapshape_mark()
            res[way].append(time.perf_counter() - t0)
            size[way].append(0)
            continue
        if way == "partial":
            lib.heapshape_mark()
            test()
            since(p("a.hsnap"), p("b.hsnap"))
        else:
            snap(p("b.hsnap"))
            test()
            snap(p("a.hsnap"))
        res[way].append(time.perf_counter() - t0)
        size[way].append(os.path.getsize(p("a.hsnap")) + os.path.getsize(p("b.hsnap")))
for way in res:
    print("%s %.3f %d" % (way, statistics.median(res[way]) * 1e3, statistics.median(size[way])))
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("--sites", type=int, default=31000)
    ap.add_argument("--rounds", type=int, default=15)
    a = ap.parse_args()
    cli = os.environ.get("HEAPSHAPE_CLI") or os.path.join(SRC, "bazel-bin/analyzer/heapshape")
    preload = os.environ.get("HEAPSHAPE_PRELOAD") or os.path.join(SRC, "bazel-bin/preload/libheapshape.so")
    tmp = tempfile.mkdtemp(prefix="hs-partial-")
    script = os.path.join(tmp, "child.py")
    with open(script, "w") as f:
        f.write(CHILD)
    print("%d sites, %d rounds, %s: median per test (wall ms, bytes of the two files)"
          % (a.sites, a.rounds, a.python))
    for anatomy in ("0", "1"):
        env = dict(os.environ, HEAPSHAPE_PRELOAD=preload, HEAPSHAPE_ANATOMY=anatomy)
        env.pop("LD_PRELOAD", None)
        p = subprocess.run([cli, "run", "-o", os.path.join(tmp, "run.hsnap"), "--", a.python,
                            script, tmp, str(a.sites), str(a.rounds)],
                           env=env, capture_output=True, text=True, check=True)
        for line in p.stdout.split("\n"):
            if not line.strip():
                continue
            way, ms, size = line.split()
            if way in ("partial", "mark") and anatomy == "1":
                continue  # a partial pair never runs the anatomy pass: same as with 0
            label = ("mark + since_mark (pair of partial snapshots)" if way == "partial" else
                     "heapshape_mark() alone" if way == "mark" else
                     "2 x heapshape_snapshot (full, anatomy %s)" % ("on" if anatomy == "1" else "off"))
            print("  %-48s %8.2f ms  %9.1f KB" % (label, float(ms), int(size) / 1e3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
