"""pyperformance 'json_dumps': bm_json_dumps.bench_json_dumps on all cases, ITERATIONS times."""
import json
import zlib

from _common import iterations, load_pyperformance, report

bm = load_pyperformance("json_dumps")
n = iterations(60)
data = [(getattr(bm, case)[0], range(getattr(bm, case)[1])) for case in bm.CASES]
for _ in range(n):
    bm.bench_json_dumps(data)
report("json_dumps", n, "%08x" % zlib.crc32("".join(json.dumps(o) for o, _ in data).encode()))
