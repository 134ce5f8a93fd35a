#!/usr/bin/env bash
# Installs the Debian packages roam's tests and lab use, if any are missing: iproute2 (ip,
# tc), iptables (NAT in the lab), ping, iperf3 (the lab's throughput self-test) and a C
# toolchain for the tun addon, openssl for the TLS tests' certificates, etcd (the names
# cluster tests), mptcpize (Linux MPTCP baseline), and the real origin and clients the
# gateway is tested with: nginx, curl, wget, aria2c, Chromium; tcpdump, OpenVPN and wireguard-go
# for the tunnel's tests and bench. Only as root with apt-get; elsewhere it says what is missing.
set -euo pipefail
declare -A want=([ip]=iproute2 [tc]=iproute2 [iptables]=iptables [ping]=iputils-ping [iperf3]=iperf3 [make]=make [g++]=g++ [python3]=python3 [openssl]=openssl [etcd]=etcd-server [etcdctl]=etcd-client [mptcpize]=mptcpize [nginx]=nginx [curl]=curl [wget]=wget [aria2c]=aria2 [chromium]=chromium [tcpdump]=tcpdump [openvpn]=openvpn [wireguard-go]=wireguard-go [wg]=wireguard-tools)
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "roam: missing system packages: ${missing[*]} (lab tests that need them will fail or skip)" >&2
  exit 0
fi
echo "roam: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Packaged daemons (nginx, etcd) must not start on install: tests run their own instances.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
fi
trap '[ "$own_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
