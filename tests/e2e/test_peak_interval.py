"""Peak: the live memory at the high-water mark is kept in the snapshot (`stats --peak`).
Timeline and periodic snapshots: `--interval` writes snapshots while the program runs, and a
program killed with SIGKILL leaves its last periodic snapshot complete and readable."""
import glob
import os
import signal
import subprocess
import time

import hstest

PEAK = os.path.join(hstest.PROGRAMS, "peak.py")
SLOW = os.path.join(hstest.PROGRAMS, "slow_growth.py")


class Peak(hstest.TestCase):
    def test_peak_shows_freed_memory_at_its_line(self):
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                out = os.path.join(self.tmp, "peak-%s.hsnap" % label)
                hstest.profile([py, PEAK], out)
                big = hstest.find_line(PEAK, "# BIG")
                at_exit = hstest.line_of(hstest.stats(out, "--limit", "0")["statistics"], PEAK, big)
                self.assertTrue(at_exit is None or at_exit["size"] < 1_000_000, at_exit)
                at_peak = hstest.line_of(hstest.stats(out, "--peak", "--limit", "0")["statistics"], PEAK, big)
                self.assertIsNotNone(at_peak, "--peak has no entry for the BIG line")
                # 50,000 bytearrays of 10,000 bytes: 500 MB of buffers (the copy is within 1/64
                # of the high-water mark)
                self.assertGreaterEqual(at_peak["size"], 500_000_000 * (1 - 1 / 64))
                self.assertLess(at_peak["size"], 515_000_000)

    def test_timeline_is_recorded(self):
        out = os.path.join(self.tmp, "tl.hsnap")
        hstest.profile(["/usr/bin/python3.11", PEAK], out)
        tl = hstest.json.loads(hstest.cli("timeline", out, "--format", "json").stdout)
        samples = tl["samples"]
        self.assertGreater(len(samples), 3)
        self.assertGreaterEqual(max(s["live_bytes"] for s in samples), 400_000_000)
        self.assertLess(samples[-1]["live_bytes"], 100_000_000)
        self.assertEqual(sorted(s["t"] for s in samples), [s["t"] for s in samples])


class CrashSafety(hstest.TestCase):
    def test_sigkill_leaves_a_readable_periodic_snapshot(self):
        out = os.path.join(self.tmp, "slow.hsnap")
        e = hstest.env()
        p = subprocess.Popen([hstest.CLI, "run", "-o", out, "--interval", "0.2", "--",
                              "/usr/bin/python3.11", SLOW], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=e)
        self.assertEqual(p.stdout.readline().strip(), "started")
        time.sleep(2.0)
        with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
            child = int(f.read().split()[0])
        os.kill(child, signal.SIGKILL)
        p.wait(timeout=60)
        periodic = sorted(glob.glob(out[:-len(".hsnap")] + ".*.hsnap"),
                          key=lambda f: int(f.rsplit(".", 2)[1]))
        self.assertGreaterEqual(len(periodic), 3, os.listdir(self.tmp))
        leftovers = [f for f in os.listdir(self.tmp) if ".tmp" in f]
        self.assertEqual(leftovers, [], "temporary files are never left under a final name")
        last = periodic[-1]
        st = hstest.stats(last, "--limit", "0")
        grow = hstest.line_of(st["statistics"], SLOW, hstest.find_line(SLOW, "# GROW"))
        self.assertIsNotNone(grow)
        self.assertGreater(grow["count"], 100)
        # every periodic snapshot is complete: each one reads, and the GROW line only grows
        counts = [hstest.line_of(hstest.stats(f, "--limit", "0")["statistics"], SLOW,
                                 hstest.find_line(SLOW, "# GROW")) for f in periodic]
        sizes = [c["size"] if c else 0 for c in counts]
        self.assertEqual(sizes, sorted(sizes))
