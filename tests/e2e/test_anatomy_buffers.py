"""`anatomy` counts buffers without an object header as data (issue 14): before, a numpy
array's 7.6 MiB showed as `<no type>` with data=0 B and headers & pointers=100%.

programs/buffers.py keeps a numpy float64 array of 1,000,000 (when the interpreter has numpy),
a bytearray of 4,000,000 bytes, an array.array("d") of 500,000 and a ctypes array of 500,000
doubles. On the default interpreters, at each line the rows without a type hold at least the
buffer's bytes, all of them data (overhead 0); the bytearray's storage is data of its row.
"""
import json
import os
import subprocess

import hstest

SCRIPT = os.path.join(hstest.PROGRAMS, "buffers.py")


def has_numpy(py):
    return subprocess.run([py, "-c", "import numpy"], capture_output=True).returncode == 0


class BuffersAreData(hstest.TestCase):
    def rows_at(self, doc, marker):
        line = hstest.find_line(SCRIPT, marker)
        return [r for r in doc["rows"] if r["filename"] == SCRIPT and r["lineno"] == line]

    def untyped(self, label, doc, marker, at_least):
        rows = [r for r in self.rows_at(doc, marker) if r["type"] == "<no type>"]
        self.assertTrue(rows, "%s: no untyped row at %s" % (label, marker))
        self.assertGreaterEqual(sum(r["total_bytes"] for r in rows), at_least, "%s %s" % (label, marker))
        for r in rows:
            self.assertEqual(r["data"], r["total_bytes"], "%s %s: %r" % (label, marker, r))
            self.assertEqual(r["overhead"], 0, "%s %s" % (label, marker))

    def test_default_interpreters(self):
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                out = os.path.join(self.tmp, "buffers-%s.hsnap" % label)
                hstest.profile([py, SCRIPT], out)
                doc = json.loads(hstest.cli("anatomy", out, "--format", "json", "--limit", "0",
                                            "--include", SCRIPT).stdout)
                if has_numpy(py):
                    self.untyped(label, doc, "# NUMPY", 8_000_000)
                else:
                    self.fail("numpy is missing for %s; tools/setup.sh --pyenv installs it" % label)
                self.untyped(label, doc, "# ARRAY", 4_000_000)
                self.untyped(label, doc, "# CTYPES", 4_000_000)
                ba = [r for r in self.rows_at(doc, "# BYTEARRAY") if r["type"] == "bytearray"]
                self.assertEqual(len(ba), 1, label)
                self.assertGreaterEqual(ba[0]["data"], 4_000_000, label)
                self.assertLess(ba[0]["overhead"], 200, label)
