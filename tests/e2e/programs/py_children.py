"""For test_writers: which exec'd Python children write a snapshot. A child that runs Python
writes only when its live heap rose 1 MiB above its level at the end of the interpreter's
start-up:
  idle      `python -c pass` and `python -c "import sys"` (3 of them): write nothing
  big       builds 100,000 floats (3.2 MB) and keeps them: writes
  freed     builds them and frees them again: writes (its peak)
With an argument N: N big children, one after the other, and no others (the children's disk
budget). Prints JSON: the pids of each kind."""
import json
import subprocess
import sys

BIG = "keep = [float(j) for j in range(100_000)]"  # BIG
FREED = "keep = [float(j) for j in range(100_000)]; del keep"
pids = {"idle": [], "big": [], "freed": []}
kids = [("idle", "pass"), ("idle", "pass"), ("idle", "import sys"), ("big", BIG), ("freed", FREED)]
if len(sys.argv) > 1:
    kids = [("big", BIG)] * int(sys.argv[1])
for kind, code in kids:
    p = subprocess.Popen([sys.executable, "-c", code])
    assert p.wait() == 0
    pids[kind].append(p.pid)
print(json.dumps(pids))
