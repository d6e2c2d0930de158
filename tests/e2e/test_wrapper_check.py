"""The ./heapshape wrapper's "is the build current" check (issue 18): a copy of the wrapper in a
scratch tree with a stand-in `bazel` on PATH that counts its builds (it
copies the real CLI, which does the check: analyzer/build_stamp.c). The wrapper must build
when a source, a BUILD file or a new source file says so, and must not for files that do not
matter (snapshots written into the tree, a new test program); when nothing changed it starts
no process before the CLI (checked with strace when available)."""
import os
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

import hstest

FAKE_BAZEL = r"""#!/bin/bash
# stand-in for bazel: "builds" the two targets and counts the builds
echo build >>"$HS_BUILD_LOG"
mkdir -p bazel-bin/analyzer bazel-bin/preload
cp "$HS_REAL_CLI" bazel-bin/analyzer/heapshape
: >bazel-bin/preload/libheapshape.so
"""


class WrapperCheck(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="hs-wrapper-")
        self.repo = os.path.join(self.root, "repo")
        tools = os.path.join(self.root, "bin")
        for d in ("preload", "analyzer", "include/heapshape", "third_party", "tools", "tests/e2e",
                  tools):
            os.makedirs(os.path.join(self.repo, d) if d != tools else d, exist_ok=True)
        shutil.copy(os.path.join(hstest.SRC, "heapshape"), os.path.join(self.repo, "heapshape"))
        files = {
            "preload/core.c": "int x;\n", "preload/BUILD": "", "analyzer/cli.c": "int y;\n",
            "analyzer/BUILD": "", "include/heapshape/format.h": "", "third_party/copts.bzl": "",
            "WORKSPACE": "", "BUILD": "", ".bazelrc": "", "tests/BUILD": "",
            "tests/e2e/test_a.py": "", "tools/setup.sh": "exit 0\n",
        }
        for rel, text in files.items():
            with open(os.path.join(self.repo, rel), "w") as f:
                f.write(text)
        bazel = os.path.join(tools, "bazel")
        with open(bazel, "w") as f:
            f.write(FAKE_BAZEL)
        os.chmod(bazel, 0o755)
        self.log = os.path.join(self.root, "builds.log")
        self.env = dict(os.environ, PATH=tools + ":" + os.environ.get("PATH", ""),
                        HS_BUILD_LOG=self.log, HS_REAL_CLI=hstest.CLI)
        self.env.pop("HEAPSHAPE_PRELOAD", None)
        # bazel-bin is a symlink into the output base, as with bazel
        out = os.path.join(self.root, "output-base")
        os.makedirs(out)
        os.symlink(out, os.path.join(self.repo, "bazel-bin"))

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def builds(self):
        try:
            with open(self.log) as f:
                return len(f.read().split())
        except FileNotFoundError:
            return 0

    def run_wrapper(self, *args):
        p = subprocess.run([os.path.join(self.repo, "heapshape")] + list(args), cwd=self.root,
                           env=self.env, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("heapshape "), p.stdout)
        for var in ("HEAPSHAPE_BUILD_STAMP", "HEAPSHAPE_WRAPPER", "HEAPSHAPE_FORCE_BUILD"):
            self.assertNotIn(var, p.stderr)
        return p

    def touch_later(self, rel, text=None):
        """Changes rel now (the stamp was moved into the past after the last run)."""
        path = os.path.join(self.repo, rel)
        if text is not None:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        else:
            os.utime(path)

    def expect(self, builds, why):
        self.run_wrapper("--version")
        self.assertEqual(self.builds(), builds, why)
        # everything the test changes next is later than the stamp, without sleeping
        stamp = os.path.join(self.root, "output-base", ".heapshape-build-stamp")
        past = time.time() - 10
        os.utime(stamp, (past, past))
        for dirpath, dirnames, filenames in os.walk(self.repo):
            for name in filenames + dirnames + ["."]:
                p = os.path.join(dirpath, name)
                if not os.path.islink(p):
                    os.utime(p, (past - 10, past - 10))

    def test_builds_only_when_needed(self):
        self.expect(1, "first run: nothing built yet")
        self.expect(1, "nothing changed")
        self.touch_later("preload/core.c")
        self.expect(2, "a source file changed")
        self.expect(2, "nothing changed since the rebuild")
        self.touch_later("analyzer/new_report.c", "int z;\n")
        self.expect(3, "a new source file")
        self.touch_later("tests/sub/BUILD", "")
        self.expect(4, "a new BUILD file in a new directory")
        self.touch_later("third_party/copts.bzl")
        self.expect(5, "a .bzl file changed")
        self.touch_later("heapshape-app-1.hsnap", "snapshot")
        self.expect(5, "a snapshot written into the tree is no reason to build")
        self.touch_later("tests/e2e/test_b.py", "")
        self.expect(5, "a new test program is no reason to build")
        os.unlink(os.path.join(self.repo, "analyzer/new_report.c"))
        self.expect(6, "a source file was removed")

    def test_current_check_starts_no_process(self):
        self.expect(1, "first run")
        strace = shutil.which("strace")
        if not strace:
            self.skipTest("strace not installed")
        trace = os.path.join(self.root, "trace")
        p = subprocess.run([strace, "-f", "-qq", "-e", "trace=execve,clone,clone3,fork,vfork",
                            "-o", trace, os.path.join(self.repo, "heapshape"), "--version"],
                           cwd=self.root, env=self.env, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(trace) as f:
            calls = [l for l in f if "execve(" in l or "clone" in l or "fork(" in l]
        # no child process at all: the wrapper (env, bash) execs the CLI and nothing else
        execs = [l for l in calls if "execve(" in l]
        self.assertIn("bazel-bin/analyzer/heapshape", execs[-1], "".join(calls))
        self.assertEqual([l for l in calls if "execve(" not in l], [], "".join(calls))
        self.assertEqual(len({l.split()[0] for l in calls}), 1, "one process: " + "".join(calls))
        self.assertEqual(self.builds(), 1)


if __name__ == "__main__":
    unittest.main()
