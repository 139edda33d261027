#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# A webhook receiver for the tests that checks every delivery exactly as the Standard Webhooks
# specification says, with nothing of smswake's code: the key is the base64 part of the
# "whsec_" secret, the signed content is "<webhook-id>.<webhook-timestamp>.<body>", each
# "v1,<base64>" of webhook-signature is compared in constant time, and the timestamp must be
# within 5 minutes. Usage: webhook_receiver.py DIR. It writes DIR/port, reads the secret from
# DIR/secret and the status to answer from DIR/status (default 200), and appends one JSON line
# per delivery to DIR/deliveries: {"verified": bool, "status": N, "id": .., "event": {...}}.
import base64
import hashlib
import hmac
import http.server
import json
import os
import sys
import time

DIR = sys.argv[1]


def read(name, default):
    try:
        with open(os.path.join(DIR, name)) as f:
            return f.read().strip() or default
    except OSError:
        return default


def verify(headers, body):
    wid = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    secret = read("secret", "")
    if not wid or not ts or not sigs or not secret.startswith("whsec_"):
        return False
    try:
        if abs(time.time() - int(ts)) > 300:
            return False
        key = base64.b64decode(secret[len("whsec_"):], validate=True)
    except ValueError:
        return False
    signed = wid.encode() + b"." + ts.encode() + b"." + body
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for sig in sigs.split(" "):
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, want):
            return True
    return False


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        status = int(read("status", "200"))
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        line = {"verified": verify(self.headers, body), "status": status,
                "id": self.headers.get("webhook-id"), "event": event}
        with open(os.path.join(DIR, "deliveries"), "a") as f:
            f.write(json.dumps(line) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
srv.serve_forever()
