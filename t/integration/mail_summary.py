#!/usr/bin/python3
"""Prints the mails of a Maildir as one JSON array, oldest first, decoded
the way a mail client decodes them (the dispatch tests assert on it).

usage: mail_summary.py MAILDIR
Each item: message_id, in_reply_to, references, subject (RFC 2047
decoded), raw_subject, from, to (decoded), raw_to, envelope_to (the sink's
X-Original-To: RCPT TO), smtp_auth (the sink's X-Sink-Auth: the login
the mail came with, "user:password", or null), date, auto_submitted,
reply_to, content_type, parts: [{type, charset, cte, text}].
"""
import email
import email.header
import email.policy
import json
import mailbox
import sys


def decoded(v):
    if v is None:
        return None
    return str(email.header.make_header(email.header.decode_header(v)))


def main():
    box = mailbox.Maildir(sys.argv[1], create=False)
    items = []
    for key in box.keys():
        raw = box.get_bytes(key)
        m = email.message_from_bytes(raw, policy=email.policy.compat32)
        parts = []
        for p in m.walk():
            if p.is_multipart():
                continue
            parts.append({
                "type": p.get_content_type(),
                "charset": p.get_content_charset(),
                "cte": p.get("Content-Transfer-Encoding"),
                "text": p.get_payload(decode=True).decode(p.get_content_charset() or "ascii"),
            })
        items.append({
            "file": key,
            "mtime": box.get_message(key).get_date(),
            "message_id": m.get("Message-ID"),
            "in_reply_to": m.get("In-Reply-To"),
            "references": m.get("References"),
            "subject": decoded(m.get("Subject")),
            "raw_subject": m.get("Subject"),
            "from": decoded(m.get("From")),
            "to": decoded(m.get("To")),
            "raw_to": m.get("To"),
            "envelope_to": m.get("X-Original-To"),
            "smtp_auth": m.get("X-Sink-Auth"),
            "date": m.get("Date"),
            "auto_submitted": m.get("Auto-Submitted"),
            "reply_to": m.get("Reply-To"),
            "content_type": m.get_content_type(),
            "crlf_only": b"\n" not in raw.replace(b"\r\n", b""),
            "parts": parts,
        })
    items.sort(key=lambda i: (i["mtime"], i["file"]))
    json.dump(items, sys.stdout)


if __name__ == "__main__":
    main()
