"""The wheel, installed as users install it: tools/build_wheel.sh packages the built CLI and shim
(python -m build + auditwheel repair), then, for each interpreter, a fresh venv in a temporary
directory outside the clone gets the wheel and pytest from pip, and with no HEAPSHAPE_*
variable and a PATH without the checkout it runs: `heapshape run -- python floats_program.py`
(the KEEP line's count as in test_floats: 999,900 to 1,000,100), stats, diff, anatomy, advise, report, check (0 within limits, 1 over), `python -m heapshape`, `--version`
(the wheel's metadata version), `python -m pytest --heapshape` on a suite with a failing
limit_memory marker (exit 1, "Test was limited to 1024 KiB but allocated ...") and, on one
interpreter, the same under `heapshape run --`. ldd of the installed binaries resolves nothing outside the wheel but
glibc. `pip install ./python` from a built checkout installs, runs and leaves it clean; from
an unbuilt one it says what to do."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import hstest

FLOATS = os.path.join(hstest.PROGRAMS, "floats.py")
KEEP = hstest.find_line(FLOATS, "# KEEP")
SUITE_FILE = os.path.join(hstest.PROGRAMS, "pytest_suite", "test_limits.py")
GLIBC = {"linux-vdso.so.1", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0",
         "librt.so.1", "libresolv.so.2", "libutil.so.1", "ld-linux-x86-64.so.2"}
# a pip cache that outlives the test (Bazel gives tests a fresh HOME)
PIP_CACHE = "/var/cache/heapshape/pip" if os.access("/var/cache", os.W_OK) else None


def wheel_interpreters():
    """Static Debian 3.11, pyenv 3.8, 3.12, 3.13, and 3.14/3.15 as soon as hstest.interpreters()
    includes them (tools/fetch_pythons.sh provides them; py314 turns them on)."""
    want = {"debian-3.11", "3.8.18", "3.12.1", "3.13.0"}
    return [i for i in hstest.interpreters() if i[0] in want or i[0].startswith(("3.14", "3.15"))]


class Wheel(hstest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.top = tempfile.mkdtemp(prefix="hs-wheel-", dir="/tmp")
        src = os.path.realpath(hstest.SRC)
        assert not cls.top.startswith(src)
        p = subprocess.run(["bash", os.path.join(hstest.SRC, "tools", "build_wheel.sh"),
                            "--prebuilt", hstest.CLI, hstest.PRELOAD,
                            "--out", os.path.join(cls.top, "dist")],
                           capture_output=True, text=True, timeout=900)
        if p.returncode != 0:
            raise AssertionError("build_wheel.sh exited %d:\n%s" % (p.returncode, p.stderr))
        cls.wheel = p.stdout.strip().splitlines()[-1]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.top, ignore_errors=True)

    def clean_env(self, venv, home):
        e = {"PATH": os.path.join(venv, "bin") + ":/usr/bin:/bin", "HOME": home,
             "LANG": "C.UTF-8", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        if PIP_CACHE:
            e["PIP_CACHE_DIR"] = PIP_CACHE
        return e

    def sh(self, cmd, env, cwd, want=0, timeout=600):
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        if want is not None:
            self.assertEqual(p.returncode, want, "%s exited %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(cmd), p.returncode, p.stdout[-4000:], p.stderr[-4000:]))
        return p

    def make_venv(self, py, where, *pip_args):
        venv = os.path.join(where, "venv")
        home = os.path.join(where, "home")
        os.makedirs(home)
        env = self.clean_env(venv, home)
        if self.sh([py, "-m", "venv", venv], env, where, want=None).returncode != 0:
            # Debian's fetched 3.14/3.15 have no ensurepip: pip from Debian's pip wheel, as
            # tools/fetch_pythons.sh does
            shutil.rmtree(venv, ignore_errors=True)
            self.sh([py, "-m", "venv", "--without-pip", venv], env, where)
            base = self.sh([py, "-c", "import sys; print(sys.base_prefix)"], env, where).stdout.strip()
            pipwhl = sorted(glob.glob(os.path.join(base, "share", "python-wheels", "pip-*.whl")))
            self.assertTrue(pipwhl, "no ensurepip and no pip wheel under %s" % base)
            self.sh([os.path.join(venv, "bin", "python"), os.path.join(pipwhl[-1], "pip"),
                     "install", "-q", pipwhl[-1]], env, where, timeout=900)
        self.sh([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q"]
                + list(pip_args) + ["pytest"], env, where, timeout=900)
        return venv, env

    def test_name_and_contents(self):
        name = os.path.basename(self.wheel)
        self.assertRegex(name, r"^heapshape-[0-9.]+-py3-none-manylinux_2_\d+_x86_64\.whl$")
        with open(os.path.join(hstest.SRC, "python", "heapshape", "VERSION")) as f:
            self.assertEqual(name.split("-")[1], f.read().strip())
        import zipfile
        names = zipfile.ZipFile(self.wheel).namelist()
        for want in ("heapshape/_native/heapshape", "heapshape/_native/libheapshape.so",
                     "pytest_heapshape/plugin.py", "heapshape/__main__.py"):
            self.assertIn(want, names)
        for lib in ("libunwind", "libdw", "libelf", "libz"):
            self.assertTrue(any(n.startswith("heapshape.libs/" + lib) for n in names), names)

    def test_installed_everywhere(self):
        for label, py in wheel_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                t0 = time.monotonic()
                self.installed(label, py)
                print("%s: %.1f s" % (label, time.monotonic() - t0), file=sys.stderr)

    def installed(self, label, py):
        where = tempfile.mkdtemp(prefix=label + "-", dir=self.top)
        venv, env = self.make_venv(py, where, self.wheel)
        vpy = os.path.join(venv, "bin", "python")
        self.assertFalse(any(k.startswith("HEAPSHAPE_") for k in env))
        self.assertNotIn(os.path.realpath(hstest.SRC), env["PATH"])
        work = os.path.join(where, "work")
        os.makedirs(work)
        shutil.copy(FLOATS, os.path.join(work, "floats_program.py"))
        shutil.copy(SUITE_FILE, os.path.join(work, "test_limits.py"))
        hs = os.path.join(venv, "bin", "heapshape")
        self.assertEqual(shutil.which("heapshape", path=env["PATH"]), hs)

        # the version: one source for the CLI and the wheel's metadata
        meta = self.sh([vpy, "-c", "import importlib.metadata as m; print(m.version('heapshape'))"],
                       env, work).stdout.strip()
        v1 = self.sh(["heapshape", "--version"], env, work).stdout
        v2 = self.sh([vpy, "-m", "heapshape", "--version"], env, work).stdout
        self.assertTrue(v1.startswith("heapshape %s " % meta), v1)
        self.assertEqual(v1, v2)

        # ldd: nothing from the system beyond glibc
        site = self.sh([vpy, "-c", "import heapshape, os; print(os.path.dirname(heapshape.__file__))"],
                       env, work).stdout.strip()
        for f in ("heapshape", "libheapshape.so"):
            out = self.sh(["ldd", os.path.join(site, "_native", f)], env, work).stdout
            for line in out.splitlines():
                m = re.match(r"\s*(\S+)(?: => (\S+))?", line)
                soname, path = m.group(1), m.group(2)
                if os.path.basename(soname) in GLIBC:
                    continue
                self.assertTrue(path and path.startswith(os.path.dirname(site)),
                                "%s needs %s from the system: %s" % (f, soname, line))

        # run, stats: the KEEP line as in test_floats
        p = self.sh(["heapshape", "run", "--", "python", "floats_program.py"], env, work)
        snaps = sorted(glob.glob(os.path.join(work, "heapshape-floats_program-*.hsnap")))
        self.assertEqual(len(snaps), 1, p.stderr)
        first = snaps[0]
        self.assertIn("snapshot written to " + first, p.stderr)
        st = json.loads(self.sh(["heapshape", "stats", first, "--format", "json"], env, work).stdout)
        ours = hstest.line_of(st["statistics"], "floats_program.py", KEEP)
        self.assertIsNotNone(ours, st["statistics"][:5])
        # 1,000,000 floats and the list's item array, give or take the few the free list
        # re-attributes (test_floats compares with tracemalloc; 1,000,000-1,000,007 seen)
        self.assertGreaterEqual(ours["count"], 999_900)
        self.assertLessEqual(ours["count"], 1_000_100)
        second = os.path.join(work, "second.hsnap")
        self.sh([vpy, "-c", "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])", first,
                 second], env, work)
        d = json.loads(self.sh(["heapshape", "diff", first, second, "--format", "json"], env,
                               work).stdout)
        self.assertEqual(hstest.line_of(d["statistics"], "floats_program.py", KEEP)["size_diff"], 0)
        an = self.sh(["heapshape", "anatomy", first], env, work).stdout
        self.assertRegex(an, r"total: live=3\d\.\d MiB")
        self.sh(["heapshape", "advise", first], env, work)
        self.sh(["heapshape", "report", first, "-o", "r.html"], env, work)
        with open(os.path.join(work, "r.html")) as f:
            self.assertIn("floats_program.py", f.read())
        self.sh(["heapshape", "check", first, second, "--max-increase", "50"], env, work, want=0)
        self.sh(["heapshape", "check", first, second, "--max-total", "1M"], env, work, want=1)

        # the pytest plugin, found without any variable: re-exec, and under `heapshape run`
        cmds = [["python", "-m", "pytest"]]
        if label == "debian-3.11":  # once is enough (time)
            cmds.append(["heapshape", "run", "--", "python", "-m", "pytest"])
        for cmd in cmds:
            p = self.sh(cmd + ["--heapshape", "-p", "no:cacheprovider", "-rA", "test_limits.py"],
                        env, work, want=1)
            out = p.stdout + p.stderr
            self.assertRegex(out, r"FAILED test_limits\.py::test_over_limit", out[-3000:])
            self.assertRegex(out, r"PASSED test_limits\.py::test_under_limit", out[-3000:])
            self.assertRegex(out, r"Test was limited to 1024 KiB but allocated \d+(\.\d)? [KM]iB",
                             out[-3000:])
            self.assertNotIn("not found", out)

    def test_pip_install_from_checkout(self):
        """pip install ./python from a built checkout (a copy whose bazel-bin holds the built
        files, as Bazel leaves it) installs the checkout's build and writes nothing into it;
        from an unbuilt checkout it says what to do."""
        py = dict(hstest.interpreters())["3.12.1"]
        self.need("3.12.1", py)
        where = tempfile.mkdtemp(prefix="checkout-", dir=self.top)
        co = os.path.join(where, "heapshape")
        shutil.copytree(os.path.join(hstest.SRC, "python"), os.path.join(co, "python"))
        os.makedirs(os.path.join(co, "preload"))
        open(os.path.join(co, "preload", "core.c"), "w").close()
        venv, env = self.make_venv(py, where)
        vpy = os.path.join(venv, "bin", "python")
        p = self.sh([vpy, "-m", "pip", "install", "./python"], env, co, want=None)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("./heapshape --version", p.stdout + p.stderr)

        for rel, src in (("analyzer/heapshape", hstest.CLI), ("preload/libheapshape.so", hstest.PRELOAD)):
            os.makedirs(os.path.join(co, "bazel-bin", os.path.dirname(rel)), exist_ok=True)
            shutil.copy(src, os.path.join(co, "bazel-bin", rel))
        listing = sorted(os.path.relpath(os.path.join(d, f), co)
                         for d, _, fs in os.walk(co) for f in fs)
        self.sh([vpy, "-m", "pip", "install", "-q", "./python"], env, co, timeout=900)
        after = sorted(os.path.relpath(os.path.join(d, f), co) for d, _, fs in os.walk(co) for f in fs)
        self.assertEqual(after, listing)
        work = os.path.join(where, "work")
        os.makedirs(work)
        shutil.copy(SUITE_FILE, os.path.join(work, "test_limits.py"))
        shutil.rmtree(co)  # the installed package must not need the checkout any more
        p = self.sh(["python", "-m", "pytest", "--heapshape", "-p", "no:cacheprovider", "-rA",
                     "test_limits.py"], env, work, want=1)
        self.assertRegex(p.stdout, r"FAILED test_limits\.py::test_over_limit")
        self.assertRegex(p.stdout, r"Test was limited to 1024 KiB but allocated")


if __name__ == "__main__":
    import unittest
    unittest.main()
