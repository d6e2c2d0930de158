"""Bad input gets one clear line naming what and why, exit status 2; the profiled program
never changes behaviour because of heapshape."""
import os
import subprocess

import hstest


class BadInput(hstest.TestCase):
    def assertOneLine(self, p, *words):
        self.assertEqual(p.returncode, 2, p.stderr)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        self.assertGreaterEqual(len(lines), 1)
        self.assertTrue(lines[0].startswith("heapshape: error: "), lines)
        for w in words:
            self.assertIn(w, lines[0])

    def test_unknown_command(self):
        p = hstest.cli("frobnicate", check=False)
        self.assertOneLine(p, "frobnicate")

    def test_missing_snapshot(self):
        path = os.path.join(self.tmp, "nope.hsnap")
        self.assertOneLine(hstest.cli("stats", path, check=False), path)
        self.assertOneLine(hstest.cli("diff", path, path, check=False), path)

    def test_corrupt_and_foreign_and_truncated(self):
        good = os.path.join(self.tmp, "good.hsnap")
        hstest.profile(["/bin/true"], good)
        data = open(good, "rb").read()
        cases = {
            "foreign.hsnap": b"#!/bin/sh\necho not a snapshot\n" * 10,
            "truncated.hsnap": data[: len(data) // 2],
            "flipped.hsnap": data[:100] + bytes([data[100] ^ 0xFF]) + data[101:],
            "empty.hsnap": b"",
        }
        for name, blob in cases.items():
            path = os.path.join(self.tmp, name)
            with open(path, "wb") as f:
                f.write(blob)
            with self.subTest(case=name):
                self.assertOneLine(hstest.cli("stats", path, check=False), path)

    def test_unwritable_output_directory(self):
        os.chmod(self.tmp, 0o500)
        try:
            if os.access(self.tmp, os.W_OK):
                # root ignores permissions: use a path under a regular file instead
                target = "/proc/version/x.hsnap"
            else:
                target = os.path.join(self.tmp, "x.hsnap")
            p = hstest.cli("run", "-o", target, "--", "/bin/true", check=False)
            self.assertOneLine(p, os.path.dirname(target))
        finally:
            os.chmod(self.tmp, 0o700)

    def test_shim_that_cannot_write_warns_once_and_program_is_unchanged(self):
        py = "/usr/bin/python3.11"
        code = "import sys; print(sum(range(1000))); sys.exit(3)"
        plain = subprocess.run([py, "-c", code], capture_output=True, text=True)
        e = hstest.env()
        e.update(LD_PRELOAD=hstest.PRELOAD, HEAPSHAPE_OUTPUT="/proc/version/x.hsnap",
                 HEAPSHAPE_ROOT_PID="0", HEAPSHAPE_DIR="/proc/version")
        p = subprocess.run([py, "-c", code], capture_output=True, text=True, env=e)
        self.assertEqual((p.returncode, p.stdout), (plain.returncode, plain.stdout))
        warnings = [l for l in p.stderr.splitlines() if l.startswith("heapshape: warning:")]
        self.assertEqual(len(warnings), 1, p.stderr)
        self.assertIn("cannot write snapshot", warnings[0])
