"""heapshape 'append': list growth by append: lists of several sizes grown one element at a
time (each growth a realloc of the item array), some kept (ITERATIONS appends in all)."""
from _common import iterations, report

n = iterations(3_000_000)
kept = []
done = 0
size = 10
while done < n:
    lst = []
    for i in range(size):
        lst.append(i)
    done += size
    if len(kept) < 200:
        kept.append(lst)
    size = size * 3 if size < 100_000 else 10
report("append", n, "%d %d" % (len(kept), sum(len(l) for l in kept)))
