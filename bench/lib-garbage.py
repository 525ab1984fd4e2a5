#!/usr/bin/env python3
"""The report of bench/run-garbage.sh: reads the snapshots it took in $WORK (the server's
`vpnctl show --json`, the client's `vpn-client status`, iptables counters and /proc/net/snmp
of both namespaces, before and after each phase), vpn-garbage's output and the ping log;
prints PASS:/FAIL: lines for the checks, then the Markdown summary.

Accounting, per phase, over the datagrams that arrived at the receiver (iptables INPUT):

  server:  arrived = kernel drops (Udp InErrors: a full socket buffer)
                   + drops (rx_* and handshake_rate in the RX thread, every enclave_* reason,
                     upload_qos / tx_no_session / tun_write after decryption)
                   + taken (opened by a worker - "decrypted" - minus what was refused after
                     opening: enclave_malformed, enclave_spoofed_source and the TX drops)
                   + handshakes answered (handshakes_ok + handshakes_refused + cookies_sent)
  client:  arrived = kernel drops + receive drops (by reason) + received packets
                   + other received (PING, PONG, DISCONNECT, responses, believed hints)
"""
import json
import os
import re
import sys

W = os.environ["WORK"]
FAILS = []
LINES = []


def check(ok, what):
    print(("PASS: " if ok else "FAIL: ") + what)
    if not ok:
        FAILS.append(what)


def read(path, default=""):
    try:
        with open(os.path.join(W, path)) as f:
            return f.read()
    except OSError:
        return default


def server_json(snap):
    try:
        return json.loads(read(f"snap-{snap}/server.json"))
    except ValueError:
        return None


def iptables(snap, ns):
    """Packet counts of our chain's rules, in order."""
    counts = []
    for line in read(f"snap-{snap}/{ns}-iptables.txt").splitlines():
        f = line.split()
        if f and f[0].isdigit():
            counts.append(int(f[0]))
    return counts


def snmp(snap, ns, key):
    lines = [l.split() for l in read(f"snap-{snap}/{ns}-snmp.txt").splitlines() if l.startswith("Udp:")]
    if len(lines) < 2:
        return 0
    return int(lines[1][lines[0].index(key)])


def client_status(snap):
    t = read(f"snap-{snap}/client.txt")
    out = {"state": "", "received": 0, "other": 0, "drops": {}}
    m = re.search(r"^state: (\S+)", t, re.M)
    out["state"] = m.group(1) if m else "?"
    m = re.search(r"^received: \d+ B \((\d+) packets\)", t, re.M)
    out["received"] = int(m.group(1)) if m else 0
    m = re.search(r"^other received: (\d+)", t, re.M)
    out["other"] = int(m.group(1)) if m else 0
    m = re.search(r"^receive drops:(.*)$", t, re.M)
    if m:
        for part in m.group(1).split(","):
            name, _, v = part.strip().rpartition(" ")
            out["drops"][name] = int(v)
    return out


def tool(label):
    t = read(f"tool-{label}.txt")
    out = {"kinds": {}}
    for line in t.splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "kind":
            out["kinds"][f[1]] = int(f[2])
        elif len(f) == 2:
            out[f[0]] = f[1]
    return out


def num(n):
    return f"{n:,}".replace(",", " ")


RX = ["rx_header", "rx_unexpected", "rx_no_session", "rx_ring_full", "handshake_rate",
      "handshake_bad_mac1", "handshake_v1_loaded", "cookie_rate"]
TX_AFTER_OPEN = ["upload_qos", "tx_no_session", "tun_write"]


