"""`heapshape advise` end to end: real interpreters run the before/after pairs of
examples/advise/ under `heapshape run`; the advice for each "before" must name the layout the
"after" was written in, and its estimate must hold for the "after".

  pairs        dict records, class instances, tuples of ints (struct of arrays, numpy
               columns) and mixed-kind dicts (one structured array, U13 for the str field),
               300,000 records each; and homogeneous numeric containers: a list of 1,000,000
               floats (one numpy array), 200,000 lists of 6 floats (one 2-D array), a dict of
               300,000 int -> float (two arrays): the preferred recommendation at the records' line has
               the expected kind, dtypes and objects; its current_bytes is within 15% of
               what heapshape measures at that line (records + the list holding them); and
               the estimate is within 15% of the live bytes measured for the "after".
  shapes       advise_shapes.py: two shapes at one line, one recommendation each; lists of
               strings never get a numeric array; str width = the longest sampled value
  threshold    advise_small.py: 50,000 records get no advice by default, and do with
               --min-objects 10000 (so the threshold, not the shape, decided)
  objects      records whose fields hold arbitrary objects get slots/namedtuple only
  ram          --ram 10MiB puts memmap first for the 300,000 dict records
  processes    advise_fork.py: two fork children build the same records at the same line;
               given every snapshot of the run, advise recommends shared-memory with one
               copy for both (and the combined current bytes)
  formats      markdown fit for a PR comment; text for examples/particles.py

How the "after" is measured: every line of an *_after.py that builds data that stays alive is
marked `# DATA` (the np.empty / table lines); the measurement is the sum of the live bytes
`heapshape stats` reports at those lines (the ndarray objects and their buffers: numpy's
allocations are attributed to the Python line that made them). The fill loops allocate only
temporaries. Subtracting an interpreter baseline instead (total live minus an empty program)
would fold in `import numpy` (several MB, version-dependent) and is not used.

numpy comes from the package managers (python3-numpy for Debian's python3.11, pip for the
pyenv builds; tools/setup.sh --pyenv installs both). When an interpreter lacks numpy, the
"after" half of the pair test is skipped with a message naming the interpreter; the advice
half still runs. Measured figures go to stderr (the test log).
"""
import glob
import json
import os
import subprocess
import sys

import hstest

EXAMPLES = os.path.join(hstest.SRC, "examples")
ADVISE = os.path.join(EXAMPLES, "advise")
PROGRAMS = hstest.PROGRAMS
N = 300_000

# name -> (preferred kind, {field name: dtype}, objects: records, or numbers of a container)
PAIRS = {
    "dict_records": ("soa-numpy", {"x": "float64", "y": "float64", "z": "float64"}, N),
    "instances": ("soa-numpy", {"x": "float64", "y": "float64", "vx": "float64", "vy": "float64"}, N),
    "tuples": ("soa-numpy", {"f0": "int64", "f1": "int64", "f2": "int64"}, N),
    "mixed": ("structured-array", {"id": "int64", "name": "U13", "value": "float64", "ok": "bool"}, N),
    # homogeneous numeric containers (format v5): a list of 1,000,000 floats, 200,000 lists of
    # 6 floats, a dict of 300,000 int -> float
    "float_list": ("numpy-array", {"values": "float64"}, 1_000_000),
    "matrix": ("numpy-2d", {"values": "float64"}, 200_000 * 6),
    "int_dict": ("two-arrays", {"keys": "int64", "values": "float64"}, 300_000),
}
NUMERIC_ARRAYS = {"soa-numpy", "numpy-array", "numpy-2d", "two-arrays", "memmap", "shared-memory"}


def note(msg):
    sys.stderr.write("[advise] %s\n" % msg)


def advise(*args):
    return json.loads(hstest.cli("advise", *args, "--format", "json").stdout)


def recs_at(doc, script, lineno):
    return [r for r in doc["recommendations"]
            if os.path.basename(r["filename"]) == os.path.basename(script) and r["lineno"] == lineno]


def has_numpy(py):
    return subprocess.run([py, "-c", "import numpy"], capture_output=True).returncode == 0


def live_at_lines(snapshot, script, lines):
    st = hstest.stats(snapshot)["statistics"]
    return sum(e["size"] for e in st
               if os.path.basename(e["filename"]) == os.path.basename(script) and e["lineno"] in lines)


def marked_lines(path, marker):
    with open(path) as f:
        return [i for i, line in enumerate(f, 1) if marker in line]


