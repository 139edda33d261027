#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Reads a Server-Sent Events stream for the tests: sse_read.py URL TOKEN LAST_EVENT_ID SECONDS OUT.
# LAST_EVENT_ID "-" sends none. Every line received is appended to OUT as it arrives; the status
# line goes first ("status N").
import socket
import sys
import time
import urllib.parse

url, token, last, seconds, out = sys.argv[1:6]
u = urllib.parse.urlsplit(url)
sock = socket.create_connection((u.hostname, u.port), timeout=2)
head = f"GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n"
if last != "-":
    head += f"Last-Event-ID: {last}\r\n"
sock.sendall((head + "\r\n").encode())
end = time.time() + float(seconds)
data = b""
with open(out, "a") as f:
    while time.time() < end:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            break
        data += chunk
        while b"\n" in data:
            line, data = data.split(b"\n", 1)
            f.write(line.decode().rstrip("\r") + "\n")
            f.flush()
sock.close()
