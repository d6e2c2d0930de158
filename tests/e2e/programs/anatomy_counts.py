"""Exact-count program for the anatomy e2e test: known numbers of instances of three kinds of
class, each built on its own line and kept alive in a list allocated on another line."""
N_PLAIN, N_SLOTS, N_WEAK = 50_000, 40_000, 20_000


class Plain:
    def __init__(self, i): self.a = i; self.b = -i


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, i): self.a = i; self.b = -i


class Weak:
    __slots__ = ("a", "__weakref__")

    def __init__(self, i): self.a = i


plain, slotted, weak = [None] * N_PLAIN, [None] * N_SLOTS, [None] * N_WEAK
for i in range(N_PLAIN): plain[i] = Plain(i)  # PLAIN
for i in range(N_SLOTS): slotted[i] = Slotted(i)  # SLOTTED
for i in range(N_WEAK): weak[i] = Weak(i)  # WEAK
