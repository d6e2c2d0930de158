"""Helpers shared by the end-to-end tests: where the built CLI and shim are, which real
interpreters exist, and how to profile a program with heapshape or with tracemalloc."""
import glob
import json
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("HEAPSHAPE_SRC") or os.path.dirname(os.path.dirname(HERE))
CLI = os.environ.get("HEAPSHAPE_CLI") or os.path.join(SRC, "bazel-bin/analyzer/heapshape")
PRELOAD = os.environ.get("HEAPSHAPE_PRELOAD") or os.path.join(SRC, "bazel-bin/preload/libheapshape.so")
PROGRAMS = os.path.join(HERE, "programs")

PYENV_VERSIONS = ["3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"]
# Debian sid's CPython, unpacked by tools/fetch_pythons.sh (static interpreters, a venv each)
FETCHED_VERSIONS = ["3.14", "3.15"]


def _pyenv_root():
    for cand in (os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv"), "/root/.pyenv"):
        if cand and os.path.isdir(os.path.join(cand, "versions")):
            return cand
    return None


def pythons_cache():
    """Where tools/fetch_pythons.sh keeps CPython 3.14/3.15 (the same search order)."""
    for cand in (os.environ.get("HEAPSHAPE_PYTHONS"), "/var/cache/heapshape/pythons",
                 os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                              "heapshape", "pythons"),
                 "/root/.cache/heapshape/pythons"):
        if cand and os.path.isfile(os.path.join(cand, "stamp")):
            return cand
    return None


def fetched_python(version, shared=False):
    """venv python of a fetched version (numpy, pytest), or with shared=True the launcher
    linked against libpython3.X.so (no venv); None when missing."""
    cache = pythons_cache()
    if not cache:
        return None
    p = (os.path.join(cache, "root", "usr", "bin", "python%s-shared" % version) if shared
         else os.path.join(cache, "venv-" + version, "bin", "python"))
    return p if os.access(p, os.X_OK) else None


def interpreters():
    """[(label, path)]: Debian's static python3.11, every pyenv version the project supports
    and Debian's static 3.14 and 3.15. A missing one is returned with path None so that tests
    fail loudly instead of skipping."""
    out = [("debian-3.11", "/usr/bin/python3.11" if os.access("/usr/bin/python3.11", os.X_OK) else None)]
    root = _pyenv_root()
    for v in PYENV_VERSIONS:
        p = os.path.join(root, "versions", v, "bin", "python3") if root else None
        out.append((v, p if p and os.access(p, os.X_OK) else None))
    for v in FETCHED_VERSIONS:
        out.append((v, fetched_python(v)))
    return out


def reattributes(label):
    """False where the shim cannot see a free-list reuse (Debian's static 3.11 and 3.8:
    docs/DESIGN.md, "Free lists")."""
    return not (label == "debian-3.11" or label.startswith("3.8"))


def default_interpreters():
    """The five every change is tested on: static Debian 3.11, shared 3.12 and 3.13, static
    3.14 and 3.15."""
    return [i for i in interpreters() if i[0] in ("debian-3.11", "3.12.1", "3.13.0", "3.14", "3.15")]


def env():
    e = dict(os.environ)
    e["HEAPSHAPE_PRELOAD"] = PRELOAD
    e.pop("LD_PRELOAD", None)
    if os.environ.get("HEAPSHAPE_TEST_ASAN_RUNTIME"):  # sanitizer subset (tests/sanitize.sh)
        e["LD_PRELOAD"] = os.environ["HEAPSHAPE_TEST_ASAN_RUNTIME"]
        e["ASAN_OPTIONS"] = e.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    e.pop("PYTHONMALLOC", None)
    return e


def plain_env():
    """env() without any HEAPSHAPE_ variable: what a user who sets LD_PRELOAD by hand has."""
    e = env()
    for k in list(e):
        if k.startswith("HEAPSHAPE_"):
            del e[k]
    return e


def cli(*args, check=True, cwd=None, extra_env=None, timeout=600):
    e = env()
    if extra_env:
        e.update(extra_env)
    p = subprocess.run([CLI] + [str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                       env=e, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("heapshape %s exited %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(map(str, args)), p.returncode, p.stdout, p.stderr))
    return p


def profile(cmd, out, frames=None, cwd=None, extra_env=None, check=True, native=False,
            sample_rate=None, interval=None):
    """heapshape run -o OUT [options] -- CMD; returns the CompletedProcess."""
    args = ["run", "-o", out]
    if frames:
        args += ["--frames", frames]
    if native:
        args += ["--native"]
    if sample_rate:
        args += ["--sample-rate", str(sample_rate)]
    if interval:
        args += ["--interval", str(interval)]
    return cli(*(args + ["--"] + list(cmd)), cwd=cwd, extra_env=extra_env, check=check)


def stats(snapshot, *opts):
    return json.loads(cli("stats", snapshot, "--format", "json", *opts).stdout)


def diff(old, new, *opts):
    return json.loads(cli("diff", old, new, "--format", "json", *opts).stdout)


def tracemalloc_top(python, script, limit=10, key="lineno", args=()):
    """Runs script under `-X tracemalloc=1`; at exit (atexit, like heapshape) returns
    tracemalloc's statistics as [{"filename","lineno","size","count"}]."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as f:
        subprocess.run([python, "-X", "tracemalloc=1", os.path.join(HERE, "tm_wrapper.py"),
                        f.name, key, str(limit), script] + list(args),
                       check=True, env=env(), capture_output=True, timeout=600)
        return json.load(f)


def line_of(entries, filename, lineno):
    for e in entries:
        if os.path.basename(e["filename"]) == os.path.basename(filename) and e["lineno"] == lineno:
            return e
    return None


def find_line(path, marker):
    """1-based number of the line of path that contains marker."""
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if marker in line:
                return i
    raise AssertionError("%s not found in %s" % (marker, path))


class TestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hs-e2e-")

    def need(self, label, python):
        if python is None:
            self.fail("interpreter %s is missing on this machine (tools/setup.sh or the machine "
                      "image should provide it)" % label)

    def assertClose(self, got, want, rel, what):
        self.assertTrue(abs(got - want) <= rel * abs(want),
                        "%s: heapshape %s vs tracemalloc %s (%.3f%% off, limit %.1f%%)"
                        % (what, got, want, 100.0 * abs(got - want) / max(1, abs(want)), 100 * rel))
