"""`--interval` is time-driven: periodic snapshots keep coming while the program allocates
nothing (a sleeping program, an idle asyncio server), each says `reason: interval`, and a
program killed with SIGKILL leaves them readable with no temporary in sight. Before
2026-12-03 these snapshots were taken only from the allocation path: none at all here."""
import glob
import os
import signal
import subprocess
import time

import hstest

SLEEPER = os.path.join(hstest.PROGRAMS, "idle_sleeper.py")
SERVER = os.path.join(hstest.PROGRAMS, "idle_asyncio_server.py")


class IntervalWhileIdle(hstest.TestCase):
    def run_idle(self, py, prog, out, seconds):
        p = subprocess.Popen([hstest.CLI, "run", "-o", out, "--interval", "0.5", "--", py, prog],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=hstest.env())
        try:
            self.assertEqual(p.stdout.readline().strip(), "ready")
            t0 = time.monotonic()
            with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                child = int(f.read().split()[0])
            # the program allocates nothing from here on; wait for periodic snapshots
            snaps = []
            while time.monotonic() - t0 < seconds:
                time.sleep(0.25)
                snaps = glob.glob(out[:-len(".hsnap")] + ".*.hsnap")
            os.kill(child, signal.SIGKILL)
            p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
        return sorted(glob.glob(out[:-len(".hsnap")] + ".*.hsnap"),
                      key=lambda f: int(f.rsplit(".", 2)[1]))

    def check(self, snaps, prog, marker, count, label):
        # 0.5 s apart while idle for 2.5+ s (on a loaded machine some may come late)
        self.assertGreaterEqual(len(snaps), 3, (label, snaps))
        for f in snaps:
            self.assertIn("reason: interval", hstest.cli("info", f).stdout)
        e = hstest.line_of(hstest.stats(snaps[-1], "--limit", "0")["statistics"], prog,
                           hstest.find_line(prog, marker))
        self.assertIsNotNone(e, "no entry for the %s line" % marker)
        self.assertGreaterEqual(e["count"], count)
        self.assertLessEqual(e["count"], count + 100)
        visible = [f for f in os.listdir(self.tmp) if not f.startswith(".") and ".hsnap" in f
                   and not f.endswith(".hsnap")]
        self.assertEqual(visible, [], "partial files visible")

    def test_sleeping_program_killed(self):
        for label, py in hstest.default_interpreters() + [i for i in hstest.interpreters() if i[0] == "3.8.18"]:
            with self.subTest(python=label):
                self.need(label, py)
                out = os.path.join(self.tmp, "sleep-%s.hsnap" % label)
                snaps = self.run_idle(py, SLEEPER, out, 3.0)
                self.check(snaps, SLEEPER, "# KEEP", 200000, label)

    def test_idle_asyncio_server(self):
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                out = os.path.join(self.tmp, "server-%s.hsnap" % label)
                snaps = self.run_idle(py, SERVER, out, 3.0)
                # 50,000 str keys and 50,000 str values of the dict
                self.check(snaps, SERVER, "# CACHE", 100000, label)


if __name__ == "__main__":
    import unittest
    unittest.main()
