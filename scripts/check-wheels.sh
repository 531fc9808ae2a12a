#!/usr/bin/env bash
# Checks that every runtime dependency installs from a binary wheel on a Raspberry Pi
# (linux aarch64), so that an install on the Pi never compiles:
#   CPython 3.11 with glibc 2.36 (Raspberry Pi OS / Debian 12 Bookworm)
#   CPython 3.13 with glibc 2.41 (Debian 13 Trixie)
# llama-cpp-python (the local-llm extra) is excepted: it always builds from source.
#   scripts/check-wheels.sh              both
#   scripts/check-wheels.sh 3.13         one Python version
# Exit status: 0 if every version resolved, 1 otherwise. Needs network access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-python3}"
if [ -x .venv/bin/python ]; then python_bin=.venv/bin/python; fi
versions=("$@")
if [ "${#versions[@]}" -eq 0 ]; then versions=(3.11 3.13); fi

glibc_minor() {
  # Wheels tagged manylinux_2_X need glibc >= 2.X on the target; this is the target's glibc.
  case "$1" in
    3.11) echo 36 ;;
    3.12) echo 36 ;;  # not a Debian default; assume Bookworm's glibc
    *) echo 41 ;;
  esac
}

# The dependency list comes from pyproject.toml, with each marker evaluated for a Pi running
# the given Python (lgpio, for one, comes from Debian's python3-lgpio on 3.13).
deps_for() {  # deps_for VERSION
  "$python_bin" - "$1" <<'PY'
import sys
import tomllib

from packaging.markers import Marker

env = {"platform_machine": "aarch64", "sys_platform": "linux", "platform_system": "Linux",
       "os_name": "posix", "python_version": sys.argv[1], "python_full_version": sys.argv[1] + ".0",
       "implementation_name": "cpython", "platform_python_implementation": "CPython"}
with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)["project"]
for dep in project["dependencies"]:
    requirement, _, marker = dep.partition(";")
    if marker.strip() and not Marker(marker.strip()).evaluate(env):
        continue
    print(requirement.strip())
PY
}
mapfile -t deps < <(deps_for 3.11)
echo "dependencies (pyproject.toml): ${deps[*]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

download() {  # download VERSION DEST REQUIREMENT...
  local version="$1" dest="$2"
  shift 2
  local platforms=(--platform manylinux2014_aarch64)
  local minor
  for ((minor = 17; minor <= $(glibc_minor "$version"); minor++)); do
    platforms+=(--platform "manylinux_2_${minor}_aarch64")
  done
  "$python_bin" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
    --implementation cp --python-version "$version" --abi "cp${version/./}" \
    "${platforms[@]}" -d "$dest" "$@"
}

# Source-only packages that are pure Python: they install on the Pi without a compiler, so they
# warn instead of failing. (pip cannot mix --platform with sdists, so the dependency naming one of
# these is resolved without them; its other dependencies are then not checked.)
pure_sdists=" srt "

status=0
for version in "${versions[@]}"; do
  mapfile -t deps < <(deps_for "$version")
  log="$work/pip-$version.log"
  label="Python $version aarch64 glibc 2.$(glibc_minor "$version")"
  if download "$version" "$work/$version" "${deps[@]}" >"$log" 2>&1; then
    echo "$label: OK ($(find "$work/$version" -name '*.whl' | wc -l) wheels)"
    continue
  fi
  failures=()
  echo "$label: not all wheels; by dependency:"
  # pip stops at the first failure; try each dependency (with its own dependencies) to name all.
  for dep in "${deps[@]}"; do
    if ! download "$version" "$work/$version" "$dep" >"$log" 2>&1; then
      reason="$(grep -E 'No matching distribution|ResolutionImpossible|conflict' "$log" | head -1)"
      missing="$(sed -nE 's/.*No matching distribution found for ([A-Za-z0-9_.-]+).*/\1/p' "$log" | head -1)"
      if [ -n "$missing" ] && [[ "$pure_sdists" == *" $missing "* ]]; then
        echo "    $dep: WARN needs $missing, a pure-Python sdist (builds without a compiler)"
        continue
      fi
      failures+=("$dep")
      echo "    $dep: FAIL ${reason:-$(tail -1 "$log")}"
    fi
  done
  if [ "${#failures[@]}" -gt 0 ]; then
    status=1
    echo "$label: FAIL (${failures[*]})"
  else
    echo "$label: OK with warnings"
  fi
done
exit "$status"
