"""Partial per-test snapshots (format v6, PART; heapshape_mark and
heapshape_snapshot_since_mark): programs/partial_marks.py builds a session of 3,000+ sites, marks,
then a "test" allocates at GROW, frees at OLD and calls make() (SIBLING) from a second place.
Full snapshots taken right before the mark and right before the pair are the oracle: for every
line of the program the pair holds, `diff` (by line and by traceback) and `stats` give exactly
what the full snapshots give; the lines the test did not touch (UNTOUCHED, the 3,000 lines of
many.py) are absent; the pair is a small fraction of a full snapshot; anatomy and merge refuse
it with a message. On the default interpreters."""
import json
import os
import re

import hstest

PROG = os.path.join(hstest.PROGRAMS, "partial_marks.py")


def lines_with(marker):
    with open(PROG) as f:
        return {i for i, l in enumerate(f, 1) if marker in l}


def by_line(report, filename="partial_marks.py"):
    return {e["lineno"]: e for e in report["statistics"]
            if os.path.basename(e["filename"]) == filename}


def by_traceback(report):
    return {tuple((os.path.basename(f["filename"]), f["lineno"]) for f in e["traceback"]): e
            for e in report["statistics"]}


class Partial(hstest.TestCase):
    def test_pair_matches_full_snapshots_for_its_lines(self):
        grow, old = hstest.find_line(PROG, "# GROW"), hstest.find_line(PROG, "# OLD")
        sibling = hstest.find_line(PROG, "# SIBLING")
        untouched = hstest.find_line(PROG, "# UNTOUCHED")
        calls = lines_with("# CALL")
        keys = ("size", "size_diff", "count", "count_diff")
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                d = os.path.join(self.tmp, label)
                os.mkdir(d)
                p = hstest.profile([py, PROG, d], os.path.join(d, "run.hsnap"), frames="3")
                self.assertEqual(p.stdout.split("\n")[:3], ["nomark -1", "pair 0", "after only 0"],
                                 p.stdout + p.stderr)
                f = lambda n: os.path.join(d, n + ".hsnap")
                self.assertFalse(os.path.exists(f("nomark")))

                info_a, info_b = hstest.cli("info", f("after")).stdout, hstest.cli("info", f("before")).stdout
                m_a = re.search(r"^sites: (\d+)$.*^partial: \1 of the process's (\d+) sites, those "
                                r"touched since mark 1 ", info_a, re.M | re.S)
                m_b = re.search(r"^sites: (\d+)$.*^partial: \1 of the process's (\d+) sites, as "
                                r"they were at mark 1 ", info_b, re.M | re.S)
                self.assertIsNotNone(m_a, info_a)
                self.assertIsNotNone(m_b, info_b)
                self.assertIn("format version: 6", info_a)
                self.assertIn("anatomy: none (a partial snapshot)", info_a)
                n_after, proc_after = int(m_a.group(1)), int(m_a.group(2))
                n_before, proc_before = int(m_b.group(1)), int(m_b.group(2))
                self.assertGreater(proc_before, 3000)  # many.py's lines, and the interpreter's
                self.assertLessEqual(proc_before, proc_after)
                self.assertLessEqual(n_before, n_after)
                self.assertLess(n_after, 100)
                full_size = os.path.getsize(f("full_after"))
                self.assertLess(os.path.getsize(f("after")) * 50, full_size)
                self.assertLess(os.path.getsize(f("before")) * 50, full_size)

                # by line: the pair's diff against the full snapshots' diff
                part = by_line(hstest.diff(f("before"), f("after"), "--limit", "0"))
                full = by_line(hstest.diff(f("full_before"), f("full_after"), "--limit", "0"))
                self.assertTrue({grow, old, sibling} <= set(part), sorted(part))
                self.assertNotIn(untouched, part)
                self.assertEqual((full[untouched]["size_diff"], full[untouched]["count_diff"]), (0, 0))
                changed = {l for l, e in full.items() if (e["size_diff"], e["count_diff"]) != (0, 0)}
                self.assertEqual(changed - calls - set(part), set())  # every line that changed
                self.assertEqual(by_line(hstest.stats(f("after"), "--limit", "0"), "many.py"), {})
                self.assertGreater(len(by_line(hstest.stats(f("full_after"), "--limit", "0"), "many.py")), 2900)
                self.assertGreater(part[grow]["size_diff"], 300 * 1000)
                self.assertEqual((part[old]["count_diff"], part[sibling]["count_diff"]),
                                 (full[old]["count_diff"], full[sibling]["count_diff"]))
                for line, e in part.items():
                    if line in calls:
                        continue  # the ctypes calls themselves: the oracle ran them at other moments
                    self.assertEqual({k: e[k] for k in keys}, {k: full[line][k] for k in keys},
                                     "line %d" % line)
                # by traceback: both stacks of SIBLING, the one called before the mark included
                part_tb = by_traceback(hstest.diff(f("before"), f("after"), "--key", "traceback", "--limit", "0"))
                full_tb = by_traceback(hstest.diff(f("full_before"), f("full_after"), "--key", "traceback", "--limit", "0"))
                sib = [tb for tb in part_tb if tb[-1] == ("partial_marks.py", sibling)]
                self.assertEqual(len(sib), 2, sorted(part_tb))
                for tb in sib:
                    self.assertEqual({k: part_tb[tb][k] for k in keys}, {k: full_tb[tb][k] for k in keys}, tb)
                # stats of the mark side against the full snapshot before the mark
                sb, fb = by_line(hstest.stats(f("before"), "--limit", "0")), by_line(hstest.stats(f("full_before"), "--limit", "0"))
                self.assertNotIn(grow, sb)  # created after the mark
                for line in (old, sibling):
                    self.assertEqual((sb[line]["size"], sb[line]["count"]), (fb[line]["size"], fb[line]["count"]))

                # what refuses a partial snapshot, and how
                p = hstest.cli("anatomy", f("after"), check=False)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertIn("partial per-test snapshot", p.stderr)
                p = hstest.cli("merge", f("before"), f("after"), "-o", os.path.join(d, "m.hsnap"), check=False)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertIn("before.hsnap: is a partial per-test snapshot", p.stderr)
                p = hstest.cli("diff", f("full_before"), f("after"), check=False)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("not the two partial snapshots of one mark", p.stderr)
                p = hstest.cli("diff", f("before"), f("after"))
                self.assertNotIn("note:", p.stderr)

    def test_sampled_pair_matches_full_snapshots(self):
        """In sampled mode (the plugin's default) the pair carries the estimates (ESTM) of its
        sites: for its lines, the same estimates and standard errors as the full snapshots."""
        calls = lines_with("# CALL")
        grow = hstest.find_line(PROG, "# GROW")
        keys = ("size", "size_diff", "count", "count_diff")
        for label, py in [i for i in hstest.default_interpreters() if i[0] in ("debian-3.11", "3.13.0")]:
            with self.subTest(python=label):
                self.need(label, py)
                d = os.path.join(self.tmp, "s-" + label)
                os.mkdir(d)
                hstest.profile([py, PROG, d], os.path.join(d, "run.hsnap"), sample_rate=4096)
                f = lambda n: os.path.join(d, n + ".hsnap")
                self.assertIn("sampling: sampled every 4096 bytes", hstest.cli("info", f("after")).stdout)
                part = by_line(hstest.diff(f("before"), f("after"), "--limit", "0"))
                full = by_line(hstest.diff(f("full_before"), f("full_after"), "--limit", "0"))
                self.assertIn(grow, part)  # 300 kB at one line: sampled for sure
                self.assertGreater(part[grow]["size_stderr"], 0)
                for line, e in part.items():
                    if line not in calls:
                        self.assertEqual({k: e[k] for k in keys + ("size_stderr",) if k in e},
                                         {k: full[line][k] for k in keys + ("size_stderr",) if k in full[line]},
                                         "line %d" % line)


if __name__ == "__main__":
    import unittest

    unittest.main()
