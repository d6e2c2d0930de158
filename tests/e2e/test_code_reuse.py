"""Attribution stays exact while code objects are freed and their addresses reused (the line
cache and the per-thread memo are invalidated when a code object is freed): every generated
module's 50 blocks are at its own file and line, on every supported interpreter."""
import os

import hstest

SCRIPT = os.path.join(hstest.PROGRAMS, "code_reuse.py")
MODULES = 300


class CodeObjectReuse(hstest.TestCase):
    def test_every_interpreter(self):
        for label, py in hstest.interpreters():
            for frames in ("1", "4"):
                with self.subTest(python=label, frames=frames):
                    self.need(label, py)
                    out = os.path.join(self.tmp, "reuse-%s-%s.hsnap" % (label, frames))
                    hstest.profile([py, SCRIPT], out, frames=frames)
                    got = {}
                    for e in hstest.stats(out, "--limit", "100000")["statistics"]:
                        name = os.path.basename(e["filename"])
                        if name.startswith("gen_"):
                            got[(name, e["lineno"])] = e["count"]
                    for k in range(MODULES):
                        self.assertEqual(got.get(("gen_%d.py" % k, k + 4)), 50,
                                         "gen_%d.py:%d" % (k, k + 4))
                    # the list of each module at its line k+2 (object and item array); nothing else
                    extra = {key: c for key, c in got.items()
                             if key[1] != int(key[0][4:-3]) + 4 and key[1] != int(key[0][4:-3]) + 2}
                    self.assertEqual(extra, {})
