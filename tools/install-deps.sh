#!/bin/sh
# Installs the Debian packages the build, the tests and the demo need, only when one is missing,
# so that `make check` and `make demo` work from a fresh Debian or Raspberry Pi OS machine.
set -eu
PKGS="gcc make pkg-config libsodium-dev liburcu-dev libseccomp-dev libcap-dev libcriterion-dev
      clang libclang-rt-dev iproute2 iptables nftables dnsmasq-base iperf3 procps iputils-ping
      python3"
missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root, or install them)" >&2
    exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || echo "install-deps: apt-get update failed, trying the cached lists" >&2
apt-get install -y -q --no-install-recommends $missing >/dev/null
