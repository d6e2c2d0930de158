"""`heapshape check`, `baseline save`, `merge`, `run --repeat` and `run --with-children` on real
programs: limits by total, by site and by peak (exit 1 naming the limit), jitter absorbed by
the median of repeated runs, corrupt or foreign baselines (exit 2, one line), the summed
processes of a multiprocessing.Pool, the Markdown/JUnit/JSON reports, and the steps of the CI
workflow kept in .github/workflows/memory.yml."""
import glob
import json
import os
import re
import shlex
import subprocess
import xml.etree.ElementTree as ET

import hstest

PY = "/usr/bin/python3.11"
APP = os.path.join(hstest.PROGRAMS, "check_app.py")
JITTER = os.path.join(hstest.PROGRAMS, "check_jitter.py")
POOL = os.path.join(hstest.PROGRAMS, "check_pool.py")
WORKFLOW = os.path.join(hstest.SRC, ".github", "workflows", "memory.yml")
BASELINE = os.path.join(hstest.SRC, ".github", "memory-baseline.txt")


def app_line(marker):
    return "check_app.py:%d" % hstest.find_line(APP, marker)


class CheckTestCase(hstest.TestCase):
    def run_app(self, name, python=PY, **env):
        out = os.path.join(self.tmp, name + ".hsnap")
        e = {k: str(v) for k, v in env.items()}
        hstest.profile([python, APP], out, cwd=self.tmp, extra_env=e)
        return out

    def check(self, *args):
        return hstest.cli("check", *args, check=False, cwd=self.tmp)

    def assertUsageError(self, p, *words):
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("heapshape: error: "), lines)
        for w in words:
            self.assertIn(w, lines[0])


class Limits(CheckTestCase):
    def test_total_increase_passes_then_fails(self):
        for label, py in hstest.default_interpreters():
            with self.subTest(python=label):
                self.need(label, py)
                base = self.run_app(label + "-base", py)
                same = self.run_app(label + "-same", py)
                big = self.run_app(label + "-big", py, N_KEEP=6000)  # +4 MB
                p = self.check(base, same, "--max-increase", "10%")
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertIn("heapshape check: OK", p.stdout)
                p = self.check(base, big, "--max-increase", "10%")
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                fail = [l for l in p.stdout.splitlines() if l.startswith("FAIL")]
                self.assertEqual(len(fail), 1, p.stdout)
                self.assertIn("--max-increase 10%", fail[0])
                self.assertIn("over the limit by", fail[0])
                # the top StatisticDiff line is the one that grew, with tracemalloc's format
                top = p.stdout.split("Top increases")[1].splitlines()[1]
                self.assertIn(app_line("KEEP_LINE") + ": size=", top)
                self.assertRegex(top, r"\(\+4\d\d\d KiB\), count=600\d \(\+4000\)")

    def test_site_limit_and_the_both_given_rule(self):
        base = self.run_app("base")
        grown = self.run_app("grown", N_SITE=400)  # +300 kB at SITE_LINE only (~5% of total)
        p = self.check(base, grown, "--max-increase", "10%")
        self.assertEqual(p.returncode, 0, p.stdout)
        p = self.check(base, grown, "--site-max-increase", "50%")
        self.assertEqual(p.returncode, 1, p.stdout)
        fail = [l for l in p.stdout.splitlines() if l.startswith("FAIL")]
        self.assertEqual(len(fail), 1, p.stdout)
        self.assertIn(app_line("SITE_LINE"), fail[0])
        self.assertIn("--site-max-increase 50%", fail[0])
        self.assertRegex(fail[0], r"\(\+(299|300)\.\d%\)")
        # a floor above the growth keeps the site from failing
        p = self.check(base, grown, "--site-max-increase", "50%", "--site-floor", "1MiB")
        self.assertEqual(p.returncode, 0, p.stdout)
        # both total limits given: the larger allowance wins (1 MiB > 1% of the total)
        p = self.check(base, grown, "--max-increase", "1%")
        self.assertEqual(p.returncode, 1, p.stdout)
        p = self.check(base, grown, "--max-increase", "1%", "--max-increase-bytes", "1MiB")
        self.assertEqual(p.returncode, 0, p.stdout)
        p = self.check(base, grown, "--max-increase", "1%", "--max-increase-bytes", "100KiB")
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("--max-increase 1% or --max-increase-bytes 100KiB", p.stdout)

    def test_peak_and_max_total(self):
        base = self.run_app("base")
        peaky = self.run_app("peaky", N_PEAK=5000)  # 5 MB allocated and freed before exit
        p = self.check(base, peaky)
        self.assertEqual(p.returncode, 0, p.stdout)  # live memory did not change
        p = self.check(base, peaky, "--max-peak", "20%")
        self.assertEqual(p.returncode, 1, p.stdout)
        fail = [l for l in p.stdout.splitlines() if l.startswith("FAIL")]
        self.assertEqual(len(fail), 1, p.stdout)
        self.assertIn("peak live memory", fail[0])
        self.assertIn("--max-peak 20%", fail[0])
        p = self.check(base, peaky, "--max-peak", "1GiB")
        self.assertEqual(p.returncode, 0, p.stdout)
        p = self.check(base, peaky, "--max-total", "100KiB")
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("--max-total 100KiB", p.stdout)


