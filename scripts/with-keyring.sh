#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring: the real Secret
# Service, with a fresh store unless the caller chose XDG_DATA_HOME. The password must be a
# newline (`echo ""`), and an old login keyring must not be reused (it stays locked).
set -euo pipefail
if [ -z "${XDG_DATA_HOME:-}" ]; then
  store=$(mktemp -d /tmp/porthole-keyring.XXXXXX)
  trap 'rm -rf "$store"' EXIT
  export XDG_DATA_HOME=$store
fi
export PORTHOLE_REAL_KEYCHAIN=1
# This keyring is ours alone: tests may kill its daemon (crates/porthole-secrets/tests).
export PORTHOLE_PRIVATE_KEYRING=1
# If the daemon dies (gnome-keyring 42 has crashed on a GLib assertion under the test load, seen
# in dmesg as "trap int3"), the next call has D-Bus start it again. The bus reads
# $XDG_DATA_HOME/dbus-1/services first: there the Secret Service starts unlocked, on the same
# store, instead of asking for a password on a display that is not there.
mkdir -p "$XDG_DATA_HOME/dbus-1/services"
cat > "$XDG_DATA_HOME/dbus-1/services/org.freedesktop.secrets.service" <<'SERVICE'
[D-BUS Service]
Name=org.freedesktop.secrets
Exec=/bin/sh -c "echo | exec gnome-keyring-daemon --foreground --components=secrets --unlock >/dev/null"
SERVICE
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
