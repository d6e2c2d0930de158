# Workload for tests/e2e/test_check.py: how much it keeps, at which line, and how high it
# peaks are set through the environment, so a test can make one kind of regression at a time.
import os

N_KEEP = int(os.environ.get("N_KEEP", "2000"))
N_SITE = int(os.environ.get("N_SITE", "100"))
N_PEAK = int(os.environ.get("N_PEAK", "0"))

kept = [bytes(1000) for _ in range(N_KEEP)]  # KEEP_LINE
site = [bytes(1000) for _ in range(N_SITE)]  # SITE_LINE
transient = [bytes(1000) for _ in range(N_PEAK)]  # PEAK_LINE
del transient
print(len(kept) + len(site))
