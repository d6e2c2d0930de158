#!/usr/bin/env python3
"""heapshape fidelity run: tracemalloc against `heapshape --domain python`, line by line.

For each interpreter and workload, two processes run the same driver (fidelity_driver.py):
one under `-X tracemalloc=1`, one under `heapshape run`, never both tools in one process.
Each takes snapshot 0 after the workload's set-up and snapshot A after its work (with what it
built alive). Compared, per workload:

  live  A's statistics by line (tracemalloc: Snapshot.statistics("lineno"); heapshape:
        `stats --domain python`), top 10 by size
  diff  0 -> A by line (Snapshot.compare_to(.., "lineno"); `heapshape diff --domain python`),
        top 10 by |size_diff|

matched = lines in both tools' top 10; worst = the largest size difference among tracemalloc's
top 10; goal = every line holding 1% or more of the total (live: total bytes; diff: the sum of
|size_diff| over lines; by either tool) is present in both and within 2%.

Start-up: heapshape's hooks go in before main(), tracemalloc's when -X tracemalloc starts it,
after the interpreter's core types, builtin modules and the encodings imports. The live view
therefore also shows, per line, what heapshape saw before tracemalloc started; the run measures
it with the workload `stdlib:empty` (the driver alone) and the live comparison takes it off
heapshape's figure of that line ("start-up corrected"; the raw worst difference is reported
too). The 0->A diff needs no correction.

    python3 bench/fidelity.py                        # 3.12 and 3.13, every workload
    python3 bench/fidelity.py --python /path/python --workloads stdlib:json_load
    python3 bench/fidelity.py --write-doc            # rewrites the generated part of docs/FIDELITY.md

Interpreters: bench/.venv-fidelity-3.X (created on first use from the pyenv 3.X with
pyperformance and pandas; --no-venv to use the interpreters as they are). The shim and CLI
are bazel-bin's (build them first: `bazel build //preload:libheapshape.so //analyzer:heapshape`).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
DOC = os.path.join(REPO, "docs", "FIDELITY.md")
BEGIN, END = "<!-- fidelity:begin -->", "<!-- fidelity:end -->"
DRIVER = os.path.join(BENCH, "fidelity_driver.py")
CLI = os.environ.get("HEAPSHAPE_CLI") or os.path.join(REPO, "bazel-bin", "analyzer", "heapshape")
SHIM = os.environ.get("HEAPSHAPE_PRELOAD") or os.path.join(REPO, "bazel-bin", "preload", "libheapshape.so")
PYENV = os.path.expanduser(os.environ.get("PYENV_ROOT", "/root/.pyenv"))
DEFAULT_PYTHONS = ["3.12.1", "3.13.0"]

# pyperformance-like bodies of bench/workloads with the iteration counts of run_bench.py --quick
PYPERF = {"float": 2, "raytrace": 1, "deltablue": 20, "go": 1, "json_dumps": 10,
          "pickle_pure_python": 10, "particles": 200_000, "instances": 200_000, "churn4": 50_000}
# the threaded bodies again with their threads run one after another: interleaved, which dead
# block each thread re-creates from a free list depends on where the interpreter switched threads,
# which differs between two processes of different speeds (docs/FIDELITY.md, "Threads")
SERIAL = ["churn4@serial"]
STDLIB = ["empty", "ast_parse", "json_load", "elementtree", "csv_dictreader", "sqlite_fetchall",
          "word_counter", "numpy", "pandas"]
EXCLUDE = ["*/fidelity_driver.py", "*/tracemalloc.py"]


def venv_python(version, make):
    base = os.path.join(PYENV, "versions", version, "bin", "python3")
    if not make:
        return base
    short = ".".join(version.split(".")[:2])
    venv = os.path.join(BENCH, ".venv-fidelity-" + short)
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([base, "-m", "venv", "--system-site-packages", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "pyperformance"], check=True)
        # pandas is optional: the workload is skipped where it does not install
        subprocess.run([py, "-m", "pip", "install", "-q", "pandas"], check=False)
    return py


def has_module(py, name):
    return subprocess.run([py, "-c", "import " + name], capture_output=True).returncode == 0


def cli_json(*args):
    p = subprocess.run([CLI] + list(args) + ["--format", "json", "--limit", "0", "--domain", "python"]
                       + sum((["--exclude", e] for e in EXCLUDE), []),
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("heapshape %s: %s" % (" ".join(args), p.stderr.strip()))
    return json.loads(p.stdout)["statistics"]


def run_one(py, workload, tmp):
    """Returns (tm, hs): {"live": rows, "diff": rows} from each tool, and the wall times."""
    iters = [str(PYPERF[workload.split(":")[1].split("@")[0]])] if workload.startswith("pyperf:") else []
    tm_dir, hs_dir = os.path.join(tmp, "tm"), os.path.join(tmp, "hs")
    os.makedirs(tm_dir)
    os.makedirs(hs_dir)
    env = dict(os.environ)
    env["HEAPSHAPE_PRELOAD"] = SHIM
    env.pop("LD_PRELOAD", None)
    env.pop("PYTHONMALLOC", None)
    t0 = time.time()
    subprocess.run([py, "-X", "tracemalloc=1", DRIVER, "tracemalloc", workload, tm_dir] + iters,
                   check=True, env=env, stdout=subprocess.DEVNULL)
    t1 = time.time()
    subprocess.run([CLI, "run", "-o", os.path.join(hs_dir, "exit.hsnap"), "--", py, DRIVER,
                    "heapshape", workload, hs_dir] + iters, check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t2 = time.time()
    with open(os.path.join(tm_dir, "tm.json")) as f:
        tm = json.load(f)
    hs = {"live": cli_json("stats", os.path.join(hs_dir, "A.hsnap")),
          "diff": cli_json("diff", os.path.join(hs_dir, "0.hsnap"), os.path.join(hs_dir, "A.hsnap"))}
    return tm, hs, (t1 - t0, t2 - t1)


def startup_excess(empty):
    """Per line, the live bytes heapshape sees and tracemalloc does not in the empty run."""
    if not empty:
        return {}
    tm = {(r["filename"], r["lineno"]): r["size"] for r in empty["tm"]["live"]}
    return {(r["filename"], r["lineno"]): r["size"] - tm.get((r["filename"], r["lineno"]), 0)
            for r in empty["hs"]["live"] if r["size"] > tm.get((r["filename"], r["lineno"]), 0)}


def compare(tm_rows, hs_rows, field, correction=None):
    """The comparison of one view (field "size" for live, "size_diff" for diff). correction:
    per line, bytes taken off heapshape's figure (start-up) for the goal and the matched count."""
    def table(rows, corr):
        t = {}
        for r in rows:
            k = (r["filename"], r["lineno"])
            v = r[field] - min(r[field], corr.get(k, 0)) if corr else r[field]
            if v:
                t[k] = v
        return t
    tm, hs = table(tm_rows, None), table(hs_rows, correction)
    raw = table(hs_rows, None)
    top = lambda t: sorted(t, key=lambda k: (-abs(t[k]), k))[:10]
    tm_top, hs_top = top(tm), top(hs)
    total = sum(abs(v) for v in tm.values())
    res = {"total_tm": total, "total_hs": sum(abs(v) for v in hs.values()),
           "matched": len(set(tm_top) & set(hs_top)), "lines": [], "misses": []}
    worst = raw_worst = None
    for k in tm_top:
        a, b, c = tm[k], hs.get(k, 0), raw.get(k, 0)
        rel, rel_raw = abs(b - a) / abs(a), abs(c - a) / abs(a)
        res["lines"].append({"line": "%s:%d" % k, "tm": a, "hs": b, "hs_raw": c, "rel": rel})
        if worst is None or rel > worst[0]:
            worst = (rel, "%s:%d" % k, a, b)
        if raw_worst is None or rel_raw > raw_worst[0]:
            raw_worst = (rel_raw, "%s:%d" % k, a, c)
    res["worst"], res["raw_worst"] = worst, raw_worst
    for k in sorted(set(tm) | set(hs)):
        a, b = tm.get(k, 0), hs.get(k, 0)
        if max(abs(a), abs(b)) < 0.01 * total:
            continue
        rel = abs(b - a) / max(abs(a), 1)
        if not (a and b) or rel > 0.02:
            res["misses"].append({"line": "%s:%d" % k, "tm": a, "hs": b, "rel": rel})
    res["goal"] = not res["misses"]
    return res


