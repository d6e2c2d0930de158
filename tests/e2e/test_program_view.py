"""The shim changes nothing the program can see, and HEAPSHAPE_OUTPUT alone works for a user
who sets LD_PRELOAD by hand (no `heapshape run`), on every supported interpreter.

  invisible    programs/program_view.py prints sorted(sys.modules) and the HEAPSHAPE_ROOT*
               keys of os.environ; run plain and under the shim
               (LD_PRELOAD set by hand, as a user would) the output is identical, with and
               without the program importing atexit itself. The exit snapshot is still taken
               while module globals are alive: the 200,000 floats of the global KEEP are in
               it at their line (a snapshot taken after finalization would have none), and
               the program's own atexit callback still ran. (From 3.10 the private
               atexit._ncallbacks() counts the shim's callback: preload/exit_hook.c says why.)
  output       programs/output_tree.py under LD_PRELOAD + HEAPSHAPE_OUTPUT=DIR/out.hsnap only:
               out.hsnap is the root's (its pid, its ROOT line with 50,000+ blocks); the fork
               child and the exec'd Python child write heapshape-PROGRAM-PID.hsnap files in
               HEAPSHAPE_DIR instead of overwriting out.hsnap; the children's ledger
               (preload/child_budget.c) is gone when the root has exited.
"""
import glob
import json
import os
import subprocess

import hstest

PROGRAM = os.path.join(hstest.PROGRAMS, "program_view.py")
TREE = os.path.join(hstest.PROGRAMS, "output_tree.py")


def run(py, script, args=(), preload=False, extra=None, cwd=None):
    e = hstest.plain_env()
    if preload:
        e["LD_PRELOAD"] = hstest.PRELOAD
    if extra:
        e.update(extra)
    return subprocess.run([py, script] + list(args), capture_output=True, text=True, env=e,
                          cwd=cwd, timeout=600)


def info_pid(snapshot):
    for line in hstest.cli("info", snapshot).stdout.splitlines():
        if line.startswith("pid: "):
            return int(line.split()[1])
    raise AssertionError("no pid line in heapshape info " + snapshot)


class Invisible(hstest.TestCase):
    def test_every_interpreter(self):
        keep = hstest.find_line(PROGRAM, "# GLOBAL")
        for label, py in hstest.interpreters():
            for args in ((), ("import-atexit",)):
                with self.subTest(python=label, args=args):
                    self.need(label, py)
                    plain = run(py, PROGRAM, args)
                    self.assertEqual(plain.returncode, 0, plain.stderr)
                    d = os.path.join(self.tmp, "%s-%d" % (label, len(args)))
                    os.mkdir(d)
                    shim = run(py, PROGRAM, args, preload=True, extra={"HEAPSHAPE_DIR": d})
                    self.assertEqual(shim.returncode, 0, shim.stderr)
                    self.assertEqual(shim.stdout, plain.stdout, "%s: the program saw a difference" % label)
                    self.assertEqual(shim.stderr, "", label)
                    if args:
                        self.assertIn("program atexit ran", shim.stdout)
                    snaps = glob.glob(os.path.join(d, "*.hsnap"))
                    self.assertEqual(len(snaps), 1, snaps)
                    e = hstest.line_of(hstest.stats(snaps[0])["statistics"], PROGRAM, keep)
                    self.assertIsNotNone(e, "%s: KEEP's line missing from the exit snapshot" % label)
                    self.assertGreaterEqual(e["count"], 199_990, label)
                    # 200,000 floats and the list; free-list re-attribution adds the few objects
                    # the comprehension re-creates and keeps (tracemalloc counts 200,001-200,004
                    # at this line on 3.11-3.15).
                    self.assertLessEqual(e["count"], 200_010, label)


class OutputAlone(hstest.TestCase):
    def test_direct_preload(self):
        root_line = hstest.find_line(TREE, "# ROOT")
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                d = os.path.join(self.tmp, label)
                os.mkdir(d)
                out = os.path.join(d, "out.hsnap")
                p = run(py, TREE, preload=True, cwd=d, extra={"HEAPSHAPE_OUTPUT": out})
                self.assertEqual(p.returncode, 0, p.stderr)
                root, fork, child = (int(x) for x in p.stdout.split())
                self.assertTrue(os.path.exists(out), "%s: HEAPSHAPE_OUTPUT ignored: %s" % (label, os.listdir(d)))
                self.assertEqual(info_pid(out), root, label)
                e = hstest.line_of(hstest.stats(out)["statistics"], TREE, root_line)
                self.assertIsNotNone(e, label)
                self.assertGreaterEqual(e["count"], 50_000, label)
                names = sorted(os.listdir(d))
                # the exec'd child's name comes from its command line (naming.h): only its pid
                # is fixed here
                self.assertEqual(len(names), 3, "%s: %r" % (label, names))
                self.assertIn("out.hsnap", names)
                self.assertIn("heapshape-output_tree-%d.hsnap" % fork, names)
                self.assertEqual(len([n for n in names if n.endswith("-%d.hsnap" % child)]), 1,
                                 "%s: %r" % (label, names))
                self.assertEqual(info_pid(os.path.join(d, "heapshape-output_tree-%d.hsnap" % fork)), fork)