class BeforeAfterPairs(hstest.TestCase):
    def check(self, label, py, name):
        kind, dtypes, objects = PAIRS[name]
        before = os.path.join(ADVISE, name + "_before.py")
        after = os.path.join(ADVISE, name + "_after.py")
        line = hstest.find_line(before, "# RECORDS")
        out = os.path.join(self.tmp, "%s-before-%s.hsnap" % (name, label))
        hstest.profile([py, before], out)
        doc = advise(out)
        recs = recs_at(doc, before, line)
        self.assertTrue(recs, "%s %s: no advice at line %d: %r" % (label, name, line, doc))
        top = recs[0]
        self.assertEqual(top["kind"], kind, "%s %s: kinds %r" % (label, name, [r["kind"] for r in recs]))
        self.assertEqual({f["name"]: f["dtype"] for f in top["fields"]}, dtypes, label)
        self.assertGreaterEqual(top["objects"], objects * 0.999, label)
        self.assertLessEqual(top["objects"], objects + 1, label)
        self.assertEqual([r["rank"] for r in recs], list(range(1, len(recs) + 1)))
        if name == "tuples":  # already a tuple: namedtuple would change nothing
            self.assertNotIn("namedtuple", [r["kind"] for r in recs])
        self.assertGreater(top["ratio"], 3.0, "%s %s: ratio" % (label, name))
        self.assertAlmostEqual(top["ratio"], top["current_bytes"] / top["estimated_bytes"], places=3)
        # current bytes: records + list, all built on the records' line
        measured_before = live_at_lines(out, before, [line])
        self.assertClose(top["current_bytes"], measured_before, 0.15,
                         "%s %s current_bytes vs live bytes at line %d" % (label, name, line))
        if not has_numpy(py):
            self.skipTest("numpy is not installed for %s (%s): the after half of %s is skipped; "
                          "tools/setup.sh --pyenv installs it" % (label, py, name))
        out2 = os.path.join(self.tmp, "%s-after-%s.hsnap" % (name, label))
        hstest.profile([py, after], out2)
        data_lines = marked_lines(after, "# DATA")
        self.assertTrue(data_lines)
        measured = live_at_lines(out2, after, data_lines)
        est = top["estimated_bytes"]
        note("%s %s: %s estimate %d B, after measured %d B (%+.2f%%); before %d B current vs %d "
             "measured; ratio %.1fx" % (label, name, kind, est, measured,
                                       100.0 * (est - measured) / measured, top["current_bytes"],
                                       measured_before, top["ratio"]))
        self.assertTrue(abs(est - measured) <= 0.15 * measured,
                        "%s %s: estimate %d vs after %d" % (label, name, est, measured))

    def run_pairs(self, interps):
        for label, py in interps:
            for name in PAIRS:
                with self.subTest(python=label, pair=name):
                    self.need(label, py)
                    self.check(label, py, name)

    def test_default_interpreters(self):
        self.run_pairs(hstest.default_interpreters())


class ShapesAndStrings(hstest.TestCase):
    """programs/advise_shapes.py: two shapes at one line get a recommendation each (objects
    shared out by the sampled counts, adding up to the line's records); lists of four strings
    get no numeric array; a str field of 13- and 19-character values is U19 (the longest
    sampled value, said so), not the average U16 that would cut half of them."""
    SCRIPT = os.path.join(PROGRAMS, "advise_shapes.py")

    def test_default_interpreters(self):
        two = hstest.find_line(self.SCRIPT, "# TWO_SHAPES")
        strs = hstest.find_line(self.SCRIPT, "# STR_LISTS")
        long_ = hstest.find_line(self.SCRIPT, "# LONG_STR")
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                out = os.path.join(self.tmp, "shapes-%s.hsnap" % label)
                hstest.profile([py, self.SCRIPT], out)
                doc = advise(out)
                firsts = [r for r in recs_at(doc, self.SCRIPT, two) if r["rank"] == 1]
                keys = sorted(tuple(sorted(f["name"] for f in r["fields"])) for r in firsts)
                self.assertEqual(keys, [("alt", "city", "geo", "lat", "lon", "zip"), ("city", "geo", "zip")],
                                 "%s: %r" % (label, firsts))
                for r in firsts:
                    self.assertEqual(r["shape_groups"], 2, label)
                    self.assertGreater(r["objects"], 0.2 * r["row_objects"], label)
                self.assertLessEqual(abs(sum(r["objects"] for r in firsts) - firsts[0]["row_objects"]), 2, label)
                self.assertGreaterEqual(firsts[0]["row_objects"], 239_900, label)
                text = hstest.cli("advise", out).stdout
                self.assertIn("one of 2 shapes at this line", text)
                recs = recs_at(doc, self.SCRIPT, strs)
                self.assertTrue(recs, label)
                self.assertFalse({r["kind"] for r in recs} & NUMERIC_ARRAYS, "%s: %r" % (label, [r["kind"] for r in recs]))
                for r in recs:
                    self.assertTrue(all(f["type"] == "str" for f in r["fields"]), r["fields"])
                recs = [r for r in recs_at(doc, self.SCRIPT, long_) if r["kind"] == "structured-array"]
                self.assertEqual(len(recs), 1, label)
                name = {f["name"]: f["dtype"] for f in recs[0]["fields"]}["name"]
                self.assertEqual(name, "U19", label)
                self.assertEqual(recs[0]["str_width"], "longest", label)
                self.assertIn("longest", recs[0]["detail"])
                note("%s: two shapes -> %s; str lists -> %s; long str -> %s"
                     % (label, [(r["kind"], r["objects"]) for r in firsts],
                        sorted({r["kind"] for r in recs_at(doc, self.SCRIPT, strs)}), name))


