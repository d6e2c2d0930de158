"""100,000 records of two floats, four ways, each built on its own line (anatomy e2e test).

The lists are allocated on other lines, so a record line holds only the records and their
floats. The classes' __init__ bodies are one line each: where an interpreter allocates the
instance's __dict__ (3.8-3.10) or values array there, the test adds that line. The namedtuple
is built with tuple.__new__ so that its tuple is allocated on the record line, not in the
generated __new__ (file "<string>")."""
import collections


class Regular:
    def __init__(self, x, y): self.x = x; self.y = y  # INIT-REGULAR


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self, x, y): self.x = x; self.y = y  # INIT-SLOTTED


Pair = collections.namedtuple("Pair", "x y")
N = 100_000
regular, slotted, pairs, dicts = [None] * N, [None] * N, [None] * N, [None] * N

for i in range(N): regular[i] = Regular(i * 0.5, i * 0.25)  # REGULAR
for i in range(N): slotted[i] = Slotted(i * 0.5, i * 0.25)  # SLOTTED
for i in range(N): pairs[i] = tuple.__new__(Pair, (i * 0.5, i * 0.25))  # NAMEDTUPLE
for i in range(N): dicts[i] = {"x": i * 0.5, "y": i * 0.25}  # DICT
