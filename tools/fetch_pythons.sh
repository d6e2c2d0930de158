#!/usr/bin/env bash
# Provides CPython 3.14 and 3.15 on Debian 12, where no package of them exists: Debian unstable's
# ("sid") binary packages are downloaded with a PRIVATE apt configuration (own sources list,
# lists, cache and an empty dpkg status; the system's apt state is never read or written),
# unpacked with `dpkg -x` into one root, and the interpreters are patched (patchelf) to that
# root's loader and libraries, since they need sid's glibc. Then, per interpreter:
#
#   ROOT/usr/bin/python3.X           Debian's statically linked interpreter (patched)
#   ROOT/usr/bin/python3.X-shared    a 10-line launcher linked against libpython3.X.so.1.0
#   ROOT/usr/include/python3.X       headers, Include/internal among them (libpython3.X-dev)
#   ROOT/usr/lib/python3.X/test      the regression tests (libpython3.X-testsuite)
#   CACHE/venv-3.X/bin/python        a venv of the static interpreter with numpy and pytest
#
# CACHE is $HEAPSHAPE_PYTHONS, else /var/cache/heapshape/pythons when writable (root), else
# ${XDG_CACHE_HOME:-~/.cache}/heapshape/pythons; always outside the clone. Running it again is
# a no-op (one stat) once a run has finished. tests/e2e/hstest.py finds the same paths.
#
#   tools/fetch_pythons.sh           fetch if needed; prints CACHE on stdout
#   tools/fetch_pythons.sh --force   redo everything
set -euo pipefail

HS_PY_VERSIONS=(3.14 3.15)
# Bump when what this script produces changes: a cache with another stamp is rebuilt.
HS_PY_STAMP="fetch_pythons v1: ${HS_PY_VERSIONS[*]} numpy pytest shared-launcher"
HS_PY_LIBS=(libc6 libgcc-s1 libstdc++6 libbz2-1.0 libexpat1 libffi8 liblzma5 libzstd1 zlib1g
  libssl3t64 libsqlite3-0 libuuid1 libncursesw6 libtinfo6 libreadline8t64 libmpdec4
  python3-pip-whl python3-setuptools-whl)

hs_py_cache() {
  if [[ -n "${HEAPSHAPE_PYTHONS-}" ]]; then
    printf '%s\n' "$HEAPSHAPE_PYTHONS"
  elif mkdir -p /var/cache/heapshape/pythons 2>/dev/null && [[ -w /var/cache/heapshape/pythons ]]; then
    printf '%s\n' /var/cache/heapshape/pythons
  else
    printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/heapshape/pythons"
  fi
}

say() { echo "heapshape fetch_pythons: $*" >&2; }

# The Debian mirror the machine already uses (deb822 or one-line format).
hs_py_mirror() {
  local m
  m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*debian\)\/\{0,1\}[[:space:]]*$/\1/p' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v -- '-security' | head -n1 || true)
  if [[ -z "$m" ]]; then
    m=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*debian\)\/\{0,1\}[[:space:]].*/\2/p' \
          /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v -- '-security' | head -n1 || true)
  fi
  printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

