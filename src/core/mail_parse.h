/*
 * mail_parse: reads one inbound mail (RFC 5322 + MIME, what an MTA pipes
 * to support-mail-in) into what a support ticket needs: a few decoded
 * headers, the sender, the recipients, and the body as UTF-8 text.
 *   - Header lines are unfolded; RFC 2047 encoded words ("B" and "Q", any
 *     charset iconv knows) are decoded in Subject and display names.
 *   - Addresses: the addr-spec of From, and of every mailbox in To, Cc,
 *     Delivered-To and X-Original-To (groups, comments, quoted local
 *     parts and display names understood; obsolete routes ignored).
 *   - The body: the MIME tree is walked (multipart/… nested at most
 *     SP_MAIL_MAX_DEPTH deep; the first SP_MAIL_MAX_PARTS parts kept, the
 *     files after them only counted): the first
 *     text/plain part that is not an attachment is the text; without one
 *     (or when it has no visible text, sp_sanitize_has_visible), the
 *     first text/html part, turned into text (core/mail_html: read once,
 *     for both the text and text_whole).
 *     Content-Transfer-Encoding 7bit, 8bit, binary, quoted-printable and
 *     base64 are decoded; the charset (default us-ascii) is converted to
 *     UTF-8 with iconv; bytes that do not convert, and malformed UTF-8,
 *     become U+FFFD. Line ends become LF; NULs are dropped (from an HTML
 *     part too, never U+FFFD).
 *   - Files: every other leaf part (attachments, inline images, a
 *     forwarded message), its bytes decoded, its declared type, and its
 *     name: Content-Disposition's filename, else Content-Type's name, with
 *     RFC 2231's charsets and continuations and the RFC 2047 words mail
 *     programs put there; only the last path component is kept. A
 *     forwarded message (message/rfc822) is also read as a mail, one
 *     level deep, for attached_text: a forward as attachment may carry
 *     all the words of a mail.
 *   - Threading: the first msg-id of Message-ID and In-Reply-To, and the
 *     msg-ids of References (sp_mail_msg_ids).
 *   - Authentication-Results (RFC 8601): every one, top first, unfolded
 *     (core/auth_results reads them).
 *   - Loops: auto_reply is true for mails no person wrote: Auto-Submitted
 *     other than "no", Precedence bulk/junk/list/auto_reply, any
 *     X-Autoreply / X-Autorespond header, a List-Id, or a loop's mark
 *     (X-Loop, X-MS-Exchange-Inbox-Rules-Loop); null_return_path is
 *     true for Return-Path: <> (a bounce, when no envelope sender is
 *     given).
 *   - Bounces: a delivery status notification's failed recipients and the
 *     Message-ID of the mail it returns (struct sp_mail_dsn): the
 *     message/delivery-status part's per-recipient blocks, and the first
 *     message/rfc822, text/rfc822-headers (or RFC 6533's global) part.
 * A message without a header/body separator is read as headers only.
 * The only refusals are SP_INVALID (code "bad_message"; refused_why says
 * which): a header block over SP_MAIL_MAX_HEADER_BYTES
 * (header_block_too_long); a NUL (nul_in_header) or a CR that ends no
 * line (bare_cr_in_header) in it; no From (no_from); more than one From,
 * its name in any case, "From :" too (more_than_one_from); a From of
 * more than one mailbox, or of one that reads as two addresses
 * (from_not_one_mailbox); a From without an address
 * (no_address_in_from); a multipart nested deeper than SP_MAIL_MAX_DEPTH
 * (nested_too_deep: its text may be in there). The From refusals are so
 * that From is read as a DMARC checker reads it: a mail it could read as
 * from another domain than we do is not taken. Everything else is read
 * as best it can be, as mail readers do.
 * Must not: know SQL, tickets or the network; trust any byte of the
 * message; allocate outside the arena (iconv handles are closed).
 */
#ifndef SP_MAIL_PARSE_H
#define SP_MAIL_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"

struct sp_arena;

#define SP_MAIL_MAX_DEPTH 8
#define SP_MAIL_MAX_PARTS 100
#define SP_MAIL_MAX_HEADER_BYTES (256 * 1024)
#define SP_MAIL_MAX_RECIPIENTS 100
#define SP_MAIL_FILENAME_MAX 255    /* bytes */
#define SP_MAIL_MAX_REFERENCES 100  /* msg-ids of References kept (the first ones) */
#define SP_MAIL_MSG_ID_MAX 998      /* bytes: a msg-id is on one line (RFC 5322 §2.1.1) */

#define SP_MAIL_DSN_RECIPIENTS 8     /* failed recipients' addresses kept of a DSN */

/* A file that came with the mail. */
struct sp_mail_file {
    const char *filename;       /* UTF-8, no controls, '/' or '\\', at most
                                   SP_MAIL_FILENAME_MAX bytes; NULL when it has none */
    const char *content_type;   /* as declared, lower case, no parameters */
    const char *data;           /* len bytes, transfer encoding undone (not NUL-terminated) */
    size_t len;
};

