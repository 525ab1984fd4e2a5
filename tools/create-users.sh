#!/bin/sh
# Creates the system users vpn-server and vpn-metrics need, when they are missing (idempotent,
# root only):
#
#   vpnse          the main process after set-up ([security] user, the default)
#   vpnse-enclave  the enclave's supervisor and workers
#   vpnse-metrics  vpn-metrics (conf/vpn-metrics.service); its group is the one to name in
#                  [metrics] control_socket_group
#
# Each gets its own group, no home directory and no login shell. Used by `make install`,
# `make demo`, the integration tests (tests/integration/lib.sh) and the package's postinst
# (installed as /usr/libexec/vpnse/create-users).
#
#   create-users.sh [--record FILE]
#
# --record appends "user NAME" and "group NAME" to FILE for each user and group created here,
# and only those: the package removes on purge exactly what it created, never a user that
# was there before it.
set -eu
record=""
if [ "${1:-}" = "--record" ] && [ -n "${2:-}" ]; then
    record=$2
elif [ $# -gt 0 ]; then
    echo "usage: create-users.sh [--record FILE]" >&2
    exit 2
fi
for name in vpnse vpnse-enclave vpnse-metrics; do
    id -u "$name" >/dev/null 2>&1 && continue
    if [ "$(id -u)" != 0 ]; then
        echo "create-users: system user $name is missing; as root run:" \
             "useradd --system --no-create-home --shell /usr/sbin/nologin $name" >&2
        exit 1
    fi
    new_group=""
    if getent group "$name" >/dev/null; then
        group="--gid $name"
    else
        group="--user-group"
        new_group=1
    fi
    # shellcheck disable=SC2086
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        $group "$name"
    if [ -n "$record" ]; then
        echo "user $name" >>"$record"
        [ -n "$new_group" ] && echo "group $name" >>"$record"
    fi
    echo "create-users: created system user $name (uid $(id -u "$name"))"
done
