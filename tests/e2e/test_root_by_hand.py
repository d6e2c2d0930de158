"""Which process is the root when a user preloads the shim by hand (no `heapshape run`, so no
HEAPSHAPE_ROOT_PID: preload/root_process.c), as the user sees it in the output directory.
programs/hand_tree.py (a Python root, a fork child, an exec'd Python child and its Python
grandchild, each child 3.2 MB: they write) runs in a new directory D:

  direct        LD_PRELOAD and HEAPSHAPE_OUTPUT=D/out.hsnap on the Python process itself
  shell         a shell started with HEAPSHAPE_OUTPUT but without the shim runs
                `LD_PRELOAD=SHIM python hand_tree.py` (a driver script, make, a CI step)
  driver        the same from a Python harness without the shim (subprocess, LD_PRELOAD added
                to the child's environment)
  shell-dir     as shell, with HEAPSHAPE_DIR=D instead of HEAPSHAPE_OUTPUT
  preloaded-sh  the shell has the shim too: it is the first profiled process, so it is the
                root (as under `heapshape run -- sh -c ...`): out.hsnap is the shell's, and the
                Python program writes as a child
  run           `heapshape run -o D/out.hsnap -- python hand_tree.py`

In each, out.hsnap (or with HEAPSHAPE_DIR alone the root's heapshape-hand_tree-PID.hsnap) is
the root's, each child writes one heapshape-PROGRAM-PID.hsnap, and nothing else is left in D:
no children's ledger (.heapshape-children-PID, preload/child_budget.c). Before 2026-12-05 the
shell and driver trees wrote no out.hsnap: the Python root took itself for a child of its
parent (which had HEAPSHAPE_OUTPUT in its environment) and left heapshape-hand_tree-PID.hsnap
and two ledgers; and the grandchild of every tree by hand left a ledger named after its
parent."""
import glob
import json
import os
import re
import shlex
import subprocess

import hstest

PROG = os.path.join(hstest.PROGRAMS, "hand_tree.py")
ROOT = "the program heapshape run started (the root process)"
FORK_GREW = "a forked child (no exec), whose heap rose 1 MiB above its level at the fork"
PY_GREW = ("a child process that ran Python, whose heap rose 1 MiB above its level after "
           "start-up")
DRIVER = ("import os, subprocess, sys; sys.exit(subprocess.run(sys.argv[1:], "
          "env=dict(os.environ, LD_PRELOAD=os.environ['HS_SO'])).returncode)")


def info(f):
    text = hstest.cli("info", f).stdout
    return (int(re.search(r"^pid: (\d+)", text, re.M).group(1)),
            re.search(r"^written because: (.*)$", text, re.M).group(1))


