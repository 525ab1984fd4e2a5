#!/usr/bin/env python3
"""Sets keys in one of our INI configuration files, in place, keeping comments and order.

usage: ini-set.py FILE section.key=value [section.key=value ...]

An existing key is replaced where it stands; a new key goes after the last key of its
section; a new section is appended. The rule lives in one place, core/lib/ini_edit.c (the
one vpnctl's user commands edit the server's files with): this runs `vpnctl ini-set`, which
the tests and benchmarks use through it to derive configurations from the shipped examples
(build first: make)."""
import os
import sys

vpnctl = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bin", "vpnctl")
if len(sys.argv) < 3:
    sys.exit(__doc__)
os.execv(vpnctl, [vpnctl, "ini-set"] + sys.argv[1:])
