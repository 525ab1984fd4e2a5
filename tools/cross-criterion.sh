#!/bin/sh
# Unpacks Debian's Criterion runtime for another architecture into a folder of its own, for the
# unit tests of a cross build (Makefile, "Cross builds"):
#
#   tools/cross-criterion.sh ARCH [DIR]     (DIR defaults to /usr/local/lib/vpnse-cross/ARCH)
#
# libcriterion3:arm64 cannot be installed beside libcriterion3:amd64: it needs libnanomsg5:arm64,
# which is not Multi-Arch: same and so replaces the amd64 one (and the native tests with it). The
# two packages are fetched with apt-get download and unpacked with dpkg-deb, outside dpkg's
# database; their other dependencies (libffi8, libgit2-1.5) are Multi-Arch: same and installed
# the ordinary way by tools/install-deps.sh. Headers are the native libcriterion-dev's, which
# are the same on every architecture. Does nothing when DIR already has the library.
set -eu
arch=${1:?usage: cross-criterion.sh ARCH [DIR]}
dir=${2:-/usr/local/lib/vpnse-cross/$arch}
case $arch in
    arm64) triplet=aarch64-linux-gnu ;;
    *) echo "cross-criterion: Debian has Criterion for arm64 (not for $arch)" >&2; exit 2 ;;
esac
[ -e "$dir/usr/lib/$triplet/libcriterion.so.3" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes into the current folder; as root it warns that the _apt user cannot
# write there, unless the folder is theirs.
chown _apt "$tmp" 2>/dev/null || true
(cd "$tmp" && apt-get download -q "libcriterion3:$arch" "libnanomsg5:$arch" >/dev/null)
mkdir -p "$dir"
for deb in "$tmp"/*.deb; do
    dpkg-deb -x "$deb" "$dir"
done
echo "cross-criterion: Criterion for $arch unpacked in $dir"
