#!/usr/bin/env python3
"""Disk used by `pytest --heapshape` on a real suite: more-itertools 11.2.1's own tests (the
sdist and venv of bench/suite_bench.py), run once with --heapshape-keep all (every test keeps
its pair of per-test snapshots: partial ones, format v6) and once by default (marked and
failing tests only). Prints the number of per-test snapshots, their median and largest size
(before and after separately), the total of the directory, and session.hsnap's size.

    python3 bench/suite_disk.py [--python PY] [--venv DIR] [-k EXPR] [--modes all,default]

Sizes only, no timing: run it under /work/wt/heavy or anywhere. The shim and CLI come from
bazel-bin or $HEAPSHAPE_PRELOAD / $HEAPSHAPE_CLI."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import suite_bench  # noqa: E402  (setup: the venv and the sdist; fresh_tree)

SRC = suite_bench.SRC


def sizes(d):
    out = {"before": [], "after": [], "session": [], "other": []}
    total = 0
    for name in os.listdir(d):
        n = os.path.getsize(os.path.join(d, name))
        total += n
        kind = ("before" if name.endswith(".before.hsnap") else "after" if name.endswith(".after.hsnap")
                else "session" if name == "session.hsnap" else "other")
        out[kind].append((n, name))
    return out, total


def describe(label, s, total):
    print("%s: %d files, %.2f MB in all" % (label, sum(len(v) for v in s.values()), total / 1e6))
    for kind in ("before", "after"):
        v = sorted(s[kind])
        if v:
            print("  per-test %-6s %4d files: median %.1f KB, max %.1f KB (%s), min %.1f KB"
                  % (kind, len(v), statistics.median(x for x, _ in v) / 1e3, v[-1][0] / 1e3,
                     v[-1][1], v[0][0] / 1e3))
    for n, name in s["session"]:
        print("  %s %.2f MB" % (name, n / 1e6))
    if s["other"]:
        print("  other files: %s" % ", ".join(name for _, name in s["other"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python"))
    ap.add_argument("--venv", default="/tmp/heapshape-suite-venv")
    ap.add_argument("-k", default=None, help="pytest -k expression (default: the whole suite)")
    ap.add_argument("--modes", default="all,default")
    a = ap.parse_args()
    py, sdist = suite_bench.setup(a)
    preload = os.environ.get("HEAPSHAPE_PRELOAD") or os.path.realpath(os.path.join(SRC, "bazel-bin/preload/libheapshape.so"))
    cli = os.environ.get("HEAPSHAPE_CLI") or os.path.realpath(os.path.join(SRC, "bazel-bin/analyzer/heapshape"))
    tmp = tempfile.mkdtemp(prefix="hs-disk-")
    for mode in a.modes.split(","):
        tree = suite_bench.fresh_tree(sdist, tmp)
        env = dict(os.environ, HEAPSHAPE_PRELOAD=preload, HEAPSHAPE_CLI=cli,
                   PYTHONPATH=os.path.join(SRC, "python"))
        env.pop("LD_PRELOAD", None)
        cmd = [py, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "-p",
               "pytest_heapshape.plugin", "--heapshape"]
        if mode == "all":
            cmd += ["--heapshape-keep", "all"]
        if a.k:
            cmd += ["-k", a.k]
        p = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
        last = (p.stdout.strip().splitlines() or [""])[-1]
        print("%s (exit %d): %s" % (" ".join(cmd[1:]), p.returncode, last))
        s, total = sizes(os.path.join(tree, ".heapshape"))
        describe("--heapshape-keep %s" % ("all" if mode == "all" else "needed (default)"), s, total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
