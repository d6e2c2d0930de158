#!/usr/bin/env python3
"""Renders one docs/PERFORMANCE.md section from several `run_bench.py --json` files that
measured disjoint workloads with the same interpreter, shim and configurations (a run split by
workload so that each part fits in one /work/wt/quiet call). The tables are those of
run_bench.py; the header lists every part's command, date, wall time and load.

    python3 bench/merge_runs.py part1.json part2.json part3.json > section.md

Workloads a part skipped (run_bench.py: cannot run on that interpreter) are listed as skipped.
"""
import json
import sys

import run_bench as rb


def main(paths):
    if not paths or paths[0] in ("-h", "--help"):
        print(__doc__.strip())
        return
    parts = [json.load(open(p)) for p in paths]
    if not parts:
        sys.exit("merge_runs: give the --json files of the parts")
    first = parts[0]["meta"]
    for p, part in zip(paths, parts):
        m = part["meta"]
        for key in ("python", "shim_sha256", "rounds", "quick", "memray"):
            if m[key] != first[key]:
                sys.exit("merge_runs: %s: %s is %r, the first part's is %r (not one run)"
                         % (p, key, m[key], first[key]))
    records, workloads, configs, iters = [], [], [], {}
    for part in parts:
        records.extend(part["records"])
        for w in part["iterations"]:
            if w in workloads:
                sys.exit("merge_runs: workload %s is in two parts" % w)
            workloads.append(w)
        iters.update(part["iterations"])
        for r in part["records"]:
            if r["config"] not in configs:
                configs.append(r["config"])
    configs = [c for c in rb.CONFIGS if c in configs]
    wall, cpu, rss, outsz, base_abs = rb.analyse(records, workloads, configs)
    counts = {}
    for r in records:
        n, t = counts.get((r["workload"], r["config"]), (0, 0))
        counts[r["workload"], r["config"]] = (n + (0 if r["error"] else 1), t + 1)
    tables = {
        "wall": rb.ratio_table(wall, workloads, configs, counts),
        "rss": rb.ratio_table(rss, workloads, configs, counts),
        "cpu": rb.ratio_table(cpu, workloads, configs, counts),
        "size": rb.size_table(outsz, workloads, configs),
        "base": rb.base_table(base_abs, workloads, iters),
    }
    meta = dict(first)
    meta["elapsed_s"] = sum(p["meta"]["elapsed_s"] for p in parts)
    meta["failures"] = [f for p in parts for f in p["meta"]["failures"]]
    meta["skipped"] = {w: why for p in parts for w, why in p["meta"].get("skipped", {}).items()}
    meta["load_start"] = " / ".join(str(p["meta"]["load_start"]) for p in parts)
    meta["load_end"] = " / ".join(str(p["meta"]["load_end"]) for p in parts)
    meta["date"] = " / ".join(p["meta"]["date"] for p in parts)
    meta["command"] = "` then `".join(p["meta"]["command"] for p in parts)
    section = rb.render(meta, tables)
    print("In %d parts (split by workload), merged by `bench/merge_runs.py`; dates, load "
          "averages and commands are per part, in order.\n" % len(parts))
    print(section)


if __name__ == "__main__":
    main(sys.argv[1:])
