#!/usr/bin/env python3
"""Prints the expected outputs pasted into tests/analyzer_stats_test.cc and
tests/analyzer_report_test.cc, computed by Python's own tracemalloc (Lib/tracemalloc.py).

Run:  python3 analyzer/testdata/tracemalloc_expected.py   (Debian python3.11 was used)

The sites below are the ones the C++ tests build with hsa_snapshot_add_site (same order, same
numbers; see FixtureOld/FixtureNew in tests/analyzer_stats_test.cc). A site with live_count c
and live_bytes b is modelled as c tracemalloc traces: one of size b and c-1 of size 0, which
groups to the same sums. Native frames are not symbolizable in the tests (the module does not
exist), so they appear as "<module>+0x<addr>":0, or as "<module>":0 under key 'filename'.
"""
import tracemalloc
from tracemalloc import Snapshot, Filter, DomainFilter, _format_size

NATIVE = "native"
UNKNOWN = ("<unknown>", 0)

# (domain, live_count, live_bytes, frames innermost first)
# frame: (filename, lineno) for Python, (NATIVE, module, addr) for native, UNKNOWN.
OLD = [
    (4, 3, 3000, [("/app/a.py", 10), ("/app/main.py", 5)]),
    (3, 2, 500, [("/app/a.py", 10), ("/app/main.py", 7)]),
    (2, 1, 100000, [("/app/b.py", 20), ("/app/main.py", 8)]),
    (1, 4, 4096, [(NATIVE, "/nonexistent/libfoo.so", 0x1234)]),
    (4, 1, 64, [UNKNOWN]),
    (4, 0, 0, [("/app/dead.py", 1)]),
    (4, 10, 12345678, [("/usr/lib/python3.11/json/decoder.py", 353), ("/app/main.py", 9)]),
    (4, 1, 100, [("/app/t1.py", 1)]),
    (4, 1, 100, [("/app/t2.py", 1)]),
    (3, 2, 300, [("/app/c.pyc", 4), ("/app/main.py", 5)]),
]
NEW = [
    (4, 5, 5000, [("/app/a.py", 10), ("/app/main.py", 5)]),
    (3, 2, 500, [("/app/a.py", 10), ("/app/main.py", 7)]),
    (1, 2, 1024, [(NATIVE, "/nonexistent/libfoo.so", 0x1234)]),
    (4, 1, 64, [UNKNOWN]),
    (4, 10, 12345678, [("/usr/lib/python3.11/json/decoder.py", 353), ("/app/main.py", 9)]),
    (4, 1, 100, [("/app/t1.py", 1)]),
    (4, 1, 100, [("/app/t2.py", 1)]),
    (4, 2, 2048, [("/app/new.py", 3)]),
    (4, 3, 0, [("/app/zero.py", 2)]),
]


def frame(f, key):
    if f[0] == NATIVE:
        return (f[1], 0) if key == "filename" else ("%s+0x%x" % (f[1], f[2]), 0)
    return f


def snapshot(sites, key):
    traces = []
    for domain, count, size, frames in sites:
        tb = tuple(frame(f, key) for f in frames)
        for i in range(count):
            traces.append((domain, size if i == 0 else 0, tb, len(tb)))
    return Snapshot(traces, 10)


def show(title, lines):
    print("// " + title)
    for line in lines:
        print('    "%s",' % line)


FILTERS = {
    "include /app/*": [Filter(True, "/app/*")],
    "exclude */json/* and <unknown>": [Filter(False, "*/json/*"), Filter(False, "<unknown>")],
    "include /app/a.py + /app/c.py": [Filter(True, "/app/a.py"), Filter(True, "/app/c.py")],
    "domain python (2,3,4)": [DomainFilter(False, 1)],
    "domain malloc (1)": [DomainFilter(True, 1)],
}

for key in ("lineno", "filename", "traceback"):
    show("stats OLD key=%s" % key, map(str, snapshot(OLD, key).statistics(key)))
    show("diff OLD NEW key=%s" % key,
         map(str, snapshot(NEW, key).compare_to(snapshot(OLD, key), key)))
for name, flt in FILTERS.items():
    show("stats OLD key=lineno filter %s" % name,
         map(str, snapshot(OLD, "lineno").filter_traces(flt).statistics("lineno")))

sizes = [0, 1, 99, 100, 101, 1023, 1024, 9999, 10239, 10240, 10241, 102399, 102400,
         1048575, 1048576, 10 * 1024 * 1024 - 1, 10 * 1024 * 1024, 34011234, 104857599,
         104857600, 1073741824, 10737418239, 10737418240, 1099511627776, 10995116277759,
         10995116277760, 109951162777600, 1125899906842624, 123456789012345678]
print("// _format_size(size, False), _format_size(-size, False), _format_size(size, True), "
      "_format_size(-size, True)")
for s in sizes:
    print('    {%dLL, "%s", "%s", "%s", "%s"},' % (
        s, _format_size(s, False), _format_size(-s, False), _format_size(s, True),
        _format_size(-s, True)))
avgs = [0.5, 1.5, 2.5, 99.5, 100.5, 1023.5, 10239.5, 10240.0 * 99.95, 3000 / 7, 1234567 / 3]
print("// averages: _format_size(x, False)")
for a in avgs:
    print('    {%r, "%s"},' % (a, _format_size(a, False)))
