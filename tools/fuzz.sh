#!/usr/bin/env bash
# Fuzzes the snapshot reader and the analyzer commands with libFuzzer (docs/RELIABILITY.md).
#
#   tools/fuzz.sh [--runs N | --time SECONDS] [TARGET...]  build (bazel --config=fuzz), run
#   tools/fuzz.sh --make-seeds                          regenerate tests/fuzz/corpus/
#
# TARGETs are fuzz_meta ... fuzz_part (one per snapshot section), fuzz_file and
# fuzz_commands (default: all). Each runs -runs=N executions (default 1,000,000; or for
# --time SECONDS, -max_total_time) from the
# committed seeds (tests/fuzz/corpus) plus its own working corpus in
# ${HEAPSHAPE_FUZZ_DIR:-$HOME/.cache/heapshape-fuzz}/<target>, with -rss_limit_mb=2048 and
# -timeout=10 (a hang or an input using 2 GB is a failure like a crash); crashes are written
# next to the working corpus. The last line of each target's log gives its execution count
# ("Done N runs"); a summary table goes to stdout. Exit status 1 if any target failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=1000000
time_limit=0
targets=()
sections=(meta strs frms site type anat shap peak time estm mods elem part)
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --time) time_limit=$2; runs=-1; shift 2 ;;
    --make-seeds) make_seeds=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=("${sections[@]/#/fuzz_}" fuzz_file fuzz_commands)
work=${HEAPSHAPE_FUZZ_DIR:-$HOME/.cache/heapshape-fuzz}
corpus=$PWD/tests/fuzz/corpus

if [[ -n "${make_seeds-}" ]]; then
  # Real snapshots of small programs under the shim (three interpreters, every mode that
  # fills a section), shrunk to their 5 biggest sites; one of them also in format versions
  # 1 to 3 (older readers' paths).
  bazel build --noshow_progress //analyzer:heapshape //preload:libheapshape.so \
    //tests/fuzz:shrink_snapshot //tests:native_sites || exit 1
  bin=$(bazel info bazel-bin 2>/dev/null)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  hs() { HEAPSHAPE_PRELOAD=$bin/preload/libheapshape.so "$bin/analyzer/heapshape" run "$@" 2>/dev/null >/dev/null; }
  py311=/usr/bin/python3.11 py312=$HOME/.pyenv/versions/3.12.1/bin/python3
  py313=$HOME/.pyenv/versions/3.13.0/bin/python3
  cat >"$tmp/small.py" <<'PY'
import collections
P = collections.namedtuple("P", "x y")
class C:
    def __init__(self, i): self.a = i; self.b = float(i); self.c = str(i)
class S:
    __slots__ = ("u", "v")
    def __init__(self, i): self.u = i; self.v = (i, i)
keep = [C(i) for i in range(3000)] + [S(i) for i in range(2000)]
recs = [{"x": float(i), "y": i * 2, "name": "n%d" % i} for i in range(3000)]
tups = [P(float(i), i) for i in range(1500)] + [[i, float(i), str(i)] for i in range(1500)]
big = [bytearray(40000) for _ in range(60)]
del big
PY
  (cd "$tmp" && hs -o a311.hsnap --interval 0.05 -- $py311 small.py \
    && hs -o a313.hsnap -- $py313 small.py \
    && hs -o n312.hsnap --native -- $py312 small.py \
    && hs -o s313.hsnap --sample-rate 4K -- $py313 small.py \
    && hs -o c.hsnap --native -- "$bin/tests/native_sites") || { echo "fuzz.sh: a seed run failed" >&2; exit 1; }
  rm -f "$corpus"/seed-*
  mkdir -p "$corpus"
  for f in a311 a313 n312 s313 c; do
    "$bin/tests/fuzz/shrink_snapshot" "$tmp/$f.hsnap" "$corpus/seed-$f.hsnap" 5 || exit 1
  done
  # a partial per-test pair (format v6, PART), small as written
  cat >"$tmp/part.py" <<'PY'
import ctypes
lib = ctypes.PyDLL(None)
keep = [str(i) * 3 for i in range(2000)]
lib.heapshape_mark()
grown = [bytearray(1000) for _ in range(300)]
del keep[:500]
lib.heapshape_snapshot_since_mark(b"part-since.hsnap", b"part-mark.hsnap")
PY
  (cd "$tmp" && hs -o p.hsnap -- $py311 part.py && cp part-since.hsnap "$corpus/seed-part-since.hsnap" \
    && cp part-mark.hsnap "$corpus/seed-part-mark.hsnap") || { echo "fuzz.sh: the partial seed run failed" >&2; exit 1; }
  for v in 1 2 3; do
    "$bin/tests/fuzz/shrink_snapshot" "$tmp/a311.hsnap" "$corpus/seed-a311-v$v.hsnap" 3 "$v" || exit 1
  done
  ls -l "$corpus"
  exit 0
fi

bazel build --config=fuzz --noshow_progress //tests/fuzz:all_fuzzers >&2 || exit 1
bin=$(bazel info --config=fuzz bazel-bin 2>/dev/null)
mkdir -p "$work"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
total=0
printf '%-16s %12s %9s %s\n' target executions seconds result
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "$work/$t.crashes"
  log="$work/$t.log"
  start=$SECONDS
  # -close_fd_mask=3: the commands' own stdout/stderr (libFuzzer keeps its own stderr)
  "$bin/tests/fuzz/$t" -runs="$runs" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
    -max_len=65536 -close_fd_mask=3 -print_final_stats=1 -max_total_time="$time_limit" \
    -artifact_prefix="$work/$t.crashes/" "$work/$t" "$corpus" >"$log" 2>&1
  rc=$?
  n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s+=$1} END {print s+0}')
  [[ "$n" == 0 ]] && n=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  total=$((total + n))
  if ((rc != 0)) || ls "$work/$t.crashes" | grep -q .; then
    failed=1
    res="FAILED (rc $rc; $log, $work/$t.crashes)"
  else
    res=ok
  fi
  printf '%-16s %12s %9s %s\n' "$t" "$n" "$((SECONDS - start))" "$res"
done
printf '%-16s %12s\n' total "$total"
exit "$failed"
