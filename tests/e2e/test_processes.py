"""8 threads allocating and freeing at once, and a program that forks 100 times, finish with
the same output as without the shim, and every process leaves a readable snapshot."""
import glob
import os
import subprocess

import hstest

THREADS = os.path.join(hstest.SRC, "tests", "threads")
THREADS_SRC = os.path.join(hstest.PROGRAMS, "threads.c")
FORKER = os.path.join(hstest.PROGRAMS, "forker.py")


class ThreadsAndForks(hstest.TestCase):
    def test_eight_threads(self):
        plain = subprocess.run([THREADS], capture_output=True, text=True, check=True)
        out = os.path.join(self.tmp, "threads.hsnap")
        p = hstest.profile([THREADS], out)
        self.assertEqual(p.stdout, plain.stdout)
        stats = hstest.stats(out, "--limit", "100")["statistics"]
        line = hstest.find_line(THREADS_SRC, "kept[i] = malloc(48)")
        e = hstest.line_of(stats, THREADS_SRC, line)
        self.assertIsNotNone(e, "no entry for threads.c:%d in %r" % (line, stats))
        self.assertEqual((e["size"], e["count"]), (8 * 1000 * 48, 8000))
        info = hstest.cli("info", out).stdout
        self.assertIn("threads", info)

    def test_hundred_forks(self):
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                plain = subprocess.run([py, FORKER], capture_output=True, text=True, check=True)
                d = os.path.join(self.tmp, label)
                os.mkdir(d)
                out = os.path.join(d, "forker.hsnap")
                # every child's snapshot is asked for: a forked child writes only when it
                # grew by 256 KiB (writers.c), and these build 1,000-1,099 strings
                p = hstest.profile([py, FORKER], out, cwd=d,
                                   extra_env={"HEAPSHAPE_CHILDREN": "all"})
                self.assertEqual(p.stdout, plain.stdout)
                children = glob.glob(os.path.join(d, "heapshape-forker-*.hsnap"))
                self.assertEqual(len(children), 100, sorted(os.listdir(d)))
                for f in [out] + children:
                    hstest.cli("info", f)  # exits 2 on an unreadable snapshot
                # each child built a list of 1000+i strings at the marked line
                line = hstest.find_line(FORKER, "data = [str(j)")
                counts = sorted(hstest.line_of(hstest.stats(f)["statistics"], FORKER, line)["count"]
                                for f in children)
                self.assertEqual(counts[0] >= 1000, True, counts[:3])
