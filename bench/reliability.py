#!/usr/bin/env python3
"""CPython's own regression tests with and without the heapshape shim (issue 19).

    python3 bench/reliability.py --python 3.11 --python 3.13 [--procs 2] [--modules a,b]
    python3 bench/reliability.py --write-doc          # table from the stored results

For every interpreter and module it runs `PY -m test -j1 -W --timeout 300 MODULE` twice, once
plainly and once as `heapshape run -o DIR/main.hsnap -- PY -m test ...` (every process of the
run writes its snapshots into DIR, the run's working directory), and records the result,
the tests that failed, the wall time and the snapshots written (count, bytes, temporaries).
Runs of one module with and without the shim are queued next to each other, so the time
ratio compares runs made under the same machine load; --procs N runs N of them at once.

Results accumulate in RESULTS/<label>.json (default ~/.cache/heapshape-reliability), one
entry per (module, mode), so an interpreter or a module can be re-run alone; --write-doc
rewrites the generated section of docs/RELIABILITY.md from every stored result. Each run's
output stays in RESULTS/<label>/<module>-<mode>/output.txt; snapshots are deleted once
counted (a regression run can write gigabytes).

--check (used by tests/e2e/test_regrtest.py): run under the shim only and exit 1 if any
module does not pass.
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(REPO, "docs", "RELIABILITY.md")
BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"

MODULES = [
    "threading", "thread", "gc", "weakref", "signal", "subprocess", "multiprocessing_fork",
    "multiprocessing_spawn", "concurrent_futures", "ctypes", "tracemalloc", "sys", "os", "mmap",
    "faulthandler", "capi", "dict", "list", "set", "descr", "generators", "asyncio", "socket",
    "pickle", "json", "io", "fork1", "wait4", "resource", "embed", "audit",
    "tracemalloc+PYTHONTRACEMALLOC=1",
]

PYENV = os.path.expanduser("~/.pyenv/versions")
KNOWN = {
    "3.11": "/usr/bin/python3.11",
    "3.12": PYENV + "/3.12.1/bin/python3.12",
    "3.13": PYENV + "/3.13.0/bin/python3.13",
    # Debian's static builds fetched by tools/fetch_pythons.sh (regression tests included)
    "3.14": "/var/cache/heapshape/pythons/root/usr/bin/python3.14",
    "3.15": "/var/cache/heapshape/pythons/root/usr/bin/python3.15",
}

# regrtest's own limit per test file, plus an outer limit per run for a hung interpreter
REGRTEST_TIMEOUT = 300
RUN_TIMEOUT = 900
STARTUP_TIMEOUT = 120


def interpreter(spec):
    """(label, path) for "3.11", a path, or LABEL=PATH."""
    if "=" in spec:
        label, path = spec.split("=", 1)
        return label, path
    if spec in KNOWN:
        return spec, KNOWN[spec]
    out = subprocess.run([spec, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return out, spec


def full_version(path):
    version = subprocess.run([path, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    ldd = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    return "%s, %s" % (version, "shared libpython" if "libpython" in ldd else "static")


def split_module(spec):
    """"tracemalloc+PYTHONTRACEMALLOC=1" -> ("test_tracemalloc", {"PYTHONTRACEMALLOC": "1"})."""
    name, *envs = spec.split("+")
    return "test_" + name, dict(e.split("=", 1) for e in envs)


FAILED_RE = re.compile(r"^(FAIL|ERROR): (\S+) \(([^)]*)\)", re.M)
RESULT_RE = re.compile(r"^(?:Tests )?[Rr]esult: (.+)$", re.M)
TIMEOUT_RE = re.compile(r"^(\S+) timed out|Timeout \(0:\d\d:\d\d\)!", re.M)
# one failure: "test test_sys failed -- Traceback ..." and the test method in the traceback
SINGLE_RE = re.compile(r"^test (test_\w+) failed -- Traceback.*?\n(?:  .*\n)*?  File \"[^\"]*\", "
                       r"line \d+, in (test_\w+)", re.M)
TOTAL_RE = re.compile(r"^(?:Total tests|Total test files): (.+)$", re.M)


SNAP_NAME_RE = re.compile(r"^heapshape-(.+)-\d+(?:\.\d+)?\.hsnap$")


def snapshot_census(rundir):
    """(files, bytes, temporaries, {program: [files, bytes]}); the snapshots are deleted.
    The program is the one in the default name heapshape-PROGRAM-PID.hsnap ("main" for the
    root's -o file)."""
    count = size = tmps = 0
    programs = {}
    for root, _dirs, files in os.walk(rundir):
        for f in files:
            if ".hsnap" not in f:
                continue
            p = os.path.join(root, f)
            try:
                n = os.path.getsize(p)
            except OSError:
                continue
            size += n
            if ".tmp" in f:
                tmps += 1
            else:
                count += 1
                m = SNAP_NAME_RE.match(f)
                prog = programs.setdefault(m.group(1) if m else "main", [0, 0])
                prog[0] += 1
                prog[1] += n
            os.unlink(p)
    return count, size, tmps, programs


def default_signals():
    """For the runs' processes: SIGINT, SIGQUIT and SIGHUP as in a terminal. A bench started in
    the background of a non-interactive shell, or under nohup, has them ignored, the
    runs would inherit that, and Python installs no KeyboardInterrupt handler when SIGINT is
    ignored at start-up (test_signal, test_generators and others then fail with or without the
    shim: found 2026-12-04)."""
    for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


def run_one(label, py, spec, mode, cli, results_dir):
    mod, extra_env = split_module(spec)
    rundir = os.path.join(results_dir, label, "%s-%s" % (spec.replace("=", "_").replace("+", "_"), mode))
    shutil.rmtree(rundir, ignore_errors=True)
    os.makedirs(rundir)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HEAPSHAPE_") and k not in ("LD_PRELOAD", "PYTHONPATH")}
    env.update(extra_env)
    # -W: a failing test file's output is printed, so the failing tests are named
    cmd = [py, "-m", "test", "-j1", "-W", "--timeout", str(REGRTEST_TIMEOUT), mod]
    if mode == "shim":
        cmd = [cli, "run", "-o", os.path.join(rundir, "main.hsnap"), "--"] + cmd
        if os.environ.get("HEAPSHAPE_PRELOAD"):
            env["HEAPSHAPE_PRELOAD"] = os.environ["HEAPSHAPE_PRELOAD"]
    t0 = time.monotonic()
    with open(os.path.join(rundir, "output.txt"), "wb") as out:
        out.write(("$ %s%s\n" % ("".join("%s=%s " % kv for kv in extra_env.items()),
                                  " ".join(cmd))).encode())
        out.flush()
        p = subprocess.Popen(cmd, cwd=rundir, env=env, stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, preexec_fn=default_signals)
        header = out.tell()
        hung = None
        while True:
            try:
                rc = p.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                pass
            waited = time.monotonic() - t0
            # regrtest prints a line within seconds, then every 30 s while a test runs
            if waited > STARTUP_TIMEOUT and os.path.getsize(out.name) <= header:
                hung = "HUNG at start-up (no output in %d s; killed)" % STARTUP_TIMEOUT
            elif waited > RUN_TIMEOUT:
                hung = "HUNG (killed after %d s)" % RUN_TIMEOUT
            if hung:
                os.killpg(p.pid, signal.SIGKILL)
                rc = p.wait()
                break
    secs = time.monotonic() - t0
    # let killed or orphaned children of the run finish writing
    time.sleep(0.5)
    with open(os.path.join(rundir, "output.txt"), "rb") as f:
        text = f.read().decode("utf-8", "replace")
    results = RESULT_RE.findall(text)
    failed = sorted(set("%s (%s)" % (m[1], m[2]) for m in FAILED_RE.findall(text))
                    | set("%s (%s)" % (m[1], m[0]) for m in SINGLE_RE.findall(text)))
    timeouts = sorted(set(m for m in TIMEOUT_RE.findall(text) if m))
    # faulthandler's traceback after "Timeout (0:05:00)!": the test method that hung
    for block in text.split("Timeout (")[1:]:
        hit = re.search(r'line \d+ in (test_\w+)', block)
        if hit:
            failed = sorted(set(failed) | {"%s (timed out)" % hit.group(1)})
    totals = TOTAL_RE.findall(text)
    nsnap, snap_bytes, ntmp, programs = snapshot_census(rundir)
    if hung:
        result = hung
    elif results:
        result = results[-1].strip()
    else:
        result = "rc %d, no result line" % rc
    return {
        "module": spec, "mode": mode, "rc": rc, "result": result, "failed": failed,
        "timeouts": timeouts, "totals": totals[-1] if totals else "", "seconds": round(secs, 1),
        "snapshots": nsnap, "snapshot_bytes": snap_bytes, "tmp_files": ntmp,
        "snapshot_programs": programs,
        "command": " ".join("%s=%s" % kv for kv in extra_env.items()).strip()
                   + (" " if extra_env else "") + " ".join(cmd),
        "when": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),  # of this checkout: the shim when the command is its wrapper
    }