class RootByHand(hstest.TestCase):
    def run_tree(self, mode, py, d, prog=PROG):
        """Runs PROG in D the way MODE says; returns (the last line it printed as JSON, the
        shell's pid or None)."""
        out = os.path.join(d, "out.hsnap")
        e = hstest.plain_env()
        e["HS_SO"] = hstest.PRELOAD
        cmd = "%s %s" % (shlex.quote(py), shlex.quote(prog))
        shell = False
        if mode == "direct":
            e.update(LD_PRELOAD=hstest.PRELOAD, HEAPSHAPE_OUTPUT=out)
            args = [py, prog]
        elif mode in ("shell", "shell-dir"):
            e.update(HEAPSHAPE_OUTPUT=out) if mode == "shell" else e.update(HEAPSHAPE_DIR=d)
            # `; true`: the shell waits for the program instead of exec'ing it
            args = ["sh", "-c", 'echo $$; LD_PRELOAD="$HS_SO" %s; true' % cmd]
            shell = True
        elif mode == "driver":
            e.update(HEAPSHAPE_OUTPUT=out)
            args = [py, "-c", DRIVER, py, prog]
        elif mode == "preloaded-sh":
            e.update(LD_PRELOAD=hstest.PRELOAD, HEAPSHAPE_OUTPUT=out)
            args = ["sh", "-c", "echo $$; %s; true" % cmd]
            shell = True
        else:  # run
            args = [hstest.CLI, "run", "-o", out, "--", py, prog]
        p = subprocess.run(args, cwd=d, env=e, capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        lines = p.stdout.splitlines()
        return json.loads(lines[-1]), (int(lines[0]) if shell else None)

    def test_trees(self):
        for label, py in hstest.default_interpreters():
            for mode in ("direct", "shell", "driver", "shell-dir", "preloaded-sh", "run"):
                with self.subTest(python=label, mode=mode):
                    self.need(label, py)
                    d = os.path.join(self.tmp, "%s-%s" % (label, mode))
                    os.mkdir(d)
                    pids, sh = self.run_tree(mode, py, d)
                    names = sorted(os.listdir(d))
                    what = "%s %s: %r %r" % (label, mode, pids, names)
                    self.assertEqual([n for n in names if n.startswith(".")], [],
                                     "%s: left behind" % what)
                    got = {}
                    for n in names:
                        pid, why = info(os.path.join(d, n))
                        got[pid] = (n, why)
                    kids = {pids["fork"]: FORK_GREW, pids["child"]: PY_GREW,
                            pids["grandchild"]: PY_GREW}
                    if mode == "preloaded-sh":  # the shell is the root, the program a child
                        root, kids[pids["root"]] = sh, PY_GREW
                    else:
                        root = pids["root"]
                    self.assertEqual(sorted(got), sorted(list(kids) + [root]), what)
                    n, why = got.pop(root)
                    if mode == "shell-dir":
                        self.assertEqual(n, "heapshape-hand_tree-%d.hsnap" % root, what)
                    else:
                        self.assertEqual(n, "out.hsnap", what)
                    self.assertEqual(why, ROOT, what)
                    for pid, (n, why) in got.items():
                        self.assertTrue(n.startswith("heapshape-") and n.endswith("-%d.hsnap" % pid), what)
                        self.assertEqual(why, kids[pid], "%s: %d" % (what, pid))
                    if mode != "preloaded-sh":
                        line = hstest.find_line(PROG, "# ROOT")
                        f = os.path.join(d, "out.hsnap" if mode != "shell-dir" else
                                         "heapshape-hand_tree-%d.hsnap" % root)
                        e = hstest.line_of(hstest.stats(f)["statistics"], PROG, line)
                        self.assertGreaterEqual(e["count"] if e else 0, 50_000, what)

    def test_multiprocessing(self):
        """hand_pool.py's spawn and fork pools by hand: out.hsnap is the root's, and the
        children's ledger and the temporaries of workers killed while they wrote are gone
        (the tracker that outlives the root deletes the ledger it wrote to again, the root
        removes the temporaries of processes that are gone, as `heapshape run` does)."""
        prog = os.path.join(hstest.PROGRAMS, "hand_pool.py")
        for label, py in hstest.default_interpreters():
            for mode in ("direct", "shell"):
                with self.subTest(python=label, mode=mode):
                    self.need(label, py)
                    d = os.path.join(self.tmp, "pool-%s-%s" % (label, mode))
                    os.mkdir(d)
                    root, _ = self.run_tree(mode, py, d, prog)
                    names = sorted(os.listdir(d))
                    what = "%s %s: %d %r" % (label, mode, root, names)
                    self.assertEqual([n for n in names if n.startswith(".")], [],
                                     "%s: left behind" % what)
                    self.assertEqual(info(os.path.join(d, "out.hsnap")), (root, ROOT), what)
                    for n in names:
                        if n != "out.hsnap":
                            pid, why = info(os.path.join(d, n))
                            self.assertNotEqual(pid, root, what)
                            self.assertIn(why, (PY_GREW, FORK_GREW), what)
                    # the workers that built floats wrote (at least one of each pool)
                    self.assertGreaterEqual(len(names), 3, what)


if __name__ == "__main__":
    import unittest
    unittest.main()
