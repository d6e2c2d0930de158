"""Builds 200,000 strings, says "ready" and sleeps: it allocates nothing more (test_interval)."""
import time

keep = [str(i) * 2 for i in range(200000)]  # KEEP
print("ready", flush=True)
time.sleep(60)
