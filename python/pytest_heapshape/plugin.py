"""pytest-heapshape: run a test session under the heapshape shim.

    pytest --heapshape [--heapshape-dir DIR] [--heapshape-keep needed|all]
           [--heapshape-trace-python-allocators]
           [--heapshape-exact | --heapshape-sample-rate BYTES]

* The session must run with libheapshape.so preloaded. If it was not (no `heapshape_snapshot`
  symbol in the process), the plugin re-executes pytest with LD_PRELOAD set to the shim
  (the one installed with the heapshape package; see heapshape/_locate.py). The one-line
  alternative is `heapshape run -- python -m pytest --heapshape`.
* Python's allocators: by default they are untraced, as pytest-memray does by default
  (HEAPSHAPE_PYTHON_ALLOCATORS=untraced; docs/DESIGN.md, "Python allocators untraced"): no
  hooks on PyMem_Malloc / PyObject_Malloc, whose hundreds of millions of small-object events
  are most of a suite's allocations; pymalloc's arenas are recorded instead (the RAW domain, at
  the line that needed a new arena), with PyMem_RawMalloc and the malloc family. At the first
  test marked limit_leaks (pytest-memray traces Python's allocators for those) the plugin
  switches the shim to traced for the rest of the session (heapshape_trace_python_allocators:
  the arenas recorded so far are counted as freed; Python objects are recorded one by one from
  then on). --heapshape-trace-python-allocators (pytest-memray's --trace-python-allocators)
  traces them from the start, and --heapshape-exact implies it.
* What is recorded: by default the session runs in the shim's sampled mode (about one
  allocation per 64 KiB allocated, a Poisson process over bytes; each recorded block stands
  for 1/p blocks, so per-site figures are unbiased estimates), and every test marked
  limit_memory or limit_leaks records every allocation while its body runs (heapshape_exact,
  heapshape_peak_reset): its peak and what it left behind are exact. --heapshape-exact records
  every allocation of the whole session (about 1.5x the cost of plain pytest on a test suite
  that allocates a lot); --heapshape-sample-rate sets the mean spacing. Under `heapshape run`
  the session keeps the mode `heapshape run` chose. The terminal summary says which it was.
* Snapshots are taken only where they are needed (--heapshape-keep needed, the default): a
  marked test gets `<test id>.before.hsnap` and `<test id>.after.hsnap` around the test body
  (pytest_runtest_call, so fixtures are not counted, as in pytest-memray): the shim's
  heapshape_mark() right before it, heapshape_snapshot_since_mark(after, before) right after
  it, a pair of partial snapshots holding only the lines the test touched, as they were
  before and after (docs/snapshot-format.md, PART; a few KB where a full snapshot of a long
  session is MBs). A failing test gets `<test id>.after.hsnap` (a full snapshot of its heap
  when it failed), and the session's own is `session.hsnap`; --heapshape-keep all gives every
  test the pair. They go to the snapshot directory (default .heapshape/ under the rootdir);
  `heapshape diff BEFORE AFTER` compares two.
* Markers, with pytest-memray's names and meaning (sizes "<NUMBER> [KMGT]B|B", powers of 1024):
    @pytest.mark.limit_memory("24 MB")  fails the test if the memory it allocated, at its
        high-water mark, reaches the limit: the shim's per-test peak (heapshape_peak_reset at
        the start of the test body, heapshape_peak_get at its end), the highest number of bytes
        held at once by blocks allocated during the test, in any thread, exact at every
        allocation; blocks older than the test do not count, as in pytest-memray.
    @pytest.mark.limit_leaks("1 MB", filter_fn=None)  fails the test if any allocation site
        (file:line, the innermost frame; memray uses the whole stack) still holds the limit or
        more of memory allocated during the test when the test body returns. filter_fn gets a
        Stack of that one frame (function "???") and returns False to ignore the site.
    current_thread_only=True and limit_leaked_objects are refused with an error naming them.
  A failing test prints what it allocated: the top `heapshape diff` lines (tracemalloc's
  StatisticDiff) between its two snapshots.
"""
import ctypes
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time

import pytest

