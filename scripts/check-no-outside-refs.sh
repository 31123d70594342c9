#!/usr/bin/env bash
# Fails if a tracked file refers to files outside the repository (the design notes and provider
# specs that sessions were handed live beside the checkout, not in it): the project's own
# docs/ARCHITECTURE.md and docs/providers/ are what code and docs cite.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='(\.\./)?shared/(DESIGN|TAURI-NOTES|SLURM-NOTES)\.md|shared/specs|\bspec §'
if git grep -nE "$pattern" -- . ':!scripts/check-no-outside-refs.sh' ':!ui/package-lock.json'; then
  echo "check-no-outside-refs: cite docs/ARCHITECTURE.md or docs/providers/ instead" >&2
  exit 1
fi
echo "check-no-outside-refs: nothing refers to files outside the repository"
