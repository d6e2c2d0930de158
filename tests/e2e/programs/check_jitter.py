# One run in three (by a counter kept in $JITTER_STATE) allocates 3 MB more, as a noisy CI run
# might; the median of three runs never sees it.
import os

state = os.environ["JITTER_STATE"]
n = int(open(state).read()) if os.path.exists(state) else 0
with open(state, "w") as f:
    f.write(str(n + 1))
steady = [bytes(1000) for _ in range(4000)]  # STEADY_LINE
spike = [bytes(1000) for _ in range(3000)] if n % 3 == 1 else []  # SPIKE_LINE