def server_phase(label):
    a, b = server_json(f"{label}-before"), server_json(f"{label}-after")
    t = tool(label)
    if not a or not b:
        check(False, f"{label} phase: the server's status could be read before and after")
        return
    d = {k: b["drops"][k] - a["drops"].get(k, 0) for k in b["drops"]}
    ipa, ipb = iptables(f"{label}-before", "srv"), iptables(f"{label}-after", "srv")
    arr = [y - x for x, y in zip(ipa, ipb)]
    arrived = arr[2] if len(arr) > 2 else 0
    kernel = snmp(f"{label}-after", "srv", "InErrors") - snmp(f"{label}-before", "srv", "InErrors")
    dec = sum(w["decrypted"] for w in b["enclave_workers"]) - sum(w["decrypted"] for w in a["enclave_workers"])
    hs = (b["handshakes_ok"] + b["handshakes_refused"]) - (a["handshakes_ok"] + a["handshakes_refused"])
    # Under load a CONNECT_REQ without a valid mac2 is answered with a cookie (extension 3).
    hs += b.get("cookies_sent", 0) - a.get("cookies_sent", 0)
    enclave = {k: v for k, v in d.items() if k.startswith("enclave_")}
    drops_rx = sum(d[k] for k in RX)
    drops_tx = sum(d[k] for k in TX_AFTER_OPEN)
    drops = drops_rx + sum(enclave.values()) + drops_tx
    taken = dec - d["enclave_malformed"] - d["enclave_spoofed_source"] - drops_tx
    total = kernel + drops + taken + hs
    bob = lambda j: next((p for p in j["peers"] if p["user"] == "bob"), None)
    ba, bb = bob(a), bob(b)
    bob_rx = bb["rx_packets"] - ba["rx_packets"] if ba and bb and ba["session"] == bb["session"] else None
    sent = int(t.get("total", 0))
    secs = float(read(f"t-{label}-end", "0")) - float(read(f"t-{label}-start", "0"))

    check(arrived == total,
          f"server: every datagram that arrived is counted: {num(arrived)} arrived = "
          f"{num(kernel)} kernel + {num(drops)} dropped + {num(taken)} taken + {num(hs)} handshakes "
          f"answered (difference {arrived - total})")
    check(t.get("session_alive") == "yes", "server: the garbage sender's own session still carries a ping")

    L = LINES
    L.append(f"## At the server: {num(sent)} datagrams to 172.31.0.1:51820\n")
    L.append(f"vpn-garbage in c2 as user bob (its own session {t.get('session', '?')}), "
             f"{secs:.1f} s, {num(int(float(t.get('rate', 0))))} datagrams/s sent "
             f"({t.get('send_errors', '?')} send errors).\n")
    L.append("| kind | sent |")
    L.append("|---|---:|")
    for k, v in t["kinds"].items():
        L.append(f"| {k} | {num(v)} |")
    L.append(f"| **total** | **{num(sent)}** |\n")
    L.append(f"Arrived (iptables INPUT in the server's namespace): {num(arr[1] if len(arr) > 1 else 0)} "
             f"from vpn-garbage, {num(arr[0] if arr else 0)} from the real client, {num(arrived)} in all.\n")
    L.append("| where it ended | datagrams |")
    L.append("|---|---:|")
    L.append(f"| kernel: socket buffer full (Udp InErrors) | {num(kernel)} |")
    for k in RX + sorted(enclave) + TX_AFTER_OPEN:
        if d.get(k):
            L.append(f"| drop `{k}` | {num(d[k])} |")
    hdr = {k: v for k, v in d.items() if k.startswith("rx_header_") and v}
    if hdr:
        L.append("| (of rx_header: " + ", ".join(f"`{k[10:]}` {num(v)}" for k, v in hdr.items()) + ") | |")
    L.append(f"| taken: opened and delivered (workers' `decrypted` minus the refusals after opening) | {num(taken)} |")
    L.append(f"| handshakes answered (`handshakes_ok` + `handshakes_refused` + `cookies_sent`) | {num(hs)} |")
    L.append(f"| **sum** | **{num(total)}** (arrived {num(arrived)}, difference {arrived - total}) |\n")
    if bob_rx is not None:
        L.append(f"vpn-garbage's session delivered {num(bob_rx)} packets: {num(int(t.get('taken_expected', 0)))} "
                 f"reordered valid ones it expected to be taken, plus {t.get('alive_pings', '?')} final ping(s); "
                 f"its session still answers: {t.get('session_alive', '?')}. "
                 f"SESSION_UNKNOWN hints sent meanwhile: not counted as drops (answers to `rx_no_session`).\n")


