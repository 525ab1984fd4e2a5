#!/usr/bin/env python3
"""Measurement and statistics for bench/run-qos.sh (REQUIREMENTS.md section 6).

    lib-qos.py phase KIND --prefix P --work W --mode on|off --out FILE.json [options]
        KIND: download | upload   all three users saturate at once (TCP, -P streams each)
              loss-down | loss-up  a UDP stream inside alice's guarantee, pinged from the LAN,
                                   while bob and guest1 saturate in the same direction
              idle                 ping alice with nothing else running
    lib-qos.py report --results DIR --out FILE.md --total BPS --classes FILE

Throughput is counted at the IP level by the server itself, over the measurement window only
(after the warm-up): download = the peer's tx_bytes (packets the server read from tun0, i.e.
after HTB let them out), upload = the peer's rx_bytes (packets the policer let through to tun0),
both from the JSON status on the control socket. That is the quantity HTB and the policer
shape (rates in tc and in the classes file are IP-packet bits), so guarantees and ceilings are
compared with it. iperf3's own receiver figure (TCP payload, about 3.7 % less at MTU 1400) is
reported next to it. tc's per-class counters are kept as a cross-check for the download.

The fair share each user should get is computed as HTB computes it (see htb_shares), and
Jain's index is taken over x_i / fair_i: 1.0 when every user gets exactly its HTB share.
"""
import argparse
import datetime
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

LAN_IP = "192.168.100.10"
# name, client namespace index, tunnel address, iperf3 port on the LAN host
USERS = [("alice", 1, "10.8.0.10", 5201), ("bob", 2, "10.8.0.20", 5202),
         ("guest1", 3, "10.8.0.100", 5203)]
UDP_PORT = 5204         # alice's in-guarantee UDP stream
MTU_MAX = 1500          # qos.c's QUANTUM_MIN
QUANTUM_MAX = 200000


# ---------------------------------------------------------------- measurement

def netns(prefix, name, argv):
    return ["ip", "netns", "exec", f"{prefix}-{name}"] + argv


def server_json(work):
    """The server's status through the status tool, as an operator would ask for it."""
    vpnctl = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bin", "vpnctl")
    out = subprocess.run([vpnctl, "show", "--json", "-s", os.path.join(work, "server.sock")],
                         capture_output=True, check=True, timeout=5).stdout
    return json.loads(out.decode())


def tc_classes(prefix):
    """{minor(hex str): {bytes, packets, drops, overlimits}} of tun0's htb classes; {} if none."""
    r = subprocess.run(netns(prefix, "srv", ["tc", "-s", "class", "show", "dev", "tun0"]),
                       capture_output=True, text=True)
    out, cur = {}, None
    for line in r.stdout.splitlines():
        m = re.match(r"class htb 1:([0-9a-f]+) ", line)
        if m:
            cur = m.group(1)
            continue
        m = re.match(r"\s*Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)", line)
        if m and cur:
            out[cur] = dict(zip(("bytes", "packets", "drops", "overlimits"),
                                map(int, m.groups())))
            cur = None
    return out


def snapshot(prefix, work):
    j = server_json(work)
    peers = {}
    for p in j["peers"]:
        if p.get("retiring"):
            continue
        peers[p["user"]] = {k: p[k] for k in ("rx_bytes", "rx_packets", "tx_bytes",
                                              "tx_packets", "upload_drops")}
        peers[p["user"]]["class"] = p["class"]
    return {"t": time.monotonic(), "peers": peers, "drops": j["drops"],
            "tc": tc_classes(prefix)}


def delta(a, b):
    """Rates and counter differences between two snapshots."""
    dt = b["t"] - a["t"]
    out = {"seconds": dt, "users": {}, "drops": {}, "tc": {}}
    for user, pb in b["peers"].items():
        pa = a["peers"].get(user)
        if not pa:
            continue
        u = {k: pb[k] - pa[k] for k in ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets",
                                         "upload_drops")}
        u["down_bps"] = u["tx_bytes"] * 8 / dt
        u["up_bps"] = u["rx_bytes"] * 8 / dt
        u["class"] = pb["class"]
        minor = pb["class"].split(":")[1]
        if minor in b["tc"] and minor in a["tc"]:
            u["tc"] = {k: b["tc"][minor][k] - a["tc"][minor][k] for k in b["tc"][minor]}
            u["tc_bps"] = u["tc"]["bytes"] * 8 / dt
        out["users"][user] = u
    out["drops"] = {k: b["drops"][k] - a["drops"].get(k, 0) for k in b["drops"]}
    return out


