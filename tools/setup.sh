#!/usr/bin/env bash
# Installs what heapshape needs to build and test on Debian 12.
#
#   tools/setup.sh            Debian packages only (apt only if one is missing)
#   tools/setup.sh --pyenv    also numpy in each pyenv test interpreter, CPython 3.14/3.15
#                             with numpy and pytest (tools/fetch_pythons.sh, cached outside),
#                             and the wheel tools (tools/wheel_tools.sh: build, auditwheel)
#
# All output goes to stderr, so callers can keep stdout clean.
set -euo pipefail
exec 1>&2

HS_DEB_PACKAGES=(
  bazel-bootstrap bazel-platforms
  libunwind-dev uthash-dev libgtest-dev libdw-dev libelf-dev
  python3.11 python3-numpy python3-pytest python3-pytest-xdist
  gcc g++
  strace
  libpython3.11-testsuite
  clang libclang-rt-14-dev
  patchelf  # tools/fetch_pythons.sh
  protobuf-c-compiler libprotobuf-c-dev zlib1g-dev
)
# Only for the tests (--pyenv): what the export and report tests read their output back with.
HS_TEST_DEB_PACKAGES=(chromium python3-jsonschema fonts-dejavu-core)
HS_TOOLS=${HEAPSHAPE_TOOLS:-/var/cache/heapshape-tools}  # outside the clone: kept between runs
HS_PYENV_VERSIONS=(3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0)

hs_missing_debs() {
  # One dpkg-query call for all packages (fast path of ./heapshape).
  local installed p
  installed=" $(dpkg-query -W -f='${Package}=${Status}\n' "${HS_DEB_PACKAGES[@]}" 2>/dev/null \
    | sed -n 's/=install ok installed$//p' | tr '\n' ' ' || true) "
  for p in "${HS_DEB_PACKAGES[@]}"; do
    [[ "$installed" == *" $p "* ]] || printf '%s\n' "$p"
  done
}

hs_install_debs() {
  local missing
  mapfile -t missing < <(hs_missing_debs)
  ((${#missing[@]} == 0)) && return 0
  echo "heapshape setup: installing Debian packages: ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "heapshape setup: not root and no sudo; please install: ${missing[*]}"
      return 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

hs_pyenv_numpy() {
  local pyenv_bin root v py
  if command -v pyenv >/dev/null 2>&1; then
    pyenv_bin=$(command -v pyenv)
  elif [[ -x "${PYENV_ROOT:-$HOME/.pyenv}/bin/pyenv" ]]; then
    pyenv_bin="${PYENV_ROOT:-$HOME/.pyenv}/bin/pyenv"
  else
    echo "heapshape setup: pyenv not found; skipping numpy for pyenv interpreters"
    return 0
  fi
  root=$("$pyenv_bin" root) || { echo "heapshape setup: WARNING: 'pyenv root' failed"; return 0; }
  for v in "${HS_PYENV_VERSIONS[@]}"; do
    py="$root/versions/$v/bin/python"
    if [[ ! -x "$py" ]]; then
      echo "heapshape setup: WARNING: pyenv Python $v not installed; skipping"
      continue
    fi
    if ! "$py" -c 'import numpy' >/dev/null 2>&1; then
      echo "heapshape setup: pip-installing numpy for Python $v"
      PIP_ROOT_USER_ACTION=ignore "$py" -m pip install -q --disable-pip-version-check numpy \
        || echo "heapshape setup: WARNING: numpy install failed for Python $v"
    fi
    # pytest for the plugin's tests on 3.12 and 3.13 (tests/e2e/test_memray_verdicts.py)
    if [[ "$v" == 3.12.* || "$v" == 3.13.* ]] && ! "$py" -c 'import pytest' >/dev/null 2>&1; then
      echo "heapshape setup: pip-installing pytest for Python $v"
      PIP_ROOT_USER_ACTION=ignore "$py" -m pip install -q --disable-pip-version-check pytest \
        || echo "heapshape setup: WARNING: pytest install failed for Python $v"
    fi
  done
}

# Test tools of the export and report tests (tests/e2e/report_tools.py finds them): go for
# `go tool pprof` (Debian's golang-go when no Go is installed), inferno-flamegraph built once
# by cargo into $HS_TOOLS/cargo (about 5 minutes the first time), speedscope's JSON schema
# from npm into $HS_TOOLS/npm. Each is skipped when already there.
hs_report_tools() {
  if ! command -v go >/dev/null 2>&1 && [[ ! -x /usr/local/go/bin/go ]]; then
    HS_DEB_PACKAGES+=(golang-go)
  fi
  local cargo
  cargo=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
  if [[ ! -x "$HS_TOOLS/cargo/bin/inferno-flamegraph" && ! -x "$HOME/.cargo/bin/inferno-flamegraph" ]]; then
    if [[ -x "$cargo" ]]; then
      echo "heapshape setup: cargo install inferno (into $HS_TOOLS/cargo)"
      mkdir -p "$HS_TOOLS/cargo"
      "$cargo" install -q --locked --root "$HS_TOOLS/cargo" inferno@0.12.8 \
        || echo "heapshape setup: WARNING: cargo install inferno failed"
    else
      echo "heapshape setup: WARNING: no cargo; the collapsed-stacks test needs inferno-flamegraph"
    fi
  fi
  if [[ ! -f "$HS_TOOLS/npm/node_modules/speedscope/dist/release/file-format-schema.json" ]]; then
    if command -v npm >/dev/null 2>&1; then
      echo "heapshape setup: npm install speedscope (into $HS_TOOLS/npm)"
      mkdir -p "$HS_TOOLS/npm"
      (cd "$HS_TOOLS/npm" && npm install -s --no-audit --no-fund speedscope@1.25.0) \
        || echo "heapshape setup: WARNING: npm install speedscope failed"
    else
      echo "heapshape setup: WARNING: no npm; the speedscope test needs speedscope's schema"
    fi
  fi
}

if [[ "${1-}" == "--pyenv" ]]; then
  HS_DEB_PACKAGES+=("${HS_TEST_DEB_PACKAGES[@]}")
  hs_report_tools
fi
hs_install_debs
if [[ "${1-}" == "--pyenv" ]]; then
  hs_pyenv_numpy
  bash "$(dirname "${BASH_SOURCE[0]}")/fetch_pythons.sh" >/dev/null \
    || echo "heapshape setup: WARNING: CPython 3.14/3.15 not fetched (tools/fetch_pythons.sh); their tests will fail"
  # packaging tools from PyPI for tools/build_wheel.sh and tests/e2e/test_wheel.py
  bash "$(dirname "${BASH_SOURCE[0]}")/wheel_tools.sh" >/dev/null \
    || echo "heapshape setup: WARNING: the wheel tools (tools/wheel_tools.sh) could not be installed"
fi
