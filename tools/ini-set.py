#!/usr/bin/env python3
"""Sets keys in one of our INI configuration files, in place, keeping comments and order.

usage: ini-set.py FILE section.key=value [section.key=value ...]

An existing key is replaced where it stands; a new key goes at the end of its section; a new
section is appended. Used by the tests and benchmarks to derive configurations from the
shipped examples; handy for scripted deployments too."""
import re
import sys


def set_key(lines, section, name, value):
    current = None
    for i, line in enumerate(lines):
        header = re.match(r"\s*\[(.*)\]\s*$", line)
        if header:
            if current == section:
                lines.insert(i, f"{name} = {value}")
                return
            current = header.group(1)
            continue
        if current == section and re.match(rf"\s*{re.escape(name)}\s*=", line):
            lines[i] = f"{name} = {value}"
            return
    if current != section:
        lines.append(f"[{section}]")
    lines.append(f"{name} = {value}")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path = sys.argv[1]
    lines = open(path).read().rstrip("\n").split("\n")
    for assignment in sys.argv[2:]:
        key, value = assignment.split("=", 1)
        section, name = key.split(".", 1)
        set_key(lines, section, name, value)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


main()
