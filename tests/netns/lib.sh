# A second machine on this one, for the test scripts (source it): a network namespace with its
# own loopback, joined to this one by a veth pair on 10.231.SUBNET.0/30 (this side .1, the
# namespace .2). Needs root and `ip`. netns_up sets NETNS_NAME, NETNS_HOST_IF, NETNS_HERE and
# NETNS_THERE; netns_down removes what netns_up made (call it from an EXIT trap).

netns_up() { # tag subnet
  local tag=$1 subnet=$2 id=$(($$ % 100000))
  NETNS_NAME=porthole-$tag-$id
  NETNS_HOST_IF=p${tag:0:1}h$id
  local ns_if=p${tag:0:1}n$id
  NETNS_HERE=10.231.$subnet.1
  NETNS_THERE=10.231.$subnet.2
  ip netns add "$NETNS_NAME"
  ip link add "$NETNS_HOST_IF" type veth peer name "$ns_if"
  ip link set "$ns_if" netns "$NETNS_NAME"
  ip addr add "$NETNS_HERE/30" dev "$NETNS_HOST_IF"
  ip link set "$NETNS_HOST_IF" up
  ip netns exec "$NETNS_NAME" ip addr add "$NETNS_THERE/30" dev "$ns_if"
  ip netns exec "$NETNS_NAME" ip link set "$ns_if" up
  ip netns exec "$NETNS_NAME" ip link set lo up
}

netns_down() {
  [ -n "${NETNS_HOST_IF:-}" ] && ip link del "$NETNS_HOST_IF" 2>/dev/null
  [ -n "${NETNS_NAME:-}" ] && ip netns del "$NETNS_NAME" 2>/dev/null
  return 0
}

# Whether this machine can: root and `ip netns`.
netns_possible() {
  [ "$(id -u)" -eq 0 ] && ip netns list >/dev/null 2>&1
}
