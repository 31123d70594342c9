#!/usr/bin/env bash
# Installs what Porthole needs to build, run and test on Debian 12 / Ubuntu 22.04+.
# Idempotent: when everything is present it only checks and returns in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi

# Debian packages: WebKitGTK and the tray for Tauri, the Secret Service, Xvfb and the E2E tools,
# Slurm and munge for the one-node cluster of make slurm-test. Kept in one list so make run and
# make test agree.
PKGS=(
  build-essential pkg-config curl wget file
  libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev libdbus-1-dev
  xvfb xauth fonts-dejavu-core webkit2gtk-driver
  dbus-x11 gnome-keyring libsecret-tools at-spi2-core dunst
  xdotool imagemagick chromium python3 desktop-file-utils xdg-utils iproute2
  slurm-wlm munge
)
if [ "${1:-}" = "--run-only" ]; then
  PKGS=(build-essential pkg-config curl file libwebkit2gtk-4.1-dev libxdo-dev libssl-dev
        libayatana-appindicator3-dev librsvg2-dev libdbus-1-dev gnome-keyring dbus-x11)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rust toolchain: rustup is the supported way; we only check for it.
command -v cargo >/dev/null || { echo "install-deps: cargo not found; install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy >/dev/null 2>&1 || true

# Node.js 18+ with npm.
if ! command -v npm >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# UI dependencies from the committed lockfile (npm ci), only when the lockfile changed.
stamp=ui/node_modules/.porthole-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s ui/package-lock.json "$stamp"; then
  echo "install-deps: npm ci in ui/"
  (cd ui && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  cp ui/package-lock.json "$stamp"
fi

if [ "${1:-}" != "--run-only" ]; then
  # tauri-driver, pinned to ^2, for the end-to-end suite.
  if ! command -v tauri-driver >/dev/null || ! tauri-driver --help 2>&1 | head -1 | grep -q .; then
    echo "install-deps: cargo install tauri-driver"
    cargo install tauri-driver --locked --version '^2' >/dev/null 2>&1
  fi
fi
