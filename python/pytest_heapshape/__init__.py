"""pytest-heapshape: per-test heapshape snapshots and memory-limit markers (see plugin.py)."""
from heapshape import __version__  # noqa: F401  (one version for the whole distribution)
