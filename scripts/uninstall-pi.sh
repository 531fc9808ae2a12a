#!/usr/bin/env bash
# Removes the assistant service and its code. Configuration (/etc/assistant) and state
# (/var/lib/assistant: device states, timers, fetched models) are kept so that a re-install
# carries on, unless --purge is given.
#   sudo scripts/uninstall-pi.sh            stop, disable, remove the unit and /opt/assistant
#   sudo scripts/uninstall-pi.sh --purge    also the config, the secrets, the state, the models
#                                           and the assistant user
set -euo pipefail

purge=0
for arg in "$@"; do
  case "$arg" in
    --purge) purge=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "uninstall-pi.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "uninstall-pi.sh: needs root to remove a systemd unit and /opt/assistant: run it with sudo" >&2
  exit 1
fi

say() { echo "uninstall: $*"; }
# Every path below sits under $root; it is empty except in tests/test_install_scripts.py, which
# runs this script on a copy of the layout in a temporary folder.
root="${ASSISTANT_TEST_ROOT:-}"
unit="$root/etc/systemd/system/assistant.service"

if systemctl list-unit-files assistant.service >/dev/null 2>&1; then
  say "stopping and disabling assistant.service"
  systemctl disable --now assistant.service 2>/dev/null || true
fi
if [ -e "$unit" ]; then
  rm -f "$unit"
  systemctl daemon-reload
  systemctl reset-failed assistant.service 2>/dev/null || true
fi
if [ "$(readlink "$root/usr/local/bin/assistant" 2>/dev/null)" = /opt/assistant/venv/bin/assistant ]; then
  rm -f "$root/usr/local/bin/assistant"
fi
if [ -d "$root/opt/assistant" ]; then
  say "removing /opt/assistant"
  rm -rf "$root/opt/assistant"
fi

if [ "$purge" = 1 ]; then
  say "purging /etc/assistant, /var/lib/assistant (state and models) and the assistant user"
  rm -rf "$root/etc/assistant" "$root/var/lib/assistant"
  if id -u assistant >/dev/null 2>&1; then userdel assistant; fi
else
  say "kept /etc/assistant (config, secrets) and /var/lib/assistant (state, models);" \
    "--purge removes them"
fi
