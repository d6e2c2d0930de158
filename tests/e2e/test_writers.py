"""Which processes write snapshots: a forked child that tries to exec writes nothing (on 3.8
every failed Popen used to write a full snapshot from the forked child), processes that
never ran Python and never held 1 MiB (sh, true) write nothing, and children write only when
their heap rose 1 MiB above their start (the fork, or the end of Python's start-up), under
`heapshape run` and with a plain LD_PRELOAD and HEAPSHAPE_DIR, unless --all-children
(HEAPSHAPE_CHILDREN=all) asks; `info` says which rule made each process write."""
import glob
import json
import os
import re
import subprocess

import hstest

PROG = os.path.join(hstest.PROGRAMS, "failexec.py")


def programs(d):
    out = []
    for f in sorted(glob.glob(os.path.join(d, "*.hsnap"))):
        info = hstest.cli("info", f).stdout
        out.append([l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("program:")][0])
    return sorted(out)


def written_because(f):
    return re.search(r"^written because: (.*)$", hstest.cli("info", f).stdout, re.M).group(1)


ROOT = "the program heapshape run started (the root process)"
ALL = "every process was asked for (--all-children)"
FORK_GREW = "a forked child (no exec), whose heap rose 1 MiB above its level at the fork"
PY_GREW = ("a child process that ran Python, whose heap rose 1 MiB above its level after "
           "start-up")


def run_tree(label, py, prog, mode, d):
    """`heapshape run -o D/root.hsnap [--all-children] -- PY PROG` in a new directory D (mode
    run, all, or none: HEAPSHAPE_CHILDREN=none): the
    pids PROG prints (JSON) and {pid: (reason, written because, file)} of every snapshot."""
    os.mkdir(d)
    args = ["run", "-o", os.path.join(d, "root.hsnap")]
    args += (["--all-children"] if mode == "all" else []) + ["--", py, prog]
    e = {"HEAPSHAPE_CHILDREN": "none"} if mode == "none" else None
    pids = json.loads(hstest.cli(*args, cwd=d, extra_env=e).stdout.strip().splitlines()[-1])
    got = {}
    for f in glob.glob(os.path.join(d, "*.hsnap")):
        info = hstest.cli("info", f).stdout
        pid = int(re.search(r"^pid: (\d+)", info, re.M).group(1))
        got[pid] = (re.search(r"^reason: (.*)$", info, re.M).group(1),
                    re.search(r"^written because: (.*)$", info, re.M).group(1), f)
    return pids, got


def root_pid(d):
    info = hstest.cli("info", os.path.join(d, "root.hsnap")).stdout
    return int(re.search(r"^pid: (\d+)", info, re.M).group(1))


