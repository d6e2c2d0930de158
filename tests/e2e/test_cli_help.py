"""The CLI explains itself: every command in the general help answers --help, -h and
`heapshape help COMMAND` with the same text (usage, options, one example), exit 0 on stdout;
every option a command's help lists is accepted by its parser, and every option string the
analyzer's sources know that the help does NOT list is refused by that parser ("unknown
option"); the general help lists every option of every command, and the README's command table
names every option the general help gives for that command."""
import os
import re
import subprocess
import tempfile

import hstest

OPT_RE = re.compile(r"(?<![\w-])(--?[a-z][a-z0-9-]*)")
# what the parser sees before the option, and after it (files that need not exist: options
# are parsed before any file is opened)
POSITIONAL = {
    "stats": ["a.hsnap"], "diff": ["a.hsnap", "b.hsnap"], "info": [], "timeline": ["a.hsnap"],
    "anatomy": ["a.hsnap"], "advise": ["a.hsnap"], "sizes": ["a.hsnap"],
    "check": ["a.hsnap", "b.hsnap"], "baseline": ["save", "a.hsnap"], "merge": ["a.hsnap"],
    "help": [], "run": [], "export": ["a.hsnap"], "report": ["a.hsnap"],
}
VALUES = {"N": "2", "SIZE": "1M", "PCT": "10%", "SIZE|PCT": "1M", "SECONDS": "0.5",
          "BYTES": "64K", "PATTERN": "*.py", "D": "obj"}


def options_of(text):
    """{option: value placeholder or None} from the Options: section of a command's help."""
    body = text.split("\nOptions:\n", 1)[1].split("\nExample:\n", 1)[0]
    out = {}
    for line in body.splitlines():
        m = re.match(r"\s{2}((?:-[-a-z0-9]+, )?)(--?[a-z][a-z0-9-]*)(?: (\S+))?", line)
        if not m:
            continue
        names = [n.strip(", ") for n in m.group(1).split()] + [m.group(2)]
        for n in names:
            if n:
                out[n] = m.group(3)
    return out


def source_options():
    """Every option-like string literal in the analyzer's C sources."""
    found = set()
    d = os.path.join(hstest.SRC, "analyzer")
    for name in os.listdir(d):
        if name.endswith(".c"):
            with open(os.path.join(d, name)) as f:
                found.update(re.findall(r'"(--?[a-z][a-z0-9-]*)', f.read()))
    return found


class CliHelp(hstest.TestCase):
    def cli(self, *args, cwd=None):
        return subprocess.run([hstest.CLI] + list(args), capture_output=True, text=True,
                              cwd=cwd or self.tmp, env=hstest.env(), timeout=120)

    def commands(self):
        general = self.cli("--help")
        self.assertEqual(general.returncode, 0, general.stderr)
        section = general.stdout.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
        names = re.findall(r"^  ([a-z]+)\b", section, re.M)
        self.assertGreaterEqual(len(names), 12, section)
        return general.stdout, section, names

    def value_for(self, placeholder):
        if placeholder is None or placeholder.startswith("-"):
            return []
        if placeholder in VALUES:
            return [VALUES[placeholder]]
        if "|" in placeholder:
            return [placeholder.split("|")[0]]
        return [os.path.join(self.tmp, "out.txt")]  # FILE, PATH, DIR, OUTPUT

    def test_every_command_explains_itself(self):
        general, section, names = self.commands()
        for cmd in names:
            with self.subTest(command=cmd):
                texts = []
                for args in ([cmd, "--help"], [cmd, "-h"], ["help", cmd]):
                    p = self.cli(*args)
                    self.assertEqual(p.returncode, 0, "%s: %s" % (args, p.stderr))
                    self.assertEqual(p.stderr, "")
                    texts.append(p.stdout)
                self.assertEqual(texts[0], texts[1])
                self.assertEqual(texts[0], texts[2])
                text = texts[0]
                self.assertTrue(text.startswith("usage: heapshape %s" % cmd), text)
                example = text.split("\nExample:\n", 1)[1]
                self.assertRegex(example, r"^  heapshape %s\b" % cmd)
                opts = options_of(text)
                self.assertIn("--help", opts)
                self.assertIn("-h", opts)
                # the general help lists every option of the command, on its line(s)
                entry = re.search(r"^  %s\b.*?(?=^  [a-z]+\b|\Z)" % cmd, section, re.M | re.S).group(0)
                if cmd in ("stats", "diff"):
                    entry += general.split("QUERY OPTIONS", 1)[1]
                for o in opts:
                    if o not in ("-h", "--help"):
                        self.assertRegex(entry, r"(?<![\w-])%s(?![\w-])" % re.escape(o),
                                         "general help, %s: %s missing" % (cmd, o))

    def test_help_matches_parser(self):
        _, _, names = self.commands()
        candidates = source_options()
        placeholders = {}  # an option's value in the help of any command, for the probes
        for cmd in names:
            opts = options_of(self.cli(cmd, "--help").stdout)
            candidates.update(opts)
            for o, ph in opts.items():
                placeholders.setdefault(o, ph)
        for cmd in names:
            with self.subTest(command=cmd):
                opts = options_of(self.cli(cmd, "--help").stdout)
                for o, placeholder in sorted(opts.items()):
                    if o in ("-h", "--help"):
                        continue
                    args = [cmd] + POSITIONAL[cmd][:1] + [o] + self.value_for(placeholder)
                    args += POSITIONAL[cmd][1:]
                    if cmd == "run":
                        args += ["--", "/bin/true"]
                    p = self.cli(*args)
                    self.assertNotIn("unknown option", p.stderr,
                                     "%s --help lists %s but the parser refuses it" % (cmd, o))
                for o in sorted(candidates - set(opts)):
                    value = self.value_for(placeholders[o]) if o in placeholders else ["x"]
                    args = [cmd] + POSITIONAL[cmd][:1] + [o] + value + POSITIONAL[cmd][1:]
                    if cmd == "run":
                        args += ["--", "/bin/true"]
                    p = self.cli(*args)
                    self.assertEqual(p.returncode, 2, "%s accepts %s, which its help does not "
                                     "list:\n%s" % (cmd, o, p.stderr))
                    self.assertIn('unknown option "%s"' % o, p.stderr,
                                  "%s: %s is not in its help; the parser said: %s"
                                  % (cmd, o, p.stderr))

    def test_run_passes_the_programs_help_through(self):
        p = self.cli("run", "--", "/bin/sh", "-c", "echo child-help $1", "sh", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("child-help --help", p.stdout)
        p = self.cli("run", "-o", os.path.join(self.tmp, "x.hsnap"), "--help")
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.startswith("usage: heapshape run"))

    def test_readme_table_matches(self):
        general, section, names = self.commands()
        with open(os.path.join(hstest.SRC, "README.md")) as f:
            readme = f.read()
        rows = [l for l in readme.splitlines() if l.startswith("| `heapshape ")]
        self.assertTrue(rows)
        for cmd in names:
            with self.subTest(command=cmd):
                row = [r for r in rows if re.search(r"`heapshape %s\b" % cmd, r)]
                self.assertTrue(row, "README's command table has no row for %s" % cmd)
                opts = set(options_of(self.cli(cmd, "--help").stdout)) - {"-h", "--help"}
                cells = " ".join(r.split(" | ")[0] for r in row)
                for o in opts:
                    self.assertRegex(cells, r"(?<![\w-])%s(?![\w-])" % re.escape(o),
                                     "README row of %s lacks %s" % (cmd, o))


if __name__ == "__main__":
    import unittest
    unittest.main()
