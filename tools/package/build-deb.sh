#!/bin/bash
# Builds the vpnse Debian package for one architecture (make deb):
#
#   tools/package/build-deb.sh ARCH FROM OUTDIR VERSION
#
# FROM holds that architecture's programs (bin/, or a cross build's directory). The tree is
# `make install-files PREFIX=/usr` of them, plus what a package adds: /etc/vpnse (conffiles),
# the systemd units, the logrotate file, the documentation and the maintainer scripts of this
# directory. Dependencies on shared libraries come from dpkg-shlibdeps; the .deb is built
# with dpkg-deb (owner root) and checked with lintian, which must report no error.
# Writes OUTDIR/vpnse_VERSION_ARCH.deb and OUTDIR/vpnse_VERSION_ARCH.lintian.
set -euo pipefail
if [ $# -ne 4 ]; then
    echo "usage: build-deb.sh ARCH FROM OUTDIR VERSION" >&2
    exit 2
fi
ARCH=$1 FROM=$2 OUT=$3 VERSION=$4
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PKG=$ROOT/tools/package
cd "$ROOT"
for p in vpn-server vpn-client vpn-enclave vpnctl vpn-keygen vpn-token; do
    if [ ! -x "$FROM/$p" ]; then
        echo "build-deb: $FROM/$p is missing: build the $ARCH programs first" \
             "(make, or make ARCH=$ARCH for another architecture)" >&2
        exit 1
    fi
done
# Programs of another architecture than the one asked for would make a package that installs
# and never runs.
want=$(case $ARCH in amd64) echo x86-64 ;; arm64) echo aarch64 ;; armhf) echo "ARM, EABI5" ;; *) echo "$ARCH" ;; esac)
if ! file -b "$FROM/vpn-server" | grep -q "$want"; then
    echo "build-deb: $FROM/vpn-server is not an $ARCH program: $(file -b "$FROM/vpn-server")" >&2
    exit 1
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
STAGE=$OUT/vpnse_${VERSION}_$ARCH
DEB=$STAGE.deb
rm -rf "$STAGE" "$DEB"
install -d -m 0755 "$STAGE"
umask 022

make --no-print-directory -s install-files FROM="$FROM" DESTDIR="$STAGE" PREFIX=/usr >/dev/null
# Stripped, as Debian ships programs (bin/ keeps its symbols for debugging and profiling).
strip_tool=strip
if [ "$ARCH" != "$(dpkg --print-architecture)" ]; then
    strip_tool=$(dpkg-architecture -a"$ARCH" -qDEB_HOST_GNU_TYPE 2>/dev/null)-strip
fi
find "$STAGE/usr" -type f -perm -u+x ! -name create-users -exec \
    "$strip_tool" --strip-unneeded --remove-section=.comment --remove-section=.note {} +

# Configuration: the shipped examples, made fit for a fresh machine. QoS off (its example
# total_bandwidth would cap the VPN at 50 Mbit/s), a log file for -d in the package's log
# directory, and the classes file without the demo's users (commented out, as examples).
ETC=$STAGE/etc/vpnse
install -d -m 0755 "$ETC"
install -m 0644 conf/server.conf "$ETC/server.conf"
python3 tools/ini-set.py "$ETC/server.conf" qos.enabled=false \
    logging.file=/var/log/vpnse/vpn-server.log
awk '/^\[user:/ { user = 1 } /^\[class:/ { user = 0 }
     user && NF { print "# " $0; next } { print }' conf/qos_classes.conf >"$ETC/qos_classes.conf"
chmod 0644 "$ETC/qos_classes.conf"
install -m 0600 "$PKG/users.conf" "$ETC/users.conf"
install -d -m 0755 "$STAGE/etc/logrotate.d"
install -m 0644 "$PKG/logrotate" "$STAGE/etc/logrotate.d/vpnse"
install -d -m 0755 "$STAGE/lib/systemd/system"
install -m 0644 "$PKG/vpn-server.service" "$PKG/vpn-client@.service" "$STAGE/lib/systemd/system/"

