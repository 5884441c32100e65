#!/usr/bin/python3
"""A JSON service for the integration tests (the booking and payment
services of API.md §9/§11, as core/service_client calls them).

usage: service_fixture.py [--timeout S]

Listens on 127.0.0.1, on a free port, and prints, flushed:
  {"event":"listening","port":N,"pid":P}   once, first
  {"event":"request","method","path","authorization","idempotency_key",
   "content_type","body"}                  for each request, before answering
Answers: /fail-then-ok/<n>/<tag> → 503 for the first n requests of that
path, then 200; /slow → 200 after 3 s; /status/<code> → that status;
anything else → 200 {"path":…,"method":…}. A path segment "slow" anywhere
(e.g. /bookings/slow) waits 3 s too, and a segment "status-<code>"
(/payments/status-404/refunds) answers that status: the AI tools' ids
choose the answer. Exits after S seconds
(default 120) or on SIGTERM.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

from fixture_server import out, serve

seen = {}
lock = threading.Lock()




class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to tell it

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        out({"event": "request", "method": self.command, "path": self.path,
             "authorization": self.headers.get("Authorization"),
             "idempotency_key": self.headers.get("Idempotency-Key"),
             "content_type": self.headers.get("Content-Type"), "body": body})
        parts = self.path.strip("/").split("/")
        if parts[0] == "fail-then-ok" and len(parts) >= 2:
            with lock:
                seen[self.path] = seen.get(self.path, 0) + 1
                k = seen[self.path]
            if k <= int(parts[1]):
                return self.answer(503, {"error": "busy", "attempt": k})
            return self.answer(200, {"ok": True, "attempt": k})
        if "slow" in parts:
            time.sleep(3)
        if parts[0] == "status" and len(parts) == 2:
            return self.answer(int(parts[1]), {"status": int(parts[1])})
        for part in parts:
            if part.startswith("status-") and part[7:].isdigit():
                return self.answer(int(part[7:]), {"status": int(part[7:])})
        return self.answer(200, {"path": self.path, "method": self.command})

    do_GET = handle_any
    do_POST = handle_any


def main():
    timeout = 120
    if len(sys.argv) == 3 and sys.argv[1] == "--timeout":
        timeout = int(sys.argv[2])
    serve(Handler, timeout)


if __name__ == "__main__":
    main()
