"""`heapshape report`: the HTML report of the known program (programs/report_known.py) in
headless Chromium. From the DOM after the page ran: the BUFFERS line with its bytes in the top
lines table (the `heapshape stats` figure), the flame graph's frames <module> -> main -> build
with those bytes, the timeline's peak, the anatomy bars and shapes, the advice with its
rewrite, the peak view (#view=peak) with the freed temporary, the diff of two runs; no console
errors (and a broken page is caught by the same check); a screenshot; no network references."""
import json
import os
import re
import shutil
import struct

import hstest
import report_browser as rb

SCRIPT = os.path.join(hstest.PROGRAMS, "report_known.py")
LINE = hstest.find_line(SCRIPT, "# BUFFERS")
MAIN = hstest.find_line(SCRIPT, "# MAIN")
RECORDS = hstest.find_line(SCRIPT, "# RECORDS")
TEMP = hstest.find_line(SCRIPT, "# TEMP")


def stats_text_size(snapshot, key_line, *opts):
    """The size= of the `heapshape stats` text line for SCRIPT:key_line (tracemalloc format)."""
    out = hstest.cli("stats", snapshot, "--limit", "0", *opts).stdout
    for l in out.splitlines():
        if l.startswith("%s:%d:" % (SCRIPT, key_line)):
            return re.search(r"size=([^,]+?)(?: \([^)]*\))?, ", l).group(1)
    return None


