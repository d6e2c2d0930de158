#!/usr/bin/env python3
"""Geomeans over several runs of the same shim and interpreter taken together (run_bench.py
--json files; a run may be split by workload into parts). Each round's configuration is divided
by the base of the same round of the same file, never by another run's base, so runs whose
round numbers repeat do not mix; per workload the median of all those ratios, then the geomean
over workloads and the worst workload, for wall time, CPU time and peak RSS.

    python3 bench/pool_runs.py run1-part1.json run1-part2.json run2-part1.json run2-part2.json

All files must have the same interpreter and shim (meta.python, meta.shim_sha256).
"""
import json
import math
import statistics
import sys


def pooled(paths):
    ratios = {}  # (config, key, workload) -> [ratio]
    first = None
    for path in paths:
        doc = json.load(open(path))
        meta = (doc["meta"]["python"], doc["meta"]["shim_sha256"])
        if first is None:
            first = meta
        elif meta != first:
            sys.exit("pool_runs: %s: interpreter or shim %r differs from the first file's %r"
                     % (path, meta, first))
        base = {(r["workload"], r["round"]): r for r in doc["records"] if r["config"] == "base"}
        for r in doc["records"]:
            b = base.get((r["workload"], r["round"]))
            if r["config"] == "base" or b is None:
                continue
            for key in ("wall_s", "cpu_s", "maxrss_kib"):
                ratios.setdefault((r["config"], key, r["workload"]), []).append(r[key] / b[key])
    return ratios


def main(paths):
    if not paths or paths[0] in ("-h", "--help"):
        print(__doc__.strip())
        return
    ratios = pooled(paths)
    configs = sorted({c for c, _, _ in ratios})
    for c in configs:
        cells = []
        for key in ("wall_s", "cpu_s", "maxrss_kib"):
            meds = {w: statistics.median(v) for (cc, k, w), v in ratios.items() if cc == c and k == key}
            g = math.exp(sum(math.log(m) for m in meds.values()) / len(meds))
            worst = max(meds, key=meds.get)
            n = min(len(v) for (cc, k, w), v in ratios.items() if cc == c and k == key)
            cells.append("%s %.4fx (worst %.2fx %s)" % (key, g, meds[worst], worst))
        print("%-14s %d workloads, >= %d rounds each: %s" % (c, len(meds), n, "; ".join(cells)))


if __name__ == "__main__":
    main(sys.argv[1:])
