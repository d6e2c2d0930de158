"""pyperformance 'float': bm_float.benchmark(POINTS) ITERATIONS times."""
from _common import iterations, load_pyperformance, report

bm = load_pyperformance("float")
n = iterations(8)
p = None
for _ in range(n):
    p = bm.benchmark(bm.POINTS)
report("float", n, "%.9f,%.9f,%.9f" % (p.x, p.y, p.z))
