#!/usr/bin/env python3
"""A pytest session of 500 small tests (issue 18): `pytest --heapshape` against plain pytest
and pytest-memray's `pytest --memray`, interleaved.

    python3 bench/pytest500_bench.py [--rounds 3] [--python PY|3.14|3.15] [--venv DIR]

The 500 tests are written into a scratch directory: 10 modules of 50 tests, each test doing a
little allocation of its own (lists, dicts, strings, a class's instances; a tenth of them
parametrized, a fixture shared per module). Each round runs the three modes once, in an order
rotated by one each round; printed are the medians over rounds of wall and CPU time (user +
sys of the process tree) and the ratios to plain. The venv is suite_bench.py's (pytest,
pytest-memray and memray pinned there), created on first use. The plugin comes from python/,
the shim and CLI from bazel-bin or $HEAPSHAPE_PRELOAD / $HEAPSHAPE_CLI."""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench  # noqa: E402
import suite_bench  # noqa: E402

SRC = suite_bench.SRC

MODULE = '''import pytest

class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

@pytest.fixture(scope="module")
def table():
    return {{i: str(i) * 3 for i in range(2000)}}

{tests}
'''
TEST = '''def test_{m}_{k}(table):
    items = [Point(i, i + {k}) for i in range(100)]
    words = " ".join(table[i] for i in range({k}, {k} + 200)).split()
    d = {{w: len(w) for w in words}}
    assert len(items) == 100 and len(d) <= 200 and sum(d.values()) > 0
'''
PARAM = '''@pytest.mark.parametrize("n", [10, 100, 1000, 2000, 5000])
def test_{m}_{k}_param(n):
    assert len([str(i) for i in range(n)]) == n
'''


def write_suite(root):
    for m in range(10):
        parts = []
        for k in range(45):
            parts.append(TEST.format(m=m, k=k))
        parts.append(PARAM.format(m=m, k=45))  # 5 tests
        with open(os.path.join(root, "test_mod%d.py" % m), "w") as f:
            f.write(MODULE.format(tests="\n".join(parts)))


def venv(a):
    py = os.path.join(a.venv, "bin", "python")
    if not os.path.exists(py):
        r = run_bench.run_quiet([a.python, "-m", "venv", a.venv])
        if r.returncode != 0:  # the fetched 3.14/3.15 have no ensurepip: pip from their wheel
            r = run_bench.venv_from_wheel(a.python, a.venv)
        if r.returncode != 0:
            sys.exit("pytest500_bench: cannot create a venv with %s:\n%s" % (a.python, r.stdout))
        suite_bench.sh([py, "-m", "pip", "install", "-q"] + suite_bench.PINS)
    return py


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--python", default=os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python"),
                    help="interpreter; 3.14 or 3.15: the one tools/fetch_pythons.sh provides")
    ap.add_argument("--venv", help="default: /tmp/heapshape-suite-venv (pyenv 3.12.1's), "
                    "/tmp/heapshape-suite-venv-<interpreter> for any other")
    ap.add_argument("--modes", default="plain,heapshape,memray")
    a = ap.parse_args()
    default_py = ap.get_default("python")
    if a.python in run_bench.FETCHED:
        a.python = run_bench.fetched_python(a.python)
    if not a.venv:
        a.venv = "/tmp/heapshape-suite-venv" if a.python == default_py else (
            "/tmp/heapshape-suite-venv-" + re.sub(r"[^A-Za-z0-9.]+", "_", os.path.realpath(a.python).strip("/")))
    py = venv(a)
    preload = os.environ.get("HEAPSHAPE_PRELOAD") or os.path.realpath(
        os.path.join(SRC, "bazel-bin/preload/libheapshape.so"))
    cli = os.environ.get("HEAPSHAPE_CLI") or os.path.realpath(
        os.path.join(SRC, "bazel-bin/analyzer/heapshape"))
    modes = a.modes.split(",")
    tmp = tempfile.mkdtemp(prefix="hs-pytest500-")
    res = {m: [] for m in modes}
    try:
        for r in range(a.rounds):
            order = modes[r % len(modes):] + modes[:r % len(modes)]
            for m in order:
                tree = os.path.join(tmp, "suite")
                shutil.rmtree(tree, ignore_errors=True)
                os.makedirs(tree)
                write_suite(tree)
                env = dict(os.environ, HEAPSHAPE_PRELOAD=preload, HEAPSHAPE_CLI=cli)
                env.pop("LD_PRELOAD", None)
                cmd = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "."]
                if m == "heapshape":
                    env["PYTHONPATH"] = os.path.join(SRC, "python")
                    cmd += ["-p", "pytest_heapshape.plugin", "--heapshape"]
                elif m == "memray":
                    cmd += ["--memray"]
                wall, cpu, rc, out = suite_bench.timed(cmd, tree, env)
                if rc != 0 or "500 passed" not in out:
                    print("%s: exit %d, output:\n%s" % (m, rc, out[-3000:]))
                    return 2
                res[m].append((wall, cpu))
                print("round %d %-9s wall %6.2f s  cpu %6.2f s" % (r + 1, m, wall, cpu), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n500 tests, %s, %d rounds, python %s" % (", ".join(suite_bench.PINS), a.rounds, a.python))
    med = {m: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for m, v in res.items()}
    for m in modes:
        w, c = med[m]
        print("%-9s wall %6.2f s (%.2fx plain)  cpu %6.2f s (%.2fx plain)  all: %s" % (
            m, w, w / med["plain"][0], c, c / med["plain"][1],
            " ".join("%.2f/%.2f" % x for x in res[m])))
    if "heapshape" in med and "memray" in med:
        print("heapshape / memray: wall %.2fx, cpu %.2fx" % (
            med["heapshape"][0] / med["memray"][0], med["heapshape"][1] / med["memray"][1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
