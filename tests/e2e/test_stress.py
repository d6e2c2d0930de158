"""Stress, each bounded in time, with exact checks: 8 threads x 2M allocations; 300 forks
from a threaded parent; 200 SIGUSR2 while 4 threads allocate; snapshots during os.fork() in
another thread; SIGKILL while 1 GB is live with periodic snapshots."""
import glob
import os
import signal
import subprocess
import time

import hstest

PROG = os.path.join(hstest.PROGRAMS, "stress.py")
THREADS = os.path.join(hstest.SRC, "tests", "stress_threads")
THREADS_SRC = os.path.join(hstest.PROGRAMS, "stress_threads.c")
PY = "/usr/bin/python3.11"
FAST = {"HEAPSHAPE_ANATOMY": "0"}  # the census is not what these test


class Stress(hstest.TestCase):
    def test_8_threads_2m_allocations(self):
        out = os.path.join(self.tmp, "threads.hsnap")
        p = hstest.profile([THREADS], out)
        self.assertEqual(p.stdout.strip(), "16000")
        e = hstest.line_of(hstest.stats(out, "--limit", "0")["statistics"], THREADS_SRC,
                           hstest.find_line(THREADS_SRC, "/* STRESS */"))
        self.assertIsNotNone(e)
        # kept: i % 1000 == 0, so i % 8 == 0 and every block has 32 bytes
        self.assertEqual((e["count"], e["size"]), (16000, 16000 * 32))
        info = hstest.cli("info", out).stdout
        self.assertIn("allocations", info)

    def test_300_forks_from_threaded_parent(self):
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                d = os.path.join(self.tmp, label)
                os.mkdir(d)
                out = os.path.join(d, "forks.hsnap")
                # every child's snapshot is asked for: a forked child writes only when it
                # grew by 256 KiB (writers.c), and these build 100 strings
                p = hstest.profile([py, PROG, "forks"], out, cwd=d,
                                   extra_env=dict(FAST, HEAPSHAPE_CHILDREN="all"))
                self.assertEqual(p.stdout.strip(), "[2] 300")  # 100 % 7, every child
                kids = glob.glob(os.path.join(d, "heapshape-stress-*.hsnap"))
                self.assertEqual(len(kids), 300)
                for f in kids[::50]:
                    e = hstest.line_of(hstest.stats(f, "--limit", "0")["statistics"], PROG,
                                       hstest.find_line(PROG, "# CHILD"))
                    self.assertGreaterEqual(e["count"], 100)
                hidden = [f for f in os.listdir(d) if f.endswith(".hstmp")]
                self.assertEqual(hidden, [])

    def test_200_sigusr2_while_allocating(self):
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                out = os.path.join(self.tmp, "sig-%s.hsnap" % label)
                p = hstest.profile([py, PROG, "signals", out[:-6]], out, extra_env=FAST)
                self.assertEqual(p.stdout.strip(), "True 200")
                snaps = glob.glob(out[:-6] + ".*.hsnap")
                for f in sorted(snaps)[::40]:
                    self.assertIn("reason: signal", hstest.cli("info", f).stdout)

    def test_snapshots_during_fork_in_another_thread(self):
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                out = os.path.join(self.tmp, "fs-%s.hsnap" % label)
                p = hstest.profile([py, PROG, "forksnap", out[:-6]], out, extra_env=FAST)
                self.assertEqual(p.stdout.strip(), "50 [3] 50")
                api = glob.glob(out[:-6] + ".api*.hsnap")
                self.assertEqual(len(api), 50)
                hstest.cli("info", api[-1])

    def test_sigkill_with_1gb_live(self):
        out = os.path.join(self.tmp, "big.hsnap")
        p = subprocess.Popen([hstest.CLI, "run", "-o", out, "--interval", "0.3", "--", PY, PROG,
                              "bigkill"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=hstest.env())
        try:
            self.assertEqual(p.stdout.readline().strip(), "ready")
            with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                child = int(f.read().split()[0])
            # snapshots taken while the 1 GB was being built (slow under load) do not count:
            # wait for two that began after "ready"
            want = max(4, len(glob.glob(out[:-6] + ".*.hsnap")) + 2)
            t0 = time.monotonic()
            while len(glob.glob(out[:-6] + ".*.hsnap")) < want and time.monotonic() - t0 < 60:
                time.sleep(0.1)
            os.kill(child, signal.SIGKILL)
            p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
        snaps = sorted(glob.glob(out[:-6] + ".*.hsnap"), key=lambda f: int(f.rsplit(".", 2)[1]))
        self.assertGreaterEqual(len(snaps), 4)
        e = hstest.line_of(hstest.stats(snaps[-1], "--limit", "0")["statistics"], PROG,
                           hstest.find_line(PROG, "# BIG"))
        # 1024 bytearray objects and their 1024 buffers, the list and its item array (and the
        # comprehension's own on 3.11)
        self.assertGreaterEqual(e["count"], 2048)
        self.assertLessEqual(e["count"], 2052)
        self.assertGreaterEqual(e["size"], 1024 << 20)
        self.assertEqual([f for f in os.listdir(self.tmp) if not f.endswith(".hsnap")
                          and not f.startswith(".")], [])
        # a snapshot cut short by the kill is a hidden temporary, which `run` removes
        self.assertEqual([f for f in os.listdir(self.tmp) if f.endswith(".hstmp")], [])


if __name__ == "__main__":
    import unittest
    unittest.main()
