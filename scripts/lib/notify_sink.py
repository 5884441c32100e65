#!/usr/bin/python3
"""Notification-service sink of the dev stack (standard library only).

Stands in for the notification service support-dispatch POSTs SMS, push
and staff notifications to (SUPPORT_NOTIFY_URL; docs/API.md §11): accepts
POST /notify on 127.0.0.1, answers 202, and writes each request as one
JSON file in DIR, so a developer sees what would have been sent
(`ls var/notify`, `cat var/notify/*.json`):

  {"received_at": "2026-01-02T03:04:05.678Z", "idempotency_key": "outbox-7",
   "body": {"id": "outbox-7", "channel": "sms", "event_type": ...,
            "to": {"phone": ...}, "ticket": {...}, "title": ..., "text": ...}}

Files are named <UTC time>-<n>-<body id>.json, so `ls` lists them in the
order they came; a retried row (same Idempotency-Key) shows up again.
A body that is not a JSON object is 400, another path 404, a body over
1 MiB 413; nothing is written for those.

usage: notify_sink.py DIR [--port N] [--ready-file FILE]
  --port N          port to listen on (default: a free one)
  --ready-file F    written with the port once the server accepts requests
Runs until SIGTERM/SIGINT.
"""
import argparse
import datetime
import http.server
import itertools
import json
import os
import re
import threading

import sink

MAX_BODY = 1 << 20


class Sink(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port, directory):
        super().__init__(("127.0.0.1", port), Handler)
        self.directory = directory
        self.seq = itertools.count(1)
        self.lock = threading.Lock()

    def store(self, record, body_id):
        now = datetime.datetime.now(datetime.timezone.utc)
        with self.lock:
            n = next(self.seq)
        name = "%s-%06d-%s.json" % (now.strftime("%Y%m%dT%H%M%S.%fZ"), n,
                                    re.sub(r"[^A-Za-z0-9_.-]", "_", body_id)[:64] or "request")
        record["received_at"] = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        path = os.path.join(self.directory, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False, indent=2, sort_keys=True)
            f.write("\n")
        os.rename(path + ".tmp", path)   # a reader never sees half a file
        return name


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "notify-sink/1"

    def answer(self, status, doc):
        data = (json.dumps(doc) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            self.close_connection = True
            return self.answer(413, {"error": "body_too_large"})
        raw = self.rfile.read(n)
        if self.path.split("?", 1)[0] != "/notify":
            return self.answer(404, {"error": "not_found"})
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self.answer(400, {"error": "expected a JSON object"})
        name = self.server.store({"idempotency_key": self.headers.get("Idempotency-Key"),
                                  "body": body}, str(body.get("id") or ""))
        self.answer(202, {"status": "accepted", "file": name})

    def do_GET(self):
        self.answer(404, {"error": "not_found"})

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("directory")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    server = Sink(args.port, args.directory)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sink.ready(port, args.ready_file,
               "notify sink on http://127.0.0.1:%d/notify, requests in %s" % (port, args.directory))
    sink.wait_for_stop()
    server.shutdown()


if __name__ == "__main__":
    main()
