"""heapshape: an LD_PRELOAD allocation profiler for CPython.

This package carries the native `heapshape` CLI and the `libheapshape.so` shim (in _native/,
put there when the wheel is built) and runs the CLI: `heapshape ...` or `python -m heapshape ...`.
The version comes from the file VERSION next to this one, the single source shared with the
wheel's metadata (pyproject.toml) and the CLI's `--version` (analyzer/BUILD compiles it in).
"""
import os

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "VERSION")) as _f:
    __version__ = _f.read().strip()
del _f
