"""pyperformance 'deltablue': bm_deltablue.delta_blue(100) ITERATIONS times (it raises on a
wrong result)."""
from _common import iterations, load_pyperformance, report

bm = load_pyperformance("deltablue")
n = iterations(120)
for _ in range(n):
    bm.delta_blue(100)
report("deltablue", n, "ok")