from heapshape import _locate

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?B)\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4, "PB": 1024 ** 5}
_REEXEC_ENV = "HEAPSHAPE_PYTEST_REEXEC"
_PYALLOC_ENV = "HEAPSHAPE_PYTHON_ALLOCATORS"


def parse_memory(text):
    """'24 MB' -> bytes, like pytest-memray (ValueError if the format is wrong)."""
    m = _SIZE_RE.match(str(text))
    if not m:
        raise ValueError("Invalid memory size format: %r (use <NUMBER> ([KMGTP]B|B))" % (text,))
    return float(m.group(1)) * _UNITS[m.group(2).upper()]


def format_size(size, sign=False):
    """tracemalloc._format_size."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 100 and unit != "B":
            return ("%+.1f %s" if sign else "%.1f %s") % (size, unit)
        if abs(size) < 10 * 1024 or unit == "TiB":
            return ("%+.0f %s" if sign else "%.0f %s") % (size, unit)
        size /= 1024


def read_meta(path):
    """The totals of a .hsnap (docs/snapshot-format.md: 32-byte header, 16-byte section header,
    then META): live bytes, live blocks, peak live bytes, bytes allocated."""
    with open(path, "rb") as f:
        head = f.read(48 + 80)
    if head[:8] != b"HSNAP\0\r\n" or head[32:36] != b"META":
        raise ValueError("%s: not a heapshape snapshot" % path)
    live, count, peak, _allocs, _frees, alloc_bytes = struct.unpack_from("<6Q", head, 48 + 32)
    return {"live": live, "count": count, "peak": peak, "alloc_bytes": alloc_bytes}


def pytest_addoption(parser):
    g = parser.getgroup("heapshape", "heapshape memory snapshots")
    g.addoption("--heapshape", action="store_true", default=False,
                help="run the session under the heapshape shim: snapshots per test, "
                     "limit_memory / limit_leaks markers")
    g.addoption("--heapshape-dir", default=None,
                help="where snapshots go (default: .heapshape under the rootdir)")
    g.addoption("--heapshape-keep", choices=("needed", "all"), default=None,
                help="snapshots of marked and failing tests only (needed, the default) or of "
                     "every test, before and after (all)")
    g.addoption("--heapshape-per", choices=("test", "session"), default=None,
                help="older spelling: test = --heapshape-keep all, session = needed")
    g.addoption("--heapshape-exact", action="store_true", default=False,
                help="record every allocation of the session, not only those of marked "
                     "tests (the default samples the rest: about one allocation per "
                     "--heapshape-sample-rate bytes)")
    g.addoption("--heapshape-trace-python-allocators", action="store_true", default=False,
                help="record Python's own allocators (PyMem_Malloc, PyObject_Malloc) from the "
                     "start, as pytest-memray's --trace-python-allocators; by default they are "
                     "untraced (pymalloc's arenas are recorded) until the first limit_leaks test")
    g.addoption("--heapshape-sample-rate", default=None, metavar="BYTES",
                help="mean bytes between two recorded allocations outside marked tests "
                     "(default 64K; suffixes K, M, G)")
    g.addoption("--heapshape-cli", default=None,
                help="the heapshape CLI (default: the one installed with this package; "
                     "$HEAPSHAPE_CLI overrides)")
    g.addoption("--heapshape-top", type=int, default=10,
                help="diff lines shown for a failing test (default 10)")


DEFAULT_SAMPLE_RATE = 64 << 10
_RATE_RE = re.compile(r"^\s*(\d+)\s*([KMG]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_rate(text):
    """'64K' -> 65536 (the CLI's --sample-rate spelling); ValueError if malformed or 0."""
    m = _RATE_RE.match(str(text))
    if not m or int(m.group(1)) == 0:
        raise ValueError("heapshape: --heapshape-sample-rate %r: use a number of bytes such as "
                         "65536, 64K or 1M" % (text,))
    v = int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2).upper()]
    if v > 0x7FFFFFFF:
        raise ValueError("heapshape: --heapshape-sample-rate %r is above 2 GiB" % (text,))
    return v