def iperf(prefix, k, port, secs, reverse, streams=1, omit=0, udp_bps=None):
    argv = ["iperf3", "-c", LAN_IP, "-p", str(port), "-t", str(int(secs)), "-J"]
    if omit:
        argv += ["-O", str(int(omit))]
    if reverse:
        argv.append("-R")
    if udp_bps:
        argv += ["-u", "-b", str(int(udp_bps)), "-l", "1200"]
    else:
        argv += ["-P", str(streams)]
    return subprocess.Popen(netns(prefix, f"c{k}", argv), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def iperf_result(proc):
    out, _ = proc.communicate()
    try:
        j = json.loads(out)
    except ValueError:
        return {"error": "no JSON from iperf3"}
    if "error" in j:
        return {"error": j["error"]}
    r = j["end"]["sum_received"]
    res = {"bps": r["bits_per_second"], "seconds": r["seconds"]}
    for k in ("lost_packets", "packets", "lost_percent", "jitter_ms"):
        if k in r:
            res[k] = r[k]
    if "sum_sent" in j["end"] and "retransmits" in j["end"]["sum_sent"]:
        res["retransmits"] = j["end"]["sum_sent"]["retransmits"]
    return res


def ping(prefix, target, count, interval):
    return subprocess.Popen(netns(prefix, "lan", ["ping", "-n", "-i", str(interval), "-c",
                                                  str(count), "-W", "1", target]),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def ping_result(proc, count):
    out, _ = proc.communicate()
    rtts = sorted(float(m.group(1)) for m in re.finditer(r"time=([\d.]+) ms", out))
    if not rtts:
        return {"sent": count, "received": 0}
    return {"sent": count, "received": len(rtts), "min": rtts[0],
            "median": statistics.median(rtts), "p95": rtts[min(len(rtts) - 1,
                                                               int(0.95 * len(rtts)))],
            "max": rtts[-1]}


def sleep_until(t):
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)


def phase(a):
    res = {"kind": a.kind, "mode": a.mode, "duration": a.duration, "warmup": a.warmup,
           "streams": a.streams, "loadavg": os.getloadavg()}
    if a.kind in ("download", "upload"):
        reverse = a.kind == "download"
        t0 = time.monotonic()
        procs = {u: iperf(a.prefix, k, port, a.warmup + a.duration + 1, reverse, a.streams,
                          a.warmup) for u, k, _, port in USERS}
        sleep_until(t0 + a.warmup + 0.5)
        s0 = snapshot(a.prefix, a.work)
        sleep_until(t0 + a.warmup + 0.5 + a.duration)
        s1 = snapshot(a.prefix, a.work)
        res["window"] = delta(s0, s1)
        res["iperf"] = {u: iperf_result(p) for u, p in procs.items()}
    elif a.kind in ("loss-down", "loss-up"):
        reverse = a.kind == "loss-down"
        t0 = time.monotonic()
        floods = {u: iperf(a.prefix, k, port, a.warmup + a.duration + 2, reverse, a.streams,
                           a.warmup) for u, k, _, port in USERS if u != "alice"}
        sleep_until(t0 + a.warmup)
        s0 = snapshot(a.prefix, a.work)
        udp = iperf(a.prefix, 1, UDP_PORT, a.duration, reverse, udp_bps=a.udp_bps)
        count = int(a.duration / a.ping_interval) - 2
        pg = ping(a.prefix, USERS[0][2], count, a.ping_interval)
        res["udp"] = iperf_result(udp)
        s1 = snapshot(a.prefix, a.work)
        res["ping"] = ping_result(pg, count)
        res["window"] = delta(s0, s1)
        res["iperf"] = {u: iperf_result(p) for u, p in floods.items()}
        res["udp_bps_offered"] = a.udp_bps
    elif a.kind == "idle":
        count = int(a.duration / a.ping_interval)
        res["ping"] = ping_result(ping(a.prefix, USERS[0][2], count, a.ping_interval), count)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)


# ---------------------------------------------------------------- the HTB model

