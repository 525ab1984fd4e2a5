#!/bin/sh
# Installs the Debian packages the build, the tests and the demo need, only when one is missing,
# so that `make check` and `make demo` work from a fresh Debian or Raspberry Pi OS machine.
#
# On an amd64 machine it also sets up the Raspberry Pi cross builds that `make check` runs
# (Makefile, "Cross builds"): the arm64 and armhf architectures for dpkg, the cross compilers,
# the -dev packages of both architectures, qemu-user to run their unit tests, Criterion's
# arm64 runtime (tools/cross-criterion.sh) and qemu's binfmt_misc entries for ARM binaries.
set -eu
# libmicrohttpd-dev, libjansson-dev: vpn-metrics and vpnctl metrics; prometheus (promtool),
# chromium, curl: the metrics and status page tests; libsqlite3-dev: usage; libsystemd-dev:
# sd_notify; dpkg-dev, lintian, file, man-db, logrotate, systemd (systemd-analyze): the package
# and its test; libssl-dev: BLAKE2s for WireGuard (and the AEAD on ARM); wireguard-go,
# wireguard-tools: its interoperability tests; libqrencode-dev, libpng-dev: the QR codes of
# vpnctl device add, zbar-tools (zbarimg): their test.
PKGS="gcc make pkg-config libsodium-dev liburcu-dev libseccomp-dev libcap-dev libcriterion-dev
      libssl-dev libsqlite3-dev libsystemd-dev libmicrohttpd-dev libjansson-dev
      clang libclang-rt-dev iproute2 iptables nftables dnsmasq-base iperf3 procps iputils-ping
      python3
      prometheus chromium curl dpkg-dev lintian file man-db logrotate systemd wireguard-go
      wireguard-tools libqrencode-dev libpng-dev zbar-tools"

# A Raspberry Pi builds natively: the cross builds are for the amd64 machines that test it.
native=$(dpkg --print-architecture)
CROSS_ARCHS=""
if [ "$native" = amd64 ]; then
    CROSS_ARCHS="arm64 armhf"
    PKGS="$PKGS gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf qemu-user qemu-user-binfmt"
fi

# The libraries one cross build links against (ARCH-qualified package names).
cross_pkgs() {
    for p in libsodium-dev liburcu-dev libseccomp-dev libcap-dev libssl-dev libsqlite3-dev \
             libsystemd-dev libmicrohttpd-dev libjansson-dev libqrencode-dev libpng-dev; do
        printf '%s:%s ' "$p" "$1"
    done
    # The Multi-Arch: same part of Criterion's runtime; the rest is tools/cross-criterion.sh's.
    [ "$1" = arm64 ] && printf 'libffi8:arm64 libgit2-1.5:arm64'
    printf '\n'
}

# "install-deps.sh --cross-ready ARCH": whether that cross build can be made here (its libraries
# installed), saying why not on stderr. `make check` and tests/run.sh ask before they use one.
if [ "${1:-}" = --cross-ready ]; then
    arch=${2:?usage: install-deps.sh --cross-ready ARCH}
    absent=""
    for p in $(cross_pkgs "$arch"); do
        dpkg -s "$p" >/dev/null 2>&1 || absent="$absent $p"
    done
    [ -z "$absent" ] && exit 0
    echo "SKIP: the $arch cross build: its packages are not installed:$absent" \
         "(tools/install-deps.sh could not install them from this machine's package lists)" >&2
    exit 1
fi

need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: $1 (run as root, or do it by hand)" >&2
        exit 1
    fi
}

new_archs=""
for a in $CROSS_ARCHS; do
    dpkg --print-foreign-architectures | grep -qx "$a" || new_archs="$new_archs $a"
done
# With a foreign architecture added, a plain `dpkg -s libsodium-dev` is ambiguous (and fails) for
# a Multi-Arch: same package: the native one is asked for by its qualified name then.
installed() {
    dpkg -s "$1" >/dev/null 2>&1 || dpkg -s "$1:$native" >/dev/null 2>&1
}
missing=""
for p in $PKGS; do
    installed "$p" || missing="$missing $p"
done
if [ -n "$new_archs$missing" ]; then
    need_root "missing packages:$missing${new_archs:+ (and the dpkg architectures$new_archs)}"
    for a in $new_archs; do
        dpkg --add-architecture "$a"
    done
    echo "install-deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=900 update -q >/dev/null ||
        echo "install-deps: apt-get update failed, trying the cached lists" >&2
    apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends $missing >/dev/null
fi

[ -n "$CROSS_ARCHS" ] || exit 0
# Each cross build's libraries go in apart from the native set, so that one architecture the
# mirror cannot supply costs that build only. A Multi-Arch: same library must have one version
# across architectures; a mirror whose index for armhf lags amd64's (a security update half
# synced) leaves none that both share, and apt refuses the whole set. `make check` then skips
# that build, saying so (--cross-ready).
for a in $CROSS_ARCHS; do
    missing=""
    for p in $(cross_pkgs "$a"); do
        installed "$p" || missing="$missing $p"
    done
    [ -n "$missing" ] || continue
    need_root "missing $a packages:$missing"
    echo "install-deps: installing$missing"
    apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends $missing >/dev/null ||
        echo "install-deps: the $a packages cannot be installed (apt-get install$missing says why):" \
             "make check skips the $a cross build" >&2
done

if "$0" --cross-ready arm64 2>/dev/null &&
   [ ! -e /usr/local/lib/vpnse-cross/arm64/usr/lib/aarch64-linux-gnu/libcriterion.so.3 ]; then
    need_root "Criterion's arm64 runtime is missing"
    "$(dirname "$0")/cross-criterion.sh" arm64
fi

# Criterion runs each test by executing its own binary again; under emulation that exec needs
# the kernel to hand ARM binaries to qemu. Debian's qemu-user-binfmt ships the entries, which
# systemd or binfmt-support load at boot; where neither runs (a container, this kind of VM) they
# are loaded here, only those two.
for m in aarch64 arm; do
    [ -e "/proc/sys/fs/binfmt_misc/qemu-$m" ] && continue
    if [ "$(id -u)" != 0 ] ||
       ! { [ -e /proc/sys/fs/binfmt_misc/register ] ||
           mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; } ||
       ! cat "/usr/lib/binfmt.d/qemu-$m.conf" >/proc/sys/fs/binfmt_misc/register; then
        echo "install-deps: cannot register qemu-$m with binfmt_misc (needs root and the" \
             "binfmt_misc file system): the arm64 unit tests will fail" >&2
        continue
    fi
    echo "install-deps: registered qemu-$m with binfmt_misc"
done
