#!/usr/bin/env python3
"""pytest --heapshape on a real suite: more-itertools 11.2.1's own tests (765 tests), fetched
as an sdist with pip, against plain pytest, pytest --memray and the shim alone, interleaved.

    python3 bench/suite_bench.py [--rounds 3] [--python PY] [--venv DIR] [--modes ...]

Modes: plain (python -m pytest tests), heapshape (pytest --heapshape, the plugin from python/
re-executing pytest under the shim; Python's allocators untraced until the first limit_leaks
test, as pytest-memray's default), memray (pytest --memray: memray's malloc-level tracking of
test bodies, pymalloc's small objects unseen), memray-py (pytest --memray
--trace-python-allocators: every Python object too; not in the default list), heapshape-py
(--heapshape --heapshape-trace-python-allocators, its counterpart), shim (heapshape
run -- python -m pytest tests), shim-sampled (the same with --sample-rate), heapshape-exact
(--heapshape --heapshape-exact); M@alt runs mode M with the shim given by --alt-preload (two
builds A/B in one interleaved run). Each round runs every mode once, in order; the figures are medians over the
rounds of the wall time and of the CPU time (user + sys of the process tree, which the load
of a shared machine disturbs less). Also printed: per-test times of the first and last 100
tests (from --junitxml) for the profiled modes, the tests whose time grew most against plain,
and the disk used by a default `--heapshape` run (.heapshape/) with its largest per-test
snapshot. The venv (default /tmp/heapshape-suite-venv) and the sdist are kept between runs.
The shim and CLI come from bazel-bin or $HEAPSHAPE_PRELOAD / $HEAPSHAPE_CLI."""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = "more-itertools==11.2.1"
PINS = ["pytest==9.2.0", "pytest-memray==1.11.0", "memray==1.20.0"]


def sh(cmd, **kw):
    subprocess.check_call(cmd, stdout=subprocess.DEVNULL, **kw)


