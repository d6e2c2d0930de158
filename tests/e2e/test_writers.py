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
                    os.mkdir(d)
                    args = ["run", "-o", os.path.join(d, "root.hsnap")]
                    args += (["--all-children"] if mode == "all" else []) + ["--", py, prog]
                    p = hstest.cli(*args, cwd=d)
                    pids = json.loads(p.stdout.strip().splitlines()[-1])
                    got = {}
                    for f in glob.glob(os.path.join(d, "*.hsnap")):
                        info = hstest.cli("info", f).stdout
                        pid = int(re.search(r"^pid: (\d+)", info, re.M).group(1))
                        got[pid] = re.search(r"^reason: (.*)$", info, re.M).group(1)
                    kids = pids["big"] + pids["freed"] + (pids["small"] if mode == "all" else [])
                    self.assertEqual(sorted(got), sorted(kids + [root_pid(d)]),
                                     "%s %s: %s" % (label, mode, pids))
                    self.assertEqual(set(got.values()), {"exit"}, got)
                    for f in glob.glob(os.path.join(d, "*.hsnap")):
                        pid = int(re.search(r"^pid: (\d+)", hstest.cli("info", f).stdout, re.M).group(1))
                        want = ROOT if f.endswith("root.hsnap") else ALL if mode == "all" else FORK_GREW
                        self.assertEqual(written_because(f), want, (label, mode, pid))
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
        (its peak), and --all-children asks for every one."""
        prog = os.path.join(hstest.PROGRAMS, "py_children.py")
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                for mode in ("run", "all"):
                    d = os.path.join(self.tmp, "py-%s-%s" % (label, mode))
                    os.mkdir(d)
                    args = ["run", "-o", os.path.join(d, "root.hsnap")]
                    args += (["--all-children"] if mode == "all" else []) + ["--", py, prog]
                    p = hstest.cli(*args, cwd=d)
                    pids = json.loads(p.stdout.strip().splitlines()[-1])
                    got = {}
                    for f in glob.glob(os.path.join(d, "*.hsnap")):
                        info = hstest.cli("info", f).stdout
                        pid = int(re.search(r"^pid: (\d+)", info, re.M).group(1))
                        got[pid] = written_because(f)
                    root = root_pid(d)
                    kids = pids["big"] + pids["freed"] + (pids["idle"] if mode == "all" else [])
                    self.assertEqual(sorted(got), sorted(kids + [root]), (label, mode, pids))
                    self.assertEqual(got.pop(root), ROOT)
                    self.assertEqual(set(got.values()), {ALL if mode == "all" else PY_GREW}, got)
                    f = glob.glob(os.path.join(d, "*-%d.hsnap" % pids["big"][0]))[0]
                    e = hstest.line_of(hstest.stats(f)["statistics"], "<string>", 1)
                    self.assertGreaterEqual(e["count"] if e else 0, 100_000, (label, mode))

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
