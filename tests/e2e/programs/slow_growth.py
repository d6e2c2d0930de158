# Allocates steadily for a long time; the test kills it with SIGKILL mid-run.
import sys
import time

keep = []
print("started", flush=True)
for i in range(100000):
    keep.append(bytearray(1000))  # GROW
    if i % 100 == 0:
        time.sleep(0.01)