def setup(a):
    py = os.path.join(a.venv, "bin", "python")
    if not os.path.exists(py):
        sh([a.python, "-m", "venv", a.venv])
        sh([py, "-m", "pip", "install", "-q"] + PINS)
    cache = os.path.join(a.venv, "sdist")
    if not glob.glob(os.path.join(cache, "more_itertools-*.tar.gz")):
        sh([py, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", PKG, "-d", cache])
    return py, glob.glob(os.path.join(cache, "more_itertools-*.tar.gz"))[0]


def fresh_tree(sdist, tmp):
    d = os.path.join(tmp, "tree")
    shutil.rmtree(d, ignore_errors=True)
    with tarfile.open(sdist) as t:
        t.extractall(d)
    return glob.glob(os.path.join(d, "more_itertools-*"))[0]


def timed(cmd, cwd, env):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read().decode(errors="replace")
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_utime + ru.ru_stime, p.returncode, out


def test_times(xml):
    root = ET.parse(xml).getroot()
    return [(tc.get("classname") + "::" + tc.get("name"), float(tc.get("time") or 0))
            for tc in root.iter("testcase")]


def du(path):
    total = 0
    for dp, _, fs in os.walk(path):
        for f in fs:
            total += os.path.getsize(os.path.join(dp, f))
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--python", default=os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python"))
    ap.add_argument("--venv", default="/tmp/heapshape-suite-venv")
    ap.add_argument("--modes", default="plain,heapshape,memray,shim")
    ap.add_argument("--sample-rate", default="64K", help="for mode shim-sampled")
    ap.add_argument("--alt-preload", help="a second shim: a mode named M@alt runs mode M with it "
                    "(A/B of two builds in the same interleaved run)")
    a = ap.parse_args()
    py, sdist = setup(a)
    preload = os.environ.get("HEAPSHAPE_PRELOAD") or os.path.realpath(os.path.join(SRC, "bazel-bin/preload/libheapshape.so"))
    cli = os.environ.get("HEAPSHAPE_CLI") or os.path.realpath(os.path.join(SRC, "bazel-bin/analyzer/heapshape"))
    modes = a.modes.split(",")
    tmp = tempfile.mkdtemp(prefix="hs-suite-")
    base = [py, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"]
    res = {m: [] for m in modes}
    times = {}
    disk = None
    try:
        for r in range(a.rounds):
            for m in modes:
                tree = fresh_tree(sdist, tmp)
                env = dict(os.environ, HEAPSHAPE_PRELOAD=preload, HEAPSHAPE_CLI=cli)
                env.pop("LD_PRELOAD", None)
                xml = os.path.join(tmp, "%s.xml" % m)
                cmd = base + ["--junitxml", xml]
                mode = m
                if m.endswith("@alt"):
                    if not a.alt_preload:
                        print("mode %s needs --alt-preload" % m)
                        return 2
                    env["HEAPSHAPE_PRELOAD"] = os.path.realpath(a.alt_preload)
                    m = m[:-len("@alt")]
                if m == "heapshape":
                    env["PYTHONPATH"] = os.path.join(SRC, "python")
                    cmd += ["-p", "pytest_heapshape.plugin", "--heapshape"]
                elif m == "memray":
                    cmd += ["--memray"]
                elif m == "memray-py":  # memray also sees pymalloc's objects, as heapshape does
                    cmd += ["--memray", "--trace-python-allocators"]
                elif m == "heapshape-py":  # Python's allocators traced from the start
                    env["PYTHONPATH"] = os.path.join(SRC, "python")
                    cmd += ["-p", "pytest_heapshape.plugin", "--heapshape",
                            "--heapshape-trace-python-allocators"]
                elif m == "heapshape-exact":  # every event of the session recorded
                    env["PYTHONPATH"] = os.path.join(SRC, "python")
                    cmd += ["-p", "pytest_heapshape.plugin", "--heapshape", "--heapshape-exact"]
                elif m == "shim":
                    cmd = [cli, "run", "-o", os.path.join(tmp, "shim.hsnap"), "--"] + cmd
                elif m == "shim-sampled":
                    cmd = [cli, "run", "--sample-rate", a.sample_rate, "-o",
                           os.path.join(tmp, "shim.hsnap"), "--"] + cmd
                m = mode
                wall, cpu, rc, out = timed(cmd, tree, env)
                if rc != 0:
                    print("%s exited %d:\n%s" % (m, rc, out[-3000:]))
                    return 2
                res[m].append((wall, cpu))
                times[m] = test_times(xml)
                if m == "heapshape":
                    d = os.path.join(tree, ".heapshape")
                    snaps = [(os.path.getsize(os.path.join(d, f)), f) for f in os.listdir(d)]
                    per_test = [s for s in snaps if s[1] != "session.hsnap"]
                    disk = (du(d), len(snaps), max(per_test) if per_test else None,
                            [s for s in snaps if s[1] == "session.hsnap"])
                print("round %d %-13s wall %7.1f s  cpu %7.1f s" % (r + 1, m, wall, cpu), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n%s, %s, %d rounds, python %s" % (PKG, ", ".join(PINS), a.rounds, a.python))
    med = {m: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for m, v in res.items()}
    for m in modes:
        w, c = med[m]
        rw = w / med["plain"][0] if "plain" in med else float("nan")
        rc = c / med["plain"][1] if "plain" in med else float("nan")
        print("%-13s wall %7.1f s (%.2fx)  cpu %7.1f s (%.2fx)  all: %s" % (
            m, w, rw, c, rc, " ".join("%.1f/%.1f" % x for x in res[m])))
    if "plain" in times:
        plain = dict(times["plain"])
        for m in modes:
            if m == "plain" or m not in times:
                continue
            t = times[m]
            first, last = t[:100], t[-100:]
            pf = sum(plain.get(k, 0) for k, _ in first)
            pl = sum(plain.get(k, 0) for k, _ in last)
            print("%-9s first 100 tests %.2f s (plain %.2f s), last 100 tests %.2f s (plain %.2f s)"
                  % (m, sum(x for _, x in first), pf, sum(x for _, x in last), pl))
            # one heavy test can dominate a sum: the median of the per-test ratios (tests that
            # took 2 ms or more in plain) shows whether every test got slower late in the session
            for name, part in (("first", first), ("last", last)):
                r = [x / plain[k] for k, x in part if plain.get(k, 0) >= 0.002]
                if r:
                    print("%-9s %s 100 tests: median per-test ratio to plain %.2fx (%d tests of 2 ms+)"
                          % (m, name, statistics.median(r), len(r)))
            grew = sorted(((x - plain.get(k, 0), k, x, plain.get(k, 0)) for k, x in t), reverse=True)[:3]
            for g, k, x, p0 in grew:
                print("    %s: %.2f s (plain %.2f s)" % (k, x, p0))
    if disk:
        total, n, biggest, session = disk
        print("heapshape default run: .heapshape/ holds %d files, %.1f MB; largest per-test "
              "snapshot %s; session.hsnap %s" % (n, total / 1e6,
                                                 "%.0f KB (%s)" % (biggest[0] / 1e3, biggest[1]) if biggest else "none",
                                                 "%.0f KB" % (session[0][0] / 1e3) if session else "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
