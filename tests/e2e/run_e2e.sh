#!/usr/bin/env bash
# Bazel sh_test entry for an end-to-end test module: runs it with Debian's python3.11 (the
# harness needs only the standard library) through runner.py, which writes JUnit XML.
set -euo pipefail
here="${TEST_SRCDIR}/${TEST_WORKSPACE}"
export HEAPSHAPE_CLI="$here/analyzer/heapshape"
export HEAPSHAPE_PRELOAD="$here/preload/libheapshape.so"
export HEAPSHAPE_SRC="$here"
py=/usr/bin/python3.11
[ -x "$py" ] || py=$(command -v python3)
exec "$py" "$here/tests/e2e/runner.py" "$here/$1"
