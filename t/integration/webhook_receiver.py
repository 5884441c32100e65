#!/usr/bin/python3
"""Webhook receiver for the integration tests (API.md §11).

usage: webhook_receiver.py SECRETS_FILE [--timeout S]

Listens on 127.0.0.1, on a free port, and prints, flushed:
  {"event":"listening","port":N,"pid":P}   once, first
  {"event":"request", ...}                  for each request, before answering:
      method, path, content_type, user_agent, event_id, signature (the
      Support-Signature header), body (text), signatures (how many v1=),
      matched (indices, in SECRETS_FILE, of the secrets whose
      HMAC-SHA256 over "<t>.<body>" is one of the v1= values; compared
      in constant time), fresh (t within 300 s of now), valid (fresh and
      some secret matched), peer_port (the client's port: one per
      connection, so kept connections show)
SECRETS_FILE is read at every request: one secret per line (a test writes
the secret it got once the webhook exists).

Answers: /fail/<code> → <code>; /redirect → 302 to /elsewhere on this
server; /slow/<s> → after s seconds, as below (a receiver that hangs);
anything else → 200 when valid, else 401. Requests are served on
threads of their own (a slow one holds only itself). Exits after S
seconds (default 120) or on SIGTERM.
"""
import hashlib
import hmac
import sys
import time
from http.server import BaseHTTPRequestHandler

from fixture_server import out, serve




def secrets(path):
    try:
        with open(path, encoding="ascii") as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []


def verify(header, body, keys):
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    t = next((v for k, v in parts if k == "t"), None)
    sigs = [v for k, v in parts if k == "v1"]
    matched = []
    if t is None:
        return sigs, matched, False
    message = t.encode() + b"." + body
    for i, key in enumerate(keys):
        want = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(want, s) for s in sigs):
            matched.append(i)
    fresh = t.isdigit() and abs(time.time() - int(t)) <= 300
    return sigs, matched, fresh


class Handler(BaseHTTPRequestHandler):
    secrets_file = ""
    protocol_version = "HTTP/1.1"   # keep-alive: every answer has a Content-Length

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        header = self.headers.get("Support-Signature") or ""
        sigs, matched, fresh = verify(header, body, secrets(self.secrets_file))
        valid = fresh and bool(matched)
        out({"event": "request", "method": "POST", "path": self.path,
             "content_type": self.headers.get("Content-Type"),
             "user_agent": self.headers.get("User-Agent"),
             "event_id": self.headers.get("Support-Event-Id"),
             "signature": header, "body": body.decode("utf-8", "replace"),
             "signatures": len(sigs), "matched": matched, "fresh": fresh, "valid": valid,
             "peer_port": self.client_address[1]})
        if self.path.startswith("/fail/"):
            self.answer(int(self.path[6:]))
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:%d/elsewhere" % self.server.server_port)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            if self.path.startswith("/slow/"):
                time.sleep(float(self.path[6:]))
            self.answer(200 if valid else 401)

    def answer(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--timeout" else 120.0
    Handler.secrets_file = sys.argv[1]
    serve(Handler, timeout)


if __name__ == "__main__":
    main()
