"""The shim as the sanitizer subset builds it (tests/sanitize.sh: --config=asan or --config=ubsan;
docs/RELIABILITY.md): static 3.11, shared 3.12 and 3.13 profile a program with known object
counts (tests/e2e/programs/anatomy_counts.py) with Python frames, with native stacks, and with
PYTHONMALLOC=malloc (every object a separate malloc block, so under ASan the census's reads of
blocks are bounds-checked; there is no object census then, so the check is on the lines' block
counts), and the analyzer (built the same way) reads the snapshots back: exactly 50,000 /
40,000 / 20,000 objects of each class on its line, as in test_anatomy. A sanitizer error in the shim or the analyzer makes the run fail."""
import json
import os

import hstest

SCRIPT = os.path.join(hstest.PROGRAMS, "anatomy_counts.py")
WANT = {"Plain": ("# PLAIN", 50000), "Slotted": ("# SLOTTED", 40000), "Weak": ("# WEAK", 20000)}
MODES = {
    "frames": ({}, False),
    "native": ({}, True),
    "pymalloc-off": ({"PYTHONMALLOC": "malloc"}, False),
}


class Sanitized(hstest.TestCase):
    def test_counts_under_the_sanitized_shim(self):
        for label, py in hstest.default_interpreters():
            for mode, (extra_env, native) in MODES.items():
                with self.subTest(python=label, mode=mode):
                    self.need(label, py)
                    out = os.path.join(self.tmp, "%s-%s.hsnap" % (label, mode))
                    p = hstest.profile([py, SCRIPT], out, native=native, extra_env=extra_env)
                    self.assertNotIn("ERROR: AddressSanitizer", p.stderr)
                    self.assertNotIn("runtime error:", p.stderr)
                    if mode == "pymalloc-off":
                        # no object census without pymalloc: each line holds at least its
                        # objects as blocks
                        st = hstest.stats(out, "--limit", "0")["statistics"]
                        for tname, (marker, n) in WANT.items():
                            got = hstest.line_of(st, SCRIPT, hstest.find_line(SCRIPT, marker))
                            self.assertGreaterEqual(got["count"] if got else 0, n,
                                                    (label, mode, tname))
                        continue
                    doc = json.loads(hstest.cli("anatomy", out, "--format", "json",
                                                "--limit", "0").stdout)
                    for tname, (marker, n) in WANT.items():
                        line = hstest.find_line(SCRIPT, marker)
                        # with native stacks one line can be several sites (C call paths)
                        here = [r["objects"] for r in doc["rows"] if r["type"] == tname
                                and os.path.basename(r["filename"]) == "anatomy_counts.py"
                                and r["lineno"] == line]
                        self.assertEqual(sum(here), n, (label, mode, tname, here))
                    hstest.cli("stats", out, "--key", "traceback", "--limit", "5")
                    hstest.cli("timeline", out)
