#!/usr/bin/env bash
# The desktop app's benchmark (`make bench-app`; not part of `make test`): the built app in a real
# window under Xvfb, in a private D-Bus session with a fresh unlocked gnome-keyring, driven through
# tauri-driver as in tests/e2e/run.sh; then the list-rendering benchmark on the web build. Prints
# one line per figure at the end. PORTHOLE_APP picks another binary (e.g. a release build); see
# tests/bench/app-bench.mjs for the other knobs.
set -euo pipefail
cd "$(dirname "$0")/../.."

app=${PORTHOLE_APP:-target/debug/porthole-desktop}
[ -x "$app" ] || { echo "bench-app: $app is not built (run make build)" >&2; exit 1; }
command -v tauri-driver >/dev/null || { echo "bench-app: tauri-driver is missing (run make deps)" >&2; exit 1; }
[ -d ui/node_modules ] || { echo "bench-app: ui/node_modules is missing (run make deps)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/porthole-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export XDG_DATA_HOME=$tmp/xdg-data XDG_CONFIG_HOME=$tmp/xdg-config XDG_CACHE_HOME=$tmp/xdg-cache
export PORTHOLE_APP=$(realpath "$app")
# A scratch HOME: the 50 terminal sessions' shells must not run this machine's ~/.bashrc (here it
# runs `pyenv rehash`, and 50 of them at once wait on its lock, busy, for a minute), so the
# machine is as idle as the app while CPU is measured.
export HOME=$tmp/home
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$HOME"

xvfb-run -a -s "-screen 0 1280x800x24" scripts/with-keyring.sh node tests/bench/app-bench.mjs \
  2> >(grep --line-buffered -v -e "Failed to set fd limit" -e "AT-SPI" -e "atk-bridge" \
    -e 'Unknown user config "nodedir"' >&2)
