"""1,000,000 floats kept alive at one line: heapshape's count and size for that line equal
tracemalloc's (count within 0.5%, size within 1%) on every supported interpreter."""
import os

import hstest

SCRIPT = os.path.join(hstest.PROGRAMS, "floats.py")
LINE = hstest.find_line(SCRIPT, "# KEEP")


class FloatsMatchTracemalloc(hstest.TestCase):
    def test_every_interpreter(self):
        for label, py in hstest.interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                out = os.path.join(self.tmp, "floats-%s.hsnap" % label)
                hstest.profile([py, SCRIPT], out)
                ours = hstest.line_of(hstest.stats(out)["statistics"], SCRIPT, LINE)
                theirs = hstest.line_of(hstest.tracemalloc_top(py, SCRIPT, 5), SCRIPT, LINE)
                self.assertIsNotNone(ours, "heapshape has no entry for floats.py:%d" % LINE)
                self.assertIsNotNone(theirs, "tracemalloc has no entry for floats.py:%d" % LINE)
                # 1,000,000 float objects plus the list's item array, less the few floats that
                # come from the float free list (allocated earlier, at other lines)
                self.assertGreaterEqual(ours["count"], 999_900)
                self.assertClose(ours["count"], theirs["count"], 0.005, label + " count")
                self.assertClose(ours["size"], theirs["size"], 0.01, label + " size")