def _opt(config, name, early=False):
    """An option's value; early: from the arguments known before conftests are loaded
    (pytest_load_initial_conftests, where config.option holds only defaults)."""
    if early:
        return getattr(config.known_args_namespace, name, None)
    return config.getoption(name)


def _session_rate(config, early=False):
    """The sample rate the re-executed session should run with, 0 for exact."""
    if _opt(config, "heapshape_exact", early):
        if _opt(config, "heapshape_sample_rate", early):
            raise pytest.UsageError("heapshape: --heapshape-exact and --heapshape-sample-rate "
                                    "exclude each other")
        return 0
    opt = _opt(config, "heapshape_sample_rate", early)
    try:
        return parse_rate(opt) if opt else DEFAULT_SAMPLE_RATE
    except ValueError as e:
        raise pytest.UsageError(str(e))


def _find_shim():
    return _locate.shim()


def _find_cli(opt):
    if opt:
        return opt if os.path.isfile(opt) and os.access(opt, os.X_OK) else None
    return _locate.cli() or shutil.which("heapshape")


def _snapshot_fn():
    """The shim's heapshape_snapshot, or None when the process is not preloaded. PyDLL keeps
    the GIL held during the call, as heapshape.h asks."""
    try:
        fn = ctypes.PyDLL(None).heapshape_snapshot
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_char_p]
    fn.restype = ctypes.c_int
    return fn


def _reexec_preloaded(config, early=False):
    if os.environ.get(_REEXEC_ENV):
        raise pytest.UsageError(
            "heapshape: re-executed pytest with LD_PRELOAD=%s but heapshape_snapshot is still "
            "missing; run `heapshape run -- python -m pytest --heapshape` instead"
            % os.environ.get("LD_PRELOAD", ""))
    shim = _find_shim()
    if not shim:
        raise pytest.UsageError(
            "heapshape: pytest is not running under the heapshape shim and %s; or run "
            "`heapshape run -- python -m pytest --heapshape`" % _locate.not_found(_locate.SHIM_NAME))
    env = dict(os.environ)
    env[_REEXEC_ENV] = "1"
    old = env.get("LD_PRELOAD")
    env["LD_PRELOAD"] = shim + (":" + old if old else "")
    snapdir = _snapdir(config, early)
    os.makedirs(snapdir, exist_ok=True)
    # The exec keeps our pid: this process becomes the shim's root process.
    env["HEAPSHAPE_ROOT_PID"] = str(os.getpid())
    env.setdefault("HEAPSHAPE_DIR", snapdir)
    env.setdefault("HEAPSHAPE_OUTPUT", os.path.join(snapdir, "session.hsnap"))
    rate = _session_rate(config, early)
    if rate:
        env["HEAPSHAPE_SAMPLE_RATE"] = str(rate)
    else:
        env.pop("HEAPSHAPE_SAMPLE_RATE", None)
    if rate and not _opt(config, "heapshape_trace_python_allocators", early):
        env[_PYALLOC_ENV] = "untraced"
    else:
        env.pop(_PYALLOC_ENV, None)
    argv = list(getattr(sys, "orig_argv", []) or [])
    if not argv:
        argv = [sys.executable, "-m", "pytest"] + sys.argv[1:]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + argv[1:], env)


def _snapdir(config, early=False):
    d = _opt(config, "heapshape_dir", early) or os.path.join(str(config.rootpath), ".heapshape")
    return os.path.abspath(d)


def _safe(nodeid):
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", nodeid).strip("_")
    return s[-150:] or "test"


