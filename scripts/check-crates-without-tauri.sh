#!/usr/bin/env bash
# Fails if any crate under crates/ depends on tauri, directly or through another dependency.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for manifest in crates/*/Cargo.toml; do
  pkg=$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n 1)
  if cargo tree -q -p "$pkg" --prefix none -e normal,build,dev 2>/dev/null | grep -qE '^tauri(-[a-z-]+)? v'; then
    echo "crates/ must not depend on tauri, but $pkg does:" >&2
    cargo tree -q -p "$pkg" -i tauri -e normal,build,dev >&2 || true
    status=1
  fi
done
[ $status -eq 0 ] && echo "check-crates-without-tauri: $(ls crates | wc -l) crates, none depends on tauri"
exit $status