def htb_shares(total, classes, demand=None):
    """What HTB gives saturating classes under one parent of rate = ceil = total.

    classes: {name: (rate, ceil, prio)}; demand: {name: bit/s} for classes that send less
    than they could get (their demand then caps both their rate and their ceil). Returns
    {name: bit/s}.
    1. Every class gets its rate: HTB serves a class under its rate without asking the parent
       (if the rates add up to more than total, HTB still honours them all).
    2. The spare, total - sum(rates), is lent by the parent to classes that are over their rate
       but under their ceil, strictly by priority: the lowest prio number borrows first, and a
       level only gets what all the levels before it left (HTB's self.prio / row scan).
    3. Within one level, HTB's DRR shares the spare in proportion to each class's quantum
       (here rate / 8 / r2q 10, clamped to [MTU_MAX, 200000] bytes, as qos.c sets it),
       water-filled: a class stopped by its ceil hands the rest back to its level.
    """
    if demand:
        classes = {n: (min(r, demand[n]), min(c, demand[n]), p) if n in demand else (r, c, p)
                   for n, (r, c, p) in classes.items()}
    share = {n: float(r) for n, (r, c, p) in classes.items()}
    spare = max(0.0, total - sum(share.values()))
    for prio in sorted({p for (_, _, p) in classes.values()}):
        level = {n for n, (r, c, p) in classes.items() if p == prio and c > r}
        while spare > 1e-6 and level:
            q = {n: min(max(classes[n][0] / 8 / 10, MTU_MAX), QUANTUM_MAX) for n in level}
            qsum = sum(q.values())
            give = {n: spare * q[n] / qsum for n in level}
            capped = {n for n in level if share[n] + give[n] >= classes[n][1]}
            if not capped:
                for n in level:
                    share[n] += give[n]
                spare = 0.0
                break
            for n in capped:
                spare -= classes[n][1] - share[n]
                share[n] = float(classes[n][1])
            level -= capped
    return share


def jain(xs):
    xs = list(xs)
    s2 = sum(x * x for x in xs)
    return sum(xs) ** 2 / (len(xs) * s2) if s2 else 0.0


def parse_bw(s):
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(bps|kbps|mbps|gbps|kbit|mbit|gbit|bit)?\s*", s, re.I)
    mult = {"bps": 1, "bit": 1, "kbps": 1e3, "kbit": 1e3, "mbps": 1e6, "mbit": 1e6,
            "gbps": 1e9, "gbit": 1e9}
    return float(m.group(1)) * mult[(m.group(2) or "bps").lower()]


def read_classes(path):
    """{user: (rate, ceil, prio, class name)} from a qos_classes.conf."""
    sections, cur = {}, None
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        m = re.fullmatch(r"\[(\w+):([^\]]+)\]", line)
        if m:
            cur = sections.setdefault((m.group(1), m.group(2)), {})
        elif "=" in line and cur is not None:
            k, v = (x.strip() for x in line.split("=", 1))
            cur[k] = v
    out = {}
    for (kind, name), kv in sections.items():
        if kind == "user" and "class" in kv:
            c = sections[("class", kv["class"])]
            out[name] = (parse_bw(c["rate"]), parse_bw(c["ceil"]), int(c.get("priority", 0)),
                         kv["class"])
    return out


# ---------------------------------------------------------------- the report

TARGET_JAIN = 0.98
TARGET_GUARANTEE = 0.98
TARGET_CEIL = 1.05
TARGET_LOSS = 0.1       # percent


def parse_tc_classes(text):
    """The htb classes of `tc -s class show` output, in its order."""
    out = []
    for block in re.split(r"\n(?=class )", text):
        m = re.match(r"class htb (\S+) .*?(?:prio (\d+) )?rate (\S+) ceil (\S+)", block)
        if not m:
            continue
        c = {"id": m.group(1), "prio": m.group(2) or "-", "rate": m.group(3),
             "ceil": m.group(4)}
        m = re.search(r"Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)", block)
        if m:
            c.update(zip(("bytes", "packets", "drops", "overlimits"), map(int, m.groups())))
        m = re.search(r"lended: (\d+) borrowed: (\d+)", block)
        if m:
            c["lended"], c["borrowed"] = map(int, m.groups())
        out.append(c)
    return out


def mb(bps):
    return f"{bps / 1e6:.2f}"


