"""heapshape 'strings': string building and joining: f-strings, str.join of generated parts,
split and replace, a few kept per round (ITERATIONS rounds of 2,000 records)."""
from _common import iterations, report

n = iterations(300)
kept = []
digest = 0
for r in range(n):
    parts = []
    for i in range(2000):
        name = "item-%d-%d" % (r, i)
        parts.append(f"{name}:{i * 3.5:.2f}:{name.upper()}")
    line = ";".join(parts)
    fields = line.split(";")
    text = "\n".join(f.replace(":", "=") for f in fields)
    acc = []
    for f in fields[:500]:
        acc.append(f + "|")
        acc.append(str(len(f)))
    s = "".join(acc)
    digest = (digest + len(text) + len(s) + len(fields[r % len(fields)])) % 1_000_003
    if r % 50 == 0:
        kept.append(text)
report("strings", n, "%d %d" % (digest, sum(len(t) for t in kept)))
