"""`heapshape export`: the known program's exports read back by the tools people use.
pprof by `go tool pprof -top` and `-traces`, speedscope against speedscope's published JSON
schema, collapsed stacks rendered by inferno-flamegraph, csv by Python's csv module. The bytes
at the BUFFERS line must be the figure `heapshape stats` gives for it (at least the 20,000,000
bytes of the 2,000 bytearrays) in every format."""
import csv
import json
import os
import re
import subprocess

import hstest
import report_tools

SCRIPT = os.path.join(hstest.PROGRAMS, "report_known.py")
LINE = hstest.find_line(SCRIPT, "# BUFFERS")
MAIN_CALL = hstest.find_line(SCRIPT, "# MAIN")
TEMP = hstest.find_line(SCRIPT, "# TEMP")


def run(cmd, **kw):
    env = dict(os.environ)
    env.setdefault("GOCACHE", os.path.join(report_tools.TOOLS, "gocache"))  # `go tool` builds pprof once
    env.setdefault("HOME", os.path.expanduser("~"))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, **kw)
    if p.returncode != 0:
        raise AssertionError("%s exited %d\n%s\n%s" % (cmd, p.returncode, p.stdout, p.stderr))
    return p.stdout


class Export(hstest.TestCase):
    def known(self, label, py, *extra):
        out = os.path.join(self.tmp, "known-%s%s.hsnap" % (label, "".join(extra)))
        hstest.cli("run", "-o", out, "--frames", "8", *extra, "--", py, SCRIPT)
        st = hstest.line_of(hstest.stats(out)["statistics"], SCRIPT, LINE)
        self.assertIsNotNone(st, "stats has no entry for report_known.py:%d" % LINE)
        self.assertGreaterEqual(st["size"], 2000 * 10_000)
        return out, st["size"]

    def export(self, snap, fmt, *extra):
        dst = os.path.join(self.tmp, os.path.basename(snap) + "." + fmt)
        hstest.cli("export", snap, "--format", fmt, "-o", dst, *extra)
        return dst

    def test_pprof(self):
        go = report_tools.go()
        self.assertIsNotNone(go, report_tools.MISSING % "go")
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                snap, size = self.known(label, py)
                prof = self.export(snap, "pprof")
                with open(prof, "rb") as f:
                    self.assertEqual(f.read(2), b"\x1f\x8b", "not gzipped")
                top = run([go, "tool", "pprof", "-top", "-lines", "-unit=B", "-symbolize=none",
                           prof])
                want = "report_known.py:%d" % LINE
                rows = [l for l in top.splitlines() if l.rstrip().endswith(want)]
                self.assertEqual(len(rows), 1, top)
                self.assertEqual(rows[0].split()[0], "%dB" % size, top)
                self.assertIn(" build ", rows[0])
                # -traces: the line's samples come through main() and add up to the same bytes
                traces = run([go, "tool", "pprof", "-traces", "-lines", "-unit=B",
                              "-symbolize=none", prof])
                total = 0
                for block in traces.split("-----------+")[1:]:
                    lines = [l for l in block.splitlines() if l.strip()]
                    frames = [l for l in lines if "report_known.py" in l or "<" in l]
                    if not frames or not frames[0].rstrip().endswith(want):
                        continue
                    self.assertIn("main %s:%d" % (SCRIPT, MAIN_CALL), block)
                    total += int(re.match(r"\s*(\d+)B", frames[0]).group(1))
                self.assertEqual(total, size, traces)
                raw = run([go, "tool", "pprof", "-raw", prof])
                self.assertIn("live_blocks/count live_bytes/bytes[dflt] alloc_blocks/count "
                              "alloc_bytes/bytes", raw)
                # allocated totals: the line allocated at least what it holds
                alloc = run([go, "tool", "pprof", "-top", "-lines", "-unit=B", "-symbolize=none",
                             "-sample_index=alloc_bytes", prof])
                arow = [l for l in alloc.splitlines() if l.rstrip().endswith(want)]
                self.assertEqual(len(arow), 1, alloc)
                self.assertGreaterEqual(int(arow[0].split()[0][:-1]), size)
                # peak view: the freed temporary is there, and no allocated totals
                peak = self.export(snap, "pprof", "--peak")
                ptop = run([go, "tool", "pprof", "-top", "-lines", "-unit=B", "-symbolize=none",
                            peak])
                self.assertIn("report_known.py:%d" % TEMP, ptop)
                self.assertNotIn("report_known.py:%d" % TEMP, top)
                self.assertNotIn("alloc_bytes", run([go, "tool", "pprof", "-raw", peak]))

    def test_pprof_native(self):
        """--native: native frames become locations in mappings (module path, build-id)."""
        go = report_tools.go()
        self.assertIsNotNone(go, report_tools.MISSING % "go")
        label, py = hstest.default_interpreters()[0]
        self.need(label, py)
        snap, size = self.known(label, py, "--native")
        raw = run([go, "tool", "pprof", "-raw", self.export(snap, "pprof")])
        maps = raw.split("Mappings", 1)[1]
        self.assertRegex(maps, r"libc\.so\.6 [0-9a-f]{40}")
        self.assertRegex(raw, r"\n\s+\d+: 0x[0-9a-f]+ M=\d+ \S+")  # a native location
        top = run([go, "tool", "pprof", "-top", "-lines", "-unit=B", "-symbolize=none",
                   self.export(snap, "pprof")])
        self.assertIn("report_known.py:%d" % LINE, top)

    def test_speedscope(self):
        import jsonschema  # Debian's python3-jsonschema (tools/setup.sh)

        schema_path = report_tools.speedscope_schema()
        self.assertIsNotNone(schema_path, report_tools.MISSING % "speedscope's schema")
        with open(schema_path) as f:
            schema = json.load(f)
        label, py = hstest.default_interpreters()[-1]
        self.need(label, py)
        snap, size = self.known(label, py)
        with open(self.export(snap, "speedscope")) as f:
            doc = json.load(f)
        jsonschema.Draft7Validator(schema).validate(doc)
        frames = doc["shared"]["frames"]
        prof = doc["profiles"][0]
        self.assertEqual(prof["unit"], "bytes")
        got = 0
        for stack, w in zip(prof["samples"], prof["weights"]):
            leaf = frames[stack[-1]]
            if leaf.get("file") == SCRIPT and leaf.get("line") == LINE:
                names = [frames[i]["name"] for i in stack]
                self.assertTrue(names[-2].startswith("main ("), names)
                got += w
        self.assertEqual(got, size)
        self.assertEqual(prof["endValue"], sum(prof["weights"]))
        # a broken document is refused by the same validator (the check can fail)
        doc["profiles"][0]["type"] = "sampledx"
        self.assertFalse(jsonschema.Draft7Validator(schema).is_valid(doc))

    def test_collapsed_renders(self):
        inferno = report_tools.inferno_flamegraph()
        self.assertIsNotNone(inferno, report_tools.MISSING % "inferno-flamegraph")
        label, py = hstest.default_interpreters()[1]
        self.need(label, py)
        snap, size = self.known(label, py)
        path = self.export(snap, "collapsed")
        with open(path) as f:
            lines = f.read().splitlines()
        leaf = "build (%s:%d)" % (SCRIPT, LINE)
        mine = [l for l in lines if l.rsplit(" ", 1)[0].endswith(leaf)]
        self.assertEqual(sum(int(l.rsplit(" ", 1)[1]) for l in mine), size)
        self.assertTrue(all(";main (%s:%d);" % (SCRIPT, MAIN_CALL) in l for l in mine), mine)
        svg = run([inferno, "--title", "known", "--countname", "bytes", path])
        self.assertTrue(svg.lstrip().startswith("<?xml"), svg[:200])
        m = re.search(r"<title>build \(%s:%d\) \(([\d,]+) bytes" % (re.escape(SCRIPT), LINE), svg)
        self.assertIsNotNone(m, "inferno's SVG has no frame for the BUFFERS line")
        self.assertEqual(int(m.group(1).replace(",", "")), size)

    def test_csv(self):
        label, py = hstest.default_interpreters()[0]
        self.need(label, py)
        snap, size = self.known(label, py)
        with open(self.export(snap, "csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        stats = hstest.stats(snap)["statistics"]
        self.assertEqual(len(rows), len(stats))
        mine = [r for r in rows if r["filename"] == SCRIPT and int(r["lineno"]) == LINE]
        self.assertEqual(len(mine), 1)
        self.assertEqual(int(mine[0]["size"]), size)
        self.assertEqual(mine[0]["function"], "build")
        self.assertEqual([int(r["size"]) for r in rows], [s["size"] for s in stats])

    def test_errors(self):
        label, py = hstest.default_interpreters()[0]
        snap = os.path.join(self.tmp, "missing.hsnap")
        p = hstest.cli("export", snap, "--format", "pprof", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("missing.hsnap", p.stderr)
        p = hstest.cli("export", snap, "--format", "svg", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("use pprof, speedscope, collapsed or csv", p.stderr)
        p = hstest.cli("export", "--help")
        self.assertIn("usage: heapshape export", p.stdout)


if __name__ == "__main__":
    import unittest

    unittest.main()
