#!/usr/bin/env python3
"""heapshape benchmark harness: wall time and peak RSS of workloads under profilers.

Runs every workload in bench/workloads/ under each configuration (no profiler, heapshape with
1 and 16 frames, tracemalloc with 1 frame, memray --trace-python-allocators), interleaved: per
round, per workload, all configurations back to back in an order rotated by one each round.
Ratios are taken against the base run of the same round and workload, then the median over
rounds. Python 3 standard library only.

    python3 bench/run_bench.py                      # all workloads and configurations, 5 rounds
    python3 bench/run_bench.py --quick --rounds 1   # smoke run
    python3 bench/run_bench.py --write-doc          # also rewrite the section in docs/PERFORMANCE.md
    python3 bench/run_bench.py --python 3.14        # Debian's 3.14 of tools/fetch_pythons.sh (3.15 too)

The workloads run with the python of bench/.venv (a venv of --python, created on first run with
pyperformance and memray) in every configuration, so all configurations see the same
interpreter and packages. A workload that cannot run on the interpreter (numpy_pipe without a
numpy for it, or one that fails without a profiler) is skipped and listed as skipped in the
report, with the reason; the geomeans are then over the workloads that ran. heapshape runs use the shim directly, as `heapshape run` does:
LD_PRELOAD, HEAPSHAPE_ROOT_PID (set in the child to its own pid), HEAPSHAPE_OUTPUT,
HEAPSHAPE_FRAMES.
"""
import argparse
import hashlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
WORKLOAD_DIR = os.path.join(BENCH, "workloads")
DOC = os.path.join(REPO, "docs", "PERFORMANCE.md")
SHIM_REL = "bazel-bin/preload/libheapshape.so"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

# name: (iterations of a full run, iterations with --quick). Full runs take 0.3-1 s each
# without a profiler on the 2-core machine of docs/PERFORMANCE.md.
WORKLOADS = {
    "float": (8, 2),
    "raytrace": (2, 1),
    "deltablue": (120, 20),
    "go": (4, 1),
    "json_dumps": (60, 10),
    "pickle_pure_python": (60, 10),
    "particles": (1_000_000, 200_000),
    "instances": (1_000_000, 200_000),
    "churn4": (400_000, 50_000),
    # issue 18: kinds of work the set above lacked
    "strings": (300, 40),
    "records": (60_000, 10_000),
    "append": (3_000_000, 500_000),
    "bytesio": (120, 20),
    "threads": (3000, 500),
    "numpy_pipe": (150, 20),
    "asyncio_server": (10_000, 2000),
}
CONFIGS = ["base", "heapshape1", "heapshape16", "heapshape-native", "heapshape-sampled",
           "tracemalloc1", "memray"]
