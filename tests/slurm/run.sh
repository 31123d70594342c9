#!/usr/bin/env bash
# portholed's Slurm backend against a real one-node Slurm cluster: starts one in a scratch folder
# (tests/slurm/cluster.sh), runs crates/portholed/tests/slurm.rs one test at a time (the cluster
# has two CPUs and two fake GPUs), and stops the cluster whatever happened. Needs root; make
# test runs it. Extra arguments go to the test binary (a test name to run only that one).
# `run.sh --bench` runs the benchmark (crates/portholed/benches/slurm.rs) instead: make bench-slurm.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "slurm-test: needs root (slurmd runs jobs as their user)" >&2; exit 1; }

root=$(mktemp -d /tmp/porthole-slurm.XXXXXX)
stop() {
  tests/slurm/cluster.sh stop "$root" || true
  # Keep the daemons' logs when something failed.
  if [ "${failed:-1}" = 0 ]; then rm -rf "$root"; else echo "slurm-test: the cluster's logs are in $root/log" >&2; fi
}
trap stop EXIT
if [ "${1:-}" = --bench ]; then
  cargo build -q --release -p portholed --benches
  eval "$(tests/slurm/cluster.sh start "$root")"
  export SLURM_CONF
  cargo bench -q -p portholed --bench slurm
else
  cargo build -q -p portholed --tests
  eval "$(tests/slurm/cluster.sh start "$root")"
  export PORTHOLE_SLURM_ROOT=$root SLURM_CONF
  cargo test -q -p portholed --test slurm -- --test-threads=1 "$@"
fi
failed=0
