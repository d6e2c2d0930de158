"""`heapshape run` passes SIGUSR2, SIGINT and SIGTERM sent to it on to the program, and a
child that runs as another user loads the shim without a word in the program's streams
(before 2026-12-03: SIGUSR2 killed heapshape, and ld.so wrote "cannot be preloaded" into the
child's stderr because the shim sat under root's Bazel output base)."""
import glob
import os
import signal
import subprocess
import time

import hstest

SLEEPER = os.path.join(hstest.PROGRAMS, "idle_sleeper.py")
PY = "/usr/bin/python3.11"


class Forwarding(hstest.TestCase):
    def start(self, out):
        p = subprocess.Popen([hstest.CLI, "run", "-o", out, "--", PY, SLEEPER],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=hstest.env())
        self.assertEqual(p.stdout.readline().strip(), "ready")
        return p

    def test_usr2_then_term(self):
        out = os.path.join(self.tmp, "fwd.hsnap")
        p = self.start(out)
        try:
            p.send_signal(signal.SIGUSR2)  # to heapshape, not to the program
            deadline = time.monotonic() + 60
            while not glob.glob(out[:-6] + ".1.hsnap") and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertIsNone(p.poll(), "heapshape ended on SIGUSR2")
            snap = out[:-6] + ".1.hsnap"
            self.assertIn("reason: signal", hstest.cli("info", snap).stdout)
            e = hstest.line_of(hstest.stats(snap, "--limit", "0")["statistics"], SLEEPER,
                               hstest.find_line(SLEEPER, "# KEEP"))
            self.assertGreaterEqual(e["count"], 200000)
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=60), 128 + signal.SIGTERM)
            self.assertIn("killed by signal 15", p.stderr.read())
        finally:
            if p.poll() is None:
                p.kill()

    def test_int(self):
        p = self.start(os.path.join(self.tmp, "int.hsnap"))
        try:
            p.send_signal(signal.SIGINT)
            # the program gets KeyboardInterrupt, which ends it through SIGINT
            self.assertEqual(p.wait(timeout=60), 128 + signal.SIGINT)
            self.assertIn("KeyboardInterrupt", p.stderr.read())
        finally:
            if p.poll() is None:
                p.kill()


class OtherUserChild(hstest.TestCase):
    def test_child_as_nobody_prints_nothing(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to start a child as another user")
        os.chmod(self.tmp, 0o1777)  # the child, as nobody, writes its own snapshot here
        code = ("import subprocess, sys\n"
                "p = subprocess.run(['setpriv', '--reuid=nobody', '--regid=nogroup', "
                "'--clear-groups', sys.executable, '-c', "
                "'import os; x = [float(i) for i in range(100_000)]; print(os.getuid())'], "
                "capture_output=True, text=True)\n"
                "print(repr(p.stdout), repr(p.stderr))\n")
        p = hstest.cli("run", "-o", os.path.join(self.tmp, "root.hsnap"), "--", PY, "-c", code,
                       cwd=self.tmp)
        self.assertEqual(p.stdout.strip(), "'65534\\n' ''")
        # and the child was profiled: its snapshot (it holds 3.2 MB, above the 1 MiB a child
        # must add to write), owned by nobody
        kids = [f for f in glob.glob(os.path.join(self.tmp, "heapshape-*.hsnap"))]
        self.assertEqual([os.stat(f).st_uid for f in kids], [65534], kids)


if __name__ == "__main__":
    import unittest
    unittest.main()
