"""pyperformance 'go': bm_go.versus_cpu() ITERATIONS times (seeded: the move is deterministic)."""
from _common import iterations, load_pyperformance, report

bm = load_pyperformance("go")
n = iterations(4)
moves = [bm.versus_cpu() for _ in range(n)]
report("go", n, ",".join(map(str, moves)))
