#!/usr/bin/env bash
# Installs the assistant as a system service on Raspberry Pi OS 64-bit (Bookworm or later) or
# Debian 12+ (aarch64 or x86_64). Safe to run again: it upgrades the code and never overwrites
# /etc/assistant/assistant.yaml or the secrets file.
#   sudo scripts/install-pi.sh                    install, check the config, enable and start
#   sudo scripts/install-pi.sh --no-start         install and enable at boot, but do not start now
#   sudo scripts/install-pi.sh --with-local-llm   also the offline LLM engine (llama-cpp-python
#                                                 compiles from source: ~10-30 minutes on a Pi)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
prefix=/opt/assistant
venv="$prefix/venv"
etc=/etc/assistant
state=/var/lib/assistant
unit=/etc/systemd/system/assistant.service
user=assistant

start=1
local_llm=0
for arg in "$@"; do
  case "$arg" in
    --no-start) start=0 ;;
    --with-local-llm) local_llm=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install-pi.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "install-pi.sh: needs root to create a user, /opt, /etc and a systemd unit: run it with sudo" >&2
  exit 1
fi

say() { echo "install: $*"; }

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
# audio for /dev/snd; gpio exists on Raspberry Pi OS only (elsewhere the assistant uses mock pins).
for group in audio gpio; do
  if getent group "$group" >/dev/null; then usermod -a -G "$group" "$user"; fi
done

# --- code ----------------------------------------------------------------------------------------
install -d -m 0755 "$prefix"
if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  # System site packages make Debian's python3-lgpio visible; pip still installs everything else
  # inside the venv.
  python3 -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
say "installing the assistant from $repo (wheels only where available; this takes a few minutes)"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade "$repo"
if [ "$local_llm" = 1 ]; then
  say "building llama-cpp-python (compiles from source; ~10-30 minutes on a Pi)"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade "${repo}[local-llm]"
fi
if [ -f "$repo/README.md" ]; then install -m 0644 "$repo/README.md" "$prefix/README.md"; fi

# --- configuration, secrets, state ------------------------------------------------------------
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

# --- check before enabling -------------------------------------------------------------------
say "checking the configuration"
if ! runuser -u "$user" -- "$venv/bin/assistant" check-config --config "$etc/assistant.yaml"; then
  echo "install-pi.sh: $etc/assistant.yaml has a problem (above); fix it and run this again" >&2
  exit 1
fi

# --- systemd -----------------------------------------------------------------------------------
install -m 0644 "$repo/systemd/assistant.service" "$unit"
systemctl daemon-reload
if [ "$start" = 1 ]; then
  systemctl enable assistant.service
  # restart rather than start, so that a re-install runs the new code.
  systemctl restart assistant.service
  say "started; follow it with: journalctl -u assistant -f"
else
  systemctl enable assistant.service
  say "enabled at boot, not started (--no-start); start with: systemctl start assistant"
fi
say "check the set-up any time with: sudo -u $user $venv/bin/assistant doctor --config $etc/assistant.yaml"
