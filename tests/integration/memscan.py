#!/usr/bin/env python3
"""Scans a process's whole readable address space (/proc/PID/mem, as root) for byte strings.

usage: memscan.py PID NAME=HEX [NAME=HEX ...]
prints one line per needle: "NAME found" or "NAME absent"; exit 2 if the process is unreadable.
Regions are read in chunks that overlap by the longest needle, so a key split across a chunk
boundary is still found."""
import re
import sys


def regions(pid):
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            if m and m.group(3)[0] == "r" and "[vvar]" not in line and "[vsyscall]" not in line:
                yield int(m.group(1), 16), int(m.group(2), 16)


def main():
    pid = int(sys.argv[1])
    needles = {}
    for arg in sys.argv[2:]:
        name, hexval = arg.split("=", 1)
        needles[name] = bytes.fromhex(hexval)
    longest = max(len(n) for n in needles.values())
    found = {name: False for name in needles}
    scanned = 0
    try:
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
    except OSError as e:
        print(f"cannot open /proc/{pid}/mem: {e}")
        sys.exit(2)
    chunk = 1 << 20
    for start, end in regions(pid):
        pos = start
        while pos < end:
            n = min(chunk + longest, end - pos)
            try:
                mem.seek(pos)
                data = mem.read(n)
            except OSError:
                break
            scanned += len(data)
            for name, needle in needles.items():
                if not found[name] and needle in data:
                    found[name] = True
            pos += chunk
    if scanned == 0:
        print("nothing readable")
        sys.exit(2)
    for name in needles:
        print(f"{name} {'found' if found[name] else 'absent'}")
    print(f"scanned {scanned} bytes")


main()
