"""A tiny program for the `heapshape sizes` e2e test: keeps a value of every type the size model
needs alive at exit. With --print it prints sys.getsizeof of the model's expressions as JSON
(run without heapshape, by the same interpreter)."""
import json
import sys

EXPRS = ["0", "2**30", "2**60", "1.0", "True", "False", "''", "'hello'", "()", "[]", "{}"]

kept = [float(i) + 0.5 for i in range(100)] + [2**40 + i for i in range(100)]
kept_containers = [(), [], {}, (1, 2), [1], {"a": 1}, "hello" * 3]

if "--print" in sys.argv:
    print(json.dumps({e: sys.getsizeof(eval(e)) for e in EXPRS}))
