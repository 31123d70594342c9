#!/usr/bin/env bash
# Runs the end-to-end suite: the built app in a real window under Xvfb, a private D-Bus session
# with an unlocked gnome-keyring (a fresh store per run), driven through tauri-driver.
set -euo pipefail
cd "$(dirname "$0")/../.."

app=${PORTHOLE_APP:-target/debug/porthole-desktop}
[ -x "$app" ] || { echo "e2e: $app is not built (run make build)" >&2; exit 1; }
[ -x target/debug/porthole-fakes ] || { echo "e2e: target/debug/porthole-fakes is not built (run cargo build -p porthole-fakes)" >&2; exit 1; }
command -v tauri-driver >/dev/null || { echo "e2e: tauri-driver is missing (run make deps)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/porthole-e2e.XXXXXX)
. tests/netns/lib.sh
remote_pid=
slurm_pid=
slurm_root=
cleanup() {
  [ -n "$remote_pid" ] && kill "$remote_pid" 2>/dev/null
  if [ -n "$slurm_pid" ]; then
    kill "$slurm_pid" 2>/dev/null
    wait "$slurm_pid" 2>/dev/null || true
  fi
  if [ -n "$slurm_root" ]; then
    tests/slurm/cluster.sh stop "$slurm_root" || true
    rm -rf "$slurm_root"
  fi
  netns_down
  rm -rf "$tmp"
}
trap cleanup EXIT
export XDG_DATA_HOME=$tmp/xdg-data XDG_CONFIG_HOME=$tmp/xdg-config XDG_CACHE_HOME=$tmp/xdg-cache
export PORTHOLE_CONFIG_DIR=$tmp/porthole-config PORTHOLE_DATA_DIR=$tmp/porthole-data
# Start at login writes $HOME/.config/autostart (the autostart crate ignores XDG_CONFIG_HOME).
export HOME=$tmp/home
mkdir -p "$HOME"
export PORTHOLE_APP=$PWD/$app
rm -rf target/e2e-screenshots
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"

# With the real Secret Service in a private D-Bus session, a notification daemon (dunst) and a
# monitor that records every notification for the test to read.
export PORTHOLE_E2E_NOTIFY_LOG=$tmp/notifications.log PORTHOLE_E2E_OUTPUT_LOG=$tmp/output.log
# dunst's context menu (`dunstctl context`) asks its dmenu program which action to invoke, one
# line per action: "#Label (summary) [id,action]". Ours answers with the first line holding
# what the test wrote in $PORTHOLE_E2E_DUNST_PICK, as a person picking it would.
export PORTHOLE_E2E_DUNST_PICK=$tmp/dunst-pick
cat >"$tmp/dunst-pick.sh" <<PICK
#!/bin/sh
grep -m1 -F "\$(cat "$PORTHOLE_E2E_DUNST_PICK")"
PICK
chmod +x "$tmp/dunst-pick.sh"
printf '[global]\n    dmenu = %s\n' "$tmp/dunst-pick.sh" >"$tmp/dunstrc"
# A paired GPU box for remote.test.mjs: portholed (the real binary) in a network namespace of its
# own (its sessions on its own loopback), and the pairing string it printed. Skipped, with a
# reason, where namespaces cannot be made (not root).
if netns_possible && [ -x target/debug/portholed ]; then
  netns_up e2e 10
  printf 'nvidia_smi = ""\n[machines.terminal]\nshell = "/bin/sh"\n' >"$tmp/remote.toml"
  ip netns exec "$NETNS_NAME" target/debug/portholed --listen "$NETNS_THERE:7788" --key-file \
    --data-dir "$tmp/remote" --config "$tmp/remote.toml" 2>"$tmp/remote.log" &
  remote_pid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$tmp/remote.log" && break; sleep 0.1; done
  PORTHOLE_E2E_REMOTE=$(ip netns exec "$NETNS_NAME" target/debug/portholed pair --data-dir "$tmp/remote" 2>/dev/null | head -1)
  export PORTHOLE_E2E_REMOTE PORTHOLE_E2E_REMOTE_LINK=$NETNS_HOST_IF
fi

# A Slurm cluster for slurm.test.mjs: a one-node Slurm (tests/slurm/cluster.sh) and a portholed
# whose sessions are its jobs, on loopback with TLS (as a login node's would be reached), and the
# pairing string it printed. Skipped, with a reason, without root or Slurm.
if [ "$(id -u)" -eq 0 ] && command -v slurmctld >/dev/null && [ -x target/debug/portholed ] \
   && { [ $# -eq 0 ] || [[ " $* " == *slurm.test.mjs* ]]; }; then
  # A folder of its own: munged wants every parent of its socket searchable ($tmp is 0700).
  slurm_root=$(mktemp -d /tmp/porthole-e2e-slurm.XXXXXX)
  cluster_env=$(tests/slurm/cluster.sh start "$slurm_root")
  eval "$cluster_env"
  export SLURM_CONF
  printf 'nvidia_smi = ""\nbackend = "slurm"\n[slurm]\npoll_seconds = 0.5\n[machines.terminal]\nshell = "/bin/sh"\n' >"$tmp/slurm.toml"
  target/debug/portholed --listen 127.0.0.1:7790 --tls --key-file --data-dir "$tmp/slurm-server" \
    --config "$tmp/slurm.toml" 2>"$tmp/slurm-server.log" &
  slurm_pid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$tmp/slurm-server.log" && break; sleep 0.1; done
  PORTHOLE_E2E_SLURM=$(target/debug/portholed pair --data-dir "$tmp/slurm-server" --address 127.0.0.1:7790 2>/dev/null | head -1)
  export PORTHOLE_E2E_SLURM
fi

# `tests/e2e/run.sh tests/e2e/sessions.test.mjs` runs only the files named (and no second part).
export PORTHOLE_E2E_FILES="${*:-tests/e2e/app.test.mjs tests/e2e/sessions.test.mjs tests/e2e/launch.test.mjs tests/e2e/notifications.test.mjs tests/e2e/ibm.test.mjs tests/e2e/airplane.test.mjs tests/e2e/scripted.test.mjs tests/e2e/remote.test.mjs tests/e2e/slurm.test.mjs tests/e2e/secrets.test.mjs}"
xvfb-run -a -s "-screen 0 1280x800x24" scripts/with-keyring.sh bash -c '
  dunst -config "$(dirname "$PORTHOLE_E2E_DUNST_PICK")/dunstrc" >/dev/null 2>&1 &
  dbus-monitor "interface=org.freedesktop.Notifications,member=Notify" >"$PORTHOLE_E2E_NOTIFY_LOG" 2>/dev/null &
  node --test --test-concurrency=1 --test-reporter=spec $PORTHOLE_E2E_FILES
'
[ $# -eq 0 ] || exit 0

# With no session bus at all: the app must still start and explain.
export PORTHOLE_DATA_DIR=$tmp/porthole-data-nobus PORTHOLE_CONFIG_DIR=$tmp/porthole-config-nobus
DBUS_SESSION_BUS_ADDRESS=unix:path=$tmp/no-such-bus xvfb-run -a -s "-screen 0 1280x800x24" \
  node --test --test-reporter=spec tests/e2e/nokeychain.test.mjs \
  2> >(grep -v -e "Failed to set fd limit" -e "AT-SPI" -e "atk-bridge" >&2)
