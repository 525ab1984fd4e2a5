#!/bin/sh
# vpn-lab.sh: the network-namespace lab shared by the demo, the integration tests and the
# benchmarks. Everything lives in namespaces named after PREFIX, so several labs (and
# several engineers) can coexist on one machine and a lab is removed without a trace.
#
#   client namespaces                 server namespace                    LAN namespace
#   PREFIX-c1 .. PREFIX-cN            PREFIX-srv                          PREFIX-lan
#
#   +----------------------+        +--------------------------------+
#   | PREFIX-c1            |        |  br-wan 172.31.0.1/24          |
#   | 172.31.0.11/24       |--veth--| PREFIX-w1 (bridge port)        |
#   +----------------------+        |                                |  +-------------------+
#   +----------------------+        |  (vpn-server: udp/51820,       |  | PREFIX-l2s        |
#   | PREFIX-c2            |--veth--| PREFIX-w2    tun0 10.8.0.1/24) |--| 192.168.100.10/24 |
#   | 172.31.0.12/24       |        |                                |  | default via       |
#   +----------------------+        | PREFIX-s2l 192.168.100.1/24 ---+  |   192.168.100.1   |
#            ...                    | ip_forward = 1                 |  +-------------------+
#   client k: PREFIX-ck             +--------------------------------+
#             172.31.0.(10+k)/24
#
#   "internet" 172.31.0.0/24 (bridge br-wan inside PREFIX-srv, one port per client)
#   "LAN"      192.168.100.0/24 (a veth pair PREFIX-s2l <-> PREFIX-l2s)
#
# Clients get no route to the LAN: the only way there is the tunnel, so a ping that works
# proves the VPN carried it. The LAN host's default route points at the server, so replies to
# tunnel addresses (10.8.0.0/24) go back through it.
#
# Usage:
#   vpn-lab.sh up PREFIX [NCLIENTS]   build the lab (NCLIENTS 1..200, default 1); an existing
#                                     lab of that prefix is taken down first
#   vpn-lab.sh down PREFIX            remove the lab: processes inside it are stopped, every
#                                     namespace of the prefix deleted; safe in a trap
#   vpn-lab.sh env PREFIX [NCLIENTS]  print shell assignments describing the lab, for
#                                     eval "$(tools/vpn-lab.sh env PREFIX)"
#
# PREFIX: 1 to 8 characters of [a-z0-9-], not starting with '-', so that every interface
# name stays under the kernel's 15-character limit. Needs root and iproute2.
set -eu

PROG=vpn-lab.sh
MAX_CLIENTS=200

WAN_NET=172.31.0.0/24
SRV_WAN_IP=172.31.0.1
LAN_NET=192.168.100.0/24
SRV_LAN_IP=192.168.100.1
LAN_IP=192.168.100.10

die() {
    echo "$PROG: $*" >&2
    exit 1
}

usage() {
    cat >&2 <<EOF
usage: $PROG up PREFIX [NCLIENTS]
       $PROG down PREFIX
       $PROG env PREFIX [NCLIENTS]
PREFIX: 1-8 characters of [a-z0-9-], not starting with '-'; NCLIENTS: 1..$MAX_CLIENTS (default 1)
EOF
    exit 2
}

