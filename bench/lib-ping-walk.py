#!/usr/bin/env python3
"""Pairs up bench/ping-walk.bt's stage lines into walks and prints, per hop, the median, p90,
p99 and maximum in microseconds (docs/PERFORMANCE.md, "Latency under load").

    lib-ping-walk.py TRACE [TITLE]

A walk starts at each A (ping sends) and ends before the next. In it, each stage is the first
line of its letter after the stage before that was found: a stage that is missing (a reply read
by another path, a lost ping) is skipped and the next hop is measured from the last one found.
"""
import sys

# (letter, what happened) in the walk's order (bench/ping-walk.bt): F is a worker's flush
# after it opens (E) and after it seals (J); G and H are the server's TUN and the client's,
# both called tun0.
STAGES = [
    ("A", "ping sends"),
    ("H", "the kernel queues it to the client's TUN"),
    ("B", "the client's TUN thread reads it"),
    ("C", "the client sends it sealed"),
    ("D", "the server's RX thread receives it"),
    ("E", "a worker opens it"),
    ("F", "the worker publishes it"),
    ("G", "it enters the server's TUN"),
    ("H", "the LAN's answer is queued to the server's TUN"),
    ("I", "the server reads the answer from the TUN"),
    ("J", "a worker seals it"),
    ("F", "the worker publishes it"),
    ("K", "the server sends it"),
    ("L", "the client receives it"),
    ("G", "it enters the client's TUN"),
    ("N", "ping receives it"),
]


def walks(events):
    starts = [i for i, (_, s) in enumerate(events) if s == "A"]
    for k, i in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(events)
        found = [events[i][0]] + [None] * (len(STAGES) - 1)
        j = i + 1
        for n in range(1, len(STAGES)):
            letter = STAGES[n][0]
            for m in range(j, end):
                if events[m][1] == letter:
                    found[n] = events[m][0]
                    j = m + 1
                    break
        if found[-1] is not None:
            yield found


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, (p * len(xs) + 99) // 100 - 1))]


def main():
    events = []
    with open(sys.argv[1]) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit():
                events.append((int(parts[0]), parts[1]))
    events.sort()
    done = list(walks(events))
    title = sys.argv[2] if len(sys.argv) > 2 else sys.argv[1]
    print(f"### {title}: {len(done)} complete walks")
    print()
    if not done:
        return 1
    print("| hop | to | walks | p50 µs | p90 µs | p99 µs | max µs |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for n in range(1, len(STAGES)):
        hops = []
        for w in done:
            if w[n] is None:
                continue
            prev = max(k for k in range(n) if w[k] is not None)
            hops.append((w[n] - w[prev]) / 1000)
        if hops:
            print(f"| {STAGES[n][0]} | {STAGES[n][1]} | {len(hops)} | {pct(hops, 50):.0f} | "
                  f"{pct(hops, 90):.0f} | {pct(hops, 99):.0f} | {max(hops):.0f} |")
    total = [(w[-1] - w[0]) / 1000 for w in done]
    print(f"| A-N | the whole walk | {len(total)} | {pct(total, 50):.0f} | {pct(total, 90):.0f} | "
          f"{pct(total, 99):.0f} | {max(total):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
