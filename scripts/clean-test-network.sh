#!/usr/bin/env bash
# Removes the machine networking that test servers left on this host: for each claim in /run/dedalus-test-subnets
# (tests/Dedalus.Testing/TestSubnets.cs) whose process is gone, the server instance of its data directory (nft table
# inet dedalus_<instance>, network namespaces dedalus-<instance>-*, bridge dedalus-<instance>, its dnsmasq), then
# IP forwarding when Dedalus turned it on and no Dedalus table is left. A test server that stops with machines still
# running keeps their network on purpose (a restarted server adopts it); this is the test run's clean-up of that.
# Usage: scripts/clean-test-network.sh [--all]   (--all: claims of live processes too)
set -uo pipefail
claims=/run/dedalus-test-subnets
all=${1:-}
[ -d "$claims" ] || exit 0
for claim in "$claims"/*; do
  [ -f "$claim" ] || continue
  pid=$(sed -n 1p "$claim")
  dir=$(sed -n 2p "$claim")
  if [ "$all" != --all ] && [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
    continue
  fi
  if [ -n "$dir" ]; then
    instance=$(printf '%s' "$dir/runtime" | sha256sum | cut -c1-6)
    for pidfile_pid in $(pgrep -f -- "--pid-file=$dir/runtime/network/dnsmasq.pid" || true); do
      kill -TERM "$pidfile_pid" 2>/dev/null || true
    done
    nft delete table inet "dedalus_$instance" 2>/dev/null || true
    for ns in $(ip netns list 2>/dev/null | awk -v p="dedalus-$instance-" 'index($1, p) == 1 { print $1 }'); do
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
      ip netns delete "$ns" 2>/dev/null || true
    done
    ip link delete "dedalus-$instance" 2>/dev/null || true
  fi
  rm -f "$claim"
done
if [ -f /run/dedalus-network/ip_forward.enabled ] && ! nft list tables 2>/dev/null | grep -q '^table inet dedalus_'; then
  echo 0 >/proc/sys/net/ipv4/ip_forward
  rm -f /run/dedalus-network/ip_forward.enabled
fi
exit 0
