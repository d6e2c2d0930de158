"""Blocks of 16 bytes (object() instances) live next to each other, two to a 32-byte granule
of the shim's shadow table, interleaved with frees and with larger blocks reusing the space.
Every line's count and size must be exact."""
N = 40000
# every global exists before the marked lines: the module dict's resize (3.14 has one key less,
# no __annotations__) must not land on one of them
a = b = c = d = e = None
a = [object() for _ in range(N)]  # TINY_A
b = [object() for _ in range(N)]  # TINY_B
del a[::2]  # HALF
c = [(i, i) for i in range(N)]  # PAIRS
del b
d = [object() for _ in range(N)]  # TINY_D
e = [bytes(12) for _ in range(N)]  # BYTES
del c[1::3]  # THIRD
print(len(a), len(c), len(d), len(e))
