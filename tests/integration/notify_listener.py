#!/usr/bin/env python3
"""A stand-in for systemd's notification socket (sd_notify(3)), for the tests.

usage: notify_listener.py SOCKET LOG

Binds a Unix datagram socket at SOCKET (mode 0777, as systemd's is: the server sends from its
unprivileged user after set-up) and appends each datagram to LOG as one line per assignment,
"PID VAR=VALUE", PID being the sender's process as the kernel reports it (SCM_CREDENTIALS),
not as the sender claims. Runs until killed; LOG is flushed after every datagram."""
import os
import socket
import struct
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, log_path = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.bind(path)
    os.chmod(path, 0o777)
    creds_size = struct.calcsize("3i")
    with open(log_path, "a", buffering=1) as log:
        while True:
            data, ancdata, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(creds_size))
            pid = -1
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", payload[:creds_size])[0]
            for line in data.decode("utf-8", "replace").split("\n"):
                if line:
                    log.write(f"{pid} {line}\n")


main()
