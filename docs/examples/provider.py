#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A smswake provider in Python's standard library alone: it receives webhooks and checks their
signatures (Standard Webhooks), reads the event stream, and submits a message to a device.

    provider.py --url http://127.0.0.1:8080 --key swp_... --device 1 --listen 127.0.0.1:9000

It prints one line per event it hears of ("webhook message.acked ..." and "stream
message.acked ...") and exits 0 once the message is acknowledged on both, 1 after --timeout.
The server must be allowed to reach --listen: [webhooks] allow = 127.0.0.0/8 for a local test.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import sys
import threading
import time
import urllib.parse

seen = {"webhook": set(), "stream": set()}
done = threading.Event()


def api(base, key, method, path, body=None, headers=None):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    h = {"Authorization": "Bearer " + key}
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, (json.loads(data) if data and r.getheader("Content-Type", "").startswith("application/json") else None)


def verify(secret, headers, body, tolerance=300):
    """Standard Webhooks: HMAC-SHA256 over "id.timestamp.body" keyed with the secret's base64 part."""
    wid, ts, sigs = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    if not (wid and ts and sigs) or abs(time.time() - int(ts)) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    want = base64.b64encode(hmac.new(key, f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return any(s.startswith("v1,") and hmac.compare_digest(s[3:], want) for s in sigs.split(" "))


def note(source, event, message_id):
    d = event["data"]
    print(f"{source} {event['type']} message={d.get('message_id')} device={d['device_id']} state={d['state']}", flush=True)
    if event["type"] == "message.acked" and d.get("message_id") == message_id[0]:
        seen[source].add(d["message_id"])
    if all(message_id[0] in s for s in seen.values()):
        done.set()


def receiver(addr, secret, message_id):
    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if not verify(secret[0], self.headers, body):
                self.send_response(401)
                self.end_headers()
                print("webhook with a bad signature refused", flush=True)
                return
            self.send_response(204)
            self.end_headers()
            note("webhook", json.loads(body), message_id)

        def log_message(self, *args):
            pass

    host, port = addr.rsplit(":", 1)
    srv = http.server.ThreadingHTTPServer((host, int(port)), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def stream(base, key, message_id):
    """Reads GET /v1/events; reconnects with Last-Event-ID after a break."""
    last = None
    u = urllib.parse.urlsplit(base)
    while not done.is_set():
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            h = {"Authorization": "Bearer " + key, "Accept": "text/event-stream"}
            if last:
                h["Last-Event-ID"] = last
            c.request("GET", "/v1/events", headers=h)
            r = c.getresponse()
            event = {}
            for raw in r:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("id: "):
                    event["id"] = line[4:]
                elif line.startswith("data: "):
                    event["data"] = line[6:]
                elif line == "" and "data" in event:
                    last = event.get("id", last)
                    obj = json.loads(event["data"])
                    if "type" in obj:
                        note("stream", obj, message_id)
                    event = {}
                if done.is_set():
                    break
        except OSError:
            time.sleep(1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--device", type=int, required=True)
    p.add_argument("--listen", default="127.0.0.1:9000")
    p.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()
    message_id, secret = [None], [None]

    srv = receiver(a.listen, secret, message_id)
    hook_url = f"http://{a.listen.rsplit(':', 1)[0]}:{srv.server_address[1]}/smswake"
    st, hook = api(a.url, a.key, "POST", "/v1/webhooks",
                   json.dumps({"url": hook_url, "events": ["message.fetched", "message.acked"]}),
                   {"Content-Type": "application/json"})
    if st != 201:
        sys.exit(f"POST /v1/webhooks: {st}")
    secret[0] = hook["secret"]
    threading.Thread(target=stream, args=(a.url, a.key, message_id), daemon=True).start()
    time.sleep(0.5)  # the stream starts with what happens from now on

    st, msg = api(a.url, a.key, "POST", f"/v1/devices/{a.device}/messages", b"hello from python",
                  {"Content-Type": "text/plain", "Urgency": "high", "TTL": "3600"})
    if st != 201:
        sys.exit(f"submit: {st}")
    message_id[0] = msg["id"]
    print(f"submitted message {msg['id']} (seq {msg['seq']})", flush=True)
    ok = done.wait(a.timeout)
    api(a.url, a.key, "DELETE", f"/v1/webhooks/{hook['id']}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
