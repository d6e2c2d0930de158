#!/usr/bin/env python3
"""limit_memory verdicts: heapshape's pytest plugin against pytest-memray on the same suite
(tests/e2e/programs/memray_suite, 32 marked tests), with the same interpreter.

    python3 bench/memray_verdicts.py [--python PY] [--venv DIR] [--record]
                                     [--trace-python-allocators]

Makes a venv (default /tmp/heapshape-memray-venv, kept for the next run) with pytest-memray,
numpy and pytest from PyPI, runs the suite with `pytest --memray`, then with `pytest
--heapshape` (the plugin from python/, the shim and CLI from bazel-bin or $HEAPSHAPE_PRELOAD /
$HEAPSHAPE_CLI), and prints both tools' verdict and measure per test. --record writes
pytest-memray's verdicts to the suite's expected_verdicts.json, which
tests/e2e/test_memray_verdicts.py checks heapshape against. Exit status 1 when a verdict
differs. --trace-python-allocators runs both tools with Python's allocators traced (pytest-memray's
option of that name, heapshape's --heapshape-trace-python-allocators); by default both leave
them untraced outside limit_leaks tests."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE = os.path.join(SRC, "tests", "e2e", "programs", "memray_suite")
PINS = ["pytest-memray==1.11.0", "memray==1.20.0", "pytest==9.2.0", "numpy==2.5.5"]


def outcomes(text):
    # pytest-memray reports its failures as "MEMORY PROBLEMS" in -rA's summary
    return {m.group(2): "PASSED" if m.group(1) == "PASSED" else "FAILED" for m in
            re.finditer(r"^(PASSED|FAILED|MEMORY PROBLEMS) test_verdicts\.py::(\w+)", text, re.M)}


def run(cmd, cwd, env=None):
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return p.stdout + p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python"))
    ap.add_argument("--venv", default="/tmp/heapshape-memray-venv")
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--trace-python-allocators", action="store_true",
                    help="pytest --memray --trace-python-allocators against pytest --heapshape "
                         "--heapshape-trace-python-allocators (default: both untraced)")
    a = ap.parse_args()
    py = os.path.join(a.venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([a.python, "-m", "venv", a.venv])
        subprocess.check_call([py, "-m", "pip", "install", "-q"] + PINS)
    versions = run([py, "-m", "pip", "list", "--format", "freeze"], SRC)
    tmp = tempfile.mkdtemp(prefix="hs-verdicts-")
    try:
        suite = os.path.join(tmp, "suite")
        shutil.copytree(SUITE, suite, ignore=shutil.ignore_patterns("expected_verdicts.json"))
        trace = ["--trace-python-allocators"] if a.trace_python_allocators else []
        memray_out = run([py, "-m", "pytest", "--memray", "-p", "no:cacheprovider", "-rA"] + trace, suite)
        memray = outcomes(memray_out)
        memray_sizes = {}
        for m in re.finditer(r"_{3,} (\w+) _{3,}\n.*?Test was limited to \S+ but allocated (\S+)",
                             memray_out, re.S):
            memray_sizes[m.group(1)] = m.group(2)
        shutil.rmtree(suite)
        shutil.copytree(SUITE, suite, ignore=shutil.ignore_patterns("expected_verdicts.json"))
        env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "python"))
        env.setdefault("HEAPSHAPE_PRELOAD", os.path.join(SRC, "bazel-bin/preload/libheapshape.so"))
        env.setdefault("HEAPSHAPE_CLI", os.path.join(SRC, "bazel-bin/analyzer/heapshape"))
        # pytest-memray tracks marked tests even without --memray: off, so that the verdicts
        # are heapshape's own (before 2026-12-04 its failures were counted as heapshape's)
        hs_out = run([py, "-m", "pytest", "-p", "pytest_heapshape.plugin", "--heapshape",
                      "-p", "no:memray", "-p", "no:cacheprovider", "-rA"] +
                     ["--heapshape-" + t[2:] for t in trace], suite, env)
        hs = outcomes(hs_out)
        hs_sizes = dict(re.findall(r"^test_verdicts\.py::(\w+): allocated (.*?) \(", hs_out, re.M))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    pins = [l for l in versions.splitlines() if re.match(r"(pytest|memray|pytest-memray|numpy)==", l)]
    print("python: %s; %s%s" % (a.python, ", ".join(pins),
                                "; Python allocators traced" if trace else ""))
    print("%-40s %-8s %-10s %-8s %s" % ("test", "memray", "(measure)", "heapshape", "(measure)"))
    differ = 0
    marked = sorted(t for t in memray if t != "test_unmarked_big")
    for t in marked:
        same = memray.get(t) == hs.get(t)
        differ += not same
        print("%-40s %-8s %-10s %-8s %s%s" % (t, memray.get(t), memray_sizes.get(t, ""), hs.get(t),
                                               hs_sizes.get(t, ""), "" if same else "   DIFFERENT"))
    print("%d marked tests, %d verdicts differ" % (len(marked), differ))
    if len(marked) < 30:
        print("pytest-memray output:\n" + memray_out[-3000:])
        return 2
    if a.record:
        with open(os.path.join(SUITE, "expected_verdicts.json"), "w") as f:
            pyver = run([py, "-c", "import sys; print(sys.version.split()[0])"], SRC).strip()
            json.dump({"recorded_with": ["python " + pyver] + pins,
                       "verdicts": {t: memray[t] for t in marked}}, f, indent=1, sort_keys=True)
            f.write("\n")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
