#!/usr/bin/python3
"""HTTP receiver for the dispatch tests: a notification service (or any
endpoint) that fails or stalls on demand.

usage: http_receiver.py LOGFILE --ready-file FILE
Every POST is logged as two JSON lines: {"event":"start",path,headers,body}
when it arrives and {"event":"done",path,status,body} once answered. The
query of the request's URL says how to answer, per path:
  fail=N    answer 500 to the first N requests to this path, then 200
  delay=S   sleep S seconds (a float) before answering
Runs until SIGTERM.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

lock = threading.Lock()
counts = {}
log = None


def write(entry):
    with lock:
        log.write(json.dumps(entry) + "\n")
        log.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        write({"event": "start", "path": url.path, "headers": headers, "body": body})
        with lock:
            counts[self.path] = counts.get(self.path, 0) + 1
            seen = counts[self.path]
        time.sleep(float(q.get("delay", 0)))
        status = 500 if seen <= int(q.get("fail", 0)) else 200
        reply = b'{"ok":true}' if status == 200 else b'{"error":"on demand"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
        write({"event": "done", "path": url.path, "status": status, "body": body})


def main():
    global log
    ap = argparse.ArgumentParser()
    ap.add_argument("logfile")
    ap.add_argument("--ready-file", required=True)
    args = ap.parse_args()
    log = open(args.logfile, "a")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.ready_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