class HtmlReport(hstest.TestCase):
    def profile(self, label, py, n=2000):
        out = os.path.join(self.tmp, "known-%s-%d.hsnap" % (label, n))
        hstest.cli("run", "-o", out, "--frames", "8", "--", py, SCRIPT,
                   extra_env={"HS_KNOWN_N": str(n)})
        return out

    def report(self, *snaps):
        html = os.path.join(self.tmp, "r%d.html" % len(os.listdir(self.tmp)))
        p = hstest.cli("report", *snaps, "-o", html)
        self.assertEqual(p.stdout.strip(), html)
        with open(html, encoding="utf-8") as f:
            text = f.read()
        # self-contained: nothing loaded from elsewhere
        for bad in ("<script src", "<link", "<img", "<iframe", "@import", "url(", "fetch(",
                    "XMLHttpRequest"):
            self.assertNotIn(bad, text)
        return html

    def load(self, html, fragment=""):
        dom, console = rb.dump_dom(html, fragment)
        self.assertEqual(rb.console_errors(console), [], "\n".join(console))
        root = rb.parse(dom)
        page = next(root.find_all("html"))
        self.assertEqual(page.attrs.get("data-ready"), "1", dom[:2000])
        self.assertNotIn("data-errors", page.attrs, dom[:2000])
        return root

    def row(self, root, section, line):
        sec = root.by_id(section)
        self.assertIsNotNone(sec, section)
        return [r for r in sec.find_all("tr") if r.attrs.get("data-file") == SCRIPT
                and r.attrs.get("data-line") == str(line)]

    def flame_node(self, root, text):
        return [n for n in root.by_id("flame").find_all("div", cls="fg") if n.all_text() == text]

    def test_report(self):
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                snap = self.profile(label, py)
                size = hstest.line_of(hstest.stats(snap)["statistics"], SCRIPT, LINE)["size"]
                html = self.report(snap)
                self.assertLess(os.path.getsize(html), 2_000_000)
                root = self.load(html)
                # the top lines table: the line, its exact bytes, and its size as stats prints it
                rows = self.row(root, "top-lines", LINE)
                self.assertEqual(len(rows), 1)
                self.assertEqual(rows[0].attrs["data-bytes"], str(size))
                cells = [td.all_text() for td in rows[0].find_all("td")]
                self.assertEqual(cells[0], "%s:%d" % (SCRIPT, LINE))
                self.assertEqual(cells[1], "build")
                self.assertEqual(cells[2], stats_text_size(snap, LINE))
                # the flame graph: <module> -> main -> build, with the line's bytes
                build = self.flame_node(root, "build (%s:%d)" % (SCRIPT, LINE))
                self.assertEqual(len(build), 1, "no flame graph frame for the BUFFERS line")
                self.assertEqual(build[0].attrs["data-bytes"], str(size))
                main = self.flame_node(root, "main (%s:%d)" % (SCRIPT, MAIN))
                self.assertEqual(len(main), 1)
                top = lambda n: int(n.attrs["style"].split("top:")[1].split("px")[0].strip())
                self.assertEqual(top(build[0]), top(main[0]) + 18)  # drawn as main's callee
                self.assertTrue(self.flame_node(root, "<module> (%s:%d)" % (SCRIPT, hstest.find_line(SCRIPT, "KEPT = main()"))))
                # the timeline's peak, the anatomy split and shapes, the advice's rewrite
                self.assertIsNotNone(root.by_id("peak-marker"))
                self.assertTrue(root.by_id("peak-label").all_text().startswith("peak "))
                arow = self.row(root, "anatomy", RECORDS)
                self.assertTrue(arow, "no anatomy row for the RECORDS line")
                segs = {s.attrs["class"] for r in arow for s in r.find_all("div") if s.attrs.get("class", "").startswith("seg-")}
                self.assertEqual(segs, {"seg-header", "seg-pointers", "seg-data", "seg-rounding"})
                self.assertIn("dict{x: float, y: float}", " ".join(r.all_text() for r in arow))
                adv = [a for a in root.by_id("advice").find_all("div", cls="advice")
                       if a.attrs.get("data-line") == str(RECORDS)]
                self.assertEqual(len(adv), 1)
                code = next(adv[0].find_all("pre")).all_text()
                self.assertIn("np.float64", code)

    def test_peak_view_and_search(self):
        label, py = hstest.default_interpreters()[0]
        self.need(label, py)
        snap = self.profile(label, py)
        html = self.report(snap)
        now = self.load(html)
        self.assertEqual(self.row(now, "top-lines", TEMP), [])  # freed before exit
        peak = self.load(html, "#view=peak")
        self.assertEqual(next(peak.find_all("html")).attrs["data-view"], "peak")
        rows = self.row(peak, "top-lines", TEMP)
        self.assertEqual(len(rows), 1)
        want = hstest.line_of(hstest.stats(snap, "--peak")["statistics"], SCRIPT, TEMP)["size"]
        self.assertEqual(rows[0].attrs["data-bytes"], str(want))
        self.assertTrue(self.flame_node(peak, "spike (%s:%d)" % (SCRIPT, TEMP)))
        found = self.load(html, "#search=build")
        self.assertTrue(found.by_id("fg-found").all_text().startswith("matched: "))
        self.assertTrue(list(found.by_id("flame").find_all("div", cls="match")))

    def test_diff(self):
        label, py = hstest.default_interpreters()[-1]
        self.need(label, py)
        old = self.profile(label, py, 1000)
        new = self.profile(label, py, 2000)
        diff = json.loads(hstest.cli("diff", old, new, "--format", "json").stdout)
        want = hstest.line_of(diff["statistics"], SCRIPT, LINE)
        html = self.report(old, new)
        root = self.load(html)
        rows = self.row(root, "top-lines", LINE)
        self.assertEqual(len(rows), 1)
        change = rows[0].find_all("td", cls="grow")
        self.assertTrue(list(change), "the BUFFERS line's growth is not colored")
        self.assertGreater(want["size_diff"], 1000 * 10_000)
        build = self.flame_node(root, "build (%s:%d)" % (SCRIPT, LINE))
        self.assertEqual(len(build), 1)
        self.assertIn("grew", build[0].classes())
        rgb = re.search(r"background: rgb\((\d+), (\d+), (\d+)\)", build[0].attrs["style"])
        self.assertGreater(int(rgb.group(1)), int(rgb.group(3)) + 60)  # red, not blue
        self.assertEqual(build[0].attrs["data-bytes"], str(want["size"]))

    def test_native_frames(self):
        """--native: the flame graph shows native frames (blue) between the Python ones."""
        label, py = hstest.default_interpreters()[0]
        self.need(label, py)
        out = os.path.join(self.tmp, "native.hsnap")
        hstest.cli("run", "--native", "-o", out, "--", py, SCRIPT)
        root = self.load(self.report(out))
        boxes = list(root.by_id("flame").find_all("div", cls="fg"))
        native = [b for b in boxes if b.all_text().startswith("PyEval_EvalCode (")]
        self.assertTrue(native, "no native frame PyEval_EvalCode in the flame graph")
        rgb = [int(v) for v in re.search(r"rgb\((\d+), (\d+), (\d+)\)", native[0].attrs["style"]).groups()]
        self.assertGreater(rgb[2], rgb[0])  # native frames are drawn blue
        self.assertTrue([b for b in boxes if b.all_text() == "build (%s:%d)" % (SCRIPT, LINE)])
        # --no-symbols: module+0xADDR labels instead
        raw = os.path.join(self.tmp, "native-raw.html")
        hstest.cli("report", "--no-symbols", out, "-o", raw)
        with open(raw, encoding="utf-8") as f:
            text = f.read()
        self.assertNotIn('"PyEval_EvalCode (', text)
        self.assertRegex(text, r'"/\S+\+0x[0-9a-f]+"')

    def test_run_report(self):
        """run --report writes the page next to the snapshot and prints its path."""
        label, py = hstest.default_interpreters()[0]
        self.need(label, py)
        out = os.path.join(self.tmp, "small.hsnap")
        p = hstest.cli("run", "--report", "-o", out, "--", py, "-c", "x = [str(i) for i in range(50000)]  # X")
        html = os.path.join(self.tmp, "small.html")
        self.assertIn("heapshape: report written to %s" % html, p.stderr)
        root = self.load(html)
        self.assertTrue([r for r in root.by_id("top-lines").find_all("tr")
                         if r.attrs.get("data-file") == "<string>" and r.attrs.get("data-line") == "1"])

    def test_run_report_repeat_and_children(self):
        """With --repeat and --with-children, run --report writes one page, of the merged
        snapshot (the median of the runs; the sum of the processes), not one per run."""
        label, py = hstest.default_interpreters()[0]
        self.need(label, py)
        code = "x = [str(i) for i in range(50000)]  # X"
        for opts, stem in ((("--repeat", "2"), "median"), (("--with-children",), "sum")):
            with self.subTest(opts=opts):
                out = os.path.join(self.tmp, stem + ".hsnap")
                p = hstest.cli("run", "--report", *opts, "-o", out, "--", py, "-c", code, cwd=self.tmp)
                html = os.path.join(self.tmp, stem + ".html")
                self.assertEqual(p.stderr.count("heapshape: report written to"), 1, p.stderr)
                self.assertIn("heapshape: report written to %s" % html, p.stderr)
                self.assertEqual(sorted(f for f in os.listdir(self.tmp) if f.endswith(".html")
                                        and f.startswith(stem)), [stem + ".html"])
                root = self.load(html)
                rows = [r for r in root.by_id("top-lines").find_all("tr")
                        if r.attrs.get("data-file") == "<string>" and r.attrs.get("data-line") == "1"]
                self.assertTrue(rows, "the merged report lacks the program's line")

    def test_broken_page_is_caught(self):
        """The console check can fail: a report whose script throws is reported."""
        label, py = hstest.default_interpreters()[0]
        self.need(label, py)
        html = self.report(self.profile(label, py))
        with open(html, encoding="utf-8") as f:
            text = f.read()
        bad = os.path.join(self.tmp, "broken.html")
        with open(bad, "w", encoding="utf-8") as f:
            f.write(text.replace('"use strict";', '"use strict"; null.boom();', 1))
        dom, console = rb.dump_dom(bad)
        page = next(rb.parse(dom).find_all("html"))
        self.assertEqual(page.attrs.get("data-errors"), "1")
        self.assertTrue(rb.console_errors(console), "chromium logged no console error")

    def test_screenshot(self):
        label, py = hstest.default_interpreters()[0]
        self.need(label, py)
        html = self.report(self.profile(label, py))
        png = os.path.join(self.tmp, "report.png")
        rb.screenshot(html, png)
        with open(png, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
        w, h = struct.unpack(">II", head[16:24])
        self.assertEqual((w, h), (1280, 2000))
        self.assertGreater(os.path.getsize(png), 50_000)  # not a blank page
        dest = os.environ.get("HEAPSHAPE_SCREENSHOT_TO")  # tools/report_screenshot.sh
        if dest:
            shutil.copy(png, dest)


if __name__ == "__main__":
    import unittest

    unittest.main()
