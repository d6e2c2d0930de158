# 1,000,000 floats kept alive by a list comprehension at one line (the line marked KEEP).
def build(n):
    return [float(i) + 0.5 for i in range(n)]  # KEEP


values = build(1000000)