check_prefix() {
    case $1 in
        ''|-*|*[!a-z0-9-]*) echo "$PROG: bad PREFIX '$1': use [a-z0-9-], not starting with '-'" >&2; exit 2 ;;
    esac
    [ ${#1} -le 8 ] || { echo "$PROG: bad PREFIX '$1': at most 8 characters" >&2; exit 2; }
}

check_nclients() {
    case $1 in
        ''|*[!0-9]*) echo "$PROG: bad NCLIENTS '$1': expected a number 1..$MAX_CLIENTS" >&2; exit 2 ;;
    esac
    # Strip leading zeros so that 010 is not read as octal by $(( )).
    n=$(echo "$1" | sed 's/^0*//')
    n=${n:-0}
    if [ ${#n} -gt 3 ] || [ "$n" -lt 1 ] || [ "$n" -gt $MAX_CLIENTS ]; then
        echo "$PROG: bad NCLIENTS '$1': expected 1..$MAX_CLIENTS" >&2
        exit 2
    fi
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces need CAP_SYS_ADMIN)"
    command -v ip >/dev/null 2>&1 || die "'ip' not found: install iproute2"
}

# Namespaces of this prefix only: exact names, so "lab" never matches "lab2-srv".
lab_namespaces() {
    ip netns list 2>/dev/null | awk -v p="$1" '
        { n = $1 }
        n == p "-srv" || n == p "-lan" { print n; next }
        index(n, p "-c") == 1 && substr(n, length(p) + 3) ~ /^[0-9]+$/ { print n }'
}

# Number of client namespaces present (0 when the lab is down).
count_clients() {
    lab_namespaces "$1" | awk -v p="$1" 'index($0, p "-c") == 1 { n++ } END { print n + 0 }'
}

nsx() {
    ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# Live processes whose network namespace is one of $1 (zombies have left theirs already).
lab_pids() {
    for ns in $1; do
        ip netns pids "$ns" 2>/dev/null || true
    done | tr '\n' ' ' | sed 's/ *$//'
}

lab_down() {
    p=$1
    nss=$(lab_namespaces "$p")
    [ -n "$nss" ] || return 0
    # A process still inside a namespace keeps it (and its interfaces) alive after
    # "ip netns del", so stop what runs in the lab first: TERM, a grace period of 2 s, then
    # KILL. Listed again each round, since a dying process may have spawned another.
    round=0
    while [ $round -lt 3 ]; do
        pids=$(lab_pids "$nss")
        [ -n "$pids" ] || break
        if [ $round -eq 0 ]; then
            # shellcheck disable=SC2086 # a list of pids, split on purpose
            kill -TERM $pids 2>/dev/null || true
            i=0
            while [ $i -lt 20 ] && [ -n "$(lab_pids "$nss")" ]; do
                sleep 0.1
                i=$((i + 1))
            done
        else
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
            sleep 0.1
        fi
        round=$((round + 1))
    done
    for ns in $nss; do
        ip netns del "$ns" 2>/dev/null || true
    done
    left=$(lab_namespaces "$p")
    [ -z "$left" ] || { echo "$PROG: could not delete: $left" >&2; return 1; }
    return 0
}

lab_up() {
    p=$1
    n=$2
    srv=$p-srv
    lan=$p-lan

    [ -z "$(lab_namespaces "$p")" ] || lab_down "$p"

    # Nothing half built: any failure from here takes the whole lab down again.
    # shellcheck disable=SC2154 # rc is assigned inside the trap string
    trap 'rc=$?; [ $rc -eq 0 ] || { echo "$PROG: up failed, removing the partial lab" >&2; lab_down "$p" || true; }; exit $rc' EXIT
    trap 'exit 130' INT TERM HUP

    ip netns add "$srv"
    ip netns add "$lan"
    ip -n "$srv" link set lo up
    ip -n "$lan" link set lo up

    # Server: the "internet" bridge and forwarding on.
    ip -n "$srv" link add br-wan type bridge
    ip -n "$srv" addr add "$SRV_WAN_IP/24" dev br-wan
    ip -n "$srv" link set br-wan up
    nsx "$srv" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'

    # Server <-> LAN. Veths are created inside the namespaces, never in the root one, so
    # nothing can collide with the host's interfaces even for a moment.
    ip -n "$srv" link add "$p-s2l" type veth peer name "$p-l2s" netns "$lan"
    ip -n "$srv" addr add "$SRV_LAN_IP/24" dev "$p-s2l"
    ip -n "$srv" link set "$p-s2l" up
    ip -n "$lan" addr add "$LAN_IP/24" dev "$p-l2s"
    ip -n "$lan" link set "$p-l2s" up
    ip -n "$lan" route add default via "$SRV_LAN_IP"

    k=1
    while [ $k -le "$n" ]; do
        c=$p-c$k
        ip netns add "$c"
        ip -n "$c" link set lo up
        ip -n "$srv" link add "$p-w$k" type veth peer name "$p-c$k" netns "$c"
        ip -n "$srv" link set "$p-w$k" master br-wan
        ip -n "$srv" link set "$p-w$k" up
        ip -n "$c" addr add "172.31.0.$((10 + k))/24" dev "$p-c$k"
        ip -n "$c" link set "$p-c$k" up
        k=$((k + 1))
    done

    trap - EXIT INT TERM HUP
    echo "$PROG: lab '$p' is up: $srv, $lan, $n client(s) $p-c1..$p-c$n" >&2
}

lab_env() {
    p=$1
    n=$2
    clients=
    ips=
    k=1
    while [ $k -le "$n" ]; do
        clients="$clients $p-c$k"
        ips="$ips 172.31.0.$((10 + k))"
        k=$((k + 1))
    done
    cat <<EOF
LAB_PREFIX=$p
LAB_SRV=$p-srv
LAB_LAN=$p-lan
LAB_NCLIENTS=$n
LAB_CLIENTS="${clients# }"
LAB_CLIENT_IPS="${ips# }"
LAB_WAN_NET=$WAN_NET
LAB_SRV_WAN_IP=$SRV_WAN_IP
LAB_SRV_WAN_DEV=br-wan
LAB_SRV_LAN_IP=$SRV_LAN_IP
LAB_SRV_LAN_DEV=$p-s2l
LAB_LAN_IP=$LAN_IP
LAB_LAN_DEV=$p-l2s
LAB_LAN_NET=$LAN_NET
EOF
    k=1
    while [ $k -le "$n" ]; do
        echo "LAB_C${k}=$p-c$k LAB_C${k}_IP=172.31.0.$((10 + k)) LAB_C${k}_DEV=$p-c$k"
        k=$((k + 1))
    done
}

[ $# -ge 2 ] || usage
cmd=$1
prefix=$2
check_prefix "$prefix"

case $cmd in
    up)
        [ $# -le 3 ] || usage
        nclients=${3:-1}
        check_nclients "$nclients"
        need_root
        lab_up "$prefix" "$n"
        ;;
    down)
        [ $# -eq 2 ] || usage
        need_root
        lab_down "$prefix"
        ;;
    env)
        [ $# -le 3 ] || usage
        # A running lab describes itself; otherwise describe the one "up" would build.
        have=0
        if command -v ip >/dev/null 2>&1; then
            have=$(count_clients "$prefix")
        fi
        if [ $# -eq 3 ]; then
            check_nclients "$3"
        elif [ "$have" -gt 0 ]; then
            n=$have
        else
            n=1
        fi
        lab_env "$prefix" "$n"
        ;;
    *)
        usage
        ;;
esac