# heapshape configurations: the environment `heapshape run` sets for the matching options
HEAPSHAPE_ENV = {
    "heapshape1": {"HEAPSHAPE_FRAMES": "1"},
    "heapshape16": {"HEAPSHAPE_FRAMES": "16"},
    "heapshape-native": {"HEAPSHAPE_NATIVE": "1"},           # --native (16 frames)
    "heapshape-sampled": {"HEAPSHAPE_SAMPLE_RATE": "65536"},  # --sample-rate 64K
}
PINNED = {"pyperformance": "1.14.0", "memray": "1.20.0", "numpy": "2.2.6"}
# Variables that would make one configuration profile or allocate differently from another.
SCRUB = ("LD_PRELOAD", "PYTHONTRACEMALLOC", "PYTHONMALLOC", "PYTHONMALLOCSTATS", "PYTHONDEVMODE",
         "PYTHONPROFILEIMPORTTIME")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_quiet(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


# ------------------------------------------------------------------------------------ setup

def venv_dir_for(python):
    if os.path.realpath(python) == os.path.realpath("/usr/bin/python3.11"):
        return os.path.join(BENCH, ".venv")
    return os.path.join(BENCH, ".venv-" + re.sub(r"[^A-Za-z0-9.]+", "_",
                                                 os.path.realpath(python).strip("/")))


def pip_install(vpy, name):
    """Installs the pinned version, or the newest one if the pin is not served, as a binary
    wheel when there is one (numpy 2.2.6 has none for 3.14: building it takes many minutes)."""
    pin = "%s==%s" % (name, PINNED[name])
    for spec, binary in ((pin, True), (name, True), (pin, False)):
        r = run_quiet([vpy, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
                      + (["--only-binary", name] if binary else []) + [spec])
        if r.returncode == 0:
            return True
        log("bench: pip install %s failed:\n%s" % (spec, r.stdout[-2000:]))
    return False


def venv_from_wheel(python, vdir):
    """A venv without ensurepip (tools/fetch_pythons.sh's 3.14/3.15 look for the pip wheel in
    /usr/share/python-wheels, which is inside their unpacked root): `venv --without-pip`, then
    pip installed from the root's own pip wheel, as the fetch script makes its venvs."""
    shutil.rmtree(vdir, ignore_errors=True)
    r = run_quiet([python, "-m", "venv", "--without-pip", vdir])
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(python))))
    wheels = sorted(f for f in os.listdir(os.path.join(root, "usr/share/python-wheels"))
                    if f.startswith("pip-")) if os.path.isdir(
                        os.path.join(root, "usr/share/python-wheels")) else []
    if r.returncode != 0 or not wheels:
        return r
    whl = os.path.join(root, "usr/share/python-wheels", wheels[-1])
    vpy = os.path.join(vdir, "bin", "python")
    return run_quiet([vpy, os.path.join(whl, "pip"), "install", "-q", "--no-index", whl])


# --python 3.14 / 3.15: the interpreters tools/fetch_pythons.sh unpacks (Debian's static
# builds), in the same places tests/e2e/hstest.py looks for them.
FETCHED = ("3.14", "3.15")


def fetched_python(version):
    for cand in (os.environ.get("HEAPSHAPE_PYTHONS"), "/var/cache/heapshape/pythons",
                 os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                              "heapshape", "pythons"),
                 "/root/.cache/heapshape/pythons"):
        p = os.path.join(cand, "root", "usr", "bin", "python" + version) if cand else None
        if p and os.path.isfile(os.path.join(cand, "stamp")) and os.access(p, os.X_OK):
            return p
    sys.exit("bench: CPython %s is not on this machine (tools/fetch_pythons.sh provides it)"
             % version)


