#!/bin/sh
# Installs the Debian packages the build, the tests and the demo need, only when one is missing,
# so that `make check` and `make demo` work from a fresh Debian or Raspberry Pi OS machine.
set -eu
# libmicrohttpd-dev, libjansson-dev: vpn-metrics and vpnctl metrics; prometheus (promtool),
# chromium, curl: the metrics and status page tests. libssl-dev: BLAKE2s for WireGuard;
# wireguard-go, wireguard-tools: its interoperability tests.
PKGS="gcc make pkg-config libsodium-dev liburcu-dev libseccomp-dev libcap-dev libcriterion-dev
      libsqlite3-dev libssl-dev
      clang libclang-rt-dev iproute2 iptables iperf3 procps iputils-ping python3
      libmicrohttpd-dev libjansson-dev prometheus chromium curl wireguard-go wireguard-tools"
# Installed for this machine's architecture (or for all): `dpkg -s NAME` fails outright when a
# cross-build installed the same package for another architecture too (arm64, armhf).
arch=$(dpkg --print-architecture)
installed() {
    dpkg-query -W -f='${db:Status-Abbrev}${Architecture}\n' "$1" 2>/dev/null |
        grep -Eq "^ii +($arch|all)\$"
}
missing=""
for p in $PKGS; do
    installed "$p" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root, or install them)" >&2
    exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || echo "install-deps: apt-get update failed, trying the cached lists" >&2
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends $missing >/dev/null