DOC=$STAGE/usr/share/doc/vpnse
install -d -m 0755 "$DOC"
install -m 0644 "$PKG/copyright" "$DOC/copyright"
install -m 0644 README.md docs/RASPBERRY-PI.md "$DOC/"
gzip -9n "$DOC/README.md" "$DOC/RASPBERRY-PI.md"
# The date of the last commit, so that the same tree gives the same package.
date=$(git log -1 --format=%cD 2>/dev/null || date -R)
maintainer="vpnse maintainers <maintainers@users.noreply.b-seed-d227929d.example>"
cat >"$DOC/changelog" <<EOF
vpnse ($VERSION) unstable; urgency=medium

  * Built from the vpnse repository with make deb ($(git rev-parse --short HEAD 2>/dev/null || echo "no git")).

 -- $maintainer  $date
EOF
gzip -9n "$DOC/changelog"
# users.conf holds tokens: mode 0600 on purpose.
install -d -m 0755 "$STAGE/usr/share/lintian/overrides"
install -m 0644 "$PKG/lintian-overrides" "$STAGE/usr/share/lintian/overrides/vpnse"
gzip -9n "$STAGE"/usr/share/man/man*/*

# Control files.
install -d -m 0755 "$STAGE/DEBIAN"
install -m 0755 "$PKG/postinst" "$PKG/prerm" "$PKG/postrm" "$STAGE/DEBIAN/"
printf '%s\n' /etc/logrotate.d/vpnse /etc/vpnse/qos_classes.conf /etc/vpnse/server.conf \
    /etc/vpnse/users.conf >"$STAGE/DEBIAN/conffiles"
# dpkg-shlibdeps wants a source package's debian/control; a scratch one will do.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/debian"
printf 'Source: vpnse\n\nPackage: vpnse\nArchitecture: any\n' >"$scratch/debian/control"
elves=()
while IFS= read -r f; do elves+=("$f"); done < <(find "$STAGE/usr" -type f -perm -u+x ! -name create-users)
(cd "$scratch" && DEB_HOST_ARCH=$ARCH dpkg-shlibdeps -O "${elves[@]}" 2>/dev/null) \
    | sed -n 's/^shlibs:Depends=//p' >"$scratch/shlibs"
shlibs=$(cat "$scratch/shlibs")
if [ -z "$shlibs" ]; then
    echo "build-deb: dpkg-shlibdeps found no dependencies (are the $ARCH libraries installed?)" >&2
    exit 1
fi
cat >"$STAGE/DEBIAN/control" <<EOF
Package: vpnse
Version: $VERSION
Architecture: $ARCH
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
Depends: $shlibs, iproute2, passwd
Recommends: iptables
Suggests: logrotate
Section: net
Priority: optional
Description: VPN server and client with a software enclave
 A VPN for the Raspberry Pi and any Linux machine: its own small UDP protocol
 (ChaCha20-Poly1305, X25519, HKDF-SHA256, one token per user) over TUN, with a
 software enclave (sandboxed worker processes that alone hold the keys and do
 all the cryptography), a multithreaded packet pipeline and per-user bandwidth
 control with tc.
 .
 This package has vpn-server and its systemd unit (Type=notify, watchdog,
 sandboxed), vpn-client with a unit per configuration (vpn-client@NAME), and
 the tools vpnctl, vpn-keygen and vpn-token. The first installation creates the
 system users vpnse and vpnse-enclave and the server key.
EOF
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
    | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/conffiles" "$STAGE/DEBIAN/md5sums"

# Time stamps clamped to the last commit's: the same tree gives the same package.
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s) \
    dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
rm -rf "$STAGE"
echo "build-deb: $DEB"

# lintian: no error. Its warnings and notes are kept beside the package for reading. Not as
# root where another user can read the package (lintian advises against root).
if command -v lintian >/dev/null; then
    as=()
    if [ "$(id -u)" = 0 ] && runuser -u nobody -- test -r "$DEB"; then
        as=(runuser -u nobody --)
    fi
    "${as[@]}" env HOME=/nonexistent lintian --fail-on error --tag-display-limit 0 "$DEB" \
        >"$STAGE.lintian" 2>&1 || {
        cat "$STAGE.lintian" >&2
        echo "build-deb: lintian reports errors" >&2
        exit 1
    }
    echo "build-deb: lintian: $(grep -c '^E:' "$STAGE.lintian" || true) errors," \
         "$(grep -c '^W:' "$STAGE.lintian" || true) warnings ($STAGE.lintian)"
else
    echo "build-deb: lintian is not installed: not checked" >&2
fi