class Baselines(CheckTestCase):
    def test_baseline_file_is_stable_and_checkable(self):
        base = self.run_app("base")
        b1, b2 = os.path.join(self.tmp, "b1.txt"), os.path.join(self.tmp, "b2.txt")
        hstest.cli("baseline", "save", base, "--to", b1, cwd=self.tmp)
        hstest.cli("baseline", "save", base, "--to", b2, cwd=self.tmp)
        text = open(b1).read()
        self.assertEqual(text, open(b2).read())
        lines = text.splitlines()
        self.assertEqual(lines[0], "# heapshape baseline 1")
        sites = [l.split("\t") for l in lines if l.startswith("site\t")]
        keys = [(s[1], int(s[2])) for s in sites]
        self.assertEqual(keys, sorted(keys))
        # file names under the current directory are relative; no pid anywhere
        app = [s for s in sites if s[1].endswith("check_app.py")]
        self.assertTrue(app, text[:2000])
        self.assertFalse(any(s[1].startswith(self.tmp) for s in app), app)
        header = [l for l in lines if not l.startswith("site\t")]
        self.assertNotIn("pid", text)
        self.assertNotIn(str(self._pid(base)), " ".join(header).replace("\t", " ").split())
        keep = [s for s in app if int(s[2]) == hstest.find_line(APP, "KEEP_LINE")][0]
        self.assertGreaterEqual(int(keep[3]), 2000 * 1000)
        self.assertGreaterEqual(int(keep[4]), 2000)  # the bytes objects (and the list)
        self.assertGreaterEqual(int(keep[5]), int(keep[3]))  # peak >= live
        # a second run gives the same site lines for the program's own lines
        other = self.run_app("other")
        b3 = os.path.join(self.tmp, "b3.txt")
        hstest.cli("baseline", "save", other, "--to", b3, cwd=self.tmp)
        mine = lambda t: [l for l in t.splitlines() if "check_app.py" in l]
        self.assertEqual(mine(open(b3).read()), mine(text))
        # check accepts the baseline like a snapshot
        p = self.check(b1, other)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        big = self.run_app("big", N_KEEP=6000)
        p = self.check(b1, big, "--site-max-increase", "50%")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(app_line("KEEP_LINE"), p.stdout)

    def test_startup_lines_are_checked_as_one_group(self):
        """What the interpreter's start-up holds moves between <unknown>:0 and frozen
        importlib lines from run to run: --site-max-increase checks their total."""
        snap = self.run_app("startup")
        bl = os.path.join(self.tmp, "bl.txt")
        hstest.cli("baseline", "save", snap, "--to", bl, cwd=self.tmp)
        text = open(bl).read()
        unknown = re.search(r"^site\t<unknown>\t0\t(\d+)\t", text, re.M)
        frozen = re.search(r"^site\t<frozen importlib\._bootstrap_external>\t(\d+)\t(\d+)\t", text, re.M)
        self.assertIsNotNone(unknown, text[:3000])
        self.assertIsNotNone(frozen, text[:3000])
        moved = min(int(unknown.group(1)), int(frozen.group(2))) * 3 // 4
        def edit(unknown_delta, frozen_delta):
            t = re.sub(r"^(site\t<unknown>\t0\t)(\d+)", lambda m: m.group(1) + str(int(m.group(2)) + unknown_delta), text, flags=re.M)
            t = re.sub(r"^(site\t<frozen importlib\._bootstrap_external>\t%s\t)(\d+)" % frozen.group(1),
                       lambda m: m.group(1) + str(int(m.group(2)) + frozen_delta), t, flags=re.M)
            path = os.path.join(self.tmp, "edited.txt")
            with open(path, "w") as f:
                f.write(t)
            return path
        # the baseline had `moved` bytes more at <unknown>:0 and less at the frozen line: the
        # new snapshot's frozen line grew by far more than 25% and the floor, the total not
        p = self.check(edit(moved, -moved), snap, "--site-max-increase", "25%", "--site-floor", "16KiB")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # the group's total itself grew (the baseline had less at both): that fails, by name
        p = self.check(edit(-int(unknown.group(1)) * 3 // 4, 0), snap, "--site-max-increase", "25%",
                       "--site-floor", "16KiB")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("FAIL interpreter start-up (<frozen ...> and <unknown> lines) grew by", p.stdout)

    def _pid(self, snap):
        info = hstest.cli("info", snap).stdout
        return int(re.search(r"^pid: (\d+)", info, re.M).group(1))

    def test_corrupt_or_foreign_baseline(self):
        new = self.run_app("new")
        good = os.path.join(self.tmp, "good.txt")
        hstest.cli("baseline", "save", new, "--to", good, cwd=self.tmp)
        text = open(good).read()
        cases = {
            "foreign.txt": ("just some text\n", "neither a heapshape snapshot"),
            "empty.txt": ("", "the file is empty"),
            "version.txt": (text.replace("baseline 1", "baseline 9", 1), "version"),
            "garbled.txt": (text.replace("site\t", "site\tx\t", 1), "corrupt baseline"),
            "truncated.txt": ("\n".join(l for l in text.splitlines() if not l.startswith("total"))
                              + "\n", "incomplete"),
        }
        for name, (blob, word) in cases.items():
            path = os.path.join(self.tmp, name)
            with open(path, "w") as f:
                f.write(blob)
            with self.subTest(case=name):
                self.assertUsageError(self.check(path, new), path, word)
        with self.subTest(case="elf"):
            self.assertUsageError(self.check("/bin/true", new), "/bin/true")
        with self.subTest(case="truncated snapshot"):
            data = open(new, "rb").read()
            path = os.path.join(self.tmp, "cut.hsnap")
            with open(path, "wb") as f:
                f.write(data[: len(data) // 2])
            self.assertUsageError(self.check(path, new), path, "truncated")
        with self.subTest(case="missing"):
            self.assertUsageError(self.check(os.path.join(self.tmp, "nope.txt"), new), "nope.txt")
        with self.subTest(case="bad option"):
            self.assertUsageError(self.check(good, new, "--max-increase", "lots"), "--max-increase")


class Noise(CheckTestCase):
    def test_jitter_inside_tolerance_passes_over_merged_repeats(self):
        env = {"JITTER_STATE": os.path.join(self.tmp, "state")}
        base = os.path.join(self.tmp, "base.hsnap")
        new = os.path.join(self.tmp, "new.hsnap")
        hstest.cli("run", "--repeat", "3", "-o", base, "--", PY, JITTER, cwd=self.tmp, extra_env=env)
        hstest.cli("run", "--repeat", "3", "-o", new, "--", PY, JITTER, cwd=self.tmp, extra_env=env)
        runs = sorted(glob.glob(os.path.join(self.tmp, "new.run*.hsnap")))
        self.assertEqual([os.path.basename(r) for r in runs],
                         ["new.run1.hsnap", "new.run2.hsnap", "new.run3.hsnap"])
        # the noisy run alone fails the gate ...
        lives = [json.loads(hstest.cli("check", r, r, "--format", "json").stdout)["total"]["new"]
                 for r in runs]
        noisy = runs[lives.index(max(lives))]
        self.assertGreater(max(lives) - min(lives), 2_900_000, lives)
        p = self.check(base, noisy, "--max-increase", "10%")
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("check_jitter.py:%d" % hstest.find_line(JITTER, "SPIKE_LINE"), p.stdout)
        # ... the medians pass, even per site
        p = self.check(base, new, "--max-increase", "10%", "--site-max-increase", "10%")
        self.assertEqual(p.returncode, 0, p.stdout)
        info = hstest.cli("info", new).stdout
        self.assertIn("heapshape merge --median", info)
        for r in runs:
            self.assertIn(os.path.basename(r), info)
        # `heapshape merge` by hand gives the same totals
        by_hand = os.path.join(self.tmp, "by_hand.hsnap")
        hstest.cli("merge", *runs, "-o", by_hand)
        j1 = json.loads(hstest.cli("check", new, by_hand, "--format", "json").stdout)
        self.assertEqual(j1["total"]["baseline"], j1["total"]["new"])
        self.assertEqual(j1["total"]["new"], sorted(lives)[1])


class Processes(CheckTestCase):
    def test_multiprocessing_pool_children_are_summed(self):
        for label, py in [("debian-3.11", PY)] + [i for i in hstest.default_interpreters()
                                                  if i[0] == "3.12.1"]:
            with self.subTest(python=label):
                self.need(label, py)
                d = os.path.join(self.tmp, label)
                os.mkdir(d)
                out = os.path.join(d, "pool.hsnap")
                p = hstest.cli("run", "--with-children", "-o", out, "--", py, POOL, cwd=d)
                self.assertEqual(p.stdout.strip(), "15")
                per_process = sorted(glob.glob(os.path.join(d, "heapshape-check_pool-*.hsnap")))
                # the parent and the workers that ran a task: a forked worker writes when its
                # heap grew by 1 MiB (writers.c: a task keeps 1.2 MB), and one the pool gave no
                # task does not
                self.assertGreaterEqual(len(per_process), 2, os.listdir(d))
                info = hstest.cli("info", out).stdout
                self.assertIn("heapshape merge --sum", info)
                for f in per_process:
                    self.assertIn(os.path.basename(f), info)
                line = hstest.find_line(POOL, "WORKER_LINE")
                e = hstest.line_of(hstest.stats(out, "--limit", "0")["statistics"], POOL, line)
                self.assertIsNotNone(e, "no entry for the workers' line in the merged snapshot")
                self.assertGreaterEqual(e["size"], 6 * 1_200_000)
                self.assertLess(e["size"], 6 * 1_200_000 + 100_000)
                # merged total = sum of the processes' totals
                totals = [int(re.search(r"^live: (\d+)", hstest.cli("info", f).stdout, re.M).group(1))
                          for f in per_process]
                merged = int(re.search(r"^live: (\d+)", info, re.M).group(1))
                self.assertEqual(merged, sum(totals))
                # check on the merged result sees the workers' memory
                pids = {f: re.search(r"^pid: (\d+) \(parent (\d+)\)", hstest.cli("info", f).stdout,
                                     re.M).groups() for f in per_process}
                root = [f for f, (pid, _) in pids.items()
                        if sum(1 for _, pp in pids.values() if pp == pid) == len(pids) - 1]
                self.assertEqual(len(root), 1, "one process is the parent of the others: %r" % pids)
                self.assertIsNone(hstest.line_of(hstest.stats(root[0], "--limit", "0")["statistics"],
                                                 POOL, line))
                p = self.check(root[0], out, "--site-max-increase", "50%")
                self.assertEqual(p.returncode, 1, p.stdout)
                self.assertIn("check_pool.py:%d" % line, p.stdout)


class Reports(CheckTestCase):
    def setUp(self):
        super().setUp()
        self.base = self.run_app("base")
        self.big = self.run_app("big", N_KEEP=6000, N_SITE=400)
        self.args = [self.base, self.big, "--max-increase", "10%", "--site-max-increase", "50%"]

    def test_markdown(self):
        md = os.path.join(self.tmp, "check.md")
        p = self.check(*self.args, "--format", "markdown", "-o", md)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("FAIL", p.stderr)  # the reason is on stderr too
        text = open(md).read()
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith("### :x: heapshape memory check: 3 limits exceeded"), lines[0])
        table = [l for l in lines if l.startswith("|")]
        self.assertEqual(table[0].count("|"), 8)
        self.assertTrue(set(table[1].replace("|", "")) <= {"-"}, table[1])
        rows = table[2:]
        self.assertEqual(len(rows), 3, rows)
        self.assertTrue(all(r.count("|") == 8 for r in rows), rows)
        self.assertTrue(any(app_line("SITE_LINE").replace("_", "\\_") in r and ":x:" in r
                            for r in rows), rows)
        self.assertIn("<details open>", text)
        fence = [i for i, l in enumerate(lines) if l == "```"]
        self.assertEqual(len(fence), 2)
        self.assertIn(app_line("KEEP_LINE") + ": size=", lines[fence[0] + 1])
        ok = self.check(self.base, self.base, "--format", "markdown").stdout
        self.assertTrue(ok.startswith("### :white_check_mark:"), ok[:200])

    def test_junit(self):
        xml = os.path.join(self.tmp, "check.xml")
        p = self.check(*self.args, "--format", "junit", "-o", xml)
        self.assertEqual(p.returncode, 1, p.stderr)
        root = ET.parse(xml).getroot()
        self.assertEqual(root.tag, "testsuites")
        suite = root.find("testsuite")
        cases = suite.findall("testcase")
        failed = [c for c in cases if c.find("failure") is not None]
        self.assertEqual(int(suite.get("failures")), len(failed))
        self.assertEqual(int(suite.get("tests")), len(cases))
        self.assertEqual(len(failed), 3)
        site = [c for c in failed if app_line("SITE_LINE") in c.get("name")]
        self.assertEqual(len(site), 1, [c.get("name") for c in cases])
        self.assertIn("--site-max-increase 50%", site[0].get("name"))
        self.assertIn("over the limit", site[0].find("failure").get("message"))
        total = [c for c in failed if c.get("name").startswith("total live memory")][0]
        self.assertIn(app_line("KEEP_LINE"), total.find("failure").text)
        p = self.check(self.base, self.base, "--format", "junit")
        root = ET.fromstring(p.stdout)
        self.assertEqual(root.find("testsuite").get("failures"), "0")

    def test_json(self):
        p = self.check(*self.args, "--format", "json")
        self.assertEqual(p.returncode, 1)
        j = json.loads(p.stdout)
        self.assertEqual(j["result"], "fail")
        self.assertEqual(j["exceeded"], 3)
        kinds = sorted(l["kind"] for l in j["limits"] if l["exceeded"])
        self.assertEqual(kinds, ["increase", "site", "site"])
        self.assertEqual(j["total"]["diff"], j["total"]["new"] - j["total"]["baseline"])


class Workflow(CheckTestCase):
    def run_steps(self):
        """[(name, script)] of the workflow's `run:` steps that call ./heapshape, and the job's
        env (a small reader for the subset of YAML the file uses)."""
        steps, env, cur, block = [], {}, None, None
        lines = open(WORKFLOW).read().splitlines()
        i = 0
        while i < len(lines):
            l = lines[i]
            m = re.match(r"^(\s*)- name: (.*)$", l)
            if m:
                cur = {"name": m.group(2).strip(), "run": None}
                steps.append(cur)
            m = re.match(r"^(\s*)(?:- )?run: (.*)$", l)
            if m and cur is not None:
                if m.group(2).strip() == "|":
                    indent, body, i = None, [], i + 1
                    while i < len(lines) and (not lines[i].strip() or indent is None
                                              or lines[i].startswith(indent)):
                        if indent is None:
                            indent = re.match(r"^\s*", lines[i]).group(0)
                        body.append(lines[i][len(indent):])
                        i += 1
                    cur["run"] = "\n".join(body)
                    continue
                cur["run"] = m.group(2)
            m = re.match(r"^\s+(LIMITS): (.*)$", l)
            if m:
                env[m.group(1)] = m.group(2)
            i += 1
        return [(s["name"], s["run"]) for s in steps if s["run"] and "./heapshape" in s["run"]
                or (s["run"] and "GITHUB_STEP_SUMMARY" in s["run"])], env

    @staticmethod
    def heapshape_fn():
        """The workflow's ./heapshape: outside Bazel the repository's real wrapper script;
        inside a Bazel test (no nested bazel) the CLI it would run."""
        cmd = hstest.CLI if os.environ.get("TEST_SRCDIR") else os.path.join(hstest.SRC, "heapshape")
        return "heapshape() { %s \"$@\"; }" % shlex.quote(cmd)

    def test_ci_workflow_steps_on_pyenv_312(self):
        """The workflow on another interpreter: a baseline recorded by its own last step from
        one profile, then a second profile checked against it, passes."""
        py = [p for l, p in hstest.interpreters() if l == "3.12.1"][0]
        self.need("3.12.1", py)
        steps, env = self.run_steps()
        os.symlink(os.path.join(hstest.SRC, "examples"), os.path.join(self.tmp, "examples"))
        os.mkdir(os.path.join(self.tmp, ".github"))
        e = hstest.env()
        e.update(env)
        e["GITHUB_STEP_SUMMARY"] = os.path.join(self.tmp, "summary.md")
        shim = self.heapshape_fn()
        def step(word):
            script = [sc for n, sc in steps if word in n.lower()][0]
            script = script.replace("./heapshape", "heapshape").replace("/usr/bin/python3.11", py)
            return subprocess.run(["bash", "-eo", "pipefail", "-c", shim + "\n" + script],
                                  cwd=self.tmp, env=e, capture_output=True, text=True, timeout=900)
        for word in ("profile", "new baseline"):
            p = step(word)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        os.rename(os.path.join(self.tmp, "memory-baseline.txt"),
                  os.path.join(self.tmp, ".github", "memory-baseline.txt"))
        for word in ("profile", "check"):
            p = step(word)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("heapshape check: OK", p.stdout)

    def test_ci_workflow_steps(self):
        steps, env = self.run_steps()
        self.assertGreaterEqual(len(steps), 4, steps)
        self.assertIn("LIMITS", env)
        os.symlink(os.path.join(hstest.SRC, "examples"), os.path.join(self.tmp, "examples"))
        os.mkdir(os.path.join(self.tmp, ".github"))
        with open(BASELINE) as src, open(os.path.join(self.tmp, ".github", "memory-baseline.txt"), "w") as dst:
            dst.write(src.read())
        summary = os.path.join(self.tmp, "summary.md")
        e = hstest.env()
        e.update(env)
        e["GITHUB_STEP_SUMMARY"] = summary
        shim = self.heapshape_fn()
        for name, script in steps:
            with self.subTest(step=name):
                script = script.replace("./heapshape", "heapshape")
                p = subprocess.run(["bash", "-eo", "pipefail", "-c", shim + "\n" + script],
                                   cwd=self.tmp, env=e, capture_output=True, text=True,
                                   timeout=600)
                self.assertEqual(p.returncode, 0, "step %r failed:\n%s\n%s" % (name, p.stdout, p.stderr))
        self.assertTrue(open(summary).read().startswith("### :white_check_mark: heapshape memory check"))
        root = ET.parse(os.path.join(self.tmp, "memory-junit.xml")).getroot()
        self.assertEqual(root.find("testsuite").get("failures"), "0")
        self.assertGreaterEqual(int(root.find("testsuite").get("tests")), 3)
        new_bl = open(os.path.join(self.tmp, "memory-baseline.txt")).read()
        self.assertIn("site\texamples/inventory.py\t", new_bl)
        # the same steps against a baseline with half the memory fail at the check step
        half = open(BASELINE).read()
        half = re.sub(r"^(total\tlive_bytes\t)(\d+)", lambda m: m.group(1) + str(int(m.group(2)) // 2),
                      half, flags=re.M)
        with open(os.path.join(self.tmp, ".github", "memory-baseline.txt"), "w") as f:
            f.write(half)
        check = [s for n, s in steps if "check" in n.lower()][0]
        p = subprocess.run(["bash", "-eo", "pipefail", "-c", shim + "\n" + check.replace("./heapshape", "heapshape")],
                           cwd=self.tmp, env=e, capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("--max-increase 10% or --max-increase-bytes 1MiB", p.stdout)
