"""Objects re-created from CPython's free lists (tests/e2e/test_freelist.py): each part leaves
its objects alive at one marked line, after objects of the same type were made and dropped at
another line, so that the kept ones come (partly) off the type's free list."""

# 1. the reproducer: every kept list is the list object `t` just dropped
keep = []
for i in range(10000):
    t = [i, i]  # T_LINE
    del t
    keep.append([i])  # KEEP

# 2. a module-level list of 1M floats: the list object comes off the free list
floats = [i * 0.5 for i in range(1_000_000)]  # FLOATS


# 3. a list of 200K tuples built in a function called from a loop; the tuples dropped just
# before each call fill the free list of 2-tuples
def build(n):
    return [(k, k + 1) for k in range(n)]  # TUPLES


for rep in range(3):
    scratch = [(rep, k) for k in range(5000)]  # SCRATCH
    del scratch
    tuples = build(200_000)  # CALL

# 4. 300K dicts built after 100K others were made and dropped
others = [{"a": k} for k in range(100_000)]  # OTHERS
del others
dicts = [{"x": k, "y": -k} for k in range(300_000)]  # DICTS

# 5. a float dropped and re-created with no allocation between: the block the hook recorded
# last is re-created on another line
x = 3.0
kept_floats = []
for i in range(1000):
    a = x * i  # FIRST
    del a
    kept_floats.append(x * i + 0.5)  # SECOND
