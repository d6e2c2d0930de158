"""pytest-heapshape: per-test heapshape snapshots and memory-limit markers (see plugin.py)."""
__version__ = "0.1.0"
