"""300,000 graph edges as tuples (source, target, weight) of ints, kept alive in a list.

The advice: struct of arrays, three int64 numpy columns (tuples_after.py)."""
N = 300_000

edges = [(i, (i * 7919) % N, 1000 + i % 5000) for i in range(N)]  # RECORDS
