"""A process tree for HEAPSHAPE_OUTPUT without `heapshape run` (tests/e2e/test_program_view.py):
the root builds ROOT, a fork child builds FORK and leaves with os._exit, an exec'd Python
child builds 100,000 floats. Each child holds 3.2 MB, above the 1 MiB a child must add to write
(preload/writers.c). Prints the pids."""
import os
import subprocess
import sys

root = [str(i) * 3 for i in range(50_000)]  # ROOT
pid = os.fork()
if pid == 0:
    fork = [float(i) for i in range(100_000)]  # FORK
    os._exit(0)
os.waitpid(pid, 0)
child = subprocess.run([sys.executable, "-c",
                        "import os; x = [float(i) for i in range(100_000)]; print(os.getpid())"],
                       check=True, capture_output=True, text=True)
print(os.getpid(), pid, child.stdout.strip())
