"""Shared helpers for the benchmark workloads (see bench/README.md).

Every workload is `python3 WORKLOAD.py [ITERATIONS]`: it does a fixed amount of work and prints
one line `RESULT <name> <iterations> <digest>`; the harness compares that line across
configurations, so a profiler that changes a program's behaviour shows up as a mismatch.
"""
import importlib.util
import os
import sys
import time
import types


def iterations(default):
    return int(sys.argv[1]) if len(sys.argv) > 1 else default


def report(name, iters, digest):
    print("RESULT %s %d %s" % (name, iters, digest), flush=True)


def load_pyperformance(bench, module_dir=None):
    """Imports bm_<bench>/run_benchmark.py from the installed pyperformance package.

    The module is imported under its own name (not __main__), so pyperf's Runner never starts.
    pyperf itself is replaced by a stub exposing perf_counter, the only pyperf name the workload
    functions call (plus python_implementation, read by bm_pickle at import): the benchmark measures the workload, not pyperf's 40 ms of imports.
    """
    stub = types.ModuleType("pyperf")
    stub.perf_counter = time.perf_counter
    stub.python_implementation = lambda: sys.implementation.name
    sys.modules.setdefault("pyperf", stub)
    spec = importlib.util.find_spec("pyperformance")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pyperformance is not installed for %s (run bench/run_bench.py, which creates "
                 "bench/.venv)" % sys.executable)
    root = list(spec.submodule_search_locations)[0]
    path = os.path.join(root, "data-files", "benchmarks", module_dir or ("bm_" + bench),
                        "run_benchmark.py")
    name = "bm_" + bench
    mspec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(mspec)
    sys.modules[name] = module
    mspec.loader.exec_module(module)
    return module
