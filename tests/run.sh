#!/usr/bin/env bash
# The ONE test command of heapshape: sets up a fresh Debian 12 machine (as root)
# if needed, runs `bazel test //...` and prints, as its very last line,
#   N passed, N failed[, N skipped]
# counted over the JUnit XML of every test target in `bazel query 'tests(//...)'`.
# Extra arguments are passed to `bazel test` (e.g. --test_filter=Smoke.*).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! bash tools/setup.sh --pyenv; then
  echo "tests/run.sh: setup failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/heapshape-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

bazel_flags=(--keep_going --build_event_json_file="$tmp/bep.json")
if [[ -n "${CI-}" || ! -t 1 ]]; then
  bazel_flags+=(--curses=no --color=no --show_progress_rate_limit=30)
fi

bazel test "${bazel_flags[@]}" //... "$@"
bazel_rc=$?

bazel query --noshow_progress 'tests(//...)' >"$tmp/tests.txt" 2>"$tmp/query.err" \
  || { echo "tests/run.sh: 'bazel query tests(//...)' failed:" >&2; cat "$tmp/query.err" >&2; : >"$tmp/tests.txt"; }

# The analyzer's tests and a few e2e programs again under ASan and UBSan (tests/sanitize.sh).
read -r -a sanitized < <(bash tests/sanitize.sh "$tmp" "${bazel_flags[@]/--build_event_json_file=*/--color=no}" "$@" | tail -1)

python3 tools/count_tests.py "$tmp/bep.json" "$tmp/tests.txt" "$bazel_rc" "${sanitized[@]}"
count_rc=$?
if ((bazel_rc != 0 && count_rc == 0)); then
  exit "$bazel_rc"
fi
exit "$count_rc"