class _Shim:
    """The shim's exported functions, called through ctypes.PyDLL (the GIL stays held, as
    heapshape.h asks)."""

    def __init__(self, snap):
        lib = ctypes.PyDLL(None)
        self.snapshot = snap
        self.reset = lib.heapshape_peak_reset
        self.reset.restype = ctypes.c_int
        self.stop = lib.heapshape_peak_stop
        self.stop.restype = ctypes.c_int
        self._get = lib.heapshape_peak_get
        self._get.argtypes = [ctypes.POINTER(ctypes.c_ulonglong), ctypes.POINTER(ctypes.c_ulonglong)]
        self._get.restype = ctypes.c_int
        # partial per-test snapshots (format v6); a shim without them gets full snapshots
        self.mark = getattr(lib, "heapshape_mark", None)
        self.since = getattr(lib, "heapshape_snapshot_since_mark", None)
        if self.since is not None:
            self.since.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        self.exact = lib.heapshape_exact
        self.exact.argtypes = [ctypes.c_int]
        self.exact.restype = ctypes.c_int
        # 1: switched to traced now, 0: traced already (a shim without it traces always)
        self._trace = getattr(lib, "heapshape_trace_python_allocators", None)
        if self._trace is not None:
            self._trace.restype = ctypes.c_int

    def trace_python_allocators(self):
        if self._trace is None:
            return 0
        r = self._trace()
        if r < 0:
            raise RuntimeError("heapshape_trace_python_allocators() failed (tracking is "
                               "off, or the GIL was not held)")
        return r

    def peak(self):
        peak, cur = ctypes.c_ulonglong(), ctypes.c_ulonglong()
        if self._get(ctypes.byref(peak), ctypes.byref(cur)) != 0:
            raise RuntimeError("heapshape_peak_get failed: tracking is off")
        return peak.value


# pytest-memray's marker arguments: (name, keyword) -> what heapshape does with it
_MARKER_ARGS = {"limit_memory": ("memory_limit", ("current_thread_only",)),
                "limit_leaks": ("location_limit", ("filter_fn", "current_thread_only"))}


def _marker_limit(marker):
    """(limit in bytes, filter_fn) of a limit_memory / limit_leaks marker; a pytest.UsageError
    naming what heapshape does not do."""
    first, known = _MARKER_ARGS[marker.name]
    kwargs = dict(marker.kwargs)
    args = list(marker.args)
    if not args and first in kwargs:
        args = [kwargs.pop(first)]
    if len(args) != 1:
        raise pytest.UsageError("heapshape: %s takes one limit such as \"24 MB\" (got %r)"
                                % (marker.name, marker.args))
    for k in kwargs:
        if k not in known:
            raise pytest.UsageError("heapshape: %s(%s=...) is not an argument heapshape (or "
                                    "pytest-memray) knows" % (marker.name, k))
    if kwargs.get("current_thread_only"):
        raise pytest.UsageError(
            "heapshape: %s(current_thread_only=True) is not supported: the shim counts every "
            "thread's allocations together; drop the argument or run this test with --memray"
            % marker.name)
    fn = kwargs.get("filter_fn")
    if fn is not None and not callable(fn):
        raise pytest.UsageError("heapshape: limit_leaks(filter_fn=%r) is not callable" % (fn,))
    return parse_memory(args[0]), fn


class _StackFrame:
    """pytest-memray's StackFrame: function, filename, lineno."""

    def __init__(self, function, filename, lineno):
        self.function, self.filename, self.lineno = function, filename, lineno

    def __repr__(self):
        return "StackFrame(%r, %r, %r)" % (self.function, self.filename, self.lineno)


class _Stack:
    """pytest-memray's Stack: frames, innermost first (heapshape knows one: the site)."""

    def __init__(self, frames):
        self.frames = tuple(frames)

    def __repr__(self):
        return "Stack(%r)" % (self.frames,)


