"""100 Popen calls of programs that do not exist, then `sh -c true` and `true` (test_writers)."""
import subprocess
n = 0
for i in range(100):
    try:
        subprocess.Popen(["/nonexistent/prog%d" % i])
    except FileNotFoundError:
        n += 1
subprocess.run(["sh", "-c", "true"])
subprocess.run(["true"])
print(n)
