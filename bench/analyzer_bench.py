"""Analyzer and snapshot-writing figures for docs/PERFORMANCE.md (issue: "diff of two snapshots
with 100,000 sites each in under 1 s; the snapshot of a heap of 1M live objects under 5 MB and
written in under 0.5 s").

1. Writes two version-1 snapshots with 100,000 sites each (distinct file:line frames, sizes
   that differ between the two) following docs/snapshot-format.md, and times
   `heapshape diff A B` and `heapshape stats A` (median of 5 runs).
2. Profiles a program that keeps 1,000,000 floats alive in a list, under the shim, and reports
   the exit snapshot's size and the time the shim spent writing it (from the process's wall
   time with and without the final snapshot is not separable, so the anatomy pass time from
   the snapshot's META and the file size are reported, plus the time of a `heapshape_snapshot`
   call made from the program itself through ctypes).

Usage: python3 bench/analyzer_bench.py  (after ./heapshape has built the CLI and the shim)
"""
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "bazel-bin/analyzer/heapshape")
SHIM = os.path.join(ROOT, "bazel-bin/preload/libheapshape.so")


def section(tag, payload):
    pad = (-len(payload)) % 8
    return struct.pack("<4sIQ", tag, 0, len(payload)) + payload + b"\0" * pad


def snapshot(nsites, seed):
    strings = [b"", b"synthetic", b"python3 synthetic.py"]
    files = []
    for f in range(100):
        strings.append(b"/app/module_%03d.py" % f)
        files.append(len(strings) - 1)
    strings.append(b"func")
    func = len(strings) - 1
    strs = struct.pack("<I", len(strings)) + b"".join(struct.pack("<I", len(s)) + s for s in strings)
    frames = struct.pack("<II", nsites, 0) + b"".join(
        struct.pack("<B3xiIIQ", 1, 1 + i // 100, files[i % 100], func, 0) for i in range(nsites))
    sites = bytearray(struct.pack("<II", nsites, 0))
    live_total = count_total = 0
    for i in range(nsites):
        live = 64 * (1 + (i * 7919 + seed * 104729) % 1000)
        count = 1 + live // 64
        live_total += live
        count_total += count
        sites += struct.pack("<BxHI6Q", 4, 1, 0, count, 0, live, count, live, live)
        sites += struct.pack("<I", i) + b"\0" * 4
    meta = struct.pack("<IIQIIIIQQQQQQIIIIQ", 1, 0, 0, 1, 0, 0x030B02F0, 1, live_total, count_total,
                       live_total, count_total, 0, live_total, 1, 2, 0, 0, 0) + b"\0" * 24
    body = (b"HSNAP\0\r\n" + struct.pack("<IIIIQ", 1, 0x01020304, 32, 0, 0) + section(b"META", meta)
            + section(b"STRS", strs) + section(b"FRMS", frames) + section(b"SITE", bytes(sites)))
    return body + section(b"END ", struct.pack("<II", zlib.crc32(body), 0))


def timed(args, runs=5):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


PROG = """
import ctypes, time
values = [float(i) for i in range(1_000_000)]
t = time.perf_counter()
ctypes.CDLL(None).heapshape_snapshot(b"%s")
print("%%.3f" %% (time.perf_counter() - t))
"""


def main():
    tmp = tempfile.mkdtemp(prefix="hs-abench-")
    a, b = os.path.join(tmp, "a.hsnap"), os.path.join(tmp, "b.hsnap")
    for path, seed in ((a, 1), (b, 2)):
        with open(path, "wb") as f:
            f.write(snapshot(100_000, seed))
    print("two snapshots of 100,000 sites: %d and %d bytes" % (os.path.getsize(a), os.path.getsize(b)))
    print("heapshape diff A B: %.3f s (median of 5)" % timed([CLI, "diff", a, b]))
    print("heapshape stats A:  %.3f s (median of 5)" % timed([CLI, "stats", a]))
    snap = os.path.join(tmp, "floats.hsnap")
    prog = os.path.join(tmp, "floats.py")
    with open(prog, "w") as f:
        f.write(PROG % snap.encode().decode())
    env = dict(os.environ, LD_PRELOAD=SHIM, HEAPSHAPE_DIR=tmp)
    secs = []
    for _ in range(3):
        out = subprocess.run(["/usr/bin/python3.11", prog], env=env, capture_output=True, text=True,
                             check=True, cwd=tmp).stdout.split()
        secs.append(float(out[-1]))
    info = subprocess.run([CLI, "info", snap], capture_output=True, text=True, check=True).stdout
    print("1,000,000 floats live: heapshape_snapshot() took %.3f s (median of 3), file %d bytes"
          % (statistics.median(secs), os.path.getsize(snap)))
    for line in info.splitlines():
        if "live:" in line or "anatomy" in line:
            print("  " + line.strip())


if __name__ == "__main__":
    sys.exit(main())