def evaluate(raw):
    """Comparisons of every run in raw; the live view is start-up corrected with the empty
    workload of the same interpreter."""
    empty = {r["python"]: r for r in raw if r["workload"] == "stdlib:empty"}
    out = []
    for r in raw:
        corr = startup_excess(empty.get(r["python"]))
        out.append({"python": r["python"], "workload": r["workload"], "seconds": r["seconds"],
                    "live": compare(r["tm"]["live"], r["hs"]["live"], "size", corr),
                    "diff": compare(r["tm"]["diff"], r["hs"]["diff"], "size_diff")})
    return out


def short(path):
    for marker in ("/site-packages/", "/lib/python3"):
        i = path.find(marker)
        if i >= 0:
            rest = path[i + len(marker):]
            return rest.split("/", 1)[1] if marker == "/lib/python3" and "/" in rest else rest
    return os.path.relpath(path, REPO) if path.startswith(REPO) else path


def fmt_bytes(n):
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return "%s%.1f %s" % (sign, n, unit) if unit != "B" else "%s%d B" % (sign, n)
        n /= 1024.0


def render(results, pythons, started):
    out = ["Generated by `python3 bench/fidelity.py --write-doc` (%s UTC, %s, heapshape at %s)."
           % (started, os.uname().nodename, git_rev()), ""]
    for label in pythons:
        rows = [r for r in results if r["python"] == label]
        if not rows:
            continue
        out += ["### %s" % label, "",
                "| workload | live: matched | live: worst, start-up corrected (tracemalloc -> heapshape) "
                "| live: worst, raw | live goal | 0->A: matched | 0->A: worst | 0->A goal |",
                "|---|---|---|---|---|---|---|---|"]
        cell = lambda w: "%.2f%% `%s` (%s -> %s)" % (100 * w[0], short(w[1]), fmt_bytes(w[2]), fmt_bytes(w[3])) if w else "-"
        for r in rows:
            if r["workload"] == "stdlib:empty":
                continue
            cells = [r["workload"]]
            for view in ("live", "diff"):
                c = r[view]
                cells += ["%d/10" % c["matched"], cell(c["worst"])]
                if view == "live":
                    cells.append(cell(c["raw_worst"]))
                cells.append("yes" if c["goal"] else "**no** (%d)" % len(c["misses"]))
            out.append("| " + " | ".join(cells) + " |")
        rows = [r for r in rows if r["workload"] != "stdlib:empty"]
        out.append("")
        misses = [(r["workload"], view, m) for r in rows for view in ("live", "diff") for m in r[view]["misses"]]
        if misses:
            out += ["Lines of 1% or more of the total that are missing in one tool or more than 2% apart:", ""]
            for w, view, m in misses:
                out.append("- %s %s `%s`: tracemalloc %s, heapshape %s (%.1f%%)"
                           % (w, "live" if view == "live" else "0->A", short(m["line"]), fmt_bytes(m["tm"]),
                              fmt_bytes(m["hs"]), 100 * m["rel"]))
            out.append("")
        met = sum(1 for r in rows for v in ("live", "diff") if r[v]["goal"])
        out += ["Goal met in %d of %d views; top-10 lines matched: %d of %d." % (
            met, 2 * len(rows), sum(r[v]["matched"] for r in rows for v in ("live", "diff")), 20 * len(rows)), ""]
    return "\n".join(out)


