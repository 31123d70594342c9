#!/usr/bin/env bash
# portholed on a second machine: a network namespace with its own loopback, joined to this one by
# a veth pair on 10.231.7.0/30, so the server's 127.0.0.1 (where sessions listen) cannot be
# reached from here, as on a real GPU box. From this side, as a person would: pair with the
# string `portholed pair` printed there, list the server's GPUs, launch a session, see that its
# own address is unreachable, forward it with the CLI through the TLS tunnel and fetch its page,
# download a file while the link goes down and comes back (the download finishes, nothing
# hangs), and check that the API key is in no log or file on either side but the server's key
# file. Needs root (ip netns); make test runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "netns: needs root (ip netns)" >&2; exit 1; }

. tests/netns/lib.sh
tmp=$(mktemp -d /tmp/porthole-netns.XXXXXX)
server_pid=
forward_pid=
cleanup() {
  [ -n "$forward_pid" ] && kill "$forward_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  netns_down
  rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
fail() { echo "FAIL $*" >&2; [ -f "$tmp/server.log" ] && sed 's/^/  server: /' "$tmp/server.log" >&2; exit 1; }
wait_for() { # what, seconds, command…
  local what=$1 limit=$2; shift 2
  for _ in $(seq 1 $((limit * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "timed out after ${limit}s waiting for $what"
}

cargo build -q -p portholed -p porthole-cli --features porthole-cli/scripted
portholed=$PWD/target/debug/portholed
porthole=$PWD/target/debug/porthole

netns_up remote 7
ns=$NETNS_NAME host_if=$NETNS_HOST_IF there=$NETNS_THERE

# The server: a page server as its session template, serving a folder with a 24 MiB file.
mkdir -p "$tmp/files"
head -c $((24 * 1024 * 1024)) /dev/urandom >"$tmp/files/big.bin"
want=$(sha256sum "$tmp/files/big.bin" | cut -d' ' -f1)
cat >"$tmp/portholed.toml" <<TOML
nvidia_smi = ""
[machines.files]
command = ["python3", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
cwd = "$tmp/files"
TOML
ip netns exec "$ns" env RUST_LOG=info "$portholed" --listen "$there:7788" --data-dir "$tmp/server" \
  --key-file --config "$tmp/portholed.toml" 2>"$tmp/server.log" &
server_pid=$!
wait_for "portholed in the namespace" 30 grep -q "listening on https://$there:7788" "$tmp/server.log"
ok "portholed serves TLS on $there:7788 inside the namespace"

string=$(ip netns exec "$ns" "$portholed" pair --data-dir "$tmp/server" | head -1)
export PORTHOLE_CONFIG_DIR=$tmp/config PORTHOLE_DATA_DIR=$tmp/data NETNS_TMP=$tmp PORTHOLE_BIN=$porthole
export NETNS_STRING=$string NETNS_HOST_IF=$host_if NETNS_WANT=$want
scripts/with-keyring.sh bash -c '
  set -euo pipefail
  tmp=$NETNS_TMP; porthole=$PORTHOLE_BIN
  ok() { echo "ok   $*"; }
  fail() { echo "FAIL $*" >&2; exit 1; }
  "$porthole" accounts add box --pair "$NETNS_STRING" >/dev/null
  ok "paired from this side with the string portholed pair printed there"
  "$porthole" -a box resources --json | grep -q "\"CPU\"" || fail "the server'"'"'s GPUs are not listed"
  ok "the server'"'"'s GPUs are listed"
  launched=$("$porthole" -a box sessions launch --machine files --minutes 10 --json)
  id=$(printf "%s" "$launched" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"id\"])")
  url=$(printf "%s" "$launched" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"url\"])")
  case "$url" in http://127.0.0.1:*) ;; *) fail "the session URL is not the server'"'"'s loopback: $url" ;; esac
  port=${url#http://127.0.0.1:}; port=${port%%/*}
  # (Unless another program of this side happens to listen on that port.)
  if [ "$(ss -Hltn "sport = :$port" | wc -l)" -eq 0 ]; then
    ! curl -s --max-time 3 -o /dev/null "http://127.0.0.1:$port/" || fail "the session answered here"
  fi
  ok "a session launched there listens on the server'"'"'s loopback only"

  mkfifo "$tmp/stdin"; exec 7<>"$tmp/stdin"
  "$porthole" -a box sessions forward "$id" --json <&7 >"$tmp/forward.json" 2>"$tmp/forward.err" &
  forward=$!
  for _ in $(seq 1 100); do [ -s "$tmp/forward.json" ] && break; sleep 0.1; done
  open=$(head -1 "$tmp/forward.json" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"open_url\"])")
  local_url=$(head -1 "$tmp/forward.json" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"local_url\"])")
  curl -s --max-time 20 -c "$tmp/jar" -b "$tmp/jar" -L "$open" | grep -q "big.bin" \
    || fail "the forwarded page did not list the files"
  ok "porthole sessions forward serves the session on $local_url through the tunnel"

  # A download through the tunnel, the link down for 3 s in the middle of it.
  curl -s --max-time 120 --limit-rate 3M -b "$tmp/jar" -o "$tmp/got.bin" "$local_url/big.bin" &
  download=$!
  sleep 2
  ip link set "$NETNS_HOST_IF" down
  sleep 3
  ip link set "$NETNS_HOST_IF" up
  wait "$download" || fail "the download failed after the link came back"
  [ "$(sha256sum "$tmp/got.bin" | cut -d" " -f1)" = "$NETNS_WANT" ] || fail "the download is not the file"
  ok "a download survives the link going down for 3 s and back, byte for byte"

  # And a new request after the drop goes through (the tunnel reopens).
  curl -s --max-time 20 -b "$tmp/jar" "$local_url/" | grep -q "big.bin" || fail "no page after the drop"
  kill -INT "$forward"; wait "$forward" || fail "forward did not stop cleanly on Ctrl-C"
  ok "after the drop new requests go through, and Ctrl-C stops the forward"
  "$porthole" -a box sessions stop "$id" >/dev/null
  "$porthole" accounts remove box >/dev/null
'
pass=$((pass + 6))

key=$(cat "$tmp/server/api-key")
found=$(grep -rlF -D skip --exclude=api-key -- "$key" "$tmp" 2>/dev/null || true)
[ -z "$found" ] || fail "the API key is in: $found"
ok "the API key is in no log or file on either side but the server's key file"
echo "netns: $pass checks passed"
