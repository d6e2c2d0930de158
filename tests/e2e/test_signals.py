"""The snapshot signal is invisible to the program: signal.getsignal() says what it says
without the shim, the save/restore idiom works, the program's own handler takes the signal
over and gives it back; HEAPSHAPE_SIGNAL picks another signal or none
(signal_dispositions.py)."""
import glob
import json
import os
import subprocess

import hstest

PROG = os.path.join(hstest.PROGRAMS, "signal_dispositions.py")
SIGUSR1, SIGUSR2 = 10, 12


def plain(py, name):
    p = subprocess.run([py, PROG, name], capture_output=True, text=True, env=hstest.env(),
                       check=True, timeout=120)
    return json.loads(p.stdout)


class SignalDispositions(hstest.TestCase):
    def run_shim(self, py, name, out, setting=None):
        extra = {"HEAPSHAPE_SIGNAL": setting} if setting is not None else None
        p = hstest.profile([py, PROG, name, "final"], out, extra_env=extra)
        return json.loads(p.stdout)

    def signal_snapshots(self, out):
        snaps = sorted(glob.glob(out[:-len(".hsnap")] + ".*.hsnap"))
        return [hstest.cli("info", f).stdout for f in snaps]

    def test_program_sees_its_own_dispositions(self):
        for label, py in hstest.interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                want = plain(py, "USR2")
                self.assertEqual(want["handler_calls"], 1)
                out = os.path.join(self.tmp, "usr2-%s.hsnap" % label)
                got = self.run_shim(py, "USR2", out)
                # the shim's handler is installed (SigCgt) but the program sees SIG_DFL
                self.assertEqual(want.pop("caught"), [])
                self.assertEqual(got.pop("caught"), [SIGUSR2])
                self.assertEqual(got, want)
                # the program's handler got its signal and no snapshot was taken then; with
                # SIG_IGN and with SIG_DFL back the signal took one each (the first one ignored
                # by the program, the second would have ended it)
                infos = self.signal_snapshots(out)
                self.assertEqual(len(infos), 2, infos)
                for info in infos:
                    self.assertIn("reason: signal", info)
                self.assertTrue(os.path.exists(out))

    def test_another_signal_or_none(self):
        py = "/usr/bin/python3.11"
        out = os.path.join(self.tmp, "usr1.hsnap")
        got = self.run_shim(py, "USR1", out, "USR1")
        self.assertEqual(got["caught"], [SIGUSR1])  # SIGUSR2 is left alone
        self.assertEqual(got["initial"], got["restored"])
        self.assertEqual(len(self.signal_snapshots(out)), 2)
        out = os.path.join(self.tmp, "none.hsnap")
        p = subprocess.run([hstest.CLI, "run", "-o", out, "--", py, PROG, "USR2"], env=dict(
            hstest.env(), HEAPSHAPE_SIGNAL="0"), capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["caught"], [])
        self.assertEqual(self.signal_snapshots(out), [])


if __name__ == "__main__":
    import unittest
    unittest.main()
