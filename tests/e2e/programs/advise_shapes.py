"""Record rows that used to get wrong advice (tests/e2e/test_advise.py, ShapesAndStrings):
  TWO_SHAPES  240,000 dicts at one line, every other one with three more keys
  STR_LISTS   150,000 lists of four strings
  LONG_STR    150,000 dicts whose str field has 13 or 19 characters (the average is 16)"""
N = 240_000

places = [{"city": "c%d" % i, "zip": i, "geo": i * 0.5} if i % 2 else {"city": "c%d" % i, "zip": i, "geo": i * 0.5, "lat": i * 0.1, "lon": i * 0.2, "alt": i} for i in range(N)]  # TWO_SHAPES
words = [["w%d" % i, "x%d" % i, "y%d" % i, "z%d" % i] for i in range(150_000)]  # STR_LISTS
names = [{"id": i, "name": "n" * (12 if i % 2 else 18) + str(i % 10)} for i in range(150_000)]  # LONG_STR
