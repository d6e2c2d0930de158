#!/usr/bin/env python3
"""Where heapshape's extra wall time over base goes, per workload (issue 18, round seven):
start-up, the exit census, the snapshot's writing, and the rest.

Per workload: ROUNDS interleaved rounds of base, heapshape1 and heapshape16 (bench/run_bench.py's
environment and iterations, wall time from fork to wait4), medians; then one run of each
heapshape configuration under `strace -f -ttt --seccomp-bpf -e trace=openat,rename,exit_group`
(three kinds of system call only, so the run itself is barely slowed), which gives

  snapshot   from the open of the snapshot's temporary file (.NAME.PID.hstmp) to its rename:
             /proc/self/maps, the census, the encoding and the writes
  census     the snapshot's own anatomy_ms (inside the above)
  write      snapshot - census
  after      from the rename to exit_group: the interpreter's finalization (the shim no longer
             tracks frees after the exit snapshot) and the library destructors

Start-up is `-c pass`'s extra wall time minus its snapshot (the shim's constructor, the hooks'
installation, and the interpreter's own start-up under the hooks); rest = extra - start-up -
snapshot (the hooks while the program runs, and any difference in finalization).

    python3 bench/exit_phases.py --python 3.14 [--rounds 3] [--workloads a,b] [--shim PATH]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
import run_bench  # noqa: E402  (WORKLOADS, the venvs)


def spawn(argv, env, cwd):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    _, status, _ = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return None
    return time.perf_counter() - t0


def anatomy_ms(cli, snap):
    r = subprocess.run([cli, "anatomy", "--format", "json", "--limit", "1", snap],
                       capture_output=True, text=True)
    m = re.search(r'"anatomy_ms":\s*([0-9.]+)', r.stdout)
    return float(m.group(1)) if m else 0.0


def traced(argv, env, cwd, shim_env, cli, snap):
    log = os.path.join(cwd, "strace.txt")
    cmd = ["strace", "-f", "-ttt", "--seccomp-bpf", "-e", "trace=openat,rename,exit_group",
           "-o", log]
    for k, v in shim_env.items():
        cmd += ["-E", "%s=%s" % (k, v)]
    if os.path.exists(snap):
        os.unlink(snap)
    if spawn(cmd + argv, env, cwd) is None:
        return None
    t_open = t_ren = t_exit = None
    with open(log) as f:
        for line in f:
            parts = line.split(None, 2)
            if len(parts) < 3:
                continue
            t = float(parts[1])
            if parts[2].startswith("openat(") and ".hstmp\"" in parts[2]:
                t_open = t
            elif parts[2].startswith("rename(") and ".hstmp\"" in parts[2]:
                t_ren = t
            elif parts[2].startswith("exit_group(") and t_ren is not None:
                t_exit = t
    if None in (t_open, t_ren, t_exit):
        return None
    census = anatomy_ms(cli, snap)
    snapshot = (t_ren - t_open) * 1e3
    return {"snapshot": snapshot, "census": census, "write": snapshot - census,
            "after": (t_exit - t_ren) * 1e3}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workloads", default=",".join(run_bench.WORKLOADS))
    ap.add_argument("--shim", default=os.path.join(REPO, "bazel-bin/preload/libheapshape.so"))
    a = ap.parse_args()
    python = a.python
    if python in ("3.14", "3.15"):
        python = run_bench.fetched_python(python)
    vpy = os.path.join(run_bench.venv_dir_for(python), "bin", "python")
    shim = os.path.realpath(a.shim)
    cli = os.path.join(REPO, "bazel-bin/analyzer/heapshape")
    tmp = tempfile.mkdtemp(prefix="hs-phases-")
    snap = os.path.join(tmp, "out.hsnap")
    env = {k: v for k, v in os.environ.items()
           if k not in run_bench.SCRUB and not k.startswith("HEAPSHAPE_")}
    cfgs = {"heapshape1": "1", "heapshape16": "16"}
    rows = []
    for w in ["-c pass"] + a.workloads.split(","):
        argv = [vpy, "-c", "pass"] if w == "-c pass" else [
            vpy, os.path.join(run_bench.WORKLOAD_DIR, w + ".py"), str(run_bench.WORKLOADS[w][0])]
        walls = {"base": []}
        for c in cfgs:
            walls[c] = []
        for r in range(a.rounds):
            order = ["base"] + list(cfgs)
            order = order[r % 3:] + order[:r % 3]
            for c in order:
                e = dict(env)
                if c != "base":
                    e.update({"LD_PRELOAD": shim, "HEAPSHAPE_OUTPUT": snap,
                              "HEAPSHAPE_FRAMES": cfgs[c]})
                walls[c].append(spawn(argv, e, tmp))
        if None in walls["base"]:
            print("%s: skipped (the workload failed)" % w, flush=True)
            continue
        base = statistics.median(walls["base"]) * 1e3
        row = {"w": w, "base": base}
        for c, fr in cfgs.items():
            ph = traced(argv, env, tmp, {"LD_PRELOAD": shim, "HEAPSHAPE_OUTPUT": snap,
                                         "HEAPSHAPE_FRAMES": fr}, cli, snap)
            row[c] = (statistics.median(walls[c]) * 1e3 - base, ph)
        rows.append(row)
        print("%s base %.0f ms | %s" % (w, base, " | ".join(
            "%s +%.0f ms snapshot %.1f (census %.1f, write %.1f) after %.1f" % (
                c, row[c][0], row[c][1]["snapshot"], row[c][1]["census"], row[c][1]["write"],
                row[c][1]["after"]) for c in cfgs)), flush=True)
    start = {c: rows[0][c][0] - rows[0][c][1]["snapshot"] for c in cfgs} if rows else {}
    print()
    print("| workload | base ms | frames | extra ms | start-up | census | write | rest | after |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        for c, fr in cfgs.items():
            extra, ph = row[c]
            rest = extra - start[c] - ph["snapshot"]
            print("| %s | %.0f | %s | %.0f | %.0f | %.1f | %.1f | %.0f | %.1f |" % (
                row["w"], row["base"], fr, extra, start[c], ph["census"], ph["write"], rest,
                ph["after"]))


if __name__ == "__main__":
    main()
