"""300,000 entries of a dict from int ids to float scores: a hash table entry, an int key
object and a float object per entry.

The advice: two numpy arrays, sorted int64 keys and float64 values (int_dict_after.py)."""
N = 300_000

scores = {1_000_003 * i: i * 0.25 for i in range(N)}  # RECORDS
