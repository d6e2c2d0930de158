"""HEAPSHAPE_PYTHON_ALLOCATORS=untraced (preload/pyarena.c; the pytest plugin's default): no
hooks on the MEM and OBJ domains (read back with PyMem_GetAllocator), pymalloc's arenas
recorded in the RAW domain at the line that needed them, per-test peaks exact for big blocks
and counting arenas; heapshape_trace_python_allocators() puts the MEM and OBJ hooks on for
good, drops the arenas recorded so far (counted as freed: no block is counted twice) and
records none after (programs/pyalloc_untraced.py). With the plugin: a 40 MB limit_memory test
fails against 10 MB and passes against 100 MB, and the first limit_leaks test switches the
session to traced and finds its leak as in a traced session."""
import json
import os
import re
import shutil
import subprocess

import hstest

PROG = os.path.join(hstest.PROGRAMS, "pyalloc_untraced.py")
UNTRACED = {"HEAPSHAPE_PYTHON_ALLOCATORS": "untraced"}
BYTES40 = 73  # sizeof(PyBytesObject) + 40: 33 + 40 on 3.8-3.15
MAP_NODE = 128 << 10  # a bottom node of obmalloc's arena map is a multiple of this (3.10+)


def minor(py):
    out = subprocess.run([py, "-c", "import sys; print(sys.version_info[1])"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout)


def raw_and_obj(snapshot, line):
    """(RAW entry, OBJ entry) of PROG's line in snapshot (None when absent)."""
    return tuple(hstest.line_of(hstest.stats(snapshot, "--domain", d, "--limit", "0")["statistics"],
                                PROG, line) for d in ("raw", "obj"))


class PyallocUntraced(hstest.TestCase):
    def test_untraced_and_switch(self):
        a_line = hstest.find_line(PROG, "# SMALL_A")
        b_line = hstest.find_line(PROG, "# SMALL_B")
        for label, py in hstest.default_interpreters() + [i for i in hstest.interpreters() if i[0] == "3.8.18"]:
            self.need(label, py)
            for rate in (None, "64K"):
                with self.subTest(python=label, sample_rate=rate):
                    arena = (1 << 20) if minor(py) >= 10 else (256 << 10)
                    s1 = os.path.join(self.tmp, "%s-%s-1.hsnap" % (label, rate))
                    s2 = os.path.join(self.tmp, "%s-%s-2.hsnap" % (label, rate))
                    run = hstest.profile([py, PROG, s1, s2], os.path.join(self.tmp, "x.hsnap"),
                                         extra_env=UNTRACED, sample_rate=rate)
                    res = json.loads(run.stdout)
                    self.assertEqual(res["before"], {"raw": True, "mem": False, "obj": False, "arena": True})
                    self.assertEqual(res["after"], {"raw": True, "mem": True, "obj": True, "arena": True})
                    self.assertEqual(res["switch"], [1, 0])
                    # a 40 MB block (PyObject_Malloc -> PyMem_RawMalloc) counts exactly
                    # (and a few small blocks of ctypes' calls, outside pymalloc)
                    self.assertTrue(40_000_001 <= res["peak_big"] <= 40_000_001 + 4096, res)
                    # 400,000 small blocks: the arenas pymalloc mapped for them, whole
                    # (plus the arena table and what else the interpreter held at the peak)
                    self.assertLess(res["peak_small"] % arena, 256 << 10, res)
                    # (some of them go into free room of arenas mapped before the test)
                    self.assertTrue(400_000 * 80 * 0.85 <= res["peak_small"] <= 400_000 * 80 * 1.1 + 2 * arena, res)
                    # before the switch: line A holds arenas in RAW, nothing in OBJ
                    raw_a, obj_a = raw_and_obj(s1, a_line)
                    self.assertIsNone(obj_a)
                    # the arenas, and pymalloc's table of arenas when it grew (PyMem_RawRealloc,
                    # 48 bytes per arena: 3 KiB for 64 arenas, 12 KiB for 256)
                    # and, rarely, a node of pymalloc's radix tree of arenas (3.10+): when an
                    # arena lands in an address region no earlier arena was in, obmalloc's
                    # arena_map_get takes a bottom node with PyMem_RawCalloc at this line
                    # (128 KiB on Debian's 3.11, 256 KiB on 3.12-3.15, seen with gdb; CI met
                    # one on 3.11: 31 arenas + 131,072 + 3,072 bytes in 33 blocks)
                    arenas, rest = divmod(raw_a["size"], arena)
                    nodes, table = divmod(rest, MAP_NODE) if minor(py) >= 10 else (0, rest)
                    self.assertLess(table, 16384, raw_a)
                    self.assertTrue(arenas <= raw_a["count"] <= arenas + 1 + nodes, raw_a)
                    self.assertTrue(raw_a["size"] >= 400_000 * 80 * 0.85, raw_a)
                    # after it: line A's arenas counted as freed at the switch (their unmapping,
                    # after the switch, changes nothing), line B's blocks one by one, no arena
                    raw_a, obj_a = raw_and_obj(s2, a_line)
                    self.assertEqual(raw_a["size"] if raw_a else 0, rest, raw_a)  # the table (and nodes) alone
                    self.assertIsNone(obj_a)
                    raw_b, obj_b = raw_and_obj(s2, b_line)
                    self.assertIsNone(raw_b)
                    if rate is None:
                        self.assertEqual((obj_b["count"], obj_b["size"]), (100_000, 100_000 * BYTES40))
                    else:  # sampled: an unbiased estimate, within four standard errors
                        self.assertTrue(abs(obj_b["size"] - 100_000 * BYTES40) <= 4 * obj_b["size_stderr"], obj_b)

    def test_switch_under_tracemalloc(self):
        prog = os.path.join(hstest.PROGRAMS, "pyalloc_tracemalloc.py")
        for label, py in hstest.default_interpreters():
            self.need(label, py)
            with self.subTest(python=label):
                out = os.path.join(self.tmp, "tm-%s.hsnap" % label)
                run = hstest.profile([py, prog], out, extra_env=UNTRACED)
                self.assertEqual(run.stdout.strip(), "1")
                st = hstest.stats(out, "--domain", "obj", "--limit", "0")["statistics"]
                self.assertIsNone(hstest.line_of(st, prog, hstest.find_line(prog, "# A:")))
                for marker in ("# B:", "# C:"):
                    e = hstest.line_of(st, prog, hstest.find_line(prog, marker))
                    # the 10,000 bytes objects, and at most one small object more: 3.14 keeps
                    # one 32-byte object at line C in some checkouts (clean-clone CI, and every
                    # run by hand with that build: 10,001 blocks, 730,032 bytes) and not in
                    # others (the helper's worktree); not explained, noted in the issue
                    extra = e["count"] - 10_000
                    self.assertIn(extra, (0, 1), (marker, e))
                    self.assertTrue(0 <= e["size"] - 10_000 * BYTES40 <= 64 * extra, (marker, e))


SUITE = """import pytest

LEAK = []


@pytest.mark.limit_memory("10 MB")
def test_big_over():
    b = bytearray(40_000_000)
    del b


@pytest.mark.limit_memory("100 MB")
def test_big_under():
    b = bytearray(40_000_000)
    del b


@pytest.mark.limit_leaks("100 KB")
def test_leaks():
    LEAK.extend(bytes(1000) for _ in range(500))  # LEAK_LINE


@pytest.mark.limit_leaks("100 KB")
def test_small_leaks():
    LEAK.extend((i, i) for i in range(20_000))  # SMALL_LEAK_LINE


def test_after():
    assert True
"""


class PluginUntraced(hstest.TestCase):
    def pytest(self, py, *args):
        d = os.path.join(self.tmp, "suite")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        with open(os.path.join(d, "test_u.py"), "w") as f:
            f.write(SUITE)
        e = hstest.env()
        e["PYTHONPATH"] = os.path.join(hstest.SRC, "python")
        e["HEAPSHAPE_CLI"] = hstest.CLI
        p = subprocess.run([py, "-m", "pytest", "-p", "pytest_heapshape.plugin", "-p",
                            "no:cacheprovider", "-p", "no:memray", "-rA", "--heapshape"] + list(args),
                           cwd=d, env=e, capture_output=True, text=True, timeout=600)
        return p, d

    def test_plugin(self):
        pys = [("debian-3.11", "/usr/bin/python3.11")] + \
              [(v, hstest.fetched_python(v)) for v in hstest.FETCHED_VERSIONS]
        for label, py in pys:
            self.need(label, py)
            for trace in (False, True):
                with self.subTest(python=label, trace=trace):
                    p, d = self.pytest(py, *(["--heapshape-trace-python-allocators"] if trace else []))
                    out = p.stdout + p.stderr
                    got = dict((m.group(2), m.group(1)) for m in re.finditer(
                        r"^(PASSED|FAILED) test_u\.py::(\w+)", p.stdout, re.M))
                    self.assertEqual(got, {"test_big_over": "FAILED", "test_big_under": "PASSED",
                                           "test_leaks": "FAILED", "test_small_leaks": "FAILED",
                                           "test_after": "PASSED"}, out)
                    self.assertRegex(p.stdout, r"test_u\.py::test_big_over: allocated 38\.1 MiB")
                    if trace:
                        self.assertIn("Python allocators traced", p.stdout)
                    else:
                        self.assertIn("Python allocators untraced (pymalloc's arenas recorded) "
                                      "until the first limit_leaks test, test_u.py::test_leaks, "
                                      "traced from there on", p.stdout)
                    # the leaks are found one block at a time, at their lines, in both modes
                    src = os.path.join(d, "test_u.py")
                    for test, marker, count in (("test_leaks", "LEAK_LINE", 500),
                                                ("test_small_leaks", "SMALL_LEAK_LINE", 20_000)):
                        base = os.path.join(d, ".heapshape", "test_u.py_%s" % test)
                        st = hstest.diff(base + ".before.hsnap", base + ".after.hsnap")["statistics"]
                        e = hstest.line_of(st, src, hstest.find_line(src, marker))
                        self.assertIsNotNone(e, st)
                        self.assertGreaterEqual(e["count_diff"], count, e)
                        self.assertIn("test_u.py:%d" % hstest.find_line(src, marker), p.stdout)