def passed(r):
    return r["rc"] == 0 and r["result"].startswith("SUCCESS")


def load_results(results_dir):
    out = {}
    if not os.path.isdir(results_dir):
        return out
    for f in sorted(os.listdir(results_dir)):
        if f.endswith(".json"):
            with open(os.path.join(results_dir, f)) as fh:
                out[f[:-5]] = json.load(fh)
    return out


def human(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


def short(r):
    if r is None:
        return "-"
    s = r["result"]
    if not passed(r) and r["failed"]:
        s += ": " + ", ".join(f.split(" ")[0] for f in r["failed"][:4])
        if len(r["failed"]) > 4:
            s += " (+%d)" % (len(r["failed"]) - 4)
    return s.replace("|", "/")


def doc_section(all_results):
    lines = []
    for label in sorted(all_results, key=lambda l: [int(x) for x in l.split(".") if x.isdigit()]):
        data = all_results[label]
        meta = data.get("meta", {})
        runs = data.get("runs", {})
        py = meta.get("python")
        lines.append("### %s (%s)" % (label, full_version(py) if py and os.path.exists(py)
                                      else meta.get("version", "?")))
        lines.append("")
        days = lambda mode: ", ".join(sorted({r["when"][:10] for k, r in runs.items()
                                              if k.endswith("|" + mode)})) or "-"
        lines.append("`%s`; last run %s. Runs without the shim made on %s; with the shim on %s "
                     "(a run without the shim does not depend on heapshape: one of an earlier "
                     "day is reused for the same interpreter)."
                     % (meta.get("python", "?"), meta.get("when", "?"), days("plain"),
                        days("shim")))
        lines.append("")
        lines.append("| module | without the shim | with the shim | time without / with (s) "
                     "| snapshots (files, size) | shim |")
        lines.append("|---|---|---|---|---|---|")
        same = differ = 0
        for spec in MODULES:
            off, on = runs.get(spec + "|plain"), runs.get(spec + "|shim")
            if off is None and on is None:
                continue
            if off and on:
                if passed(off) == passed(on):
                    same += 1
                else:
                    differ += 1
            snaps = "-"
            if on:
                snaps = "%d, %s" % (on["snapshots"], human(on["snapshot_bytes"]))
                if on["tmp_files"]:
                    snaps += " (+%d .tmp)" % on["tmp_files"]
            t = "%s / %s" % (off["seconds"] if off else "-", on["seconds"] if on else "-")
            flag = "" if not (off and on) or passed(off) == passed(on) else " **differs**"
            # the shim: a copy in /tmp/heapshape-COMMIT/ (or relfuzz-hs-COMMIT/), else the
            # checkout's own wrapper at the commit recorded with the run
            shim = re.search(r"relfuzz-hs-([0-9a-f]{7,12})/|heapshape-([0-9a-f]{7,12})/",
                             on["command"]) if on else None
            lines.append("| %s%s | %s | %s | %s | %s | %s |" % (
                spec, flag, short(off), short(on), t, snaps,
                (shim.group(1) or shim.group(2)) if shim else (on or {}).get("commit", "-")))
        total = sum(r["snapshot_bytes"] for k, r in runs.items() if k.endswith("|shim"))
        lines.append("")
        top = {}
        for k, r in runs.items():
            if k.endswith("|shim"):
                for prog, (n, size) in r.get("snapshot_programs", {}).items():
                    top.setdefault(prog, [0, 0])
                    top[prog][0] += n
                    top[prog][1] += size
        npass = {m: sum(1 for k, r in runs.items() if k.endswith("|" + m) and passed(r))
                 for m in ("plain", "shim")}
        nrun = {m: sum(1 for k in runs if k.endswith("|" + m)) for m in ("plain", "shim")}
        lines.append("%d modules with the same outcome, %d different; passing: %d of %d without "
                     "the shim, %d of %d with it; snapshots written under the shim: %s in all."
                     % (same, differ, npass["plain"], nrun["plain"], npass["shim"], nrun["shim"],
                        human(total)))
        if top:
            big = sorted(top.items(), key=lambda kv: -kv[1][1])[:4]
            lines.append("Biggest writers (rows that recorded them): " + "; ".join(
                "%s %d files, %s" % (prog, n, human(size)) for prog, (n, size) in big) + ".")
        lines.append("")
    return "\n".join(lines)


def write_doc(results_dir):
    section = doc_section(load_results(results_dir))
    with open(DOC) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        sys.exit("bench/reliability.py: %s lacks the %s / %s markers" % (DOC, BEGIN, END))
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(DOC, "w") as f:
        f.write(head + BEGIN + "\n" + section + "\n" + END + tail)
    print("bench/reliability.py: wrote %s" % DOC)


def default_cli():
    return os.path.join(REPO, "heapshape")


def git_commit():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", action="append", default=[],
                    help="3.11, 3.12, 3.13, a path, or LABEL=PATH (repeatable)")
    ap.add_argument("--modules", help="comma-separated subset of: " + ",".join(MODULES))
    ap.add_argument("--modes", default="plain,shim", help="plain,shim (default both)")
    ap.add_argument("--procs", type=int, default=1, help="runs at once (default 1)")
    ap.add_argument("--heapshape", default=default_cli(), help="the heapshape CLI")
    ap.add_argument("--results", default=os.path.expanduser("~/.cache/heapshape-reliability"))
    ap.add_argument("--write-doc", action="store_true", help="rewrite docs/RELIABILITY.md")
    ap.add_argument("--check", action="store_true",
                    help="shim only; exit 1 unless every module passes")
    args = ap.parse_args()
    modules = args.modules.split(",") if args.modules else MODULES
    modes = ["shim"] if args.check else args.modes.split(",")
    os.makedirs(args.results, exist_ok=True)
    lock = threading.Lock()
    ok = True
    for spec in args.python:
        label, py = interpreter(spec)
        path = os.path.join(args.results, label + ".json")
        data = {"meta": {}, "runs": {}}
        if os.path.exists(path) and not args.check:
            with open(path) as f:
                data = json.load(f)
        data["meta"] = {"python": py, "version": full_version(py), "commit": git_commit(),
                        "when": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")}
        # Runs of one module never overlap (test_socket and others bind fixed ports): the
        # second mode's list starts half-way through the modules.
        half = len(modules) // 2
        lists = [[(m, mode) for m in (modules if i == 0 else modules[half:] + modules[:half])]
                 for i, mode in enumerate(modes)]
        jobs = [j for group in zip(*lists) for j in group]
        module_locks = {m: threading.Lock() for m in modules}

        def one(job):
            with module_locks[job[0]]:
                r = run_one(label, py, job[0], job[1], args.heapshape, args.results)
            with lock:
                data["runs"][job[0] + "|" + job[1]] = r
                if not args.check:
                    with open(path + ".part", "w") as f:
                        json.dump(data, f, indent=1, sort_keys=True)
                    os.replace(path + ".part", path)
                print("%s %-32s %-5s %6.1fs %-40s snapshots %d (%s)%s" % (
                    label, job[0], job[1], r["seconds"], short(r)[:60], r["snapshots"],
                    human(r["snapshot_bytes"]), "" if passed(r) else "  <-- " + r["command"]),
                    flush=True)
            return r

        with concurrent.futures.ThreadPoolExecutor(max_workers=args.procs) as pool:
            for r in pool.map(one, jobs):
                ok = ok and passed(r)
    if args.write_doc:
        write_doc(args.results)
    if args.check:
        print("bench/reliability.py: %s" % ("all passed under the shim" if ok else "FAILURES"))
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