class ThresholdAndObjects(hstest.TestCase):
    SCRIPT = os.path.join(PROGRAMS, "advise_small.py")

    def test_small_and_objects(self):
        small = hstest.find_line(self.SCRIPT, "# SMALL")
        objs = hstest.find_line(self.SCRIPT, "# OBJECTS")
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                out = os.path.join(self.tmp, "small-%s.hsnap" % label)
                hstest.profile([py, self.SCRIPT], out)
                doc = advise(out)
                self.assertEqual(recs_at(doc, self.SCRIPT, small), [], "%s: advice under 100,000" % label)
                self.assertGreater(doc["below_threshold"], 0)
                low = advise(out, "--min-objects", "10000")
                kinds = [r["kind"] for r in recs_at(low, self.SCRIPT, small)]
                self.assertEqual(kinds[:1], ["soa-numpy"], "%s: --min-objects 10000: %r" % (label, kinds))
                # arbitrary objects in the fields: slots or namedtuple, never numpy
                kinds = [r["kind"] for r in recs_at(doc, self.SCRIPT, objs)]
                self.assertTrue(kinds, "%s: no advice for the object records" % label)
                self.assertLessEqual(set(kinds), {"slots-dataclass", "namedtuple"}, label)
                fields = {f["name"]: f["type"] for f in recs_at(doc, self.SCRIPT, objs)[0]["fields"]}
                self.assertEqual(fields, {"node": "object", "next": "object", "w": "float"})
                note("%s: small site silent by default, object records -> %s" % (label, kinds))


class RamAndProcesses(hstest.TestCase):
    def test_ram_memmap_first(self):
        label, py = hstest.default_interpreters()[0]
        self.need(label, py)
        script = os.path.join(ADVISE, "dict_records_before.py")
        line = hstest.find_line(script, "# RECORDS")
        out = os.path.join(self.tmp, "ram.hsnap")
        hstest.profile([py, script], out)
        kinds = [r["kind"] for r in recs_at(advise(out, "--ram", "10MiB"), script, line)]
        self.assertEqual(kinds[:2], ["memmap", "soa-numpy"])
        kinds = [r["kind"] for r in recs_at(advise(out), script, line)]
        self.assertNotIn("memmap", kinds)  # this machine has more than 80 MB of RAM
        p = hstest.cli("advise", out, "--ram", "lots", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--ram", p.stderr)

    def test_fork_children_shared_memory(self):
        script = os.path.join(PROGRAMS, "advise_fork.py")
        line = hstest.find_line(script, "# FORKED")
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                d = os.path.join(self.tmp, label)
                os.mkdir(d)
                out = os.path.join(d, "fork.hsnap")
                hstest.profile([py, script], out, cwd=d)
                children = glob.glob(os.path.join(d, "heapshape-*.hsnap"))
                self.assertEqual(len(children), 2, os.listdir(d))
                # one child alone: no shared-memory advice
                one = [r["kind"] for r in recs_at(advise(children[0]), script, line)]
                self.assertEqual(one[:1], ["soa-numpy"], label)
                doc = advise(out, *children)
                recs = recs_at(doc, script, line)
                self.assertTrue(recs, label)
                top = recs[0]
                self.assertEqual(top["kind"], "shared-memory", [r["kind"] for r in recs])
                self.assertEqual(top["processes"], 2)
                self.assertGreaterEqual(top["objects"], 2 * 150_000 * 0.999)
                one_copy = 3 * (112 + 8 * 150_000)
                self.assertClose(top["estimated_bytes"], one_copy, 0.01, "%s shared copy" % label)
                per_child = [recs_at(advise(c), script, line)[0]["current_bytes"] for c in children]
                self.assertClose(top["current_bytes"], sum(per_child), 0.001, "%s combined" % label)
                soa = [r for r in recs if r["kind"] == "soa-numpy"][0]
                self.assertGreater(soa["estimated_bytes"], 1.9 * top["estimated_bytes"])
                note("%s: 2 children, current %d B, shared copy %d B (saving %d B)"
                     % (label, top["current_bytes"], top["estimated_bytes"], top["saving_bytes"]))


class Formats(hstest.TestCase):
    def test_particles_text_and_markdown(self):
        label, py = hstest.default_interpreters()[0]
        self.need(label, py)
        script = os.path.join(EXAMPLES, "particles.py")
        out = os.path.join(self.tmp, "particles.hsnap")
        hstest.profile([py, script], out)
        text = hstest.cli("advise", out).stdout
        note("particles.py (%s):\n%s" % (label, text))
        self.assertIn("particles.py:%d" % hstest.find_line(script, "# PARTICLES"), text)
        self.assertIn("1. soa-numpy", text)
        self.assertIn("mass = np.empty(n, dtype=np.float64)", text)
        self.assertIn('r["mass"]', text)
        md = hstest.cli("advise", out, "--format", "markdown").stdout
        self.assertIn("```python\n", md)
        self.assertIn("| 1 | soa-numpy |", md)
        self.assertTrue(md.startswith("## heapshape advise"), md[:80])
        p = hstest.cli("advise", out, "--format", "yaml", check=False)
        self.assertEqual(p.returncode, 2)
        p = hstest.cli("advise", check=False)
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    import unittest
    unittest.main()
