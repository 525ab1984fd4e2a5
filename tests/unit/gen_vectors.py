#!/usr/bin/env python3
"""Writes tests/unit/vectors.inc from shared/spec/vectors.json (the binding test vectors)."""
import json
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/spec/vectors.json"
vec = json.load(open(src))
lines = ["/* Generated from shared/spec/vectors.json by tests/unit/gen_vectors.py; do not edit. */"]
for key, val in vec.items():
    if key == "about":
        continue
    if isinstance(val, str):
        lines.append('#define V_%s "%s"' % (key.upper(), val))
    elif isinstance(val, int):
        lines.append("#define V_%s %dULL" % (key.upper(), val))
open("tests/unit/vectors.inc", "w").write("\n".join(lines) + "\n")
