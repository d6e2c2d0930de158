"""The HTML report of a 100,000-site snapshot (issue 17: "the file for a 100,000-site snapshot
stays under 10 MB and opens in under 2 s" in headless Chromium). Not a test: figures for
docs/PERFORMANCE.md.

Writes a version-1 snapshot (docs/snapshot-format.md) with 100,000 sites whose stacks are 4 to
7 Python frames deep (a program -> 50 handlers -> 40 helpers -> 0-3 inner calls -> a leaf line
of its own per site), runs `heapshape report` on it, and opens the page in headless Chromium
(tests/e2e/report_browser.py flags) 5 times, interleaved with an empty page: the wall time of
each run, the page's own figure (data-render-ms: parsing the data and drawing everything,
measured by the page), and the file size.

Usage: python3 bench/report_bench.py  (after ./heapshape has built the CLI)
"""
import os
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests/e2e"))
import report_browser as rb  # noqa: E402

CLI = os.environ.get("HEAPSHAPE_CLI") or os.path.join(ROOT, "bazel-bin/analyzer/heapshape")


def section(tag, payload):
    return struct.pack("<4sIQ", tag, 0, len(payload)) + payload + b"\0" * ((-len(payload)) % 8)


def snapshot(nsites):
    strings = [b"", b"service", b"python3 service.py"]
    def sid(s):
        strings.append(s)
        return len(strings) - 1
    frames = []
    def frame(file_sid, line, name_sid):
        frames.append(struct.pack("<B3xiIIQ", 1, line, file_sid, name_sid, 0))
        return len(frames) - 1
    files = [sid(b"/srv/app/module_%03d.py" % f) for f in range(200)]
    names = [sid(b"func_%03d" % f) for f in range(400)]
    root = frame(sid(b"/srv/app/service.py"), 12, sid(b"<module>"))
    handlers = [frame(files[h], 10 + h, names[h]) for h in range(50)]
    helpers = [frame(files[50 + h], 20 + h, names[50 + h]) for h in range(40)]
    inner = [frame(files[100 + h % 100], 30 + h, names[100 + h]) for h in range(300)]
    sites = bytearray(struct.pack("<II", nsites, 0))
    live_total = count_total = 0
    for i in range(nsites):
        leaf = frame(files[i % 200], 100 + i // 200, names[(i * 7) % 400])
        stack = [leaf] + [inner[(i * 13 + k * 101) % 300] for k in range(i % 4)]
        stack += [helpers[(i // 50) % 40], handlers[i % 50], root]
        live = 32 * (1 + (i * 7919) % 2000)
        count = 1 + live // 64
        live_total += live
        count_total += count
        sites += struct.pack("<BxHI6Q", 4, len(stack), 0, count, 0, live, count, live, live)
        sites += struct.pack("<%dI" % len(stack), *stack) + b"\0" * ((-4 * len(stack)) % 8)
    strs = struct.pack("<I", len(strings)) + b"".join(struct.pack("<I", len(s)) + s for s in strings)
    frms = struct.pack("<II", len(frames), 0) + b"".join(frames)
    meta = struct.pack("<IIQIIIIQQQQQQIIIIQ", 1, 0, 0, 1, 0, 0x030B02F0, 8, live_total, count_total,
                       live_total, count_total, 0, live_total, 1, 2, 0, 0, 0) + b"\0" * 24
    body = (b"HSNAP\0\r\n" + struct.pack("<IIIIQ", 1, 0x01020304, 32, 0, 0) + section(b"META", meta)
            + section(b"STRS", strs) + section(b"FRMS", frms) + section(b"SITE", bytes(sites)))
    return body + section(b"END ", struct.pack("<II", zlib.crc32(body), 0))


def main():
    tmp = tempfile.mkdtemp(prefix="hs-rbench-")
    snap, html, empty = (os.path.join(tmp, n) for n in ("big.hsnap", "big.html", "empty.html"))
    with open(snap, "wb") as f:
        f.write(snapshot(100_000))
    with open(empty, "w") as f:
        f.write("<!DOCTYPE html><html><body>empty</body></html>")
    t = time.perf_counter()
    subprocess.run([CLI, "report", snap, "-o", html], check=True, stdout=subprocess.DEVNULL)
    gen = time.perf_counter() - t
    print("snapshot: 100,000 sites, %d bytes; heapshape report: %.2f s; HTML: %d bytes (%.2f MB)"
          % (os.path.getsize(snap), gen, os.path.getsize(html), os.path.getsize(html) / 1e6))
    walls, base, render, parse, drawn, ready, tree = [], [], [], [], [], [], []
    cpu = {empty: [], html: []}
    for _ in range(5):
        for path, into in ((empty, base), (html, walls)):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            dom, console = rb.dump_dom(path)
            into.append(time.perf_counter() - t)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[path].append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
            if path == html:
                page = next(rb.parse(dom).find_all("html"))
                assert page.attrs.get("data-ready") == "1" and not rb.console_errors(console), console
                render.append(float(page.attrs["data-render-ms"]))
                parse.append(float(page.attrs["data-parse-ms"]))
                ready.append(float(page.attrs["data-ready-ms"]))
                tree.append(float(page.attrs["data-tree-ms"]))
                drawn.append(int(rb.parse(dom).by_id("flame").attrs["data-drawn"]))
    print("chromium --dump-dom, median of 5 (interleaved): report %.2f s, empty page %.2f s, "
          "difference %.2f s; the page's own time: JSON.parse %.0f ms, parse and draw %.0f ms; "
          "flame graph boxes drawn %d"
          % (statistics.median(walls), statistics.median(base),
             statistics.median(walls) - statistics.median(base), statistics.median(parse),
             statistics.median(render),
             drawn[0]))
    print("navigation start to page drawn (the page's performance.now()): %.0f ms; of which data "
          "parsed and tree built %.0f ms" % (statistics.median(ready), statistics.median(tree)))
    print("chromium CPU time (user+sys, all its processes), median of 5: report %.2f s, empty page "
          "%.2f s, difference %.2f s" % (statistics.median(cpu[html]), statistics.median(cpu[empty]),
                                         statistics.median(cpu[html]) - statistics.median(cpu[empty])))
    print("load average while measuring: %.1f" % os.getloadavg()[0])


if __name__ == "__main__":
    main()
