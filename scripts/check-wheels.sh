#!/usr/bin/env bash
# Checks that every package requirements.lock pins for a Raspberry Pi (linux aarch64) comes as
# a binary wheel whose hash is in the lock, so that an install on the Pi never compiles:
#   CPython 3.11 with glibc 2.36 (Raspberry Pi OS / Debian 12 Bookworm)
#   CPython 3.13 with glibc 2.41 (Debian 13 Trixie)
# llama-cpp-python (requirements-llm.lock) is not checked: it always builds from source.
#   scripts/check-wheels.sh              both
#   scripts/check-wheels.sh 3.13         one Python version
# Exit status: 0 if every version has its wheels, 1 otherwise. Needs network access to PyPI
# (it downloads about 400 MB per Python version into a temporary folder).
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

# The lock's entries (with their hashes) whose markers hold on a Pi running the given Python.
entries_for() {  # entries_for VERSION > requirements file
  "$python_bin" - "$1" <<'PY'
import sys

sys.path.insert(0, "scripts")
import check_lock

version = sys.argv[1]
env = dict(check_lock.TARGETS["aarch64 py3.11"], python_version=version,
           python_full_version=version + ".0")
for pin in check_lock.pinned_for(check_lock.read_lock(check_lock.ROOT / "requirements.lock"), env).values():
    first, *hashes = pin.lines
    print(first.split(";")[0].strip().rstrip("\\").strip() + " \\")
    print("\n".join(hashes).rstrip(" \\"))
PY
}

# Source-only packages that are pure Python: they install on the Pi without a compiler.
pure_sdists=" srt "

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
for version in "${versions[@]}"; do
  label="Python $version aarch64 glibc 2.$(glibc_minor "$version")"
  entries_for "$version" >"$work/req-$version.txt"
  platforms=(--platform manylinux2014_aarch64)
  for ((minor = 17; minor <= $(glibc_minor "$version"); minor++)); do
    platforms+=(--platform "manylinux_2_${minor}_aarch64")
  done
  # --no-deps: the lock is the whole closure already; --require-hashes: each file must be one the
  # lock names. Without --only-binary pip falls back to an sdist, which is then reported below.
  if ! "$python_bin" -m pip download --quiet --disable-pip-version-check --no-deps \
      --require-hashes --prefer-binary --implementation cp --python-version "$version" \
      --abi "cp${version/./}" "${platforms[@]}" -d "$work/$version" \
      -r "$work/req-$version.txt" >"$work/pip-$version.log" 2>&1; then
    status=1
    echo "$label: FAIL"
    grep -E "ERROR|THESE PACKAGES|Expected|Got|No matching" "$work/pip-$version.log" | head -20
    continue
  fi
  failures=()
  for file in "$work/$version"/*; do
    case "$file" in
      *.whl) ;;
      *)
        name="$(basename "$file" | sed -E 's/-[0-9][^-]*\.(tar\.gz|zip)$//')"
        if [[ "$pure_sdists" == *" $name "* ]]; then
          echo "    $name: WARN a pure-Python sdist (builds without a compiler)"
        else
          failures+=("$name")
        fi ;;
    esac
  done
  if [ "${#failures[@]}" -gt 0 ]; then
    status=1
    echo "$label: FAIL, no wheel for: ${failures[*]}"
  else
    echo "$label: OK ($(find "$work/$version" -name '*.whl' | wc -l) wheels, hashes as locked)"
  fi
done
exit "$status"
