"""Frame layouts from 3.13 on are checked against the interpreter's own _Py_DebugOffsets
(preload/pyframe_layout.c). A table entry that contradicts them (the test hook
HEAPSHAPE_TEST_CORRUPT_OFFSET) turns lines off with one warning, never wrong lines; a version
newer than the table (simulated with HEAPSHAPE_TEST_PYTHON=3.16 on a real 3.14/3.15) gets its
lines from the debug offsets after a live check, or, when they are unreadable (":nodebug"),
one warning naming the version and what still works. The program's output and exit status
never change."""
import os
import subprocess

import hstest

SCRIPT = os.path.join(hstest.PROGRAMS, "layout_probe.py")
LINE = hstest.find_line(SCRIPT, "# KEEP")
STILL = ("Python allocations are recorded without lines (malloc-level sites and totals still "
         "work)")


def pythons():
    return [i for i in hstest.interpreters() if i[0] in ("3.13.0", "3.14", "3.15")]


class PyLayout(hstest.TestCase):
    def run_probe(self, label, py, extra_env):
        plain = subprocess.run([py, SCRIPT], capture_output=True, text=True, env=hstest.env())
        out = os.path.join(self.tmp, "%s-%d.hsnap" % (label, len(os.listdir(self.tmp))))
        p = hstest.profile([py, SCRIPT], out, extra_env=extra_env, check=False)
        self.assertEqual((p.returncode, p.stdout), (plain.returncode, plain.stdout), p.stderr)
        self.assertEqual(plain.returncode, 3)
        warnings = [l for l in p.stderr.splitlines() if l.startswith("heapshape: warning:")]
        st = hstest.stats(out)
        return warnings, st

    def assert_no_lines(self, st):
        files = {e["filename"] for e in st["statistics"]}
        self.assertNotIn(SCRIPT, files)
        self.assertFalse(any(f.endswith(".py") for f in files), files)
        # totals still hold the 100,000 floats (24 bytes each) and the list
        self.assertGreater(sum(e["size"] for e in st["statistics"]), 100000 * 24)

    def assert_lines(self, st):
        e = hstest.line_of(st["statistics"], SCRIPT, LINE)
        self.assertIsNotNone(e, "no entry for layout_probe.py:%d" % LINE)
        self.assertGreaterEqual(e["count"], 99_990)

    def test_table_matches_debug_offsets(self):
        for label, py in pythons():
            with self.subTest(python=label):
                self.need(label, py)
                warnings, st = self.run_probe(label, py, None)
                self.assertEqual(warnings, [])
                self.assert_lines(st)

    def test_corrupt_table_entry_turns_lines_off(self):
        for label, py in pythons():
            for field in ("frame.instr_ptr", "code.co_code_adaptive", "tstate.current_frame"):
                with self.subTest(python=label, field=field):
                    self.need(label, py)
                    warnings, st = self.run_probe(label, py, {"HEAPSHAPE_TEST_CORRUPT_OFFSET": field})
                    self.assertEqual(len(warnings), 1, warnings)
                    self.assertIn("Python %s: line attribution off: its _Py_DebugOffsets "
                                  "contradict heapshape's frame table" % label[:4], warnings[0])
                    self.assertIn(STILL, warnings[0])
                    self.assert_no_lines(st)

    def test_newer_version_uses_debug_offsets(self):
        for label, py in pythons()[1:]:
            with self.subTest(python=label):
                self.need(label, py)
                warnings, st = self.run_probe(label, py, {"HEAPSHAPE_TEST_PYTHON": "3.16"})
                self.assertEqual(warnings, [
                    "heapshape: warning: Python 3.16 is newer than heapshape's frame table "
                    "(3.8-3.15): Python lines come from the interpreter's own _Py_DebugOffsets "
                    "(checked on live frames); objects' anatomy is off"])
                self.assert_lines(st)

    def test_newer_version_without_debug_offsets(self):
        for label, py in pythons()[1:]:
            with self.subTest(python=label):
                self.need(label, py)
                warnings, st = self.run_probe(label, py, {"HEAPSHAPE_TEST_PYTHON": "3.16:nodebug"})
                self.assertEqual(warnings, [
                    "heapshape: warning: Python 3.16 is newer than heapshape's frame table "
                    "(3.8-3.15) and its _Py_DebugOffsets are unreadable; " + STILL])
                self.assert_no_lines(st)

    def test_newer_version_with_wrong_debug_offsets(self):
        # a debug offset that is wrong (the same hook, applied to what the interpreter says)
        # fails the live check: no lines, and reading through it never crashes the program
        for label, py in pythons()[1:]:
            for field in ("frame.instr_ptr", "tstate.current_frame", "frame.previous"):
                with self.subTest(python=label, field=field):
                    self.need(label, py)
                    warnings, st = self.run_probe(label, py, {
                        "HEAPSHAPE_TEST_PYTHON": "3.16", "HEAPSHAPE_TEST_CORRUPT_OFFSET": field})
                    self.assertEqual(warnings, [
                        "heapshape: warning: Python 3.16 is newer than heapshape's frame table "
                        "(3.8-3.15) and its _Py_DebugOffsets failed a check on live frames; "
                        + STILL])
                    self.assert_no_lines(st)


