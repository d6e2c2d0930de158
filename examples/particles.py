"""1,000,000 particles as dicts {"x": float, "y": float, "mass": float}, kept alive in a list
and built on one line: the textbook case for `heapshape anatomy`, where headers, hash tables
and pointers outweigh the 24 bytes of data per particle many times over.

    ./heapshape run -- python3 examples/particles.py
    ./heapshape anatomy heapshape-particles-<pid>.hsnap --include '*particles.py'
"""
import random

N = 1_000_000
rng = random.Random(42)

particles = [{"x": rng.random(), "y": rng.random(), "mass": rng.random() * 10} for _ in range(N)]  # PARTICLES
