#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring: the real Secret
# Service, with a fresh store unless the caller chose XDG_DATA_HOME. See shared/TAURI-NOTES.md:
# the password must be a newline (`echo ""`), and an old login keyring must not be reused.
set -euo pipefail
if [ -z "${XDG_DATA_HOME:-}" ]; then
  store=$(mktemp -d /tmp/porthole-keyring.XXXXXX)
  trap 'rm -rf "$store"' EXIT
  export XDG_DATA_HOME=$store
fi
export PORTHOLE_REAL_KEYCHAIN=1
dbus-run-session -- bash -c '
  echo "" | gnome-keyring-daemon --components=secrets --daemonize --unlock >/dev/null
  dbus-update-activation-environment DISPLAY XAUTHORITY >/dev/null 2>&1 || true
  "$@"
' with-keyring "$@" 2> >(grep --line-buffered -v -e "Failed to set fd limit" -e "Activating service" \
  -e "Successfully activated" -e "SpiRegistry daemon" >&2)