def client_phase(label):
    a, b = client_status(f"{label}-before"), client_status(f"{label}-after")
    t = tool(label)
    ipa, ipb = iptables(f"{label}-before", "c1"), iptables(f"{label}-after", "c1")
    arrived = ipb[0] - ipa[0] if ipa and ipb else 0
    kernel = snmp(f"{label}-after", "c1", "InErrors") - snmp(f"{label}-before", "c1", "InErrors")
    d = {k: b["drops"].get(k, 0) - a["drops"].get(k, 0) for k in b["drops"]}
    drops = sum(d.values())
    rx = b["received"] - a["received"]
    other = b["other"] - a["other"]
    total = kernel + drops + rx + other
    sent = int(t.get("total", 0))
    secs = float(read(f"t-{label}-end", "0")) - float(read(f"t-{label}-start", "0"))
    check(int(t.get("captured", 0)) > 0, f"client: real datagrams of the live session captured to mutate ({t.get('captured', 0)})")
    check(arrived == total,
          f"client: every datagram that arrived is counted: {num(arrived)} arrived = {num(kernel)} kernel "
          f"+ {num(drops)} dropped + {num(rx)} received + {num(other)} other (difference {arrived - total})")
    L = LINES
    L.append(f"## At the client: {num(sent)} datagrams to its UDP port\n")
    L.append(f"vpn-garbage in the server's namespace, from 172.31.0.1:51820 through a raw socket (the "
             f"client's socket is connected: it takes nothing from another address), mutating "
             f"{t.get('captured', '?')} datagrams of session {t.get('session', '?')} captured on br-wan; "
             f"{secs:.1f} s, {num(int(float(t.get('rate', 0))))} datagrams/s sent.\n")
    L.append("| kind | sent |")
    L.append("|---|---:|")
    for k, v in t["kinds"].items():
        L.append(f"| {k} | {num(v)} |")
    L.append(f"| **total** | **{num(sent)}** |\n")
    L.append(f"Arrived (iptables INPUT in the client's namespace, from 172.31.0.1:51820): {num(arrived)}, "
             f"of which the server's real traffic is the rest after the {num(sent)} sent.\n")
    L.append("| where it ended | datagrams |")
    L.append("|---|---:|")
    L.append(f"| kernel: socket buffer full (Udp InErrors) | {num(kernel)} |")
    for k, v in d.items():
        if v:
            L.append(f"| drop `{k}` | {num(v)} |")
    L.append(f"| received packets (DATA to the TUN) | {num(rx)} |")
    L.append(f"| other received (PING, PONG, DISCONNECT, responses, believed hints) | {num(other)} |")
    L.append(f"| **sum** | **{num(total)}** (arrived {num(arrived)}, difference {arrived - total}) |\n")


def ping_losses(ping):
    """(seq, estimated time) of every echo request that got no reply."""
    replies = {}
    for m in re.finditer(r"^\[([\d.]+)\] \d+ bytes from .*?icmp_seq=(\d+)", ping, re.M):
        replies[int(m.group(2))] = float(m.group(1))
    m = re.search(r"(\d+) packets transmitted", ping)
    if not m or not replies:
        return []
    first_seq = min(replies)
    t0 = replies[first_seq]
    interval = float(os.environ.get("PING_INTERVAL", "0.05"))
    return [(q, t0 + (q - first_seq) * interval) for q in range(1, int(m.group(1)) + 1)
            if q not in replies]


def timeline():
    """Named moments of the run: phases and counter snapshots."""
    marks = []
    for p in os.environ.get("PHASES", "server client").split():
        for edge in ("start", "end"):
            t = read(f"t-{p}-{edge}")
            if t:
                marks.append((float(t), f"{p} phase: sending {'began' if edge == 'start' else 'ended'}"))
    for d in sorted(os.listdir(W)):
        if d.startswith("snap-"):
            t0, t1 = read(f"{d}/time-start"), read(f"{d}/time-end")
            if t0 and t1:
                marks.append((float(t0), f"snapshot {d[5:]} began (ping paused)"))
                marks.append((float(t1), f"snapshot {d[5:]} ended"))
    return sorted(marks)


