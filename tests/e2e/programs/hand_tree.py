"""A process tree for a shim preloaded by hand, without `heapshape run`
(tests/e2e/test_root_by_hand.py): the root builds ROOT (50,000 strings), a fork child builds
100,000 floats and leaves with os._exit, an exec'd Python child builds as many and runs a
Python grandchild that does the same. Each child holds 3.2 MB, above the 1 MiB a child must
add to write (preload/writers.c). Prints JSON: the pids."""
import json
import os
import subprocess
import sys

if sys.argv[1:] == ["child"]:
    keep = [float(i) for i in range(100_000)]  # CHILD
    g = subprocess.run([sys.executable, "-c", "import os; x = [float(i) for i in range(100_000)]; "
                        "print(os.getpid())"], check=True, capture_output=True, text=True)
    print(json.dumps({"child": os.getpid(), "grandchild": int(g.stdout)}))
    sys.exit(0)
root = [str(i) * 3 for i in range(50_000)]  # ROOT
pid = os.fork()
if pid == 0:
    fork = [float(i) for i in range(100_000)]  # FORK
    os._exit(0)
os.waitpid(pid, 0)
c = subprocess.run([sys.executable, __file__, "child"], check=True, capture_output=True, text=True)
print(json.dumps(dict(json.loads(c.stdout), root=os.getpid(), fork=pid)))
