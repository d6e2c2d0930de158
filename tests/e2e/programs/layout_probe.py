# 100,000 floats kept alive at the line marked KEEP, one line of output, exit status 3: the
# program tests/e2e/test_py_layout.py runs under the shim's layout test hooks.
import sys


def build(n):
    return [float(i) + 0.25 for i in range(n)]  # KEEP


values = build(100000)
print("sum", sum(values))
sys.exit(3)
