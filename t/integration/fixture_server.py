"""What every fixture server of t/integration shares (the harness's
sp_t_fixture_* side): one JSON line per event on stdout, and a threaded
HTTP server on a free loopback port that announces itself with
{"event":"listening","port","pid"}, dies on SIGTERM and after `timeout`
seconds at the latest (a test that crashed never leaves one behind)."""
import json
import os
import signal
import sys
import threading
from http.server import ThreadingHTTPServer


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def serve(handler, timeout):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    timer = threading.Timer(timeout, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    out({"event": "listening", "port": server.server_address[1], "pid": os.getpid()})
    server.serve_forever()
