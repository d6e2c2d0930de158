"""CPython's own regression tests under the shim, the fast subset of issue 19 (the full run is
bench/reliability.py, docs/RELIABILITY.md): `heapshape run -- python -m test -j1 --timeout 300
test_threading test_gc ...` on static 3.11 and shared 3.13 must end with regrtest's
"Tests result: SUCCESS" ("Result: SUCCESS" on 3.13) and exit 0, as it does without the shim, and the run's snapshot must
read. The two interpreters run one after the other (timing-sensitive tests and CI's load).

PENDING lists modules that fail under the shim today for a known shim problem being fixed
(docs/RELIABILITY.md): they are left out until the fix lands, then removed from
PENDING so CI holds the line."""
import os
import re
import subprocess

import hstest

MODULES = ["threading", "gc", "tracemalloc", "signal", "sys", "ctypes"]
PENDING = {
    # (none: test_signal and test_threading failed here only at load average 27; on a quieter
    # machine, load 2-5, both pass under the shim on 3.11 and 3.13, 2026-12-03 22:10)
}
# Test cases left out with regrtest's --ignore, each for a difference that is inherent
# (docs/RELIABILITY.md): test_sys's test_debugmallocstats wants pymalloc's statistics, which
# sys._debugmallocstats() prints only while the object allocator is pymalloc itself, not a
# PEP 445 hook above it (CPython's _PyMem_PymallocEnabled compares the function pointer).
IGNORED = ["test_debugmallocstats"]


def modules_for(label):
    return ["test_" + m for m in MODULES
            if m not in PENDING or (PENDING[m] != "all" and label not in PENDING[m])]


class Regrtest(hstest.TestCase):
    def test_fast_subset_under_the_shim(self):
        runs = [i for i in hstest.default_interpreters() if i[0] in ("debian-3.11", "3.13.0")]
        results = {}

        def run(label, py):
            out = os.path.join(self.tmp, label)
            os.makedirs(out)
            cmd = [hstest.CLI, "run", "-o", os.path.join(out, "main.hsnap"), "--", py, "-m",
                   "test", "-j1", "--timeout", "300"] + sum((["-i", t] for t in IGNORED), []) \
                + modules_for(label)
            try:
                p = subprocess.run(cmd, cwd=out, env=hstest.env(), capture_output=True,
                                   text=True, timeout=900, stdin=subprocess.DEVNULL)
                results[label] = (p.returncode, p.stdout + p.stderr, cmd)
            except subprocess.TimeoutExpired as e:
                results[label] = (None, str(e), cmd)

        for label, py in runs:
            self.need(label, py)
            run(label, py)
        self.assertEqual(len(results), 2)
        for label, (rc, output, cmd) in sorted(results.items()):
            with self.subTest(python=label):
                # regrtest's lines (the run's summary lists every child snapshot)
                tail = "\n".join([l for l in output.splitlines()
                                  if not l.startswith("heapshape:")][-60:])
                self.assertRegex(output, re.compile(r"^(Tests )?[Rr]esult: SUCCESS$", re.M),
                                 "%s\n%s" % (" ".join(cmd), tail))
                self.assertEqual(rc, 0, "%s\n%s" % (" ".join(cmd), tail))
                info = hstest.cli("info", os.path.join(self.tmp, label, "main.hsnap")).stdout
                self.assertIn("reason: exit", info)
