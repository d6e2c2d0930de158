# Waits for the test between phases: the test sends SIGUSR2, then a line on stdin. The first
# allocation after each signal (reading that line) takes the snapshot, so snapshot 1 is
# before the known allocation and snapshot 2 after it.
import sys

print("phase1", flush=True)
sys.stdin.readline()
keep = [bytearray(1000) for _ in range(5000)]  # KNOWN
expected = sum(sys.getsizeof(b) for b in keep) + sys.getsizeof(keep)
print("phase2", expected, flush=True)
sys.stdin.readline()
print("done", flush=True)
