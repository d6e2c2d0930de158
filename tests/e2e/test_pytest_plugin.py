"""The pytest plugin (python/pytest_heapshape) on a small suite (programs/pytest_suite): with
--heapshape a test over its limit_memory fails and prints what it allocated, one within its
limit passes, limit_leaks names the leaking line, every test gets a before/after snapshot, and
without --heapshape the same suite passes (the markers do nothing). Uses Debian's pytest
(python3-pytest, tools/setup.sh) and, for 3.14 and 3.15, their venvs' pytest
(tools/fetch_pythons.sh)."""
import os
import re
import shutil
import subprocess

import hstest

PY = "/usr/bin/python3.11"
SUITE = os.path.join(hstest.PROGRAMS, "pytest_suite")
SUITE_FILE = os.path.join(SUITE, "test_limits.py")
PLUGIN_DIR = os.path.join(hstest.SRC, "python")


class PytestPlugin(hstest.TestCase):
    def setUp(self):
        super().setUp()
        self.suite = os.path.join(self.tmp, "suite")
        shutil.copytree(SUITE, self.suite)

    def pytest(self, *args, under_heapshape=False, py=PY):
        e = hstest.env()
        e["PYTHONPATH"] = PLUGIN_DIR
        e["HEAPSHAPE_CLI"] = hstest.CLI
        cmd = [py, "-m", "pytest", "-p", "pytest_heapshape.plugin", "-p", "no:cacheprovider",
               "-rA"] + list(args)
        if under_heapshape:
            cmd = [hstest.CLI, "run", "-o", os.path.join(self.tmp, "run.hsnap"), "--"] + cmd
        return subprocess.run(cmd, cwd=self.suite, env=e, capture_output=True, text=True,
                              timeout=600)

    @staticmethod
    def outcomes(out):
        return dict((m.group(2), m.group(1)) for m in
                    re.finditer(r"^(PASSED|FAILED) test_limits\.py::(\w+)", out, re.M))

    def failure_section(self, out, test):
        m = re.search(r"_{3,} %s _{3,}\n(.*?)(?=\n_{3,} |\n={3,} )" % test, out, re.S)
        self.assertIsNotNone(m, "no failure section for %s in:\n%s" % (test, out))
        return m.group(1)

    def check_run(self, p):
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1, out)  # some tests failed
        self.assertEqual(self.outcomes(p.stdout), {
            "test_over_limit": "FAILED", "test_under_limit": "PASSED", "test_leaks": "FAILED",
            "test_leaks_within_limit": "PASSED", "test_unmarked": "PASSED"}, out)
        over = self.failure_section(p.stdout, "test_over_limit")
        m = re.search(r"Test was limited to 1024 KiB but allocated (\d+) KiB", over)
        self.assertIsNotNone(m, over)
        self.assertTrue(2900 <= int(m.group(1)) <= 3300, over)  # 3000 x bytes(1000)
        line = "test_limits.py:%d" % hstest.find_line(SUITE_FILE, "OVER_LINE")
        peak_lines = over.split("sites whose peak rose during the test")[1].splitlines()
        self.assertIn(line + ": peak +", peak_lines[1])  # the biggest one first
        leaks = self.failure_section(p.stdout, "test_leaks")
        leak_line = "test_limits.py:%d" % hstest.find_line(SUITE_FILE, "LEAK_LINE")
        self.assertIn("Test leaked more than 100 KiB at 1 location: ", leaks)
        self.assertIn(leak_line, leaks)
        # the top diff line of what the test still held is the leaking line, tracemalloc-style
        diff = leaks.split("still live at the end of the test")[1].splitlines()[1]
        self.assertRegex(diff, re.escape(leak_line) + r": size=\d+ KiB \(\+\d+ KiB\), count=\d+ \(\+\d+\)")
        return over

    def test_limit_memory_and_limit_leaks_reexec(self):
        p = self.pytest("--heapshape")
        self.check_run(p)
        snaps = sorted(os.listdir(os.path.join(self.suite, ".heapshape")))
        for t in ("test_over_limit", "test_under_limit", "test_leaks"):
            for phase in ("before", "after"):
                self.assertIn("test_limits.py_%s.%s.hsnap" % (t, phase), snaps)
        # a passing unmarked test keeps no snapshot by default
        self.assertEqual([s for s in snaps if "test_unmarked" in s], [], snaps)
        # only the session's own processes: the CLI calls of the plugin are not profiled
        self.assertEqual([s for s in snaps if s.startswith("heapshape-")], [], snaps)
        before = os.path.join(self.suite, ".heapshape", "test_limits.py_test_leaks.before.hsnap")
        after = os.path.join(self.suite, ".heapshape", "test_limits.py_test_leaks.after.hsnap")
        d = hstest.diff(before, after)["statistics"]
        e = hstest.line_of(d, SUITE_FILE, hstest.find_line(SUITE_FILE, "LEAK_LINE"))
        self.assertGreaterEqual(e["size_diff"], 500 * 1000)
        # the pair is partial (format v6): the lines the test touched, not the session's
        for path, how in ((before, "as they were at mark"), (after, "those touched since mark")):
            info = hstest.cli("info", path).stdout
            m = re.search(r"^partial: (\d+) of the process's (\d+) sites, " + how, info, re.M)
            self.assertIsNotNone(m, info)
            # (by default the session records Python's objects only from the first limit_leaks
            # test on, this one: 44 of 134 sites here, 1 in 5 with them traced from the start)
            self.assertLess(int(m.group(1)) * 2, int(m.group(2)), info)

    def test_keep_all_and_failing_tests(self):
        p = self.pytest("--heapshape", "--heapshape-keep", "all")
        self.check_run(p)
        snaps = os.listdir(os.path.join(self.suite, ".heapshape"))
        for phase in ("before", "after"):
            self.assertIn("test_limits.py_test_unmarked.%s.hsnap" % phase, snaps)
        # by default, a failing unmarked test keeps its heap as it failed (after only)
        with open(os.path.join(self.suite, "test_fail.py"), "w") as f:
            f.write("KEEP = []\n\ndef test_fails():\n    KEEP.append(bytearray(3 << 20))\n"
                    "    assert False\n\ndef test_passes():\n    pass\n")
        shutil.rmtree(os.path.join(self.suite, ".heapshape"))
        p = self.pytest("--heapshape", "test_fail.py")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        snaps = sorted(os.listdir(os.path.join(self.suite, ".heapshape")))
        self.assertEqual(snaps, ["session.hsnap", "test_fail.py_test_fails.after.hsnap"])
        st = hstest.stats(os.path.join(self.suite, ".heapshape", "test_fail.py_test_fails.after.hsnap"))
        self.assertGreaterEqual(hstest.line_of(st["statistics"], os.path.join(self.suite, "test_fail.py"), 4)["size"], 3 << 20)

    def test_xdist_workers(self):
        p = self.pytest("--heapshape", "-n", "2")
        self.check_run(p)
        summary = p.stdout.split("= heapshape =")[1]
        self.assertRegex(summary, r"test_limits\.py::test_over_limit: allocated 30\d\d KiB")
        self.assertRegex(summary, r"test_limits\.py::test_under_limit: allocated ")
        workers = re.findall(r"^xdist worker heapshape-\S+\.hsnap: peak live ", summary, re.M)
        self.assertEqual(len(workers), 2, summary)

    def test_limit_memory_and_limit_leaks_on_314_and_315(self):
        # the same suite and expectations under Debian's 3.14 and 3.15 (their venvs' pytest)
        for v in hstest.FETCHED_VERSIONS:
            with self.subTest(python=v):
                py = hstest.fetched_python(v)
                self.need(v, py)
                shutil.rmtree(os.path.join(self.suite, ".heapshape"), ignore_errors=True)
                self.check_run(self.pytest("--heapshape", py=py))

    def test_under_heapshape_run(self):
        p = self.pytest("--heapshape", "--heapshape-per", "session", under_heapshape=True)
        self.check_run(p)
        snaps = os.listdir(os.path.join(self.suite, ".heapshape"))
        self.assertIn("session.hsnap", snaps)
        self.assertNotIn("test_limits.py_test_unmarked.before.hsnap", snaps)
        self.assertIn("test_limits.py_test_over_limit.after.hsnap", snaps)

    def test_without_the_flag_markers_do_nothing(self):
        p = self.pytest()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(set(self.outcomes(p.stdout).values()), {"PASSED"}, p.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.suite, ".heapshape")))

    def test_sampling_options(self):
        """--heapshape-sample-rate sets the sampled session's spacing (the summary says it),
        a malformed one or one with --heapshape-exact is refused; under `heapshape run` the
        session keeps the mode the run chose."""
        p = self.pytest("--heapshape", "--heapshape-sample-rate", "1M")
        self.check_run(p)
        self.assertIn("sampled session: about one allocation recorded per 1024 KiB", p.stdout)
        for args, msg in ((["--heapshape-sample-rate", "lots"], "use a number of bytes"),
                          (["--heapshape-sample-rate", "1M", "--heapshape-exact"],
                           "exclude each other")):
            p = self.pytest("--heapshape", *args)
            self.assertEqual(p.returncode, 4, p.stdout + p.stderr)  # pytest's usage error
            self.assertIn(msg, p.stderr)
        p = self.pytest("--heapshape", under_heapshape=True)
        self.assertIn("every allocation of the session recorded", p.stdout)

    def test_bad_limit_string(self):
        with open(os.path.join(self.suite, "test_bad.py"), "w") as f:
            f.write("import pytest\n\n@pytest.mark.limit_memory('lots')\ndef test_x():\n    pass\n")
        p = self.pytest("--heapshape", "test_bad.py")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("Invalid memory size format", p.stdout)
