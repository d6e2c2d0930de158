#!/usr/bin/env python3
"""Per-event cost of the shim by part (issue 18), from `perf record` samples of a workload run
with 1 frame: where the profiled process's samples go, grouped as

  hooks        the allocator entry points (PyMem/PyObject hooks, malloc/free interposers)
  site lookup  the current Python line: frame read, one-frame memo, line cache, interning
  table update the allocation's record: shadow slot, per-site counters, periodic checks
  free         the free path's lookup and counters
  exit snapshot anatomy pass and snapshot writing at exit
  other shim   everything else in libheapshape.so
  python/libc/kernel  the program's own work (and what the shim makes it do more of)

and, for each part, nanoseconds per allocator event (allocations + frees, from the snapshot)
at the sampling frequency: samples / frequency / events. Timer-based samples (this VM has no
hardware counters), so figures are shares of CPU time, not cycles.

    python3 bench/perf_breakdown.py WORKLOAD [ITERATIONS] [--freq 4000] [--python PY]

Runs in bench/workloads with bench/.venv's python; the shim from bazel-bin
($HEAPSHAPE_PRELOAD overrides), the CLI from bazel-bin ($HEAPSHAPE_CLI)."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(BENCH)

CATEGORIES = [
    ("exit snapshot", r"^hs_(anatomy|type_of|own_|classify|elem_|dict_entries|instance_dict|items|kind|out_|final_snapshot|snapshot|write|fmt_|est_|shape|census|crc)"),
    ("free", r"^hs_(core_free|py_free|free)|^free$|^cfree$"),
    ("site lookup", r"^hs_(py_site|py_walk|py_frame|py_intern|py_or_native|py_released|py_unknown|intern_|native_site|line|code|memo|fcache)|^PyCode_Addr2Line$|^_PyCode_CheckLineNumber$|^_PyLineTable"),
    ("table update", r"^hs_(core_alloc|map_|block_at|periodic|peak|site_count|shadow|stats|timeline|attend|core_reattribute|record)|^hs_py_record"),
    ("hooks", r"^hs_py_(malloc|calloc|realloc)|^(malloc|calloc|realloc|posix_memalign|aligned_alloc|memalign|valloc)$|^hs_(busy|hook)"),
]


def categorize(dso, sym):
    if "libheapshape" in dso:
        for name, rx in CATEGORIES:
            if re.search(rx, sym):
                return name
        return "other shim"
    if dso.startswith("[kernel"):
        return "kernel"
    if "libc" in dso:
        return "libc"
    return "python"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workload")
    ap.add_argument("iterations", nargs="?")
    ap.add_argument("--freq", type=int, default=4000)
    ap.add_argument("--python", default=os.path.join(BENCH, ".venv", "bin", "python"))
    a = ap.parse_args()
    shim = os.environ.get("HEAPSHAPE_PRELOAD") or os.path.realpath(
        os.path.join(SRC, "bazel-bin/preload/libheapshape.so"))
    cli = os.environ.get("HEAPSHAPE_CLI") or os.path.join(SRC, "bazel-bin/analyzer/heapshape")
    tmp = tempfile.mkdtemp(prefix="hs-perf-")
    data = os.path.join(tmp, "perf.data")
    snap = os.path.join(tmp, "out.hsnap")
    prog = [a.python, os.path.join(BENCH, "workloads", a.workload + ".py")]
    if a.iterations:
        prog.append(a.iterations)
    # the shim's variables through env(1), so that perf itself is not the profiled root
    shim_env = ["env", "LD_PRELOAD=" + shim, "HEAPSHAPE_OUTPUT=" + snap, "HEAPSHAPE_FRAMES=1",
                "HEAPSHAPE_DIR=" + tmp]
    subprocess.run(["perf", "record", "-q", "-F", str(a.freq), "-o", data, "--"] + shim_env + prog,
                   check=True, cwd=os.path.join(BENCH, "workloads"),
                   stdout=subprocess.DEVNULL)
    info = subprocess.run([cli, "info", snap], capture_output=True, text=True, check=True).stdout
    m = re.search(r"allocations: (\d+) .*frees: (\d+)", info)
    allocs, frees = int(m.group(1)), int(m.group(2))
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,sym",
                          "--stdio", "-F", "sample,dso,sym"], capture_output=True,
                         text=True).stdout
    cats, syms, total = {}, {}, 0
    for line in rep.splitlines():
        mm = re.match(r"\s*(\d+)\s+(\S+)\s+\[[.k]\]\s+(.*\S)", line)
        if not mm:
            continue
        n, dso, sym = int(mm.group(1)), mm.group(2), mm.group(3)
        total += n
        c = categorize(dso, sym)
        cats[c] = cats.get(c, 0) + n
        if "libheapshape" in dso:
            syms[sym] = syms.get(sym, 0) + n
    events = allocs + frees
    print("%s %s: %d samples at %d Hz (%.2f s CPU); %d allocations + %d frees = %d events"
          % (a.workload, a.iterations or "", total, a.freq, total / a.freq, allocs, frees, events))
    print("| part | share of samples | ns per event |")
    print("|---|---:|---:|")
    order = [c for c, _ in CATEGORIES[::-1]] + ["other shim", "python", "libc", "kernel"]
    for c in order:
        n = cats.get(c, 0)
        print("| %s | %.1f%% | %.1f |" % (c, 100.0 * n / total, n / a.freq / events * 1e9))
    shim_n = sum(cats.get(c, 0) for c in order[:6])
    print("| **shim total** | **%.1f%%** | **%.1f** |" % (100.0 * shim_n / total,
                                                         shim_n / a.freq / events * 1e9))
    print("top shim symbols: " + ", ".join("%s %.1f%%" % (s, 100.0 * n / total) for s, n in
                                           sorted(syms.items(), key=lambda x: -x[1])[:8]))
    subprocess.run(["rm", "-rf", tmp])
    return 0


if __name__ == "__main__":
    sys.exit(main())
