"""pytest-heapshape: run a test session under the heapshape shim.

    pytest --heapshape [--heapshape-dir DIR] [--heapshape-per test|session]

* The session must run with libheapshape.so preloaded. If it was not (no `heapshape_snapshot`
  symbol in the process), the plugin re-executes pytest with LD_PRELOAD set to the shim
  (the one installed with the heapshape package; see heapshape/_locate.py). The one-line
  alternative is `heapshape run -- python -m pytest --heapshape`.
* Per test (default), the plugin calls the shim's `int heapshape_snapshot(const char *path)`
  through ctypes right before and right after the test body (pytest_runtest_call, so fixtures
  are not counted, as in pytest-memray) and keeps both files in the snapshot directory
  (default .heapshape/ under the rootdir): `<test id>.before.hsnap`, `<test id>.after.hsnap`.
  Diff them with `heapshape diff BEFORE AFTER`. With --heapshape-per session only marked tests
  get snapshots, and the session's own is `session.hsnap`.
* Markers, with pytest-memray's names and meaning (sizes "<NUMBER> [KMGT]B|B", powers of 1024):
    @pytest.mark.limit_memory("24 MB")  fails the test if the memory it allocated at its high
        watermark exceeds the limit. Measured as (process peak after - live bytes before) when
        the test raised the process's peak; when an earlier test had set a higher peak, the
        snapshots cannot see the test's own high-water mark and the plugin uses the best lower
        bound it has, the larger of the test's net growth and the peak increase of any single
        allocation site (see docs/ci.md).
    @pytest.mark.limit_leaks("1 MB")  fails the test if any allocation site (file:line, the
        innermost frame; memray uses the whole stack) still holds more than the limit of memory
        allocated during the test when the test body returns.
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

import pytest

from heapshape import _locate

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?B)\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4, "PB": 1024 ** 5}
_REEXEC_ENV = "HEAPSHAPE_PYTEST_REEXEC"


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
    g.addoption("--heapshape-per", choices=("test", "session"), default="test",
                help="snapshot every test (default) or only the session and marked tests")
    g.addoption("--heapshape-cli", default=None,
                help="the heapshape CLI (default: the one installed with this package; "
                     "$HEAPSHAPE_CLI overrides)")
    g.addoption("--heapshape-top", type=int, default=10,
                help="diff lines shown for a failing test (default 10)")


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


def _reexec_preloaded(config):
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
    snapdir = _snapdir(config)
    os.makedirs(snapdir, exist_ok=True)
    # The exec keeps our pid: this process becomes the shim's root process.
    env["HEAPSHAPE_ROOT_PID"] = str(os.getpid())
    env.setdefault("HEAPSHAPE_DIR", snapdir)
    env.setdefault("HEAPSHAPE_OUTPUT", os.path.join(snapdir, "session.hsnap"))
    argv = list(getattr(sys, "orig_argv", []) or [])
    if not argv:
        argv = [sys.executable, "-m", "pytest"] + sys.argv[1:]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + argv[1:], env)


def _snapdir(config):
    d = config.getoption("heapshape_dir") or os.path.join(str(config.rootpath), ".heapshape")
    return os.path.abspath(d)


def _safe(nodeid):
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", nodeid).strip("_")
    return s[-150:] or "test"


class HeapshapePlugin:
    def __init__(self, config, snap, cli):
        self.config = config
        self.snap = snap
        self.cli = cli
        self.dir = _snapdir(config)
        self.per = config.getoption("heapshape_per")
        self.top = config.getoption("heapshape_top")
        self.results = []  # (nodeid, text)
        os.makedirs(self.dir, exist_ok=True)

    def _take(self, path):
        if self.snap(os.fsencode(path)) != 0:
            raise RuntimeError("heapshape_snapshot(%s) failed" % path)

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
        above its live bytes at the start it went (a lower bound of the test's own peak there)."""
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
        mem = item.get_closest_marker("limit_memory")
        leaks = item.get_closest_marker("limit_leaks")
        if self.per == "session" and not (mem or leaks):
            yield
            return
        limits = {}
        if mem:
            limits["memory"] = parse_memory(mem.args[0] if mem.args else mem.kwargs["memory_limit"])
        if leaks:
            limits["leaks"] = parse_memory(
                leaks.args[0] if leaks.args else leaks.kwargs["location_limit"])
        base = os.path.join(self.dir, _safe(item.nodeid))
        before, after = base + ".before.hsnap", base + ".after.hsnap"
        self._take(before)
        try:
            yield
        finally:
            self._take(after)
        if limits:
            item._heapshape_failure = self._evaluate(item, before, after, limits)
        if self.per == "session":
            for p in (before, after):
                if not limits:
                    os.unlink(p)

    def _evaluate(self, item, before, after, limits):
        b, a = read_meta(before), read_meta(after)
        d = self._diff(before, after)
        grew = [e for e in d["statistics"] if e["size_diff"] > 0]
        problems, peaks = [], []
        if "memory" in limits:
            net = a["live"] - b["live"]
            peaks = self._peak_growth(before, after)
            if a["peak"] > b["peak"]:
                used, how = a["peak"] - b["live"], "high-water mark during the test"
            else:
                used = max([net, 0] + [p[0] for p in peaks[:1]])
                how = "lower bound: an earlier test set a higher process peak"
            self.results.append((item.nodeid, "allocated %s (%s), limit %s"
                                 % (format_size(used), how, format_size(limits["memory"]))))
            if used > limits["memory"]:
                problems.append("Test was limited to %s but allocated %s (%s)"
                                % (format_size(limits["memory"]), format_size(used), how))
        if "leaks" in limits:
            leaking = [e for e in grew if e["size_diff"] > limits["leaks"]]
            if leaking:
                problems.append("Test leaked more than %s at %d location%s: %s"
                                % (format_size(limits["leaks"]), len(leaking),
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

    def pytest_sessionfinish(self, session):
        if self.per == "session":
            self._take(os.path.join(self.dir, "session.hsnap"))

    def pytest_terminal_summary(self, terminalreporter):
        tr = terminalreporter
        tr.section("heapshape")
        tr.write_line("snapshots in %s" % self.dir)
        for nodeid, text in self.results:
            tr.write_line("%s: %s" % (nodeid, text))


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
    cli = _find_cli(config.getoption("heapshape_cli"))
    if not cli:
        raise pytest.UsageError("heapshape: cannot find the heapshape CLI: %s; or pass "
                                "--heapshape-cli" % _locate.not_found(_locate.CLI_NAME))
    config.pluginmanager.register(HeapshapePlugin(config, snap, cli), "heapshape-plugin")
