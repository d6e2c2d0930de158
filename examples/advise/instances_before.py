"""300,000 particles as instances of a plain class (instance __dict__ or inline values), four
float attributes each, kept alive in a list.

The advice: struct of arrays, four float64 numpy columns (instances_after.py)."""
import random

N = 300_000
rng = random.Random(2)


class Particle:
    def __init__(self, x, y, vx, vy):
        self.x = x
        self.y = y
        self.vx = vx
        self.vy = vy


particles = [Particle(rng.random(), rng.random(), rng.random(), rng.random()) for _ in range(N)]  # RECORDS
