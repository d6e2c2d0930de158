"""heapshape 'particles': COUNT dicts of three floats, kept alive in a list, then one pass
over them. Default COUNT 1,000,000."""
from _common import iterations, report

n = iterations(1_000_000)
particles = []
append = particles.append
for i in range(n):
    append({"x": i * 0.5, "y": i * 0.25, "z": i * 0.125})
total = 0.0
for p in particles:
    total += p["x"] + p["y"] - p["z"]
report("particles", n, "%d:%.1f" % (len(particles), total))