/* A delivery status notification (RFC 3464): a mail whose Content-Type
 * is multipart/report with report-type delivery-status (or RFC 6533's
 * global-delivery-status), as MTAs bounce a mail. */
struct sp_mail_dsn {
    bool is_dsn;
    bool failed;                /* a recipient's Action is "failed" */
    const char *failed_to[SP_MAIL_DSN_RECIPIENTS];  /* the addr-specs of those recipients'
                                   Final-Recipient and Original-Recipient (type rfc822),
                                   without <>: the first SP_MAIL_DSN_RECIPIENTS */
    size_t nfailed_to;
    bool failed_hard[SP_MAIL_DSN_RECIPIENTS];  /* failed_to[i]'s Status is permanent
                                   (5.x.x, RFC 3463): a hard bounce; a 4.x.x one (an MTA
                                   that gave up retrying) or none is soft */
    const char *status[SP_MAIL_DSN_RECIPIENTS];  /* failed_to[i]'s Status code, "5.1.1"
                                   (class 2, 4 or 5, two numbers of 1-3 digits; what
                                   follows it, a comment, dropped); NULL when none or
                                   not such a code */
    const char *original_id;    /* the Message-ID of the returned mail (its
                                   message/rfc822 or text/rfc822-headers part), without
                                   <>; NULL when none */
};

struct sp_mail_in {
    const char *from_addr;      /* addr-spec, as written but for quotes a local part
                                   needs not (NUL-free ASCII/UTF-8) */
    const char *from_name;      /* decoded display name; NULL when none */
    const char *subject;        /* decoded, unfolded, controls made spaces; "" when none */
    const char *message_id;     /* first msg-id of Message-ID without <>; NULL when none */
    const char *in_reply_to;    /* first msg-id of In-Reply-To without <>; NULL when none */
    const char **references;    /* msg-ids of References (sp_mail_msg_ids), in its order */
    size_t nreferences;         /* at most SP_MAIL_MAX_REFERENCES (the rest are dropped) */
    const char *date;           /* the Date header as written (unfolded); NULL when none */
    const char **recipients;    /* addr-specs of To, Cc, Delivered-To, X-Original-To */
    size_t nrecipients;         /* at most SP_MAIL_MAX_RECIPIENTS (the rest are dropped) */
    const char **auth_results;  /* Authentication-Results values, top first (unfolded,
                                   controls made spaces, trimmed) */
    size_t nauth_results;
    bool auto_reply;            /* see above */
    bool null_return_path;      /* Return-Path: <>: sent with an empty envelope sender */
    const char *text;           /* the body as UTF-8 text, LF line ends; "" when none */
    bool text_from_html;        /* text was made from a text/html part */
    const char *text_whole;     /* text with the quoted history its HTML marks kept
                                   (sp_mail_html_read: the same parse): text itself
                                   when that is not from HTML; "" when none */
    const char *attached_text;  /* a forward as attachment: the first message/rfc822 file
                                   with visible text, read as this mail is (one level),
                                   as "---------- Forwarded message ---------", its From
                                   and Subject lines, a blank line and its text; NULL
                                   when there is none */
    struct sp_mail_file *files; /* MIME leaf parts other than the text, in mail order */
    size_t nfiles;              /* at most SP_MAIL_MAX_PARTS */
    size_t nfiles_over;         /* files after the first SP_MAIL_MAX_PARTS parts: counted,
                                   their bytes not kept */
    struct sp_mail_dsn dsn;     /* is_dsn false: not a delivery status notification */
    size_t body_offset;         /* where the body starts in msg (after the header block's
                                   blank line; len when there is none) */
    const char *refused_why;    /* when refused: why, one word for logs (see above) */
};

/* Parses len bytes of msg (not NUL-terminated; may contain NULs, which
 * are dropped from text) into *out, arena-owned. */
enum sp_rc sp_mail_parse(struct sp_arena *a, const char *msg, size_t len,
                         struct sp_mail_in *out, struct sp_problem *p);

/* The pieces, for tests and the fuzz target. */
/* A header value's RFC 2047 encoded words decoded (whitespace between two
 * adjacent words dropped), controls made spaces. */
const char *sp_mail_decode_words(struct sp_arena *a, const char *v, size_t n);
/* Decodes quoted-printable / base64 (ignoring bad characters). */
void sp_mail_decode_qp(struct sp_arena *a, const char *s, size_t n, char **out, size_t *out_len);
/* The msg-ids of a list such as References or In-Reply-To (RFC 5322
 * §3.6.4, obsolete forms too: phrases, comments, white space anywhere):
 * each "<...>" outside comments and quoted strings, in order, without
 * its brackets or white space, as valid UTF-8; an empty one, or one over
 * SP_MAIL_MSG_ID_MAX bytes, is skipped. Fills out[] with at most max of
 * them (arena-owned) and returns how many; v NULL: none. */
size_t sp_mail_msg_ids(struct sp_arena *a, const char *v, const char **out, size_t max);
void sp_mail_decode_base64(struct sp_arena *a, const char *s, size_t n, char **out,
                           size_t *out_len);

#endif
