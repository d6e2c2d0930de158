"""Runs one end-to-end test module with unittest and writes JUnit XML for tests/run.sh.

Usage (from a Bazel sh_test/py wrapper): python3 runner.py tests/e2e/test_x.py
Writes $XML_OUTPUT_FILE (Bazel sets it) with one <testcase> per test method, including
skips with their reason, and exits 1 if any test failed or errored.
"""
import importlib.util
import os
import sys
import time
import unittest
import xml.etree.ElementTree as ET


class _Result(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.cases = []  # (id, seconds, kind, text)
        self._t0 = {}

    def startTest(self, test):
        self._t0[test.id()] = time.time()
        super().startTest(test)

    def _add(self, test, kind, text=""):
        self.cases.append((test.id(), time.time() - self._t0.get(test.id(), time.time()), kind, text))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._add(test, "pass")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._add(test, "failure", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._add(test, "error", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._add(test, "skipped", reason)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = "failure" if issubclass(err[0], test.failureException) else "error"
            self._add(subtest, kind, self._exc_info_to_string(err, test))


def main():
    path = sys.argv[1]
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec.loader.exec_module(mod)
    suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
    runner = unittest.TextTestRunner(resultclass=_Result, verbosity=2, stream=sys.stderr)
    result = runner.run(suite)
    out = os.environ.get("XML_OUTPUT_FILE")
    if out:
        suite_el = ET.Element("testsuite", name=mod.__name__, tests=str(len(result.cases)))
        for cid, secs, kind, text in result.cases:
            cls, _, name = cid.rpartition(".")
            el = ET.SubElement(suite_el, "testcase", classname=cls, name=name, time="%.3f" % secs)
            if kind in ("failure", "error"):
                ET.SubElement(el, kind, message=text.strip().splitlines()[-1][:500] if text.strip() else kind).text = text
            elif kind == "skipped":
                ET.SubElement(el, "skipped", message=text)
        root = ET.Element("testsuites")
        root.append(suite_el)
        ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
