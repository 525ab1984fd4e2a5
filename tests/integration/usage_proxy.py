#!/usr/bin/env python3
"""A control socket that answers "usage json" in the shape the server's usage request has
(README, "Monitoring": the status page's /api/usage), with made-up usage, and passes every
other request to the real server's socket: the status page test draws real sessions and spec-shaped usage,
whether or not the server it runs against answers "usage json" itself.

    usage_proxy.py LISTEN_PATH SERVER_SOCKET
"""
import datetime
import json
import os
import socket
import sys

listen_path, server_path = sys.argv[1], sys.argv[2]


def usage():
    today = datetime.datetime.now(datetime.timezone.utc).date()
    month_start = today.replace(day=1)

    def days(scale, skip):
        out = []
        for i in range(29, -1, -1):
            d = today - datetime.timedelta(days=i)
            if i % skip == 0:
                continue
            n = (i * 7919) % 13 + 3
            out.append({"day": d.isoformat(), "rx_bytes": n * scale // 4,
                        "tx_bytes": n * scale})
        return out

    return {
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "users": [
            {"user": "alice", "class": "vip", "status": "ok", "quota_bytes": 50 * 10**9,
             "quota_period": "month", "period_start": month_start.isoformat(),
             "period_used_bytes": 36 * 10**9, "expires": None, "days": days(10**8, 5)},
            {"user": "bob", "class": "normal", "status": "over_quota",
             "quota_bytes": 10 * 10**9, "quota_period": "week",
             "period_start": (today - datetime.timedelta(days=today.weekday())).isoformat(),
             "period_used_bytes": 10 * 10**9 + 12345, "expires": "2027-01-31",
             "days": days(3 * 10**8, 7)},
            {"user": "guest1", "class": "guest", "status": "ok", "quota_bytes": None,
             "quota_period": None, "period_start": None, "period_used_bytes": 0,
             "expires": None, "days": []},
        ],
    }


def forward(request):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(server_path)
    s.sendall(request)
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


if os.path.exists(listen_path):
    os.unlink(listen_path)
srv = socket.socket(socket.AF_UNIX)
srv.bind(listen_path)
os.chmod(listen_path, 0o666)
srv.listen(8)
print("listening", flush=True)
while True:
    c, _ = srv.accept()
    with c:
        c.settimeout(2)
        try:
            req = c.recv(64)
            if req.startswith(b"usage json"):
                c.sendall(json.dumps(usage()).encode())
            else:
                c.sendall(forward(req))
        except OSError as e:
            print("proxy:", e, flush=True)
