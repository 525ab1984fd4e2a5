#!/usr/bin/env python3
"""Instructions executed by a program under qemu-user, for bench/run-aead-count.sh.

    qemu-aarch64 -d in_asm,exec,nochain -D /dev/stderr PROGRAM ... 2>&1 >/dev/null | lib-insn-count.py

qemu translates guest code in blocks. With in_asm it logs each block once, when translated,
with its instructions; with exec and nochain it logs every execution of a block ("Trace"
lines: nochain stops blocks jumping straight into one another, which would skip the log).
The sum over the executions of each block's instruction count is the number of guest
instructions executed: exact for user-mode code (checked against -singlestep, where every
block is one instruction, on the same program: equal). Prints that number.
"""
import re
import sys

INSN = re.compile(r'^0x([0-9a-f]+):\s')


def main():
    size = {}           # block start address -> instructions in it
    start = None
    total = 0
    for line in sys.stdin:
        if line.startswith('Trace '):
            # Trace 0: 0xHOSTPTR [cs_base/PC/flags/cflags] symbol
            total += size[int(line.split('/')[1], 16)]
        elif line.startswith('IN:'):
            start = None
        else:
            m = INSN.match(line)
            if m:
                if start is None:
                    start = int(m.group(1), 16)
                    size[start] = 0
                size[start] += 1
    print(total)


if __name__ == '__main__':
    main()