def git_rev():
    p = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return (p.stdout.strip() or "?") + ("+changes" if dirty else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", action="append", help="a pyenv version (3.12.1) or an interpreter path")
    ap.add_argument("--workloads", help="comma-separated pyperf:NAME / stdlib:NAME (default all)")
    ap.add_argument("--no-venv", action="store_true")
    ap.add_argument("--json", help="write every comparison here")
    ap.add_argument("--write-doc", action="store_true")
    ap.add_argument("--from-json", action="append", help="render earlier --json results instead of running")
    args = ap.parse_args()
    if args.from_json:
        raw = []
        for path in args.from_json:
            with open(path) as f:
                raw += json.load(f)
        results = evaluate(raw)
        labels = list(dict.fromkeys(r["python"] for r in results))
        return write(render(results, labels, time.strftime("%Y-%m-%d %H:%M", time.gmtime())), args.write_doc)
    for path in (CLI, SHIM):
        if not os.path.exists(path):
            sys.exit("fidelity: %s is missing; build it: bazel build //preload:libheapshape.so //analyzer:heapshape" % path)
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    workloads = (args.workloads.split(",") if args.workloads else
                 ["stdlib:empty"] + ["pyperf:" + w for w in PYPERF] + ["pyperf:" + w for w in SERIAL] +
                 ["stdlib:" + w for w in STDLIB if w != "empty"])
    results, labels, raw = [], [], []
    for spec in args.python or DEFAULT_PYTHONS:
        if os.sep in spec:
            py, label = spec, spec
        else:
            py, label = venv_python(spec, not args.no_venv), spec
        labels.append(label)
        for w in workloads:
            name = w.split(":")[1]
            need = "pyperformance" if w.startswith("pyperf:") else name if name in ("numpy", "pandas") else None
            if need and not has_module(py, need):
                print("%s %s: skipped (%s does not import)" % (label, w, need), flush=True)
                continue
            with tempfile.TemporaryDirectory(prefix="hs-fidelity-") as tmp:
                tm, hs, secs = run_one(py, w, tmp)
            raw.append({"python": label, "workload": w, "seconds": secs, "tm": tm, "hs": hs})
            r = evaluate(raw)[-1]
            results.append(r)
            print("%s %-28s live %2d/10 goal %-3s | 0->A %2d/10 goal %-3s | %.0f s + %.0f s" % (
                label, w, r["live"]["matched"], "yes" if r["live"]["goal"] else "no",
                r["diff"]["matched"], "yes" if r["diff"]["goal"] else "no", secs[0], secs[1]), flush=True)
            for view in ("live", "diff"):
                for m in r[view]["misses"]:
                    print("    %s miss %s: tracemalloc %d, heapshape %d (%.1f%%)" % (
                        view, m["line"], m["tm"], m["hs"], 100 * m["rel"]), flush=True)
            if args.json:  # after every workload: a long run interrupted keeps what it did
                with open(args.json, "w") as f:
                    json.dump(raw, f)
    results = evaluate(raw)
    write(render(results, labels, started), args.write_doc)


def write(text, to_doc):
    if not to_doc:
        print(text)
        return
    with open(DOC) as f:
        doc = f.read()
    a, b = doc.index(BEGIN) + len(BEGIN), doc.index(END)
    with open(DOC, "w") as f:
        f.write(doc[:a] + "\n" + text + "\n" + doc[b:])


if __name__ == "__main__":
    main()