def report(a):
    cls = read_classes(a.classes)
    users = [u for u, _, _, _ in USERS]
    fair = htb_shares(a.total, {u: cls[u][:3] for u in users})
    res = {}
    for name in sorted(os.listdir(a.results)):
        if name.endswith(".json"):
            with open(os.path.join(a.results, name)) as f:
                r = json.load(f)
            res[(r["mode"], r["kind"])] = r
    lines, verdicts = [], []

    def out(s=""):
        lines.append(s)

    def verdict(ok, what):
        verdicts.append(("PASS" if ok else "FAIL") + ": " + what)

    any_run = res.get(("on", "download")) or next(iter(res.values()), {})
    loads = [r["loadavg"][0] for r in res.values() if "loadavg" in r]
    out(f"# QoS benchmark, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}")
    out()
    out(f"Host: {os.uname().nodename}, kernel {os.uname().release}, {os.cpu_count()} CPUs"
        + (f" (1-minute load average {min(loads):.1f}-{max(loads):.1f} at the phases' starts,"
           " the benchmark's own share included: on a shared machine, latency outliers of tens"
           " of ms are scheduling delays)" if loads else "") + ". "
        f"total_bandwidth {mb(a.total)} Mbit/s; every user saturates with "
        f"{any_run.get('streams', '?')} TCP streams (iperf3) for {any_run.get('duration', '?')} s"
        f" after {any_run.get('warmup', '?')} s of warm-up. Rates are IP-level bits counted by "
        "the server (what HTB and the policer shape); goodput is iperf3's TCP payload at the "
        "receiver.")
    out()
    out("Fair share = what HTB gives saturating classes: every class its rate, then the spare "
        "(total - sum of rates) to the classes under their ceil by priority (lowest prio number "
        "first, capped by ceil; DRR by quantum within one level). Jain's index is over "
        "rate / fair share.")
    out()
    out("| user | class | rate | ceil | prio | fair share |")
    out("|---|---|---:|---:|---:|---:|")
    for u in users:
        r, c, p, cname = cls[u]
        out(f"| {u} | {cname} | {mb(r)} | {mb(c)} | {p} | {mb(fair[u])} |")
    out()

    for mode in ("on", "off"):
        for kind, key in (("download", "down_bps"), ("upload", "up_bps")):
            r = res.get((mode, kind))
            if not r:
                continue
            w = r["window"]
            out(f"## Saturation, {kind}, QoS {mode}")
            out()
            out("| user | rate Mbit/s | goodput Mbit/s | fair share | rate / fair | "
                "of guarantee | of ceil | retransmits | policer drops | tc drops |")
            out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            ratios = []
            guar_ok = ceil_ok = True
            for u in users:
                x = w["users"].get(u, {}).get(key, 0.0)
                ip = r["iperf"].get(u, {})
                rate, ceil = cls[u][0], cls[u][1]
                ratios.append(x / fair[u])
                guar_ok &= x >= TARGET_GUARANTEE * rate
                ceil_ok &= x <= TARGET_CEIL * ceil
                tcd = w["users"].get(u, {}).get("tc", {}).get("drops", "-")
                out(f"| {u} | {mb(x)} | {mb(ip.get('bps', 0))} | {mb(fair[u])} | "
                    f"{x / fair[u]:.3f} | {100 * x / rate:.1f} % | {100 * x / ceil:.1f} % | "
                    f"{ip.get('retransmits', '-')} | {w['users'].get(u, {}).get('upload_drops', 0)}"
                    f" | {tcd} |")
            total = sum(w["users"].get(u, {}).get(key, 0.0) for u in users)
            j = jain(ratios)
            out()
            drops = ", ".join(f"{k} {v}" for k, v in w["drops"].items() if v) or "none"
            out(f"Sum {mb(total)} Mbit/s ({100 * total / a.total:.1f} % of total_bandwidth); "
                f"Jain's index over rate / fair share: **{j:.4f}**. Server drops in the window: "
                f"{drops}.")
            out()
            if mode == "on":
                verdict(j >= TARGET_JAIN, f"{kind}: Jain {j:.4f} >= {TARGET_JAIN}")
                verdict(guar_ok, f"{kind}: every user >= {100 * TARGET_GUARANTEE:.0f} % of its "
                        "guarantee (" + ", ".join(
                            f"{u} {100 * w['users'].get(u, {}).get(key, 0) / cls[u][0]:.1f} %"
                            for u in users) + ")")
                verdict(ceil_ok, f"{kind}: nobody above ceil + 5 % (" + ", ".join(
                    f"{u} {100 * w['users'].get(u, {}).get(key, 0) / cls[u][1]:.1f} %"
                    for u in users) + ")")

    for mode in ("on", "off"):
        rows = [(k, res.get((mode, k))) for k in ("loss-down", "loss-up")]
        if not any(r for _, r in rows):
            continue
        out(f"## alice inside her guarantee while bob and guest1 saturate, QoS {mode}")
        out()
        out("| direction | alice UDP offered | received | loss | jitter ms | ping median ms | "
            "p95 ms | max ms | ping lost | bob rate (HTB share) | guest1 rate (HTB share) |")
        out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for kind, r in rows:
            if not r:
                continue
            key = "down_bps" if kind == "loss-down" else "up_bps"
            u, p, w = r["udp"], r["ping"], r["window"]["users"]
            # What HTB would give bob and guest1 next to alice's actual use of her class.
            share = htb_shares(a.total, {x: cls[x][:3] for x in users},
                               {"alice": w.get("alice", {}).get(key, 0.0)})
            loss = u.get("lost_percent", 100.0) if "error" not in u else 100.0
            out(f"| {'download' if kind == 'loss-down' else 'upload'} | "
                f"{mb(r['udp_bps_offered'])} | {mb(u.get('bps', 0))} | "
                f"{loss:.3f} % ({u.get('lost_packets', '?')}/{u.get('packets', '?')}) | "
                f"{u.get('jitter_ms', 0):.3f} | {p.get('median', float('nan')):.2f} | "
                f"{p.get('p95', float('nan')):.2f} | {p.get('max', float('nan')):.2f} | "
                f"{p['sent'] - p['received']}/{p['sent']} | "
                f"{mb(w.get('bob', {}).get(key, 0))} ({mb(share['bob'])}) | "
                f"{mb(w.get('guest1', {}).get(key, 0))} ({mb(share['guest1'])}) |")
            if mode == "on":
                verdict(loss < TARGET_LOSS and "error" not in u,
                        f"{kind}: alice's in-guarantee UDP loss {loss:.3f} % < {TARGET_LOSS} %")
        out()
    idle = res.get(("on", "idle"))
    if idle:
        p = idle["ping"]
        out(f"Idle ping of alice from the LAN host (QoS on): median {p.get('median', 0):.2f} ms,"
            f" p95 {p.get('p95', 0):.2f} ms, max {p.get('max', 0):.2f} ms.")
        out()
    tcf = os.path.join(a.results, "tc-class-on-download.txt")
    if os.path.exists(tcf):
        out("## tc classes on tun0 after the download saturation (QoS on, counters since start)")
        out()
        out("| class | rate | ceil | prio | sent MB | packets | dropped | overlimits | lended | "
            "borrowed |")
        out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for c in parse_tc_classes(open(tcf).read()):
            out(f"| {c['id']} | {c['rate']} | {c['ceil']} | {c.get('prio', '-')} | "
                f"{c['bytes'] / 1e6:.2f} | {c['packets']} | {c['drops']} | {c['overlimits']} | "
                f"{c.get('lended', '-')} | {c.get('borrowed', '-')} |")
        out()
    out("## Verdict (QoS on)")
    out()
    for v in verdicts:
        out(f"- {v}")
    text = "\n".join(lines) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text)
    for v in verdicts:
        print(v)
    return 0 if all(v.startswith("PASS") for v in verdicts) else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("phase")
    p.add_argument("kind", choices=["download", "upload", "loss-down", "loss-up", "idle"])
    p.add_argument("--prefix", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--mode", required=True, choices=["on", "off"])
    p.add_argument("--out", required=True)
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--streams", type=int, default=2)
    p.add_argument("--udp-bps", type=float, default=3e6)
    p.add_argument("--ping-interval", type=float, default=0.05)
    r = sub.add_parser("report")
    r.add_argument("--results", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--total", type=float, required=True)
    r.add_argument("--classes", required=True)
    a = ap.parse_args()
    if a.cmd == "phase":
        if a.kind in ("download", "upload"):
            a.duration, a.warmup = int(a.duration), int(a.warmup)
        phase(a)
        return 0
    return report(a)


if __name__ == "__main__":
    sys.exit(main())