def where(t, marks):
    before = [m for m in marks if m[0] <= t]
    if not before:
        return "before the first phase"
    last = before[-1]
    return f"{t - last[0]:.2f} s after: {last[1]}"


def return_path(a, b):
    """Server counters of the way back (TUN to client), which arrivals do not cover."""
    keys = [k for k in b["drops"] if (k.startswith("tun_") and k != "tun_write") or k in ("udp_send", "enclave_out_ring_full")]
    return {k: b["drops"][k] - a["drops"].get(k, 0) for k in keys}


def main():
    env = os.environ
    phases = env.get("PHASES", "server client").split()
    ping = read("ping.txt")
    m = re.search(r"(\d+) packets transmitted, (\d+) received.*?([\d.]+)% packet loss", ping)
    sent, got, loss = (int(m.group(1)), int(m.group(2)), float(m.group(3))) if m else (0, 0, 100.0)
    rtt = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/", ping)
    check(env["SERVER_ALIVE"] == "yes", "the server is still running")
    final = client_status("final")
    check(env["CLIENT_ALIVE"] == "yes" and final["state"] == "connected",
          f"the client is still running and connected ({final['state']})")
    check(sent > 0 and loss <= float(env["MAX_PING_LOSS"]),
          f"the ping through the tunnel lost {loss}% ({sent - got} of {sent}; at most {env['MAX_PING_LOSS']}%)")
    check(env["TRANSFER"] == "ok",
          f"a {env['TRANSFER_MB']} MB checksummed transfer through the tunnel afterwards ({env['TRANSFER']}, {env['TRANSFER_SECS']} s)")

    LINES.append(f"# Garbage at volume, {env['STAMP']}\n")
    LINES.append(f"{env['MACHINE']}; build {env['BUILD_INFO']}; `bench/run-garbage.sh`, lab {env['PREFIX']}, "
                 f"vpn-server -t {env['THREADS']}, rate {env['RATE'] if env['RATE'] != '0' else 'unlimited'}.\n")
    for p in phases:
        (server_phase if p == "server" else client_phase)(p)
    LINES.append("## The tunnel meanwhile\n")
    LINES.append(f"- ping c1 -> 192.168.100.10 through the tunnel during all phases: {sent} sent, {got} answered "
                 f"({loss}% lost)" + (f", rtt min/avg/max {rtt.group(1)}/{rtt.group(2)}/{rtt.group(3)} ms" if rtt else ""))
    lost = ping_losses(ping)
    if lost:
        marks = timeline()
        for q, t in lost:
            LINES.append(f"  - icmp_seq {q} got no reply; sent about {where(t, marks)}")
    sa, sb = server_json("start"), server_json("final")
    if sa and sb:
        rp = return_path(sa, sb)
        LINES.append("- the way back meanwhile (server counters outside the accounting above, whole run): " +
                     ", ".join(f"`{k}` {num(v)}" for k, v in rp.items()))
    ca, cb = read("snap-start/client.txt"), read("snap-final/client.txt")
    sd = lambda t: int(re.search(r"^send drops: (\d+)", t, re.M).group(1)) if re.search(r"^send drops:", t, re.M) else 0
    LINES.append(f"- the client's send drops over the whole run (TUN packets it could not send): {sd(cb) - sd(ca)}")
    LINES.append(f"- afterwards, {env['TRANSFER_MB']} MB c1 -> LAN over TCP, sha256 compared: {env['TRANSFER']} "
                 f"({env['TRANSFER_SECS']} s)")
    LINES.append(f"- server still running: {env['SERVER_ALIVE']}; client still running: {env['CLIENT_ALIVE']}, "
                 f"state {final['state']}\n")
    LINES.append("## Checks\n")
    LINES.append("All passed." if not FAILS else "Failed: " + "; ".join(FAILS))
    print("\n".join(LINES))
    return 0


sys.exit(main())
