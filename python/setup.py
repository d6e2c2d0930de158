"""Adds the native CLI and shim to the heapshape wheel (see pyproject.toml for the rest).

Where they come from: $HEAPSHAPE_NATIVE_DIR (tools/build_wheel.sh stages both files there), else
the Bazel build of the checkout this directory belongs to (`pip install ./python`). Without
either the build stops and says what to do. The wheel is tagged py3-none-<platform>: the files
are native, but not a Python extension, so one wheel serves every CPython 3.8+.
All build scratch (build/, *.egg-info) goes to a temporary directory: the checkout stays clean.
"""
import atexit
import os
import shutil
import sys
import tempfile

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = {"heapshape": "analyzer/heapshape", "libheapshape.so": "preload/libheapshape.so"}


def native_files():
    """{name in the wheel: source path}, or SystemExit with what to do."""
    staged = os.environ.get("HEAPSHAPE_NATIVE_DIR")
    if staged:
        found = {n: os.path.join(staged, n) for n in NATIVE}
        missing = [p for p in found.values() if not os.path.isfile(p)]
        if missing:
            sys.exit("heapshape: HEAPSHAPE_NATIVE_DIR=%s lacks %s" % (staged, ", ".join(missing)))
        return found
    repo = os.path.dirname(HERE)
    found = {n: os.path.join(repo, "bazel-bin", rel) for n, rel in NATIVE.items()}
    if all(os.path.isfile(p) for p in found.values()):
        return {n: os.path.realpath(p) for n, p in found.items()}
    if os.path.isfile(os.path.join(repo, "preload", "core.c")):
        sys.exit("heapshape: the native CLI and shim are not built in %s yet: run "
                 "`./heapshape --version` there (Bazel builds them), then `pip install ./python` "
                 "again; or build a wheel with `bash tools/build_wheel.sh`" % repo)
    sys.exit("heapshape: no native CLI and shim to package: build from a heapshape checkout "
             "(`bash tools/build_wheel.sh`) or set HEAPSHAPE_NATIVE_DIR to a directory holding "
             "heapshape and libheapshape.so")


class BuildPy(build_py):
    def run(self):
        super().run()
        dest = os.path.join(self.build_lib, "heapshape", "_native")
        os.makedirs(dest, exist_ok=True)
        for name, src in native_files().items():
            out = os.path.join(dest, name)
            shutil.copyfile(src, out)
            os.chmod(out, 0o755)


class NativeDistribution(Distribution):
    def has_ext_modules(self):
        return True  # native files: a platform wheel, installed into platlib


class BdistWheel(bdist_wheel):
    def get_tag(self):
        _python, _abi, plat = super().get_tag()
        return "py3", "none", plat


_scratch = tempfile.mkdtemp(prefix="heapshape-setup-")
atexit.register(shutil.rmtree, _scratch, True)

setup(
    distclass=NativeDistribution,
    cmdclass={"build_py": BuildPy, "bdist_wheel": BdistWheel},
    options={"build": {"build_base": os.path.join(_scratch, "build")},
             "egg_info": {"egg_base": _scratch}},
)
