"""1,000,000 floats kept in one list: 8 B of pointer, a 24-byte float object each.

The advice: one numpy float64 array (float_list_after.py), or array.array("d") without numpy."""
N = 1_000_000

values = [i * 0.5 for i in range(N)]  # RECORDS