class HeapshapePlugin:
    def __init__(self, config, shim, cli):
        self.config = config
        self.shim = shim
        self.cli = cli
        self.dir = _snapdir(config)
        keep = config.getoption("heapshape_keep")
        per = config.getoption("heapshape_per")
        if keep is None:
            keep = "all" if per == "test" else "needed"
        self.keep_all = keep == "all"
        self.top = config.getoption("heapshape_top")
        self.results = []  # (nodeid, text), from this process and xdist workers
        # the session's sample rate (the shim read it at start-up), 0 = every allocation
        try:
            self.rate = int(os.environ.get("HEAPSHAPE_SAMPLE_RATE") or 0)
        except ValueError:
            self.rate = 0
        self.exact_tests = 0
        self.started = time.time()
        # Python's allocators untraced (the shim's state, from its start-up environment) until
        # the first limit_leaks test or --heapshape-trace-python-allocators
        self.untraced = os.environ.get(_PYALLOC_ENV) == "untraced" and \
            shim._trace is not None
        self.traced_at = None
        if self.untraced and config.getoption("heapshape_trace_python_allocators"):
            shim.trace_python_allocators()
            self.untraced = False
        self.started_untraced = self.untraced
        os.makedirs(self.dir, exist_ok=True)

    def _take(self, path):
        if self.shim.snapshot(os.fsencode(path)) != 0:
            raise RuntimeError("heapshape_snapshot(%s) failed" % path)

    def _begin(self, before):
        """The start of a kept test: a mark (the pair is written at its end), or a full
        snapshot from a shim without marks."""
        if self.shim.mark is not None and self.shim.since is not None:
            if self.shim.mark() != 0:
                raise RuntimeError("heapshape_mark() failed")
        else:
            self._take(before)

    def _end(self, before, after):
        if self.shim.mark is not None and self.shim.since is not None:
            if self.shim.since(os.fsencode(after), os.fsencode(before)) != 0:
                raise RuntimeError("heapshape_snapshot_since_mark(%s, %s) failed" % (after, before))
        else:
            self._take(after)

    def _run_cli(self, *args):
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)  # the CLI itself is not to be profiled
        p = subprocess.run([self.cli] + list(args), capture_output=True, text=True, env=env)
        if p.returncode != 0:
            raise RuntimeError("heapshape %s failed: %s" % (args[0], p.stderr.strip()))
        return p.stdout

    def _diff(self, before, after):
        return json.loads(self._run_cli("diff", before, after, "--format", "json", "--limit", "0"))

    def _sites(self, path):
        """{(filename, lineno): (live bytes, peak bytes)} from `heapshape baseline save`."""
        out = {}
        for line in self._run_cli("baseline", "save", path, "--to", "-", "--root", "", "--all-sites").splitlines():
            f = line.split("\t")
            if f[0] == "site" and len(f) == 6:
                out[(f[1], int(f[2]))] = (int(f[3]), int(f[5]))
        return out

    def _peak_growth(self, before, after):
        """[(growth, filename, lineno)]: for each site whose peak rose during the test, how far
        above its live bytes at the start it went (where the test's high-water mark was)."""
        b, a = self._sites(before), self._sites(after)
        out = []
        for k, (size, peak) in a.items():
            size0, peak0 = b.get(k, (0, 0))
            if peak > peak0 and peak - size0 > 0:
                out.append((peak - size0, k[0], k[1]))
        out.sort(reverse=True)
        return out

    @staticmethod
    def _line(e):
        avg = ", average=%s" % format_size(e["size"] / e["count"]) if e["count"] else ""
        return "%s:%s: size=%s (%s), count=%d (%+d)%s" % (
            e["filename"], e["lineno"], format_size(e["size"]), format_size(e["size_diff"], True),
            e["count"], e["count_diff"], avg)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        markers = [m for m in item.iter_markers() if m.name in
                   ("limit_memory", "limit_leaks", "limit_leaked_objects")]
        if not markers and not self.keep_all:
            outcome = yield
            exc = outcome.excinfo[1] if outcome.excinfo else None
            if exc is not None and not isinstance(exc, (pytest.skip.Exception, pytest.xfail.Exception)):
                # a failing test: its heap as it failed
                self._take(os.path.join(self.dir, _safe(item.nodeid) + ".after.hsnap"))
            return
        limits = {}
        try:
            for m in markers:
                if m.name == "limit_leaked_objects":
                    raise pytest.UsageError("heapshape: the limit_leaked_objects marker is not "
                                            "supported (it tracks object lifetimes); use "
                                            "limit_leaks, or run this test with --memray")
                if m.name not in limits:  # the closest marker wins, as get_closest_marker does
                    limits[m.name] = _marker_limit(m)
        except (pytest.UsageError, ValueError) as e:
            pytest.fail(str(e), pytrace=False)
        if "limit_leaks" in limits and self.untraced:
            # pytest-memray traces Python's allocators for limit_leaks tests: from here on the
            # shim does too, for good (before the mark, so the test's pair is all traced)
            self.shim.trace_python_allocators()
            self.untraced = False
            self.traced_at = item.nodeid
        base = os.path.join(self.dir, _safe(item.nodeid))
        before, after = base + ".before.hsnap", base + ".after.hsnap"
        self._begin(before)
        if limits:  # a sampled session records every allocation of a marked test's body
            self.shim.exact(1)
            self.exact_tests += 1
        if "limit_memory" in limits:
            self.shim.reset()
        try:
            yield
        finally:
            peak = None
            if "limit_memory" in limits:
                peak = self.shim.peak()
                self.shim.stop()
            if limits:
                self.shim.exact(0)
            self._end(before, after)
        if limits:
            item._heapshape_failure = self._evaluate(item, before, after, limits, peak)

    def _evaluate(self, item, before, after, limits, peak):
        d = self._diff(before, after)
        grew = [e for e in d["statistics"] if e["size_diff"] > 0]
        problems, peaks = [], []
        if "limit_memory" in limits:
            limit = limits["limit_memory"][0]
            how = "high-water mark during the test"
            text = "allocated %s (%d B) (%s), limit %s" % (format_size(peak), peak, how,
                                                           format_size(limit))
            self.results.append((item.nodeid, text))
            item.user_properties.append(("heapshape", text))
            if peak >= limit:  # pytest-memray fails a test that reaches its limit
                peaks = self._peak_growth(before, after)
                problems.append("Test was limited to %s but allocated %s (%s)"
                                % (format_size(limit), format_size(peak), how))
        if "limit_leaks" in limits:
            limit, fn = limits["limit_leaks"]
            leaking = [e for e in grew if e["size_diff"] >= limit]
            if fn is not None:
                leaking = [e for e in leaking if fn(_Stack([_StackFrame("???", e["filename"], e["lineno"])]))]
            if leaking:
                problems.append("Test leaked more than %s at %d location%s: %s"
                                % (format_size(limit), len(leaking),
                                   "" if len(leaking) == 1 else "s",
                                   ", ".join("%s:%s (%s)" % (e["filename"], e["lineno"],
                                                             format_size(e["size_diff"], True))
                                             for e in leaking[:5])))
        if not problems:
            return None
        lines = []
        if peaks:
            lines.append("heapshape: sites whose peak rose during the test (peak above the "
                         "live size at the start):")
            lines += ["%s:%s: peak %s" % (f, l, format_size(g, True)) for g, f, l in peaks[: self.top]]
        lines.append("heapshape: still live at the end of the test (heapshape diff %s %s):"
                     % (before, after))
        lines += [self._line(e) for e in grew[: self.top]] or ["(nothing)"]
        return "\n".join(problems + lines)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        msg = getattr(item, "_heapshape_failure", None)
        if call.when == "call" and msg and report.passed:
            report.outcome = "failed"
            report.longrepr = msg

    def pytest_runtest_logreport(self, report):
        # xdist: a worker's results arrive in the controller as the reports' user_properties
        if report.when == "call" and getattr(report, "node", None) is not None:
            for k, v in report.user_properties:
                if k == "heapshape":
                    self.results.append((report.nodeid, v))

    def pytest_sessionfinish(self, session):
        # the session's heap at its end (under the plugin's re-exec, the exit snapshot is
        # session.hsnap already; an xdist worker's exit snapshot is its own)
        path = os.path.join(self.dir, "session.hsnap")
        if not hasattr(self.config, "workerinput") and os.environ.get("HEAPSHAPE_OUTPUT") != path:
            self._take(path)

    def pytest_terminal_summary(self, terminalreporter):
        tr = terminalreporter
        tr.section("heapshape")
        tr.write_line("snapshots in %s" % self.dir)
        if self.started_untraced:
            if self.traced_at is None:
                tr.write_line("Python allocators untraced (pytest-memray's default): Python "
                              "objects are seen as pymalloc's arenas (RAW domain), not one by "
                              "one; --heapshape-trace-python-allocators records them")
            else:
                tr.write_line("Python allocators untraced (pymalloc's arenas recorded) until "
                              "the first limit_leaks test, %s, traced from there on"
                              % self.traced_at)
        else:
            tr.write_line("Python allocators traced (every PyMem_Malloc / PyObject_Malloc "
                          "block)")
        if self.rate:
            tr.write_line("sampled session: about one allocation recorded per %s allocated "
                          "(Poisson over bytes; per-site figures are estimates), every "
                          "allocation of the %d marked test%s; --heapshape-exact records "
                          "everything" % (format_size(self.rate), self.exact_tests,
                                          "" if self.exact_tests == 1 else "s"))
        else:
            tr.write_line("every allocation of the session recorded")
        for nodeid, text in self.results:
            tr.write_line("%s: %s" % (nodeid, text))
        if self.config.pluginmanager.hasplugin("dsession"):  # xdist controller
            workers = []
            for name in sorted(os.listdir(self.dir)):
                path = os.path.join(self.dir, name)
                if name.startswith("heapshape-") and name.endswith(".hsnap") and \
                        os.path.getmtime(path) >= self.started:
                    try:
                        workers.append((name, read_meta(path)))
                    except (OSError, ValueError, struct.error):
                        pass
            for name, m in workers:
                tr.write_line("xdist worker %s: peak live %s, live at exit %s"
                              % (name, format_size(m["peak"]), format_size(m["live"])))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """The re-execution under the shim, as early as the options are known: before conftests
    are imported and the other plugins configured, which the first process would do for
    nothing (pytest and the plugins are imported by now). pytest_configure does it otherwise
    (a plugin registered later, by a conftest's pytest_plugins)."""
    ns = getattr(early_config, "known_args_namespace", None)
    if ns is None or not getattr(ns, "heapshape", False) or _snapshot_fn() is not None:
        return
    if getattr(ns, "help", False) or getattr(ns, "version", False):
        return
    # what cannot be done is refused by pytest_configure, where pytest reports a usage error
    # (raised from this hook, older pytest versions print a traceback)
    if os.environ.get(_REEXEC_ENV) or not _find_shim():
        return
    try:
        _session_rate(early_config, early=True)
    except pytest.UsageError:
        return
    # pytest captures fds 1 and 2 while conftests load: the new process must get the real ones
    capman = early_config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        capman.stop_global_capturing()
    _reexec_preloaded(early_config, early=True)  # does not return


