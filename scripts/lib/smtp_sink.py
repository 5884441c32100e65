#!/usr/bin/python3
"""SMTP sink of the dev stack and the dispatch tests (python3-aiosmtpd).

Accepts every mail on 127.0.0.1 and stores it, as received, in a Maildir,
so a developer sees what support-dispatch sent (any mail client opens a
Maildir; or `ls var/mail/new`) and a test can read it back.

usage: smtp_sink.py MAILDIR [--port N] [--ready-file FILE]
  --port N          port to listen on (default: a free one)
  --ready-file F    written with the port once the server accepts mail
Runs until SIGTERM/SIGINT.
"""
import argparse
import mailbox
import socket
import threading

from aiosmtpd.controller import Controller

import sink


class Store:
    def __init__(self, path):
        self.box = mailbox.Maildir(path, create=True)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.box.add(envelope.original_content or envelope.content)
        return "250 OK stored"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("maildir")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    port = args.port or free_port()
    ctl = Controller(Store(args.maildir), hostname="127.0.0.1", port=port)
    ctl.start()
    sink.ready(port, args.ready_file,
               "smtp sink on 127.0.0.1:%d, Maildir %s" % (port, args.maildir))
    sink.wait_for_stop()
    ctl.stop()


if __name__ == "__main__":
    main()
