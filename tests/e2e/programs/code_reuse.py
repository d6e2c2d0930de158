"""Code objects come and go at reused addresses: 300 generated modules, each compiled,
run once and deleted. Module k (file gen_K.py) allocates 50 bytes objects at its line k+4
and keeps them. A line cache that trusted a freed code object's address would put them at
another module's file or line."""
import gc

keep = []
for k in range(300):
    src = "\n" * k + (
        "def f(n):\n"                          # line k+1
        "    out = [None] * n\n"                 # line k+2
        "    for i in range(n):\n"               # line k+3
        "        out[i] = bytes(64 + i % 2)\n"   # line k+4: 50 blocks
        "    return out\n")
    ns = {}
    exec(compile(src, "gen_%d.py" % k, "exec"), ns)
    keep.append(ns["f"](50))
    del ns
    gc.collect()
print(len(keep))
