#!/usr/bin/env bash
# Regenerates the lock files (exact versions with sha256 hashes) from pyproject.toml's ranges.
# One lock serves every target: it is resolved "universally" (uv pip compile --universal), for
# x86_64 and aarch64 and Python 3.11 to 3.13 at once, with the hashes of every wheel and sdist of
# each pinned version, so the same file installs on a development machine and on a Pi; a
# dependency for one platform only (lgpio) keeps its marker.
#
#   scripts/update-lock.sh                         add and drop what pyproject.toml changed,
#                                                  keep every other pin as it is
#   scripts/update-lock.sh --upgrade               newest versions that fit the ranges
#   scripts/update-lock.sh --upgrade-package NAME  newest NAME only (repeatable)
#   scripts/update-lock.sh -c FILE                 prefer these versions (e.g. `pip freeze` of
#                                                  a tested venv); any uv pip compile option works
#
# The files (commit them with the pyproject.toml change that needed them):
#   requirements.lock         what the assistant needs (scripts/install-pi.sh, scripts/setup.sh)
#   requirements-llm.lock     plus the local LLM engine (--with-local-llm)
#   requirements-dev.lock     plus the tests and lint tools (scripts/setup.sh --test, CI)
#   requirements-models.lock  model-only packages installed without their own dependencies
#                             (from requirements-models.in)
# The larger locks are resolved with requirements.lock as constraints, so a package has the
# same version in all of them. scripts/check_lock.py (run by the tests) fails when
# pyproject.toml asks for something a lock does not pin.
set -euo pipefail
cd "$(dirname "$0")/.."

uv_version=0.13.10
tools="${LOCK_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/assistant-lock-tools}"
if ! "$tools/bin/uv" --version 2>/dev/null | grep -qF "uv $uv_version"; then
  echo "update-lock: installing uv $uv_version into $tools"
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install -q --disable-pip-version-check "uv==$uv_version"
fi

compile() {  # compile OUTPUT INPUT [uv options...]
  local output="$1" input="$2"
  shift 2
  "$tools/bin/uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes \
    --custom-compile-command "scripts/update-lock.sh" "$input" -o "$output" "$@"
  echo "update-lock: $output ($(grep -c '==' "$output") packages)"
}

compile requirements.lock pyproject.toml "$@"
compile requirements-llm.lock pyproject.toml --extra local-llm -c requirements.lock "$@"
compile requirements-dev.lock pyproject.toml --extra local-llm --extra test -c requirements.lock "$@"
compile requirements-models.lock requirements-models.in --no-deps "$@"

if [ -x .venv/bin/python ]; then python_bin=.venv/bin/python; else python_bin=python3; fi
"$python_bin" scripts/check_lock.py
echo "update-lock: done. Next: scripts/setup.sh --test (installs the new pins), then"
echo "  .venv/bin/python scripts/third_party.py (the licence table in THIRD_PARTY.md), then commit"
