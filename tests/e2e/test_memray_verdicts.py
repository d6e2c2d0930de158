"""limit_memory as pytest-memray defines it: the memory a test allocated, at its high-water
mark (blocks older than the test do not count, freeing them does not help). On a suite of 32
marked tests (programs/memray_suite: big short-lived blocks, helpers in another file, threads,
numpy, generators, a fixture's memory, a test that frees the module's memory first) the
plugin's verdicts are pytest-memray's, recorded from a real pytest-memray run in
expected_verdicts.json (bench/memray_verdicts.py), on every test order; the per-test peak is
exact for big blocks; pytest-memray's other marker arguments work or are refused by name."""
import json
import os
import re
import shutil
import subprocess

import hstest

SUITE = os.path.join(hstest.PROGRAMS, "memray_suite")
PLUGIN_DIR = os.path.join(hstest.SRC, "python")


def outcomes(out):
    return {m.group(2): m.group(1) for m in
            re.finditer(r"^(PASSED|FAILED) test_verdicts\.py::(\w+)", out, re.M)}


class MemrayVerdicts(hstest.TestCase):
    def pytest(self, py, suite, *args):
        e = hstest.env()
        e["PYTHONPATH"] = PLUGIN_DIR
        e["HEAPSHAPE_CLI"] = hstest.CLI
        return subprocess.run([py, "-m", "pytest", "-p", "pytest_heapshape.plugin",
                               "-p", "no:cacheprovider", "-rA", "--heapshape"] + list(args),
                              cwd=suite, env=e, capture_output=True, text=True, timeout=900)

    def copy_suite(self, name):
        suite = os.path.join(self.tmp, name)
        shutil.copytree(SUITE, suite)
        return suite

    def test_verdicts_agree_with_pytest_memray(self):
        with open(os.path.join(SUITE, "expected_verdicts.json")) as f:
            expected = json.load(f)["verdicts"]
        self.assertGreaterEqual(len(expected), 30)
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                suite = self.copy_suite("suite-" + label)
                p = self.pytest(py, suite)
                got = outcomes(p.stdout)
                got.pop("test_unmarked_big", None)
                self.assertEqual(got, expected, p.stdout[-4000:] + p.stderr[-2000:])
                # the default session is sampled, the marked tests recorded in full, and the
                # summary says so
                self.assertIn("sampled session: about one allocation recorded per 64.0 KiB "
                              "allocated", p.stdout)
                self.assertIn("every allocation of the 32 marked tests", p.stdout)
                # big blocks: exact (the buffer, its bytearray object and a few small objects
                # of the test's own frame)
                m = re.search(r"^test_verdicts\.py::test_frees_older_memory_low: allocated .*?"
                              r"\((\d+) B\)", p.stdout, re.M)
                self.assertIsNotNone(m, p.stdout[-3000:])
                self.assertTrue(20 * 2**20 <= int(m.group(1)) <= 20 * 2**20 + 16384, m.group(0))
                # only marked and failing tests keep snapshots (here: every marked test)
                snaps = os.listdir(os.path.join(suite, ".heapshape"))
                self.assertNotIn("test_verdicts.py_test_unmarked_big.before.hsnap", snaps)
                self.assertIn("test_verdicts.py_test_big40_low.after.hsnap", snaps)

    def test_any_order_and_alone(self):
        """The per-test peak does not depend on what ran before: reversed order, and one test
        alone, give the same verdicts and (for big blocks) the same figures. The reversed run
        records every allocation of the session (--heapshape-exact), the default samples all
        but the marked tests: both give pytest-memray's verdicts."""
        py = "/usr/bin/python3.11"
        suite = self.copy_suite("suite-order")
        with open(os.path.join(suite, "conftest.py"), "w") as f:
            f.write("def pytest_collection_modifyitems(items):\n    items.reverse()\n")
        with open(os.path.join(SUITE, "expected_verdicts.json")) as f:
            expected = json.load(f)["verdicts"]
        p = self.pytest(py, suite, "--heapshape-exact")
        self.assertIn("every allocation of the session recorded", p.stdout)
        got = outcomes(p.stdout)
        got.pop("test_unmarked_big", None)
        self.assertEqual(got, expected, p.stdout[-4000:])
        alone = self.pytest(py, self.copy_suite("suite-alone"),
                            "test_verdicts.py::test_big40_low")
        fig = lambda out: re.search(r"test_big40_low: allocated .*?\((\d+) B\)", out).group(1)
        self.assertLess(abs(int(fig(alone.stdout)) - int(fig(p.stdout))), 16384)

    def test_marker_arguments(self):
        py = "/usr/bin/python3.11"
        suite = os.path.join(self.tmp, "args")
        os.makedirs(suite)
        with open(os.path.join(suite, "test_args.py"), "w") as f:
            f.write('''import pytest
KEEP = []

def _not_here(stack):
    return not any(fr.filename.endswith("test_args.py") for fr in stack.frames)

@pytest.mark.limit_leaks("100 KB", filter_fn=_not_here)
def test_filtered_leak():
    KEEP.append(bytearray(1 << 20))

@pytest.mark.limit_leaks("100 KB", filter_fn=lambda stack: True)
def test_reported_leak():
    KEEP.append(bytearray(1 << 20))

@pytest.mark.limit_memory(memory_limit="1 MB")
def test_keyword_limit():
    b = bytearray(2 << 20)

@pytest.mark.limit_memory("1 MB", current_thread_only=True)
def test_current_thread_only():
    pass

@pytest.mark.limit_leaks("1 MB", stacks=3)
def test_unknown_argument():
    pass
''')
        p = self.pytest(py, suite)
        out = p.stdout
        res = dict((m.group(2), m.group(1)) for m in
                   re.finditer(r"^(PASSED|FAILED) test_args\.py::(\w+)", out, re.M))
        self.assertEqual(res, {"test_filtered_leak": "PASSED", "test_reported_leak": "FAILED",
                               "test_keyword_limit": "FAILED",
                               "test_current_thread_only": "FAILED",
                               "test_unknown_argument": "FAILED"}, out)
        self.assertIn("limit_memory(current_thread_only=True) is not supported", out)
        self.assertIn("limit_leaks(stacks=...) is not an argument", out)
