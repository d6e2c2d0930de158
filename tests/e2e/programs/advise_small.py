# For test_advise: 50,000 float records (under advise's default threshold of 100,000) and
# 120,000 records whose fields hold arbitrary objects (no numpy layout for those).
import random

rng = random.Random(4)


class Node:
    pass


nodes = [Node() for _ in range(100)]
small = [{"x": rng.random(), "y": rng.random()} for _ in range(50_000)]  # SMALL
linked = [{"node": nodes[i % 100], "next": None, "w": rng.random()} for i in range(120_000)]  # OBJECTS
