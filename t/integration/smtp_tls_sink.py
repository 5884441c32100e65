#!/usr/bin/python3
"""The SMTP sink (scripts/lib/smtp_sink.py) as a relay that offers
STARTTLS and asks for AUTH, for test_dispatch's checks that a password
never goes out in clear.

usage: smtp_tls_sink.py MAILDIR [--ready-file FILE]
With SMTP_SINK_STARTTLS=1 in its environment it offers STARTTLS, with a
self-signed certificate made at start (so a client that checks
certificates gives up after the handshake); with SMTP_SINK_AUTH=1 it asks
for AUTH (PLAIN or LOGIN, over plain SMTP too) and takes any login. It
writes every STARTTLS and AUTH command it is sent, one a line, to
smtp-commands.log beside the Maildir, so a test sees whether a password
was offered at all. Mails are stored as smtp_sink.py stores them.
"""
import argparse
import logging
import os
import ssl
import subprocess
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts", "lib"))

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import SMTP  # noqa: E402

import sink  # noqa: E402
import smtp_sink  # noqa: E402


class LoggingSMTP(SMTP):
    """Notes the commands that decide whether a password goes in clear."""

    def __init__(self, handler, command_log, **kwargs):
        super().__init__(handler, **kwargs)
        self.command_log = command_log

    def note(self, command):
        with open(self.command_log, "a") as f:
            f.write(command + "\n")

    async def smtp_STARTTLS(self, arg):
        self.note("STARTTLS")
        return await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg):
        self.note("AUTH")
        return await super().smtp_AUTH(arg)


class LoggingController(Controller):
    def __init__(self, handler, command_log, **kwargs):
        super().__init__(handler, **kwargs)
        self.command_log = command_log

    def factory(self):
        return LoggingSMTP(self.handler, self.command_log, **self.SMTP_kwargs)


def self_signed(directory):
    """A TLS context with a certificate for 127.0.0.1 made now."""
    key, cert = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("maildir")
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    port = smtp_sink.free_port()
    here = os.path.dirname(os.path.abspath(args.maildir))
    kwargs = {}
    if os.environ.get("SMTP_SINK_AUTH"):
        kwargs = {"authenticator": smtp_sink.any_login, "auth_required": True,
                  "auth_require_tls": False}
        # Plain-text AUTH is offered on purpose: no warning for each session.
        warnings.simplefilter("ignore")
        logging.getLogger("mail.log").setLevel(logging.ERROR)
    if os.environ.get("SMTP_SINK_STARTTLS"):
        kwargs["tls_context"] = self_signed(here)
    ctl = LoggingController(smtp_sink.Store(args.maildir),
                            os.path.join(here, "smtp-commands.log"),
                            hostname="127.0.0.1", port=port, **kwargs)
    ctl.start()
    sink.ready(port, args.ready_file,
               "smtp TLS sink on 127.0.0.1:%d, Maildir %s" % (port, args.maildir))
    sink.wait_for_stop()
    ctl.stop()


if __name__ == "__main__":
    main()
