"""Process starter for run_bench.py: forks, execs, waits with os.wait4, reports wall time and
ru_maxrss. Run as `python3 -I -S _spawn.py`; imports nothing but os, signal, sys and time.

Why a separate, small process: Linux keeps a process's peak RSS across execve, so a child
forked from the harness (about 14 MiB of Python) reports at least the harness's size as its
ru_maxrss. Forked from this process (about 5 MiB at fork) the floor is below any Python
program's own size (7.5 MiB for `python3 -c pass`).

Protocol, one request per line on stdin, fields separated by \\x1f, list items by \\x1e:
  cwd, stdout path, stderr path, timeout seconds, set-root-pid (0/1), argv items, env items
  (KEY=VALUE; the child's whole environment)
and one reply line on stdout:
  "<wall seconds> <exit code, -signal> <ru_maxrss KiB> <user+system CPU seconds>".
With set-root-pid 1 the child's environment gets HEAPSHAPE_ROOT_PID=<its own pid>, as
`heapshape run` does.
"""
import os
import signal
import sys
import time

child = 0


def on_alarm(signum, frame):
    if child:
        os.kill(child, signal.SIGKILL)


signal.signal(signal.SIGALRM, on_alarm)
for line in sys.stdin:
    cwd, out, err, timeout, root_pid, argv, env = line.rstrip("\n").split("\x1f")
    argv = argv.split("\x1e")
    envd = dict(item.split("=", 1) for item in env.split("\x1e") if item)
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            if root_pid == "1":
                envd["HEAPSHAPE_ROOT_PID"] = str(os.getpid())
            os.chdir(cwd)
            fd = os.open(os.devnull, os.O_RDONLY)
            os.dup2(fd, 0)
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 2)
            os.execve(argv[0], argv, envd)
        except BaseException as e:  # noqa: BLE001 - report anything, never return to the loop
            os.write(2, ("bench spawn: cannot run %s: %s\n" % (argv[0], e)).encode())
        os._exit(127)
    child = pid
    signal.setitimer(signal.ITIMER_REAL, float(timeout))
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    signal.setitimer(signal.ITIMER_REAL, 0)
    child = 0
    sys.stdout.write("%.6f %d %d %.6f\n" % (wall, os.waitstatus_to_exitcode(status), ru.ru_maxrss,
                                          ru.ru_utime + ru.ru_stime))
    sys.stdout.flush()
