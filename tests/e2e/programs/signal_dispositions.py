"""What a program sees of the snapshot signal (test_signals.py). argv[1]: the signal's name
(USR2, USR1); argv[2]: "final" to send it once more at the end, with its default disposition
back (under heapshape that takes a snapshot; without it, it would end the program).
Prints one JSON line."""
import json
import os
import signal
import sys
import time

sig = getattr(signal, "SIG" + sys.argv[1])
out = {"initial": repr(signal.getsignal(sig))}
got = []


def handler(signum, frame):
    got.append(signum)


old = signal.signal(sig, handler)  # the save/restore idiom
out["old"] = repr(old)
os.kill(os.getpid(), sig)
for _ in range(100):
    if got:
        break
    time.sleep(0.01)
out["handler_calls"] = len(got)
signal.signal(sig, old)
out["restored"] = repr(signal.getsignal(sig))
signal.signal(sig, signal.SIG_IGN)
out["ignored"] = repr(signal.getsignal(sig))
os.kill(os.getpid(), sig)  # ignored, with and without heapshape
signal.signal(sig, signal.SIG_DFL)
out["default"] = repr(signal.getsignal(sig))


def caught():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("SigCgt:"):
                mask = int(line.split()[1], 16)
                return [s for s in (signal.SIGUSR1, signal.SIGUSR2) if mask >> (s - 1) & 1]


out["caught"] = [int(s) for s in caught()]
if sys.argv[2:] == ["final"]:
    os.kill(os.getpid(), sig)
    keep = [str(i) for i in range(200000)]  # AFTER
    time.sleep(0.2)
    keep += [str(i) for i in range(200000)]
print(json.dumps(out))