def pytest_configure(config):
    config.addinivalue_line("markers", "limit_memory(memory_limit): fail the test if it "
                            "allocates more memory (at its high-water mark) than memory_limit "
                            "(heapshape)")
    config.addinivalue_line("markers", "limit_leaks(location_limit): fail the test if any "
                            "allocation site keeps more than location_limit of memory allocated "
                            "during the test (heapshape)")
    if not config.getoption("heapshape"):
        return
    snap = _snapshot_fn()
    if snap is None:
        _reexec_preloaded(config)  # does not return
    rate = os.environ.get("HEAPSHAPE_SAMPLE_RATE")
    if config.getoption("heapshape_exact") and rate and rate != "0" and \
            not os.environ.get(_REEXEC_ENV):
        raise pytest.UsageError("heapshape: --heapshape-exact, but the shim was started in "
                                "sampled mode (HEAPSHAPE_SAMPLE_RATE=%s, `heapshape run "
                                "--sample-rate`); drop one of the two" % rate)
    if config.getoption("heapshape_sample_rate") and not os.environ.get(_REEXEC_ENV):
        raise pytest.UsageError("heapshape: --heapshape-sample-rate applies when the plugin "
                                "starts the shim itself; under `heapshape run` use its "
                                "--sample-rate")
    cli = _find_cli(config.getoption("heapshape_cli"))
    if not cli:
        raise pytest.UsageError("heapshape: cannot find the heapshape CLI: %s; or pass "
                                "--heapshape-cli" % _locate.not_found(_locate.CLI_NAME))
    config.pluginmanager.register(HeapshapePlugin(config, _Shim(snap), cli), "heapshape-plugin")
