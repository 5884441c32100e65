/*
 * mime: builds one transactional mail as RFC 5322 text, ready for SMTP:
 * CRLF line ends, ASCII only, every line well under 998 bytes.
 *   - headers Date, From, To, Reply-To (when given), Subject, Message-ID, In-Reply-To and
 *     References (the ticket's thread id, so mail clients thread a
 *     ticket's mails, and the mail it answers when there is one),
 *     MIME-Version, Auto-Submitted: auto-generated
 *     (RFC 3834: no vacation replies to notifications) and
 *     X-Auto-Response-Suppress: OOF, AutoReply (Exchange's own: no
 *     out-of-office or rule replies; its DSNs still come);
 *   - UTF-8 subject and display names as RFC 2047 encoded words ("B"),
 *     folded so no encoded word passes 75 characters; control characters
 *     become spaces, malformed UTF-8 becomes U+FFFD;
 *   - multipart/alternative of text/plain and text/html (or text/plain
 *     alone), both quoted-printable UTF-8. The boundary starts with "=_",
 *     which quoted-printable can never produce, so no body can end a part.
 * Values that would break the header structure (an address or id with
 * spaces, CR, LF, brackets) are refused, never cleaned: a header
 * injection is a bug upstream.
 * Must not: know SMTP, SQL or where the text came from; read the clock
 * or a random source (date and boundary are the caller's).
 */
#ifndef SP_MIME_H
#define SP_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/problem.h"

struct sp_buf;

struct sp_mail_addr {
    const char *name;     /* display name, UTF-8, NULL or "" for none */
    const char *addr;     /* local@domain, ASCII */
};

struct sp_mail {
    struct sp_mail_addr from, to;
    const char *reply_to;     /* local@domain, ASCII; NULL: no Reply-To */
    const char *subject;      /* UTF-8 */
    const char *message_id;   /* id-left@id-right without <>: unique per mail */
    const char *thread_id;    /* the same form; NULL: no In-Reply-To/References */
    /* The mail this one answers (the same form; NULL: none): In-Reply-To
     * names it instead of thread_id, and References follows thread_id
     * with it (RFC 5322 §3.6.4), so a mail program shows the answer in the
     * thread of the mail it answers. */
    const char *in_reply_to;
    int64_t date_ms;          /* ms since the epoch, written in UTC */
    const char *text;         /* UTF-8, required; LF, CRLF or CR line ends */
    const char *html;         /* UTF-8, NULL for a text-only mail */
    const char *boundary;     /* 8..60 of [A-Za-z0-9]; "=_" is prepended */
};

/* Appends the whole message to out. SP_INVALID (code bad_address,
 * bad_message_id or bad_boundary) leaves out as it was. */
enum sp_rc sp_mail_build(const struct sp_mail *m, struct sp_buf *out, struct sp_problem *p);

/* A Message-ID (without <>) we can put in a header: at most 200
 * characters of letters, digits and ".@_+=-", shaped as an address. */
bool sp_mail_msg_id_valid(const char *id);

/* A mailbox address we can put in a header and in SMTP's MAIL/RCPT:
 * 3..254 printable ASCII bytes, one '@' with text on both sides, none of
 * the header specials or spaces. */
bool sp_mail_addr_valid(const char *addr);

/* The pieces, for tests and the fuzz target. */
/* text (n bytes) as a header value starting at column col: as is when it
 * is short printable ASCII that cannot be mistaken for an encoded word,
 * else encoded words folded with CRLF SP. */
void sp_mime_header_text(struct sp_buf *out, const char *text, size_t n, size_t col);
/* Quoted-printable of n bytes (RFC 2045 §6.7), line ends made CRLF, lines
 * at most 76 characters, a leading '.' encoded (SMTP dot-stuffing never
 * matters then). */
void sp_mime_qp(struct sp_buf *out, const char *s, size_t n);
/* RFC 5322 date-time in UTC: "Thu, 02 May 2024 12:00:00 +0000". */
void sp_mime_date(struct sp_buf *out, int64_t ms);

#endif