class Writers(hstest.TestCase):
    def test_failed_execs_and_small_tools_write_nothing(self):
        for label, py in [i for i in hstest.interpreters()
                          if i[0] in ("debian-3.11", "3.8.18", "3.12.1", "3.13.0", "3.14", "3.15")]:
            with self.subTest(python=label):
                self.need(label, py)
                for mode in ("run", "all", "dir"):
                    d = os.path.join(self.tmp, "%s-%s" % (label, mode))
                    os.mkdir(d)
                    if mode == "dir":
                        e = dict(hstest.env(), LD_PRELOAD=hstest.PRELOAD, HEAPSHAPE_DIR=d)
                        p = subprocess.run([py, PROG], cwd=d, env=e, capture_output=True,
                                           text=True, timeout=300)
                    else:
                        args = ["run"] + (["--all-children"] if mode == "all" else []) + ["--", py, PROG]
                        p = hstest.cli(*args, cwd=d, check=False)
                    self.assertEqual((p.returncode, p.stdout.strip()), (0, "100"), p.stderr[-2000:])
                    want = ["failexec", "sh", "true"] if mode == "all" else ["failexec"]
                    self.assertEqual(programs(d), want, mode)
                    # the root (found without `run` too: its parent lacks HEAPSHAPE_DIR)
                    why = {os.path.basename(f).split("-")[1]: written_because(f)
                           for f in glob.glob(os.path.join(d, "*.hsnap"))}
                    self.assertEqual(why.pop("failexec", None), ROOT, (mode, why))
                    self.assertEqual(set(why.values()), {ALL} if mode == "all" else set(), mode)

    def test_forked_children_write_when_they_grew(self):
        """A forked child that did not exec writes only when its live heap rose 1 MiB above
        its level at the fork (multiprocessing workers: test_multiprocessing_fork wrote 439-539
        full copies of its parent's tables, 1.3 GB, before 2026-12-03); each snapshot's info
        names its pid and its reason."""
        prog = os.path.join(hstest.PROGRAMS, "fork_workers.py")
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                for mode in ("run", "all"):
                    d = os.path.join(self.tmp, "%s-%s" % (label, mode))
                    pids, got = run_tree(label, py, prog, mode, d)
                    kids = pids["big"] + pids["freed"] + (pids["small"] if mode == "all" else [])
                    root = root_pid(d)
                    self.assertEqual(sorted(got), sorted(kids + [root]),
                                     "%s %s: %s" % (label, mode, pids))
                    self.assertEqual({g[0] for g in got.values()}, {"exit"}, got)
                    self.assertEqual(got.pop(root)[1], ROOT)
                    self.assertEqual({g[1] for g in got.values()},
                                     {ALL if mode == "all" else FORK_GREW}, got)
                    line = hstest.find_line(prog, "# BIG")
                    # the os.fork child keeps its floats until it leaves (the multiprocessing
                    # worker's target returns them: freed, written for its peak)
                    pid = pids["big"][0]
                    f = glob.glob(os.path.join(d, "*-%d.hsnap" % pid))[0]
                    e = hstest.line_of(hstest.stats(f)["statistics"], prog, line)
                    self.assertGreaterEqual(e["count"], 100_000, (label, mode, pid))

    def test_python_children_write_when_they_grew(self):
        """An exec'd Python child writes only when its live heap rose 1 MiB above its level at
        the end of the interpreter's start-up: `python -c pass` helpers write nothing (CPython's
        regression run wrote 3.0-3.4 GB per interpreter before 2026-12-04, most of it copies of
        the interpreter's start-up), a child that builds 3.2 MB of floats writes, kept or freed
        (its peak), --all-children asks for every one and HEAPSHAPE_CHILDREN=none for none."""
        prog = os.path.join(hstest.PROGRAMS, "py_children.py")
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                for mode in ("run", "all", "none"):
                    d = os.path.join(self.tmp, "py-%s-%s" % (label, mode))
                    pids, got = run_tree(label, py, prog, mode, d)
                    root = root_pid(d)
                    kids = pids["big"] + pids["freed"] + (pids["idle"] if mode == "all" else [])
                    if mode == "none":  # HEAPSHAPE_CHILDREN=none: the root alone
                        self.assertEqual(sorted(got), [root], (label, pids))
                        continue
                    self.assertEqual(sorted(got), sorted(kids + [root]), (label, mode, pids))
                    self.assertEqual(got.pop(root)[1], ROOT)
                    self.assertEqual({g[1] for g in got.values()},
                                     {ALL if mode == "all" else PY_GREW}, got)
                    f = glob.glob(os.path.join(d, "*-%d.hsnap" % pids["big"][0]))[0]
                    e = hstest.line_of(hstest.stats(f)["statistics"], "<string>", 1)
                    self.assertGreaterEqual(e["count"] if e else 0, 100_000, (label, mode))

    def test_children_share_a_disk_budget(self):
        """The children that write by the rules share HEAPSHAPE_CHILD_BUDGET MiB per run: with
        1 MiB and 8 children that each write, a child writes only while the sizes already
        written add up to less than 1 MiB, the others write nothing, and `heapshape run` says
        how many; --all-children is not limited."""
        prog = os.path.join(hstest.PROGRAMS, "py_children.py")
        for label, py in hstest.default_interpreters()[:2]:
            with self.subTest(python=label):
                self.need(label, py)
                for mode in ("run", "all"):
                    d = os.path.join(self.tmp, "budget-%s-%s" % (label, mode))
                    os.mkdir(d)
                    args = ["run", "-o", os.path.join(d, "root.hsnap")]
                    args += (["--all-children"] if mode == "all" else []) + ["--", py, prog, "8"]
                    p = hstest.cli(*args, cwd=d, extra_env={"HEAPSHAPE_CHILD_BUDGET": "1"})
                    pids = json.loads(p.stdout.strip().splitlines()[-1])["big"]
                    files = {int(re.search(r"-(\d+)\.hsnap$", f).group(1)): os.path.getsize(f)
                             for f in glob.glob(os.path.join(d, "heapshape-*.hsnap"))}
                    self.assertEqual(glob.glob(os.path.join(d, ".heapshape-children-*")), [],
                                     "the run deletes the ledger")
                    if mode == "all":
                        self.assertEqual(sorted(files), sorted(pids))
                        continue
                    wrote = [pid for pid in pids if pid in files]  # in the order they ran
                    sizes = [files[pid] for pid in wrote]
                    self.assertEqual(wrote, pids[:len(wrote)], "the first ones write")
                    self.assertLess(sum(sizes[:-1]), 1 << 20, sizes)
                    self.assertGreaterEqual(sum(sizes), 1 << 20, sizes)
                    self.assert_stopped(p, len(pids) - len(wrote), sizes)

    def test_budget_holds_for_children_ending_together(self):
        """12 forked children of 3.2 MB end at the same moment with a 4 MiB budget: they take
        the ledger in turns (preload/child_budget.c), so the snapshots written add up to at
        most the budget plus the last one that found room (without the lock, all 12 passed
        the check at once), and the run counts the others."""
        prog = os.path.join(hstest.PROGRAMS, "fork_burst.py")
        for label, py in hstest.default_interpreters()[:2]:
            with self.subTest(python=label):
                self.need(label, py)
                d = os.path.join(self.tmp, "burst-%s" % label)
                os.mkdir(d)
                p = hstest.cli("run", "-o", os.path.join(d, "root.hsnap"), "--", py, prog, "12",
                               cwd=d, extra_env={"HEAPSHAPE_CHILD_BUDGET": "4"})
                pids = json.loads(p.stdout.strip().splitlines()[-1])
                files = {int(re.search(r"-(\d+)\.hsnap$", f).group(1)): os.path.getsize(f)
                         for f in glob.glob(os.path.join(d, "heapshape-*.hsnap"))}
                self.assertLessEqual(set(files), set(pids))
                sizes = sorted(files.values())
                self.assertGreaterEqual(len(sizes), 1, p.stderr)
                self.assertLess(sum(sizes) - max(sizes), 4 << 20, sizes)
                self.assertGreaterEqual(sum(sizes), 4 << 20, sizes)
                self.assert_stopped(p, len(pids) - len(files), sizes)

    def assert_stopped(self, p, stopped, sizes):
        """Some children were stopped by the budget, and the run says how many."""
        self.assertGreaterEqual(stopped, 1, sizes)
        self.assertIn("heapshape: %d more child process%s wrote nothing: the "
                      "children's snapshots reached their budget"
                      % (stopped, "" if stopped == 1 else "es"), p.stderr)

    def test_small_c_program_plain_preload(self):
        true = "/bin/true"
        e = dict(hstest.env(), LD_PRELOAD=hstest.PRELOAD, HEAPSHAPE_DIR=self.tmp)
        subprocess.run([true], env=e, check=True, timeout=60)
        self.assertEqual(glob.glob(os.path.join(self.tmp, "*.hsnap")), [])
        subprocess.run([true], env=dict(e, HEAPSHAPE_CHILDREN="all"), check=True, timeout=60)
        asked = glob.glob(os.path.join(self.tmp, "heapshape-true-*.hsnap"))
        self.assertEqual(len(asked), 1, "HEAPSHAPE_CHILDREN=all asks for every process")
        hstest.cli("info", asked[0])


if __name__ == "__main__":
    import unittest
    unittest.main()