hs_py_fetch() {
  local cache=$1 force=${2-}
  local root="$cache/root" lib="$cache/root/usr/lib/x86_64-linux-gnu"
  if [[ -z "$force" && -f "$cache/stamp" && "$(cat "$cache/stamp")" == "$HS_PY_STAMP" ]]; then
    return 0
  fi
  for t in apt-get dpkg patchelf gcc; do
    command -v "$t" >/dev/null 2>&1 || { say "needs $t (tools/setup.sh installs it)"; return 1; }
  done
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  flock 9 # a second run waits for the first, then finds its stamp
  if [[ -z "$force" && -f "$cache/stamp" && "$(cat "$cache/stamp")" == "$HS_PY_STAMP" ]]; then
    return 0
  fi
  say "fetching CPython ${HS_PY_VERSIONS[*]} from Debian sid into $cache"
  rm -f "$cache/stamp"

  # 1. Private apt: nothing under /var/lib/apt, /var/cache/apt or /var/lib/dpkg is used.
  local apt="$cache/apt"
  rm -rf "$apt" "$cache/debs"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$cache/debs"
  : >"$apt/status"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(hs_py_mirror) sid main" \
    >"$apt/sources.list"
  local aptopts=(-q -o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/none"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Dir::State::status=$apt/status"
    -o "APT::Architecture=amd64" -o "Debug::NoLocking=1" -o "Acquire::Languages=none"
    -o "APT::Sandbox::User=root")
  local t # no AppStream metadata (apt.conf.d/50appstream): 6 MB less
  for t in DEP-11 DEP-11-icons DEP-11-icons-small DEP-11-icons-hidpi; do
    aptopts+=(-o "Acquire::IndexTargets::deb::$t::DefaultEnabled=false")
  done
  apt-get "${aptopts[@]}" update >&2
  local pkgs=("${HS_PY_LIBS[@]}") v
  for v in "${HS_PY_VERSIONS[@]}"; do
    pkgs+=("python$v" "python$v-minimal" "libpython$v" "libpython$v-minimal" "libpython$v-stdlib"
      "python$v-venv" "libpython$v-dev" "libpython$v-testsuite")
  done
  (cd "$cache/debs" && apt-get "${aptopts[@]}" download "${pkgs[@]}" >&2)

  # 2. One root with every package unpacked.
  rm -rf "$root" "$cache"/venv-*
  mkdir -p "$root"
  local d
  for d in "$cache"/debs/*.deb; do dpkg -x "$d" "$root"; done
  [[ -x "$lib/ld-linux-x86-64.so.2" ]] || { say "no loader in $lib"; return 1; }

  for v in "${HS_PY_VERSIONS[@]}"; do
    local py="$root/usr/bin/python$v"
    # 3. The interpreter in place (it finds its stdlib from its own path): sid's loader, and
    #    DT_RPATH (not RUNPATH) so that extension modules' own libraries come from the root too.
    patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$lib" "$py"
    # The shared-libpython case: a launcher like python.c of a --enable-shared build.
    printf '%s\n' '#include <Python.h>' \
      'int main(int argc, char **argv) { return Py_BytesMain(argc, argv); }' >"$cache/launcher.c"
    gcc -O1 -o "$py-shared" "$cache/launcher.c" -I"$root/usr/include/python$v" \
      -I"$root/usr/include" -L"$lib" -l"python$v" \
      -Wl,--dynamic-linker="$lib/ld-linux-x86-64.so.2" -Wl,--allow-shlib-undefined -Wl,--disable-new-dtags -Wl,-rpath,"$lib"
    "$py" -c 'import ssl, sqlite3, ctypes, decimal, zlib, lzma, bz2' \
      || { say "python$v does not import its stdlib"; return 1; }
    "$py-shared" -c 'import sys, ssl; assert "libpython" not in sys.executable' \
      || { say "python$v-shared does not run"; return 1; }
    # 4. A venv with numpy and pytest, pip from Debian's wheel.
    local venv="$cache/venv-$v"
    "$py" -m venv --without-pip "$venv"
    local pipwhl
    pipwhl=$(ls "$root"/usr/share/python-wheels/pip-*.whl | head -n1)
    PIP_ROOT_USER_ACTION=ignore "$venv/bin/python" "$pipwhl/pip" install -q \
      --disable-pip-version-check "$pipwhl" numpy pytest >&2
    "$venv/bin/python" -c 'import numpy, pytest' || { say "venv-$v lacks numpy/pytest"; return 1; }
    say "python$v: $("$py" -c 'import sys; print(sys.version.split()[0])') at $py, venv $venv"
  done
  rm -rf "$apt" "$cache/debs" "$cache/launcher.c"
  printf '%s\n' "$HS_PY_STAMP" >"$cache/stamp"
}

main() {
  local cache
  cache=$(hs_py_cache)
  hs_py_fetch "$cache" "$([[ "${1-}" == "--force" ]] && echo force || true)"
  printf '%s\n' "$cache"
}

main "$@"
