#!/usr/bin/python3
"""The SMTP sink (scripts/lib/smtp_sink.py) as a relay that offers
STARTTLS and asks for AUTH, for test_dispatch's checks that a password
never goes out in clear.

usage: smtp_tls_sink.py MAILDIR [--ready-file FILE]
With SMTP_SINK_STARTTLS=1 in its environment it offers STARTTLS, with a
certificate for 127.0.0.1 signed by a test CA made at start, whose
certificate it leaves in ca.pem beside the Maildir (a client that checks
certificates against the system's CAs gives up after the handshake; one
given ca.pem goes on); with SMTP_SINK_AUTH=1 it asks
for AUTH (PLAIN or LOGIN, over plain SMTP too) and takes any login. It
writes every STARTTLS and AUTH command it is sent, one a line, to
smtp-commands.log beside the Maildir, so a test sees whether a password
was offered at all. Mails are stored as smtp_sink.py stores them.
"""
import argparse
import functools
import os
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts", "lib"))

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import SMTP  # noqa: E402

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


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def signed_by_test_ca(directory):
    """A TLS context with a certificate for 127.0.0.1 signed by a test CA,
    both made now; the CA's certificate is left in ca.pem (a private CA
    the dispatcher trusts only when given it, SUPPORT_SMTP_CA_FILE)."""
    path = {n: os.path.join(directory, n + ".pem")
            for n in ("ca", "ca-key", "key", "csr", "cert")}
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path["ca-key"],
            "-out", path["ca"], "-days", "1", "-subj", "/CN=support test CA")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", path["key"],
            "-out", path["csr"], "-subj", "/CN=127.0.0.1")
    ext = os.path.join(directory, "cert.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", path["csr"], "-CA", path["ca"], "-CAkey", path["ca-key"],
            "-CAcreateserial", "-out", path["cert"], "-days", "1", "-extfile", ext)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(path["cert"], path["key"])
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("maildir")
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(args.maildir))
    kwargs = {}
    if os.environ.get("SMTP_SINK_STARTTLS"):
        kwargs["tls_context"] = signed_by_test_ca(here)
    controller = functools.partial(LoggingController,
                                   command_log=os.path.join(here, "smtp-commands.log"))
    smtp_sink.serve(smtp_sink.Store(args.maildir), "smtp TLS sink", args.maildir,
                    ready_file=args.ready_file, controller=controller, **kwargs)


if __name__ == "__main__":
    main()
