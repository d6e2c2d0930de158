# Short-lived big blocks for tests/e2e/test_peak_exact.py. Usage: peak_exact.py MODE BEFORE
# where BEFORE is a snapshot taken right before the work (its live bytes are the base the
# peak is checked against). Modes:
#   one40     one 40 MB block held for 50 ms
#   ten4      10 blocks of 4 MB, held in turn
#   realloc   a 20 MB block freed, then a 1 MB block realloc'd to 30 MB (past that peak)
#   threads   4 threads allocate 10 MB each, all live at once, after a 20 MB block in a thread
import ctypes
import sys
import threading
import time

mode, before = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.realloc.restype = ctypes.c_void_p
libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
barrier = threading.Barrier(4)


def one40():
    b = bytearray(40_000_000)  # BIG_one40
    time.sleep(0.05)
    del b


def ten4():
    for _ in range(10):
        b = bytearray(4_000_000)  # BIG_ten4
        time.sleep(0.005)
        del b


def grow():
    b = bytearray(20_000_000)
    del b
    p = libc.malloc(1_000_000)
    p = libc.realloc(p, 30_000_000)
    time.sleep(0.01)
    libc.free(p)


def in_thread():
    b = bytearray(10_000_000)  # BIG_threads
    barrier.wait()
    time.sleep(0.01)
    del b


def threads():
    t = threading.Thread(target=lambda: bytearray(20_000_000))
    t.start()
    t.join()
    ts = [threading.Thread(target=in_thread) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


work = {"one40": one40, "ten4": ten4, "realloc": grow, "threads": threads}[mode]
snap = ctypes.PyDLL(None).heapshape_snapshot
snap.argtypes = [ctypes.c_char_p]
for t in [threading.Thread(target=lambda: None)]:  # the threading machinery's first use
    t.start()
    t.join()
if snap(before.encode()) != 0:
    raise SystemExit("heapshape_snapshot failed")
work()
