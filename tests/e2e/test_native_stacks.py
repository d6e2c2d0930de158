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
