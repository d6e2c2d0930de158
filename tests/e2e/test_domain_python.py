"""What `stats` shares with tracemalloc, as the README states it: with `--domain python`
heapshape counts what tracemalloc traces (the PyMem RAW, MEM and OBJ domains), so the
program's lines and their sizes agree; without it, `stats` also counts the libc malloc of C
code, which tracemalloc never sees.

programs/sqlite_rows.py keeps 60,000 fetched rows (Python objects) and an in-memory sqlite3
database (its page cache is malloc'd by the sqlite library). On the default interpreters:
  - with --domain python, the script's lines of 4 KiB or more are the same lines, in the same
    order, as tracemalloc's at the end of the same program, each size within 2%;
  - without it, the INSERT line holds at least 1 MiB more than with it (sqlite's pages), and
    tracemalloc has less than 4 KiB there.
"""
import os

import hstest

SCRIPT = os.path.join(hstest.PROGRAMS, "sqlite_rows.py")


class DomainPython(hstest.TestCase):
    def test_default_interpreters(self):
        insert = hstest.find_line(SCRIPT, "# INSERT")
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                out = os.path.join(self.tmp, "sqlite-%s.hsnap" % label)
                hstest.profile([py, SCRIPT], out)
                every = hstest.stats(out, "--include", SCRIPT, "--limit", "0")["statistics"]
                python = hstest.stats(out, "--include", SCRIPT, "--limit", "0", "--domain", "python")["statistics"]
                theirs = [e for e in hstest.tracemalloc_top(py, SCRIPT, 500)
                          if e["filename"] == SCRIPT and e["size"] >= 4096]
                ours = [e for e in python if e["size"] >= 4096]
                self.assertTrue(theirs, label)
                self.assertEqual([e["lineno"] for e in ours], [e["lineno"] for e in theirs],
                                 "%s:\nheapshape %r\ntracemalloc %r" % (label, ours, theirs))
                for a, b in zip(ours, theirs):
                    self.assertClose(a["size"], b["size"], 0.02, "%s line %d" % (label, a["lineno"]))
                all_ins = hstest.line_of(every, SCRIPT, insert)
                py_ins = hstest.line_of(python, SCRIPT, insert)
                self.assertIsNotNone(all_ins, label)
                self.assertGreaterEqual(all_ins["size"] - (py_ins["size"] if py_ins else 0), 1 << 20,
                                        "%s: sqlite's malloc'd pages at the INSERT line" % label)
