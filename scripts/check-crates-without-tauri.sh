#!/usr/bin/env bash
# Fails if any crate under crates/ depends on tauri, directly or through another dependency.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for manifest in crates/*/Cargo.toml; do
  pkg=$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n 1)
  # The tree first, so a failing `cargo tree` fails the check instead of passing it.
  tree=$(cargo tree -q -p "$pkg" --prefix none -e normal,build,dev)
  if grep -qE '^tauri(-[a-z-]+)? v' <<<"$tree"; then
    echo "crates/ must not depend on tauri, but $pkg does:" >&2
    cargo tree -q -p "$pkg" -i tauri -e normal,build,dev >&2 || true
    status=1
  fi
done
# The CLI is a client: it finds the Local server through porthole-local, never the server itself.
cli_tree=$(cargo tree -q -p porthole-cli --prefix none -e normal)
if grep -qE '^portholed v' <<<"$cli_tree"; then
  echo "porthole-cli must not depend on portholed (use porthole-local):" >&2
  cargo tree -q -p porthole-cli -i portholed -e normal >&2 || true
  status=1
fi
[ $status -eq 0 ] && echo "check-crates-without-tauri: $(ls crates | wc -l) crates, none depends on tauri; the CLI does not depend on portholed"
exit $status