class TableFromHeaders(hstest.TestCase):
    """tools/pyoffsets.c, compiled against each version's own headers (pyenv's 3.13.0,
    Debian's libpython3.14-dev and libpython3.15-dev), prints the frame table row the shim
    uses, and the object layouts preload/object_census.c reads."""

    # object_census.c's layouts: 3.13's values, with the two changes it makes for 3.14/3.15
    CENSUS_313 = {"gc_head": 16, "tuple_ob_item": 24, "list_ob_item": 24, "dict_ma_keys": 32,
                  "dict_ma_values": 40, "dictkeys_log2_index_bytes": 9, "dictkeys_kind": 10,
                  "dictkeys_nentries": 24, "dictkeys_indices": 32, "dictvalues_values": 8,
                  "set_table": 40, "set_smalltable": 64, "bytearray_ob_bytes": 32,
                  "type_tp_members": 240, "type_tp_flags": 168, "type_tp_dictoffset": 288,
                  "heaptype_ht_cached_keys": 880, "managed_dict_offset": 24,
                  "memberdef_size": 40}

    def headers(self):
        root = hstest._pyenv_root()
        out = [("3.13", ["-I", os.path.join(root, "versions", "3.13.0", "include", "python3.13")]
                if root else None)]
        cache = hstest.pythons_cache()
        for v in hstest.FETCHED_VERSIONS:
            inc = os.path.join(cache, "root", "usr", "include") if cache else None
            out.append((v, ["-I", os.path.join(inc, "python" + v), "-I", inc] if inc else None))
        return out

    def test_table_rows_equal_headers(self):
        with open(os.path.join(hstest.SRC, "preload", "pyframe_layout.c")) as f:
            table = f.read()
        for v, flags in self.headers():
            with self.subTest(python=v):
                self.need(v, flags)
                exe = os.path.join(self.tmp, "pyoffsets-" + v)
                subprocess.run(["gcc", "-std=gnu11", "-o", exe] + flags +
                               [os.path.join(hstest.SRC, "tools", "pyoffsets.c")],
                               check=True, capture_output=True, timeout=300)
                got = dict(l.split(" ", 1) for l in subprocess.run(
                    [exe], check=True, capture_output=True, text=True).stdout.splitlines())
                self.assertTrue(got["version"].startswith(v + "."), got["version"])
                self.assertIn(got["frame_table"], table)
                want = dict(self.CENSUS_313)
                minor = int(v.split(".")[1])
                if minor >= 14:
                    want["tuple_ob_item"] = 32  # ob_hash before the items
                if minor >= 15:
                    want["heaptype_ht_cached_keys"] = 888
                self.assertEqual({k: int(got[k]) for k in want}, want)


class SharedLibpython(hstest.TestCase):
    """The shared-libpython case: tools/fetch_pythons.sh's python3.X-shared launchers, linked
    against Debian's libpython3.14.so / libpython3.15.so: lines with one and with 4 frames."""

    def test_lines_through_libpython_so(self):
        for v in hstest.FETCHED_VERSIONS:
            py = hstest.fetched_python(v, shared=True)
            for frames in (None, "4"):
                with self.subTest(python=v + "-shared", frames=frames):
                    self.need(v + "-shared", py)
                    out = os.path.join(self.tmp, "shared-%s-%s.hsnap" % (v, frames))
                    p = hstest.profile([py, SCRIPT], out, frames=frames, check=False)
                    self.assertEqual(p.returncode, 3, p.stderr)
                    self.assertNotIn("heapshape: warning", p.stderr)
                    e = hstest.line_of(hstest.stats(out)["statistics"], SCRIPT, LINE)
                    self.assertIsNotNone(e, "no entry for layout_probe.py:%d" % LINE)
                    self.assertGreaterEqual(e["count"], 99_990)
                    if frames:  # the caller's frame: the module line that calls build()
                        tb = hstest.stats(out, "--key", "traceback")["statistics"]
                        call = hstest.find_line(SCRIPT, "values = build(")
                        # tracemalloc's order: the outermost frame first
                        self.assertTrue(any(
                            [f["lineno"] for f in t.get("traceback", [])][-2:] == [call, LINE]
                            and t["count"] >= 99_990 for t in tb), tb[:3])
