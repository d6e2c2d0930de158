"""A C program (no Python) with known malloc-family calls gets exact byte totals per call
site, with the call sites symbolized to file:line from its debug information."""
import os

import hstest

SRC = os.path.join(hstest.PROGRAMS, "native_sites.c")
BIN = os.path.join(hstest.SRC, "tests", "native_sites")

EXPECTED = {  # marker: (live bytes, live blocks)
    "SITE-malloc": (1000, 10),
    "SITE-calloc": (21000, 3),
    "SITE-realloc": (4096, 1),
    "SITE-memalign": (1000, 5),
    "SITE-aligned": (256, 2),
}


class NativeCallSites(hstest.TestCase):
    def test_exact_bytes_per_site(self):
        out = os.path.join(self.tmp, "native.hsnap")
        p = hstest.profile([BIN], out)
        self.assertEqual(p.stdout.strip(), "kept 22 blocks")
        stats = hstest.stats(out, "--limit", "100")["statistics"]
        for marker, (size, count) in EXPECTED.items():
            line = hstest.find_line(SRC, marker)
            e = hstest.line_of(stats, SRC, line)
            self.assertIsNotNone(e, "no entry for native_sites.c:%d (%s) in %r" % (line, marker, stats))
            self.assertEqual((e["size"], e["count"]), (size, count), marker)

    def test_same_output_without_shim(self):
        import subprocess
        plain = subprocess.run([BIN], capture_output=True, text=True, check=True)
        out = os.path.join(self.tmp, "native2.hsnap")
        p = hstest.profile([BIN], out)
        self.assertEqual(p.stdout, plain.stdout)