def ensure_venv(python):
    """Creates the venv (pyperformance + memray, and numpy for numpy_pipe) on first use.
    Returns (venv python, memray path or None, note about memray, {workload: why it cannot
    run})."""
    vdir = venv_dir_for(python)
    vpy = os.path.join(vdir, "bin", "python")
    if os.path.exists(vpy) and os.path.realpath(vpy) != os.path.realpath(python):
        log("bench: %s belongs to another interpreter; recreating it" % vdir)
        shutil.rmtree(vdir)
    if not os.path.exists(vpy):
        log("bench: creating %s from %s" % (vdir, python))
        r = run_quiet([python, "-m", "venv", vdir])
        if r.returncode != 0:
            ver = run_quiet([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
            pkg = "python%s-venv" % ver.stdout.strip()
            log("bench: venv failed (%s); installing %s" % (r.stdout.strip()[-300:], pkg))
            shutil.rmtree(vdir, ignore_errors=True)
            if os.geteuid() == 0 and shutil.which("apt-get"):
                run_quiet(["apt-get", "update", "-q"])
                run_quiet(["apt-get", "install", "-y", "-q", pkg])
            r = run_quiet([python, "-m", "venv", vdir])
            if r.returncode != 0:
                r = venv_from_wheel(python, vdir)
            if r.returncode != 0:
                sys.exit("bench: cannot create a venv with %s:\n%s" % (python, r.stdout))
    ok = run_quiet([vpy, "-c", "import pyperformance"]).returncode == 0
    if not ok and not pip_install(vpy, "pyperformance"):
        sys.exit("bench: pyperformance could not be installed into %s" % vdir)
    cannot = {}
    ok = run_quiet([vpy, "-c", "import numpy"]).returncode == 0  # workloads/numpy_pipe.py
    if not ok and not pip_install(vpy, "numpy"):
        cannot["numpy_pipe"] = "numpy could not be installed into the venv (pip install numpy failed)"
    memray = os.path.join(vdir, "bin", "memray")
    note = ""
    if not os.path.exists(memray):
        stamp = os.path.join(vdir, ".memray-failed")
        if os.path.exists(stamp):
            note = open(stamp).read().strip()
        elif not pip_install(vpy, "memray"):
            note = "memray could not be installed into the venv (pip install memray failed)"
            with open(stamp, "w") as f:
                f.write(note + "\n")
    if not os.path.exists(memray):
        memray = None
    return vpy, memray, note, cannot


def check_static(vpy):
    """The venv python must be the same statically linked binary as --python (venvs symlink)."""
    code = ("import sys\n"
            "maps = open('/proc/self/maps').read()\n"
            "print('shared' if 'libpython' in maps else 'static')\n"
            "print(sys.version.replace('\\n', ' '))\n")
    out = run_quiet([vpy, "-c", code]).stdout.split("\n")
    return out[0].strip(), out[1].strip()


def build_shim(no_build, rev, tmp):
    """Builds //preload:libheapshape.so from the working tree, or from a clean export of the
    commit rev (git archive, built in its own bazel workspace under tmp). Returns (path of the
    library, description of its source)."""
    src = REPO
    if rev:
        r = run_quiet(["git", "-C", REPO, "rev-parse", "--short", rev + "^{commit}"])
        if r.returncode != 0:
            sys.exit("bench: unknown commit %s" % rev)
        desc = "commit %s (clean export, --commit)" % r.stdout.strip()
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        r = subprocess.run("git -C %s archive %s | tar -x -C %s" % (
            shlex.quote(REPO), shlex.quote(rev), shlex.quote(src)), shell=True)
        if r.returncode != 0:
            sys.exit("bench: git archive %s failed" % rev)
    else:
        desc = "the working tree at " + git_describe()
    lib = os.path.join(src, SHIM_REL)
    if rev or not no_build:
        log("bench: bazel build //preload:libheapshape.so in %s" % src)
        r = run_quiet(["bazel", "build", "--noshow_progress", "--curses=no", "--color=no",
                       "//preload:libheapshape.so"], cwd=src)
        if r.returncode != 0:
            sys.exit("bench: bazel build failed:\n" + r.stdout[-4000:])
    else:
        desc = "bazel-bin as found (--no-build; %s)" % desc
    if not os.path.exists(lib):
        sys.exit("bench: %s is missing (build it or drop --no-build)" % lib)
    return os.path.realpath(lib), desc


def stop_bazel(src):
    run_quiet(["bazel", "shutdown"], cwd=src)


def package_version(vpy, name):
    r = run_quiet([vpy, "-c", "import importlib.metadata as m; print(m.version(%r))" % name])
    return r.stdout.strip() if r.returncode == 0 else None


def git_describe():
    r = run_quiet(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    head = r.stdout.strip() if r.returncode == 0 else "unknown"
    r = run_quiet(["git", "-C", REPO, "status", "--porcelain", "--", "preload", "include"])
    dirty = r.returncode == 0 and r.stdout.strip() != ""
    return head + (" with uncommitted changes in preload/ or include/" if dirty else "")


# ------------------------------------------------------------------------------------ runs

class Runner:
    def __init__(self, python, vpy, memray, shim, shim_src, tmp, timeout):
        self.vpy, self.memray, self.shim, self.tmp, self.timeout = vpy, memray, shim, tmp, timeout
        self.shim_src = shim_src
        home = os.path.join(tmp, "home")
        tdir = os.path.join(tmp, "tmp")
        os.makedirs(home, exist_ok=True)
        os.makedirs(tdir, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in SCRUB and not k.startswith("HEAPSHAPE_")}
        self.env.update(HOME=home, TMPDIR=tdir)
        self.seq = 0
        # Forks and waits for the runs: see _spawn.py for why it is a separate small process.
        self.spawner = subprocess.Popen(
            [python, "-I", "-S", os.path.join(BENCH, "_spawn.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def spawn(self, cwd, out, err, root_pid, argv, env):
        """Wall time (time.perf_counter around fork..wait4), exit code, ru_maxrss in KiB, user +
        system CPU seconds of the child."""
        req = "\x1f".join([cwd, out, err, str(self.timeout), "1" if root_pid else "0",
                           "\x1e".join(argv),
                           "\x1e".join("%s=%s" % kv for kv in env.items())])
        self.spawner.stdin.write(req + "\n")
        self.spawner.stdin.flush()
        reply = self.spawner.stdout.readline().split()
        if len(reply) != 4:
            sys.exit("bench: the process starter (_spawn.py) stopped")
        return float(reply[0]), int(reply[1]), int(reply[2]), float(reply[3])

    def close(self):
        self.spawner.stdin.close()
        self.spawner.wait()

    def command(self, workload, config, iters, rundir):
        """Returns (argv, extra environment, path of the profiler's output file or None)."""
        prog = os.path.join(WORKLOAD_DIR, workload + ".py")
        args = [prog, str(iters)]
        if config == "base":
            return [self.vpy] + args, {}, None
        if config.startswith("heapshape"):
            out = os.path.join(rundir, "out.hsnap")
            env = {"LD_PRELOAD": self.shim, "HEAPSHAPE_OUTPUT": out, "HEAPSHAPE_DIR": rundir}
            env.update(HEAPSHAPE_ENV[config])
            return [self.vpy] + args, env, out
        if config.startswith("tracemalloc"):
            return [self.vpy, "-X", "tracemalloc=" + config[len("tracemalloc"):]] + args, {}, None
        if config == "memray":
            out = os.path.join(rundir, "out.bin")
            return [self.memray, "run", "--trace-python-allocators", "-f", "-o", out] + args, {}, out
        raise ValueError(config)

    def repro(self, workload, config, iters):
        """A shell command that reruns one configuration by hand (snapshots land in the cwd)."""
        argv, extra, outfile = self.command(workload, config, iters, "/tmp")
        env = {k: v for k, v in extra.items()
               if k == "LD_PRELOAD" or k in HEAPSHAPE_ENV.get(config, {})}
        if "LD_PRELOAD" in env:
            env["LD_PRELOAD"] = self.shim_src
        return "cd %s && %s" % (shlex.quote(WORKLOAD_DIR), " ".join(
            ["%s=%s" % (k, shlex.quote(v)) for k, v in env.items()]
            + [shlex.quote(a) for a in argv]))

    def run(self, workload, config, iters):
        self.seq += 1
        rundir = os.path.join(self.tmp, "runs", "%04d-%s-%s" % (self.seq, workload, config))
        os.makedirs(rundir)
        argv, extra, outfile = self.command(workload, config, iters, rundir)
        env = dict(self.env)
        env.update(extra)
        root_pid = config.startswith("heapshape")

        so_path = os.path.join(rundir, "stdout")
        se_path = os.path.join(rundir, "stderr")
        wall, rc, maxrss, cpu = self.spawn(rundir, so_path, se_path, root_pid, argv, env)
        with open(so_path) as f:
            stdout = f.read()
        with open(se_path) as f:
            stderr = f.read()
        results = [l for l in stdout.splitlines() if l.startswith("RESULT ")]
        rec = {
            "workload": workload, "config": config, "wall_s": wall, "cpu_s": cpu,
            "maxrss_kib": maxrss, "rc": rc,
            "result": results[-1] if results else None,
            "output_bytes": None, "error": None,
            "repro": self.repro(workload, config, iters),
        }
        if outfile:
            if os.path.exists(outfile):
                rec["output_bytes"] = os.path.getsize(outfile)
            else:
                stray = [f for f in os.listdir(rundir) if f.endswith(".hsnap")]
                rec["error"] = "no output file %s (other files: %s)" % (outfile, stray or "none")
        if rc != 0:
            rec["error"] = "exit status %d%s; stderr: %s" % (
                rc, " (killed at the %ds timeout?)" % self.timeout if rc == -9 else "",
                stderr.strip()[-1500:])
        elif not results:
            rec["error"] = "no RESULT line; stderr: " + stderr.strip()[-1500:]
        elif config.startswith("heapshape") and stderr.strip():
            rec["stderr"] = stderr.strip()[-1500:]
        shutil.rmtree(rundir, ignore_errors=True)
        return rec


# ------------------------------------------------------------------------------------ stats

def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def analyse(records, workloads, configs):
    by = {}
    for r in records:
        by.setdefault((r["workload"], r["config"]), {})[r["round"]] = r
    wall, cpu, rss, outsz, base_abs = {}, {}, {}, {}, {}
    for w in workloads:
        base = by.get((w, "base"), {})
        ok_base = {k: r for k, r in base.items() if not r["error"]}
        if ok_base:
            ts = [r["wall_s"] for r in ok_base.values()]
            ms = [r["maxrss_kib"] for r in ok_base.values()]
            base_abs[w] = (statistics.median(ts), min(ts), max(ts), statistics.median(ms))
        for c in configs:
            runs = by.get((w, c), {})
            wr, cr, rr, sz = [], [], [], []
            for rnd, r in runs.items():
                if r["error"]:
                    continue
                if r["output_bytes"] is not None:
                    sz.append(r["output_bytes"])
                b = ok_base.get(rnd)
                if b:
                    wr.append(r["wall_s"] / b["wall_s"])
                    cr.append(r["cpu_s"] / b["cpu_s"])
                    rr.append(r["maxrss_kib"] / b["maxrss_kib"])
            if wr:
                wall[w, c] = statistics.median(wr)
                cpu[w, c] = statistics.median(cr)
                rss[w, c] = statistics.median(rr)
            if sz:
                outsz[w, c] = statistics.median(sz)
    return wall, cpu, rss, outsz, base_abs


def summary(table, workloads, c):
    vals = [(table[w, c], w) for w in workloads if (w, c) in table]
    if not vals:
        return None, None
    return geomean([v for v, _ in vals]), max(vals)


def fmt_ratio(x):
    return "%.2fx" % x


def fmt_bytes(n):
    if n < 1024:
        return "%d B" % n
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024.0
        if n < 1024 or unit == "GiB":
            return ("%.1f %s" if n < 100 else "%.0f %s") % (n, unit)


def ratio_table(table, workloads, configs, counts):
    cols = [c for c in configs if c != "base"]
    lines = ["| workload | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for w in workloads:
        cells = []
        for c in cols:
            if (w, c) in table:
                cell = fmt_ratio(table[w, c])
                n, total = counts.get((w, c), (0, 0))
                if n < total:
                    cell += " (%d/%d rounds)" % (n, total)
            else:
                cell = "failed" if counts.get((w, c), (0, 0))[1] else "-"
            cells.append(cell)
        lines.append("| %s | %s |" % (w, " | ".join(cells)))
    gm, worst = [], []
    for c in cols:
        g, wv = summary(table, workloads, c)
        gm.append("**%s**" % fmt_ratio(g) if g else "-")
        worst.append("%s (%s)" % (fmt_ratio(wv[0]), wv[1]) if wv else "-")
    lines.append("| **geomean** | %s |" % " | ".join(gm))
    lines.append("| **worst** | %s |" % " | ".join(worst))
    return "\n".join(lines)


def size_table(outsz, workloads, configs):
    cols = [c for c in configs if c.startswith("heapshape") or c == "memray"]
    if not cols:
        return None
    lines = ["| workload | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for w in workloads:
        lines.append("| %s | %s |" % (w, " | ".join(
            fmt_bytes(outsz[w, c]) if (w, c) in outsz else "-" for c in cols)))
    return "\n".join(lines)


def base_table(base_abs, workloads, iters):
    lines = ["| workload | iterations | wall median | min | max | peak RSS (median) |",
             "|---|---:|---:|---:|---:|---:|"]
    for w in workloads:
        if w in base_abs:
            med, lo, hi, rss = base_abs[w]
            lines.append("| %s | %s | %.3f s | %.3f s | %.3f s | %.1f MiB |" % (
                w, format(iters[w], ","), med, lo, hi, rss / 1024.0))
        else:
            lines.append("| %s | %s | failed | | | |" % (w, format(iters[w], ",")))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ report

def loadavg():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def machine_info(vpy):
    model = "unknown"
    mem = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024.0 / 1024.0)
                break
    except OSError:
        pass
    nproc = run_quiet(["nproc"]).stdout.strip() or str(os.cpu_count())
    return {"nproc": nproc, "model": model, "memory": mem, "kernel": platform.release()}


def render(meta, tables):
    m = meta["machine"]
    out = [
        "Generated by `bench/run_bench.py` on %s." % meta["date"],
        "",
        "- Command (from the repository root): `%s`" % meta["command"],
        "- Rounds: %d (configurations interleaved, order rotated each round); harness wall "
        "time %.0f s; load average (1 min) %s at start, %s at the end" % (
            meta["rounds"], meta["elapsed_s"], meta["load_start"], meta["load_end"]),
        "- Machine: %s cores (`nproc`), %s, %s memory, Linux %s" % (
            m["nproc"], m["model"], m["memory"], m["kernel"]),
        "- Python: `%s` %s (%s build), through the venv `%s`" % (
            meta["python"], meta["python_version"], meta["linkage"], meta["venv"]),
        "- heapshape: shim built from %s, sha256 %s…; pyperformance %s; memray %s" % (
            meta["heapshape_source"], meta["shim_sha256"][:12], meta["pyperformance"],
            meta["memray"] or "not installed"),
    ]
    if meta["memray_note"]:
        out.append("- memray skipped: " + meta["memray_note"])
    for w, why in sorted(meta.get("skipped", {}).items()):
        out.append("- workload %s skipped (not in the tables, geomeans and worst cases): %s"
                   % (w, why))
    if meta["quick"]:
        out.append("- **--quick**: reduced iteration counts, a smoke run, not a measurement")
    out += [
        "",
        "Wall time of the whole process, ratio to base (median over rounds of config/base in "
        "the same round):",
        "",
        tables["wall"],
        "",
        "Peak RSS (`ru_maxrss` of the child), ratio to base:",
        "",
        tables["rss"],
        "",
        "CPU time (user + system of the child, from the same `wait4`), ratio to base; less "
        "sensitive than wall time to other load on the machine:",
        "",
        tables["cpu"],
        "",
    ]
    if tables["size"]:
        out += ["Size of the profiler's output file (heapshape snapshot at exit; memray "
                "capture file), median over rounds:", "", tables["size"], ""]
    out += ["Base (no profiler) absolute figures:", "", tables["base"], ""]
    if meta["failures"]:
        out += ["Failed runs (excluded from the ratios):", ""]
        for f in meta["failures"]:
            out.append("- round %d, %s/%s: %s  \n  reproduce: `%s`" % (
                f["round"], f["workload"], f["config"], f["error"].replace("\n", " ")[:400],
                f["repro"]))
        out.append("")
    return "\n".join(out)


def write_doc(section):
    if os.path.exists(DOC):
        text = open(DOC).read()
    else:
        text = "# Performance\n\n%s\n%s\n" % (BEGIN, END)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + BEGIN + "\n" + section + "\n" + END + tail
    else:
        text = text.rstrip("\n") + "\n\n" + BEGIN + "\n" + section + "\n" + END + "\n"
    with open(DOC, "w") as f:
        f.write(text)
    log("bench: wrote %s" % DOC)


# ------------------------------------------------------------------------------------ main

def parse_list(s, allowed, what):
    items = [x.strip() for x in s.split(",") if x.strip()]
    bad = [x for x in items if x not in allowed]
    if bad:
        sys.exit("bench: unknown %s %s (choose from %s)" % (what, ", ".join(bad),
                                                           ", ".join(allowed)))
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help="comma-separated (default: all): " + ",".join(WORKLOADS))
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help="comma-separated (default: all): " + ",".join(CONFIGS))
    ap.add_argument("--python", default="/usr/bin/python3.11",
                    help="interpreter the venv is made from (default /usr/bin/python3.11); "
                         "3.14 or 3.15: the one tools/fetch_pythons.sh provides")
    ap.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    ap.add_argument("--write-doc", action="store_true",
                    help="replace the generated section of docs/PERFORMANCE.md")
    ap.add_argument("--json", metavar="PATH", help="also write every run's record here")
    ap.add_argument("--no-build", action="store_true",
                    help="use the existing bazel-bin/preload/libheapshape.so as is")
    ap.add_argument("--shim", metavar="PATH",
                    help="use this libheapshape.so as is (no build): a run split into several "
                         "calls keeps measuring the same library while the tree is rebuilt")
    ap.add_argument("--commit", metavar="REV",
                    help="build the shim from a clean export of this commit (git archive) "
                         "instead of the working tree")
    ap.add_argument("--timeout", type=float, default=300, help="per run, seconds (default 300)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if args.rounds < 1:
        sys.exit("bench: --rounds must be at least 1")
    workloads = parse_list(args.workloads, list(WORKLOADS), "workload")
    configs = parse_list(args.configs, CONFIGS, "configuration")
    if "base" not in configs:
        configs.insert(0, "base")  # every ratio needs it
    started = time.perf_counter()
    load_start = loadavg()
    python = fetched_python(args.python) if args.python in FETCHED else os.path.abspath(args.python)
    if not os.path.exists(python):
        sys.exit("bench: %s does not exist" % python)

    vpy, memray, memray_note, skipped = ensure_venv(python)
    skipped = {w: why for w, why in skipped.items() if w in workloads}
    if "memray" in configs and not memray:
        log("bench: skipping the memray configuration: " + memray_note)
        configs.remove("memray")
    elif "memray" not in configs or memray:
        memray_note = ""
    linkage, pyver = check_static(vpy)
    if linkage != "static":
        log("bench: warning: %s maps a libpython (shared build)" % vpy)
    needs_shim = any(c.startswith("heapshape") for c in configs)
    tmp = tempfile.mkdtemp(prefix="heapshape-bench-")
    shim_sha = ""
    shim = built = None
    shim_desc = "-"
    if needs_shim and args.shim:
        if not os.path.isfile(args.shim):
            sys.exit("bench: %s is missing" % args.shim)
        built, shim_desc = os.path.realpath(args.shim), "%s as given (--shim)" % args.shim
    elif needs_shim:
        built, shim_desc = build_shim(args.no_build, args.commit, tmp)
        if args.commit:  # its own bazel server: not left running during the measurements
            stop_bazel(os.path.join(tmp, "src"))
    if needs_shim:
        # A private copy: a rebuild during the run must not change the measured binary.
        shim = os.path.join(tmp, "libheapshape.so")
        shutil.copy2(built, shim)
        shim_sha = hashlib.sha256(open(shim, "rb").read()).hexdigest()
    iters = {w: WORKLOADS[w][1 if args.quick else 0] for w in workloads}
    runner = Runner(python, vpy, memray, shim, built, tmp, args.timeout)

    log("bench: %s, %s (%s); %d rounds x %d workloads x %d configurations; tmp %s" % (
        vpy, pyver.split()[0], linkage, args.rounds, len(workloads), len(configs), tmp))
    expected = {}  # the RESULT line of the unprofiled warm-up run
    for w in workloads:  # warm-up: page cache, __pycache__ of the workloads
        if w in skipped:
            log("bench: skipping workload %s: %s" % (w, skipped[w]))
            continue
        r = runner.run(w, "base", iters[w])
        if r["error"]:
            skipped[w] = "fails without a profiler: %s (reproduce: `%s`)" % (
                r["error"].replace("\n", " ")[:300], r["repro"])
            log("bench: skipping workload %s: %s" % (w, skipped[w]))
            continue
        expected[w] = r["result"]
    workloads = [w for w in workloads if w not in skipped]
    iters = {w: iters[w] for w in workloads}
    if not workloads:
        sys.exit("bench: no workload can run")
    records, failures = [], []
    total = args.rounds * len(workloads) * len(configs)
    for rnd in range(args.rounds):
        for wi, w in enumerate(workloads):
            k = (rnd + wi) % len(configs)
            order = configs[k:] + configs[:k]
            for c in order:
                r = runner.run(w, c, iters[w])
                r["round"] = rnd + 1
                if not r["error"] and r["result"]:
                    want = expected[w]
                    if r["result"] != want:
                        r["error"] = "output differs: %r, expected %r" % (r["result"], want)
                if r.get("stderr"):
                    log("bench: note: %s/%s wrote to stderr: %s" % (w, c, r["stderr"][:300]))
                records.append(r)
                if r["error"]:
                    failures.append(r)
                log("[%3d/%d] round %d %-18s %-12s %7.3f s %8.1f MiB%s%s" % (
                    len(records), total, rnd + 1, w, c, r["wall_s"], r["maxrss_kib"] / 1024.0,
                    "  %s" % fmt_bytes(r["output_bytes"]) if r["output_bytes"] else "",
                    "  FAILED: " + r["error"][:200] if r["error"] else ""))
    runner.close()
    if not args.keep_tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.perf_counter() - started

    wall, cpu, rss, outsz, base_abs = analyse(records, workloads, configs)
    counts = {}
    for r in records:
        n, t = counts.get((r["workload"], r["config"]), (0, 0))
        counts[r["workload"], r["config"]] = (n + (0 if r["error"] else 1), t + 1)
    tables = {
        "wall": ratio_table(wall, workloads, configs, counts),
        "rss": ratio_table(rss, workloads, configs, counts),
        "cpu": ratio_table(cpu, workloads, configs, counts),
        "size": size_table(outsz, workloads, configs),
        "base": base_table(base_abs, workloads, iters),
    }
    date = run_quiet(["date", "-u"]).stdout.strip()
    argv0 = os.path.relpath(os.path.abspath(sys.argv[0]), REPO)
    meta = {
        "date": date,
        "command": "python3 " + " ".join(shlex.quote(a) for a in [argv0] + sys.argv[1:]),
        "rounds": args.rounds, "elapsed_s": elapsed, "quick": args.quick,
        "machine": machine_info(vpy), "python": python, "python_version": pyver,
        "linkage": linkage, "venv": os.path.relpath(os.path.dirname(os.path.dirname(vpy)), REPO),
        "heapshape_source": shim_desc, "shim_sha256": shim_sha or "-",
        "pyperformance": package_version(vpy, "pyperformance"),
        "memray": package_version(vpy, "memray") if memray else None,
        "memray_note": memray_note, "failures": failures, "skipped": skipped,
        "load_start": load_start, "load_end": loadavg(),
    }
    section = render(meta, tables)
    print(section)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "records": records, "iterations": iters}, f, indent=1)
    if args.write_doc:
        write_doc(section)
    log("bench: done in %.0f s%s" % (elapsed, ", %d failed runs" % len(failures)
                                      if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
