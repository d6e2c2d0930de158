"""On deterministic example programs, the top 10 lines of the program and their sizes from
`heapshape stats` equal tracemalloc's for a snapshot at the end of the same program
(-X tracemalloc=1), within 2% per line."""
import os

import hstest

EXAMPLES = os.path.join(hstest.SRC, "examples")


class ExamplesMatchTracemalloc(hstest.TestCase):
    def check(self, name):
        script = os.path.join(EXAMPLES, name)
        for label, py in hstest.default_interpreters():
            with self.subTest(example=name, python=label):
                self.need(label, py)
                out = os.path.join(self.tmp, "%s-%s.hsnap" % (name, label))
                hstest.profile([py, script], out)
                # lines that hold at least 4 KiB: below that, a line's bytes depend on what the
                # tracemalloc wrapper itself imported first (a module already loaded costs the
                # importing line nothing), not on the program
                ours = [e for e in hstest.stats(out, "--include", script, "--limit", "0")["statistics"]
                        if e["size"] >= 4096][:10]
                theirs = [e for e in hstest.tracemalloc_top(py, script, 200)
                          if e["filename"] == script and e["size"] >= 4096][:10]
                self.assertEqual(len(ours), len(theirs), "heapshape %r\ntracemalloc %r" % (ours, theirs))
                self.assertGreater(len(ours), 0)
                self.assertEqual([(e["lineno"]) for e in ours], [e["lineno"] for e in theirs],
                                 "top-10 order differs:\nheapshape %r\ntracemalloc %r" % (ours, theirs))
                for a, b in zip(ours, theirs):
                    self.assertClose(a["size"], b["size"], 0.02, "%s:%d size" % (name, a["lineno"]))
                    # counts: within 2%, or 2 blocks for lines that hold a few large blocks
                    self.assertLessEqual(abs(a["count"] - b["count"]), max(2, 0.02 * b["count"]),
                                         "%s:%d count %d vs %d" % (name, a["lineno"], a["count"], b["count"]))

    def test_inventory(self):
        self.check("inventory.py")

    def test_particles(self):
        self.check("particles.py")
