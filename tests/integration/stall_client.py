#!/usr/bin/env python3
"""A status client that asks and never reads: connects to a Unix control socket, sends one
request, then sleeps with the reply unread (smallest receive buffer) until SECONDS pass.

usage: stall_client.py SOCKET REQUEST SECONDS

Prints "sent" once the request is out, then "closed" at the end."""
import socket
import sys
import time

path, request, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
s.connect(path)
s.sendall(request.encode())
print("sent", flush=True)
time.sleep(seconds)
s.close()
print("closed", flush=True)
