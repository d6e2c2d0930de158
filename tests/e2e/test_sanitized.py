"""The shim as the sanitizer subset builds it (tests/sanitize.sh: --config=asan or --config=ubsan;
docs/RELIABILITY.md): static 3.11 and shared 3.13 profile a program with known object counts (tests/e2e/programs/anatomy_counts.py) with Python frames,
with native stacks and, under UBSan only, with PYTHONMALLOC=malloc through the shim's libc
wrappers (no object census then: the check is on the lines' block counts; under ASan the
program's malloc binds to ASan's runtime, first in LD_PRELOAD, so the wrappers are not on the
path). The analyzer, built the same way, reads the snapshots back: exactly 50,000 / 40,000 /
20,000 objects of each class on its line, as in test_anatomy. A sanitizer error in the shim or
the analyzer fails the run."""
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
        modes = dict(MODES)
        if os.environ.get("HEAPSHAPE_TEST_ASAN_RUNTIME"):
            # ASan's runtime comes first, so the program's malloc calls bind to ASan's, not to
            # the shim's wrappers, which PYTHONMALLOC=malloc relies on (docs/RELIABILITY.md)
            del modes["pymalloc-off"]
        for label, py in hstest.default_interpreters():
            if label not in ("debian-3.11", "3.13.0"):  # static and shared: keep CI short
                continue
            for mode, (extra_env, native) in modes.items():
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
