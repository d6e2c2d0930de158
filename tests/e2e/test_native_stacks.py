"""--native: native stacks from libunwind, symbolized offline, mixed with Python frames; C
extension allocations attributed to the Python line that called into them."""
import os
import re
import shutil
import struct
import subprocess

import hstest

TREE = os.path.join(hstest.SRC, "tests", "call_tree")
TREE_SRC = os.path.join(hstest.PROGRAMS, "call_tree.c")
NUMPY = os.path.join(hstest.PROGRAMS, "numpy_lines.py")


def read_modules(path):
    """The MODS records of a v4 snapshot as [(module path, build-id hex, base)]."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"HSNAP\0\r\n", path
    version = struct.unpack_from("<I", data, 8)[0]
    assert version >= 4, "format version %d has no MODS" % version
    off, strings, mods = 32, [], None
    while off + 16 <= len(data):
        tag, _, length = struct.unpack_from("<4sIQ", data, off)
        p = off + 16
        if tag == b"STRS":
            n = struct.unpack_from("<I", data, p)[0]
            q = p + 4
            for _ in range(n):
                ln = struct.unpack_from("<I", data, q)[0]
                strings.append(data[q + 4:q + 4 + ln].decode("utf-8", "replace"))
                q += 4 + ln
        elif tag == b"MODS":
            n = struct.unpack_from("<I", data, p)[0]
            mods = [struct.unpack_from("<IIQQ", data, p + 8 + 24 * i)[:3] for i in range(n)]
        elif tag == b"END ":
            break
        off = p + ((length + 7) & ~7)
    assert mods is not None, "no MODS section in " + path
    return [(strings[a], strings[b], base) for a, b, base in mods]


def elf_build_id(path):
    """The GNU build-id of an ELF file as `readelf -n` reports it ("" if none)."""
    if shutil.which("readelf"):
        out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True,
                             check=True).stdout
        m = re.search(r"Build ID:\s*([0-9a-f]+)", out)
        return m.group(1) if m else ""
    # no binutils: the NT_GNU_BUILD_ID note of the PT_NOTE segments (64-bit little-endian ELF)
    with open(path, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        ptype, _, offset, _, _, filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        q, end = offset, offset + filesz
        while ptype == 4 and q + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", data, q)
            name = data[q + 12:q + 12 + namesz]
            desc_at = q + 12 + ((namesz + 3) & ~3)
            if ntype == 3 and name == b"GNU\0":
                return data[desc_at:desc_at + descsz].hex()
            q = desc_at + ((descsz + 3) & ~3)
    return ""


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

    def test_modules_carry_build_ids(self):
        out = os.path.join(self.tmp, "mods.hsnap")
        hstest.profile([TREE], out, frames="8", native=True)
        mods = read_modules(out)
        self.assertTrue(mods, "no MODS entries")
        by_path = {}
        for path, build_id, base in mods:
            self.assertRegex(build_id, r"^([0-9a-f]{2})*$", path)
            self.assertEqual(base % 4096, 0, "%s: base 0x%x" % (path, base))
            by_path.setdefault(path, set()).add(build_id)
        tree = [p for p in by_path if os.path.realpath(p) == os.path.realpath(TREE)]
        libc = [p for p in by_path if re.match(r"libc[.-].*so", os.path.basename(p))]
        self.assertEqual(len(tree), 1, "call_tree not among the modules: %r" % sorted(by_path))
        self.assertEqual(len(libc), 1, "libc not among the modules: %r" % sorted(by_path))
        for path in tree + libc:
            want = elf_build_id(path)
            self.assertTrue(want, "%s has no build-id" % path)
            self.assertEqual(by_path[path], {want}, path)
        # every module: what the file on disk says (they cannot have changed since the run)
        for path, ids in by_path.items():
            if os.path.exists(path):
                self.assertEqual(ids, {elf_build_id(path)}, path)
        info = hstest.cli("info", out).stdout
        self.assertIn("modules: %d\n" % len(mods), info)
        self.assertIn("build-id " + elf_build_id(tree[0]), info)
        # matching build-ids: symbolized, and no warning
        p = hstest.cli("stats", out, "--key", "traceback", "--format", "json", "--limit", "0")
        self.assertNotIn("has changed since the run", p.stderr)
        self.assertIn("leaf", p.stdout)

    def test_rebuilt_module_is_not_symbolized(self):
        prog = os.path.join(self.tmp, "call_tree_copy")
        shutil.copy(TREE, prog)
        out = os.path.join(self.tmp, "copy.hsnap")
        hstest.profile([prog], out, frames="8", native=True)
        recorded = {p: b for p, b, _ in read_modules(out)}
        self.assertIn(prog, recorded)
        # "rebuild" the program: another binary with another build-id at the same path
        other = os.path.join(hstest.SRC, "tests", "native_sites")
        os.unlink(prog)
        shutil.copy(other, prog)
        now = elf_build_id(prog)
        self.assertNotEqual(now, recorded[prog])
        p = hstest.cli("stats", out, "--key", "traceback", "--format", "json", "--limit", "0")
        warnings = [l for l in p.stderr.splitlines() if "has changed since the run" in l]
        self.assertEqual(warnings, ["heapshape: warning: %s: %s has changed since the run "
                                    "(build-id %s, now %s); its frames are not symbolized"
                                    % (out, prog, recorded[prog], now)], p.stderr)
        self.assertNotIn('"leaf"', p.stdout)
        self.assertIn(prog + "+0x", p.stdout)

    # Python -> C (map) -> Python -> C (list repeat): the mixed stack must interleave
    MAP_SCRIPT = ("def make(i):\n"
                  "    return [i] * 1000  # MAKE\n"
                  "def run():\n"
                  "    return list(map(make, range(2000)))  # MAP\n"
                  "kept = run()  # RUN\n")
    JSON_SCRIPT = ("import json\n"
                   "def inner():\n"
                   "    return json.loads('[' + ','.join(['1.5'] * 100000) + ']')\n"
                   "data = inner()\n")

    @staticmethod
    def is_python(frame):
        return frame[0].endswith(".py") or frame[0].startswith("<frozen")

    def mixed_run(self, label, py, name, text):
        script = os.path.join(self.tmp, name)
        with open(script, "w") as f:
            f.write(text)
        out = os.path.join(self.tmp, "%s-%s.hsnap" % (name, label))
        hstest.profile([py, script], out, frames="40", native=True)
        return script, hstest.stats(out, "--key", "traceback", "--limit", "0")["statistics"]

    def test_mixed_python_and_native(self):
        """Every interpreter (3.14/3.15 too, whose eval loop runs outside the
        _PyEval_EvalFrameDefault symbol): each Python frame stands where its call of the eval
        loop is in the native stack, outermost first."""
        shared = [(v + "-shared", hstest.fetched_python(v, shared=True)) for v in hstest.FETCHED_VERSIONS]
        for label, py in hstest.interpreters() + shared:
            with self.subTest(python=label):
                self.need(label, py)
                minor = int(re.search(r"3\.(\d+)", label).group(1))
                script, stats = self.mixed_run(label, py, "mixed_map.py", self.MAP_SCRIPT)
                base = os.path.basename(script)
                want = [(base, hstest.find_line(script, m)) for m in ("# RUN", "# MAP", "# MAKE")]
                count = 0
                for e in stats:
                    fr = frames_of(e)
                    py_at = [i for i, f in enumerate(fr) if self.is_python(f)]
                    if [fr[i][:2] for i in py_at] != want or e["size"] < 8000 * e["count"]:
                        continue
                    count += e["count"]
                    run_at, map_at, make_at = py_at
                    where = "%s: %r" % (label, fr)
                    self.assertGreater(run_at, 0, "no native frame outside the module's: " + where)
                    self.assertGreater(make_at - map_at, 1, "no native frame (map) between run() "
                                       "and make(): " + where)
                    self.assertLess(make_at, len(fr) - 1, "no native frame under make(): " + where)
                    if minor >= 11:  # run() is called inside the same eval loop call
                        self.assertEqual(map_at, run_at + 1, where)
                    else:
                        self.assertGreater(map_at, run_at + 1, where)
                self.assertEqual(count, 2000, "%s: item arrays of make() with the stack "
                                 "RUN/MAP/MAKE (%d stacks)" % (label, len(stats)))

                script, stats = self.mixed_run(label, py, "mixed_json.py", self.JSON_SCRIPT)
                top = max(stats, key=lambda e: e["size"])
                fr = frames_of(top)
                py_at = [i for i, f in enumerate(fr) if self.is_python(f)]
                pyf = [fr[i] for i in py_at]
                where = "%s: %r" % (label, fr)
                self.assertEqual([f[:2] for f in pyf[:2]], [("mixed_json.py", 4), ("mixed_json.py", 3)], where)
                self.assertEqual([f[0] for f in pyf[2:]], ["__init__.py", "decoder.py", "decoder.py"], where)
                self.assertGreater(py_at[0], 0, "no native frame outside the module's: " + where)
                self.assertLess(py_at[-1], len(fr) - 1, "no native frame (the json scanner) under "
                                "raw_decode: " + where)
                if minor >= 11:  # one eval loop call runs all five
                    self.assertEqual(py_at, list(range(py_at[0], py_at[0] + 5)), where)


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
