"""pyperformance 'raytrace': bm_raytrace.bench_raytrace, 100x100 image, ITERATIONS renders."""
import hashlib
import os
import tempfile

from _common import iterations, load_pyperformance, report

bm = load_pyperformance("raytrace")
n = iterations(2)
fd, ppm = tempfile.mkstemp(suffix=".ppm")
os.close(fd)
try:
    bm.bench_raytrace(n, bm.DEFAULT_WIDTH, bm.DEFAULT_HEIGHT, ppm)
    with open(ppm, "rb") as f:
        digest = hashlib.sha1(f.read()).hexdigest()[:16]
finally:
    os.unlink(ppm)
report("raytrace", n, digest)
