"""--native: native stacks from libunwind, symbolized offline, mixed with Python frames; C
extension allocations attributed to the Python line that called into them."""
import os
import subprocess

import hstest

TREE = os.path.join(hstest.SRC, "tests", "call_tree")
TREE_SRC = os.path.join(hstest.PROGRAMS, "call_tree.c")
NUMPY = os.path.join(hstest.PROGRAMS, "numpy_lines.py")


def frames_of(entry):
    return [(os.path.basename(f["filename"]), f["lineno"], f.get("name", "")) for f in entry["traceback"]]


class NativeStacks(hstest.TestCase):
    def test_call_tree_function_names_and_lines(self):
        out = os.path.join(self.tmp, "tree.hsnap")
        p = hstest.profile([TREE], out, frames="8", extra_env=None, native=True)
        self.assertEqual(p.stdout.strip(), "kept 8")
        stats = hstest.stats(out, "--key", "traceback", "--limit", "0")["statistics"]
        line = {m: hstest.find_line(TREE_SRC, "CALL-" + m) for m in
                ("malloc", "left", "right", "main-left", "main-right")}
        want = {
            "left": (3000, 3, [("call_tree.c", line["main-left"], "main"),
                               ("call_tree.c", line["left"], "left"),
                               ("call_tree.c", line["malloc"], "leaf")]),
            "right": (5000, 5, [("call_tree.c", line["main-right"], "main"),
                                ("call_tree.c", line["right"], "right"),
                                ("call_tree.c", line["malloc"], "leaf")]),
        }
        for path, (size, count, chain) in want.items():
            found = [e for e in stats if e["size"] == size and e["count"] == count]
            self.assertEqual(len(found), 1, "no single %d-byte stack for %s in %r" % (size, path, stats[:5]))
            fr = [f for f in frames_of(found[0]) if f[0] == "call_tree.c"]
            self.assertEqual(fr, chain, "stack of the %s path" % path)

    def test_mixed_python_and_native(self):
        py = "/usr/bin/python3.11"
        out = os.path.join(self.tmp, "mixed.hsnap")
        script = os.path.join(self.tmp, "mixed.py")
        with open(script, "w") as f:
            f.write("import json\n"
                    "def inner():\n"
                    "    return json.loads('[' + ','.join(['1.5'] * 100000) + ']')\n"
                    "data = inner()\n")
        hstest.profile([py, script], out, frames="40", native=True)
        stats = hstest.stats(out, "--key", "traceback", "--limit", "0")["statistics"]
        top = max(stats, key=lambda e: e["size"])
        names = [f[2] for f in frames_of(top)]
        files = [f[0] for f in frames_of(top)]
        # oldest first: the module line, then inner(), then native frames of the json decoder
        self.assertIn("mixed.py", files)
        i_module = files.index("mixed.py")
        self.assertEqual(frames_of(top)[i_module][1], 4)
        self.assertEqual(frames_of(top)[i_module + 1][:2], ("mixed.py", 3))
        self.assertTrue(any(n for n in names[i_module + 2:]), "no native frames under inner(): %r" % names)


class ExtensionAllocations(hstest.TestCase):
    def check(self, label, py, native):
        if subprocess.run([py, "-c", "import numpy"], capture_output=True).returncode != 0:
            self.skipTest("numpy is not installed for %s (tools/setup.sh installs it)" % label)
        out = os.path.join(self.tmp, "np-%s-%d.hsnap" % (label, native))
        hstest.profile([py, NUMPY], out, native=native, frames="24" if native else None)
        stats = hstest.stats(out, "--limit", "0")["statistics"]
        for marker, nbytes in (("# ZEROS", 32_000_000), ("# RAMP", 8_000_000)):
            e = hstest.line_of(stats, NUMPY, hstest.find_line(NUMPY, marker))
            self.assertIsNotNone(e, "%s: no entry for %s" % (label, marker))
            self.assertGreaterEqual(e["size"], nbytes)
            self.assertLess(e["size"], nbytes * 1.01)

    def test_numpy_data_at_creating_line(self):
        for label, py in hstest.default_interpreters():
            for native in (False, True):
                with self.subTest(python=label, native=native):
                    self.need(label, py)
                    self.check(label, py, native)
