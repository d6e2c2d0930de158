"""Multi-frame sites stay exact while the call path changes from one allocation to the next:
one line reached by three paths of two depths, in turn, gives three tracebacks of 1,000
blocks each, with 16 frames and truncated to 3, on every supported interpreter (the
per-thread memo of the previous walk must notice every change of position and depth).

Each case runs twice: with the line cache as shipped, and with it cut to one entry
(HEAPSHAPE_LINE_CACHE=1), where every frame of a walk evicts the frame before it. Before
2026-12-01 the walk kept pointers to cache entries and read the frame ids after it, so two
frames of one stack that mapped to the same entry gave a wrong line; with 8,192 entries that
happened in about one run in ten of this test, with one entry in every run."""
import os

import hstest

SCRIPT = os.path.join(hstest.PROGRAMS, "multi_caller.py")


def line(marker):
    return hstest.find_line(SCRIPT, "# " + marker)


class MultiFrameSites(hstest.TestCase):
    def test_every_interpreter(self):
        leaf, top = line("LEAF"), line("TOP")
        paths = {  # innermost first
            "b": [leaf, line("CALL_C"), line("CALL_B"), line("MAIN_B"), top],
            "a1": [leaf, line("CALL_A"), line("MAIN_A1"), top],
            "a2": [leaf, line("CALL_A"), line("MAIN_A2"), top],
        }
        for label, py in hstest.interpreters():
            for frames, cache in ((16, None), (3, None), (16, "1"), (3, "1")):
                with self.subTest(python=label, frames=frames, line_cache=cache):
                    self.need(label, py)
                    out = os.path.join(self.tmp, "multi-%s-%d-%s.hsnap" % (label, frames, cache))
                    hstest.profile([py, SCRIPT], out, frames=str(frames),
                                   extra_env={"HEAPSHAPE_LINE_CACHE": cache} if cache else None)
                    got = {}
                    entries = hstest.stats(out, "--key", "traceback", "--limit", "100000")["statistics"]
                    for e in entries:
                        tb = e["traceback"]
                        if tb and os.path.basename(tb[-1]["filename"]) == "multi_caller.py" \
                                and tb[-1]["lineno"] == leaf:
                            got[tuple(f["lineno"] for f in reversed(tb))] = (e["count"], e["size"])
                    want = {tuple(p[:frames]): (1000, None) for p in paths.values()}
                    self.assertEqual(set(got), set(want), [
                        (e["count"], [(os.path.basename(f["filename"]), f["lineno"])
                                      for f in e["traceback"]]) for e in entries[:8]])
                    for k, (count, size) in got.items():
                        self.assertEqual(count, 1000, k)
                        # i % 3 picks the path and i & 7 the size: each path gets 125 blocks of each size
                        self.assertEqual(size, got[tuple(paths["a1"][:frames])][1], k)

