#!/usr/bin/env python3
"""An on-path attacker for the integration tests: relays UDP between one client and the
server and tampers with chosen CONNECT_REQs on the way.

    udp-relay.py LISTEN_IP LISTEN_PORT SERVER_IP SERVER_PORT --flip N[,N...] --log FILE

Every datagram from the client goes to the server from one socket of the relay, every answer
goes back. In the N-th CONNECT_REQ (1-based, type byte 0x01) one byte of the zero padding
(payload offset 200, header + 200) is flipped. The log gets one line per event: "req N",
"flipped N", "resp LEN" (a CONNECT_RESP from the server, with its length).
"""
import argparse
import select
import socket

ap = argparse.ArgumentParser()
ap.add_argument("listen_ip")
ap.add_argument("listen_port", type=int)
ap.add_argument("server_ip")
ap.add_argument("server_port", type=int)
ap.add_argument("--flip", default="")
ap.add_argument("--log", required=True)
a = ap.parse_args()
flip = {int(n) for n in a.flip.split(",") if n}

front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
front.bind((a.listen_ip, a.listen_port))
back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
back.connect((a.server_ip, a.server_port))
client = None
requests = 0
log = open(a.log, "a", buffering=1)
while True:
    ready, _, _ = select.select([front, back], [], [])
    if front in ready:
        data, client = front.recvfrom(65535)
        if data[:1] == b"\x01" and len(data) == 272:
            requests += 1
            log.write("req %d\n" % requests)
            if requests in flip:
                data = bytearray(data)
                data[16 + 200] ^= 0x01
                data = bytes(data)
                log.write("flipped %d\n" % requests)
        back.send(data)
    if back in ready:
        data = back.recv(65535)
        if data[:1] == b"\x02":
            log.write("resp %d\n" % len(data))
        if client:
            front.sendto(data, client)
