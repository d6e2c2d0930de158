#!/usr/bin/env bash
# The sanitizer subset of the suite (docs/RELIABILITY.md), run by tests/run.sh after the main
# `bazel test //...`: the analyzer's unit tests, the fuzz corpus replay and a few end-to-end
# programs, built with --config=asan and with --config=ubsan (.bazelrc). Under ASan the e2e
# interpreters run with the ASan runtime preloaded first and the ASan-built shim after it.
#
#   tests/sanitize.sh OUTDIR [BAZEL_FLAGS...]
#
# Writes OUTDIR/bep-<config>.json and prints, on its last line, the arguments for
# tools/count_tests.py: "asan=OUTDIR/bep-asan.json:RC ubsan=OUTDIR/bep-ubsan.json:RC".
# HEAPSHAPE_SANITIZE=0 skips it (prints nothing).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=$1
shift
[[ "${HEAPSHAPE_SANITIZE-1}" == 0 ]] && exit 0

targets=(
  //tests:analyzer_reader_test
  //tests:analyzer_stats_test
  //tests:analyzer_anatomy_test
  //tests:analyzer_symbolize_test
  //tests:analyzer_cli_test
  //tests/fuzz:fuzz_corpus_file
  //tests/fuzz:fuzz_corpus_commands
  //tests:e2e_sanitized
)
args=()
for cfg in asan ubsan; do
  bazel test --config="$cfg" --build_event_json_file="$out/bep-$cfg.json" "$@" \
    "${targets[@]}" >&2
  args+=("$cfg=$out/bep-$cfg.json:$?")
done
echo "${args[*]}"
