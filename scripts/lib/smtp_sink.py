#!/usr/bin/python3
"""SMTP sink of the dev stack and the dispatch tests (python3-aiosmtpd).

Accepts every mail on 127.0.0.1 and stores it, as received, in a Maildir,
so a developer sees what support-dispatch sent (any mail client opens a
Maildir; or `ls var/mail/new`) and a test can read it back. As a
delivering MTA does, it puts the envelope's recipients on top, in an
X-Original-To header (RCPT TO as the client wrote it).

usage: smtp_sink.py MAILDIR [--port N] [--ready-file FILE]
  --port N          port to listen on (default: a free one)
  --ready-file F    written with the port once the server accepts mail
Runs until SIGTERM/SIGINT. With SMTP_SINK_SILENT=QUIT (or DATA) in its
environment it never answers that command (a relay that hangs, for the
dispatcher's tests of it). With SMTP_SINK_REFUSE=550 (any 5xx or 4xx
code) it refuses every recipient with that code (a relay that will not
take the mail). With SMTP_SINK_AUTH=1 it asks for AUTH (PLAIN or LOGIN,
over plain SMTP: a test relay), takes any login and puts the one a mail
came with on top of it, in an X-Sink-Auth header ("user:password"), so a
test sees which password was sent.
"""
import argparse
import asyncio
import logging
import mailbox
import os
import socket
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import sink


class Store:
    def __init__(self, path):
        self.box = mailbox.Maildir(path, create=True)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        top = "X-Original-To: %s\r\n" % ", ".join(envelope.rcpt_tos)
        if isinstance(session.auth_data, LoginPassword):
            top += "X-Sink-Auth: %s:%s\r\n" % (
                session.auth_data.login.decode("utf-8", "replace"),
                session.auth_data.password.decode("utf-8", "replace"))
        with self.lock:
            self.box.add(top.encode("utf-8", "surrogateescape") +
                         (envelope.original_content or envelope.content))
        return "250 OK stored"


class SilentStore(Store):
    def __init__(self, path, silent):
        super().__init__(path)
        self.silent = silent

    async def handle_DATA(self, server, session, envelope):
        if self.silent == "DATA":
            await asyncio.sleep(3600)
        return await super().handle_DATA(server, session, envelope)

    async def handle_QUIT(self, server, session, envelope):
        if self.silent == "QUIT":
            await asyncio.sleep(3600)
        return "221 Bye"


class RefusingStore(Store):
    def __init__(self, path, code):
        super().__init__(path)
        self.code = code

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "%s 5.1.1 refused by the test sink" % self.code


def any_login(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=True, auth_data=auth_data)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def auth_kwargs():
    """The Controller's arguments for SMTP_SINK_AUTH=1: ask for AUTH (PLAIN
    or LOGIN, over plain SMTP: a test relay) and take any login; none
    without it."""
    if not os.environ.get("SMTP_SINK_AUTH"):
        return {}
    # Plain-text AUTH is the point here: no warning for each session.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    return {"authenticator": any_login, "auth_required": True, "auth_require_tls": False}


def serve(handler, what, maildir, port=0, ready_file=None, controller=Controller, **kwargs):
    """The sinks' start-up (this one's and t/integration/smtp_tls_sink.py's):
    handler, storing to maildir, served by controller on 127.0.0.1:port (a
    free one for 0) with SMTP_SINK_AUTH's arguments and kwargs; the port
    announced through ready_file and a banner saying what it is
    (sink.ready); then runs until SIGTERM/SIGINT."""
    port = port or free_port()
    ctl = controller(handler, hostname="127.0.0.1", port=port, **auth_kwargs(), **kwargs)
    ctl.start()
    sink.ready(port, ready_file, "%s on 127.0.0.1:%d, Maildir %s" % (what, port, maildir))
    sink.wait_for_stop()
    ctl.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("maildir")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    silent = os.environ.get("SMTP_SINK_SILENT")
    refuse = os.environ.get("SMTP_SINK_REFUSE")
    if refuse:
        store = RefusingStore(args.maildir, refuse)
    elif silent:
        store = SilentStore(args.maildir, silent)
    else:
        store = Store(args.maildir)
    serve(store, "smtp sink", args.maildir, args.port, args.ready_file)


if __name__ == "__main__":
    main()
