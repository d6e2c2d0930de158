#!/usr/bin/env python3
"""Counts test cases of one `bazel test` run for tests/run.sh.

Usage: count_tests.py BEP_JSON QUERY_FILE BAZEL_EXIT_CODE [NAME=BEP_JSON:EXIT_CODE ...]

BEP_JSON is the --build_event_json_file of the run, so only this run's results
(and this run's test.xml files) are read, never stale ones in bazel-testlogs.
QUERY_FILE holds `bazel query 'tests(//...)'` (empty if the query failed):
only those targets are counted. For each target, test cases are counted from
the JUnit XML (gtest's, or whatever the test wrote to $XML_OUTPUT_FILE, or the
one bazel writes for it). A target that failed without a failing test case in
its XML (failed to build, crashed, timed out...) counts as one failure; one that
passed without any XML counts as one pass. If bazel failed and nothing was
counted as failed, that counts as one failure.

Each NAME=BEP_JSON:EXIT_CODE is a further `bazel test` run over some of the same targets in
another configuration (tests/sanitize.sh: asan, ubsan); its targets count separately, as
"LABEL [NAME]".

Prints a per-target breakdown and, as the very last line,
"N passed, N failed[, N skipped]". Exits 1 if anything failed.
"""
import json
import os
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

PASSING = {"PASSED", "FLAKY"}


def xml_counts(path):
    """Returns (passed, failed, skipped) for one JUnit XML file, or None."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    passed = failed = skipped = 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif (case.find("skipped") is not None
              or case.get("status") == "notrun"
              or case.get("result") in ("skipped", "suppressed")):
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def uri_to_path(uri):
    if uri.startswith("file://"):
        return urllib.request.url2pathname(urllib.parse.urlparse(uri).path)
    return None


def read_bep(bep_path):
    configured_tests = set()  # test targets this run was asked for
    built = {}                # label -> bool (target completed successfully)
    results = {}              # label -> {(run, shard): (attempt, status, xml)}
    summary = {}              # label -> overallStatus
    try:
        with open(bep_path) as f:
            for line in f:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                eid = ev.get("id", {})
                if "targetConfigured" in eid:
                    label = eid["targetConfigured"]["label"]
                    conf = ev.get("configured", {})
                    if "testSize" in conf or conf.get("targetKind", "").endswith("_test rule"):
                        configured_tests.add(label)
                elif "targetCompleted" in eid:
                    label = eid["targetCompleted"]["label"]
                    ok = bool(ev.get("completed", {}).get("success")) and "aborted" not in ev
                    built[label] = built.get(label, True) and ok
                elif "testResult" in eid:
                    tid = eid["testResult"]
                    label = tid["label"]
                    key = (tid.get("run", 1), tid.get("shard", 1))
                    attempt = tid.get("attempt", 1)
                    tr = ev.get("testResult", {})
                    xml = None
                    for out in tr.get("testActionOutput", []):
                        if out.get("name") == "test.xml":
                            xml = uri_to_path(out.get("uri", ""))
                    prev = results.setdefault(label, {}).get(key)
                    if prev is None or attempt >= prev[0]:
                        results[label][key] = (attempt, tr.get("status", "NO_STATUS"), xml)
                elif "testSummary" in eid:
                    label = eid["testSummary"]["label"]
                    summary[label] = ev.get("testSummary", {}).get("overallStatus", "NO_STATUS")
                elif "aborted" in ev and "configuredLabel" in eid:
                    # Target that failed analysis.
                    built[eid["configuredLabel"]["label"]] = False
    except OSError:
        pass
    return configured_tests, built, results, summary


def count_run(bep_path, wanted, bazel_rc, suffix):
    """Prints one run's targets; returns (passed, failed, skipped)."""
    configured_tests, built, results, summary = read_bep(bep_path)
    labels = configured_tests | set(results) | set(summary)
    if wanted is not None:
        labels &= wanted

    tot_p = tot_f = tot_s = 0
    for label in sorted(labels):
        if label in summary:
            status = summary[label]
        elif label in results:
            sts = {r[1] for r in results[label].values()}
            status = "PASSED" if sts <= PASSING else sorted(sts - PASSING)[0]
        elif built.get(label) is False:
            status = "FAILED_TO_BUILD"
        else:
            # Built but not run (e.g. filtered out by --test_tag_filters).
            continue
        p = f = s = 0
        have_xml = False
        for _, _, xml in results.get(label, {}).values():
            if xml and os.path.isfile(xml):
                c = xml_counts(xml)
                if c is not None:
                    have_xml = True
                    p, f, s = p + c[0], f + c[1], s + c[2]
        if status in PASSING:
            if not have_xml or p + f + s == 0:
                p = max(p, 1)
        elif f == 0:
            f = 1
        tot_p, tot_f, tot_s = tot_p + p, tot_f + f, tot_s + s
        print("  %-16s %s%s  (%d passed, %d failed%s)" % (
            status, label, suffix, p, f, ", %d skipped" % s if s else ""))
    if bazel_rc != 0 and tot_f == 0 and not (bazel_rc == 4 and not labels):
        print("  bazel test%s exited with status %d (build or infrastructure failure)"
              % (suffix, bazel_rc))
        tot_f = 1
    return tot_p, tot_f, tot_s


def main():
    bep_path, query_path, bazel_rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
    wanted = None
    try:
        with open(query_path) as f:
            labels = {l.strip() for l in f if l.strip().startswith(("//", "@"))}
        wanted = labels or None
    except OSError:
        pass
    print("")
    print("heapshape test summary (test cases per target):")
    tot_p, tot_f, tot_s = count_run(bep_path, wanted, bazel_rc, "")
    for extra in sys.argv[4:]:
        name, rest = extra.split("=", 1)
        path, rc = rest.rsplit(":", 1)
        # these runs name their targets (some tagged manual), so no query filter
        p, f, s = count_run(path, None, int(rc), " [%s]" % name)
        tot_p, tot_f, tot_s = tot_p + p, tot_f + f, tot_s + s
    line = "%d passed, %d failed" % (tot_p, tot_f)
    if tot_s:
        line += ", %d skipped" % tot_s
    sys.stdout.flush()
    print(line)
    return 1 if tot_f else 0


if __name__ == "__main__":
    sys.exit(main())
