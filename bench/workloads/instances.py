"""heapshape 'instances': COUNT instances of a small class with three attributes, kept alive
in a list, then one pass over them. Default COUNT 1,000,000."""
from _common import iterations, report


class Particle:
    def __init__(self, x, y, z):
        self.x = x
        self.y = y
        self.z = z


n = iterations(1_000_000)
objs = [Particle(i * 0.5, i * 0.25, i * 0.125) for i in range(n)]
total = 0.0
for o in objs:
    total += o.x + o.y - o.z
report("instances", n, "%d:%.1f" % (len(objs), total))
