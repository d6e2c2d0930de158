#!/usr/bin/env python3
"""End-to-end fixed costs of `heapshape run` (issue 18), interleaved, medians:

  python        PY -c pass
  shim          LD_PRELOAD=<shim> HEAPSHAPE_OUTPUT=... PY -c pass (the preloaded shim alone)
  run           heapshape run -- PY -c pass (summary printed; symbol cache warm)
  run-nocache   the same with HEAPSHAPE_SYMBOL_CACHE=0 (every native frame through libdwfl)
  cli           bazel-bin/analyzer/heapshape --version
  wrapper       ./heapshape --version (the checkout's wrapper: "is the build current" + exec)

and the summary's latency on a 5M-block heap: `heapshape run` of examples/particles.py under
`strace -f -tt -e trace=wait4,exit_group`, from the program's exit_group to run's own.

    python3 bench/fixed_costs.py [--runs 15] [--python /usr/bin/python3.11]"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, env, cwd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s" % " ".join(cmd))
    return wall, ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--python", default="/usr/bin/python3.11")
    a = ap.parse_args()
    cli = os.path.join(SRC, "bazel-bin/analyzer/heapshape")
    shim = os.path.realpath(os.path.join(SRC, "bazel-bin/preload/libheapshape.so"))
    tmp = tempfile.mkdtemp(prefix="hs-fixed-")
    base = {k: v for k, v in os.environ.items() if not k.startswith("HEAPSHAPE_")}
    base.pop("LD_PRELOAD", None)
    py = [a.python, "-c", "pass"]
    cases = {
        "python": (py, {}),
        "shim": (py, {"LD_PRELOAD": shim, "HEAPSHAPE_OUTPUT": os.path.join(tmp, "s.hsnap")}),
        "run": ([cli, "run", "-o", os.path.join(tmp, "r.hsnap"), "--"] + py, {}),
        "run-nocache": ([cli, "run", "-o", os.path.join(tmp, "n.hsnap"), "--"] + py,
                        {"HEAPSHAPE_SYMBOL_CACHE": "0"}),
        "cli": ([cli, "--version"], {}),
        "wrapper": ([os.path.join(SRC, "heapshape"), "--version"], {}),
    }
    res = {k: [] for k in cases}
    for k, (cmd, extra) in cases.items():  # warm-up (fills the symbol cache)
        timed(cmd, dict(base, **extra), tmp)
    for r in range(a.runs):
        for k, (cmd, extra) in cases.items():
            res[k].append(timed(cmd, dict(base, **extra), tmp))
    print("%d interleaved runs, %s, %s" % (a.runs, a.python, time.strftime("%Y-%m-%d %H:%M UTC",
                                                                            time.gmtime())))
    med = {k: (statistics.median(w for w, _ in v) * 1e3, statistics.median(c for _, c in v) * 1e3)
           for k, v in res.items()}
    for k in cases:
        print("%-12s wall %7.1f ms  cpu %7.1f ms" % (k, med[k][0], med[k][1]))
    print("run - shim: wall %+.1f ms, cpu %+.1f ms; run-nocache - shim: wall %+.1f ms, cpu %+.1f ms"
          % (med["run"][0] - med["shim"][0], med["run"][1] - med["shim"][1],
             med["run-nocache"][0] - med["shim"][0], med["run-nocache"][1] - med["shim"][1]))
    print("wrapper - cli: wall %+.1f ms, cpu %+.1f ms" % (
        med["wrapper"][0] - med["cli"][0], med["wrapper"][1] - med["cli"][1]))
    # the summary after a 5M-block heap's exit
    lat = []
    for r in range(3):
        trace = os.path.join(tmp, "trace")
        subprocess.run(["strace", "-f", "-tt", "-e", "trace=wait4,exit_group", "-o", trace, cli,
                        "run", "-o", os.path.join(tmp, "p.hsnap"), "--", a.python,
                        os.path.join(SRC, "examples", "particles.py")], env=base, cwd=tmp,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        ts = {}
        for line in open(trace):
            m = re.match(r"(\d+)\s+(\d+):(\d+):([\d.]+) (exit_group|<\.\.\. wait4 resumed>)", line)
            if m:
                t = int(m.group(2)) * 3600 + int(m.group(3)) * 60 + float(m.group(4))
                ts.setdefault(m.group(5) + m.group(1), t)
        exits = sorted((t, k) for k, t in ts.items() if k.startswith("exit_group"))
        lat.append((exits[-1][0] - exits[0][0]) * 1e3)  # the child's exit to run's exit
    info = subprocess.run([cli, "info", os.path.join(tmp, "p.hsnap")], capture_output=True,
                          text=True).stdout
    blocks = re.search(r"live: .* in (\d+) blocks", info).group(1)
    print("summary of particles.py (%s live blocks): program exit to run's exit %s ms (median %.1f)"
          % (blocks, " ".join("%.1f" % x for x in lat), statistics.median(lat)))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
