"""300,000 sensor readings as dicts of mixed kinds: an int id, a str name, a float value and
a bool flag, kept alive in a list.

The advice: one numpy structured array (mixed_after.py); the str field becomes a fixed-width
'U13' column (13 = the longest name among the sampled records)."""
import random

N = 300_000
rng = random.Random(3)

readings = [{"id": i, "name": "sensor-%06d" % i, "value": rng.random(), "ok": i % 3 == 0} for i in range(N)]  # RECORDS
