"""200,000 rows of 6 floats as a list of lists: a list object, its item array and six float
objects per row.

The advice: one C-ordered float64 array of shape (200000, 6) (matrix_after.py)."""
N = 200_000

rows = [[i * 0.5, i * 1.5, i * 2.5, i * 3.5, i * 4.5, i * 5.5] for i in range(N)]  # RECORDS
