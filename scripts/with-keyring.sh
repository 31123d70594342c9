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
  set -euo pipefail
  echo "" | gnome-keyring-daemon --components=secrets --daemonize --unlock >/dev/null
  # The daemon can return before it owns its bus name. A caller that came first would then have
  # D-Bus start a second daemon, and the two end up dropping each other'"'"'s callers ("Message
  # recipient disconnected"). So wait, with a deadline, until the name is owned (asking the bus,
  # which starts nothing) and the unlocked default collection answers.
  owned() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"
  }
  ready() {
    owned && dbus-send --session --print-reply --dest=org.freedesktop.secrets \
      /org/freedesktop/secrets org.freedesktop.Secret.Service.ReadAlias string:default \
      2>/dev/null | grep -q "/org/freedesktop/secrets/collection/"
  }
  deadline=$((SECONDS + 30))
  until ready; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "with-keyring: gnome-keyring did not come up on the session bus within 30 s" >&2
      exit 1
    fi
    sleep 0.05
  done
  dbus-update-activation-environment DISPLAY XAUTHORITY >/dev/null 2>&1 || true
  "$@"
' with-keyring "$@" 2> >(grep --line-buffered -v -e "Failed to set fd limit" -e "Activating service" \
  -e "Successfully activated" -e "SpiRegistry daemon" >&2)
