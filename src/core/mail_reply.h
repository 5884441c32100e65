/*
 * mail_reply: the text of a customer's mail that becomes a message. A
 * first mail (SP_MAIL_FIRST: a new ticket) is kept whole: nothing in it
 * is history we already have. A reply to one of our mails loses the
 * quoted history mail clients add below (or above) it, cut at the
 * first of:
 *   - the marker line (SP_MAIL_REPLY_MARKER, anywhere on the line, also
 *     behind quote marks) that our own mails carry above their text;
 *     when quoted, from the start of its block of quoted lines (and the
 *     attribution above it). When nothing but blank lines and an
 *     attribution is above that block, the reply was written below it
 *     (bottom-posting): the lines after the block are kept, cut by
 *     these same marks and without the quoted lines they end with;
 *   - an attribution line: "On <…> wrote:" (English, also when a client
 *     wrapped it over two lines), "Am <…> schrieb <…>:", "Le <…> a écrit :",
 *     "El <…> escribió:", "Op <…> schreef <…>:" — only when what follows
 *     it, to the end (or to a forward marker), is lines starting with '>'
 *     and blank lines: one not followed by quotes is text, and quotes with
 *     new text after them (inline answers) are kept;
 *   - Outlook's "-----Original Message-----", or its header block (with
 *     the rule of underscores above it): a line "From: …" and right after
 *     it only lines of its fields (Sent, Date, To, Cc, Bcc, Subject), a
 *     "Sent:" or "Date:" and a "Subject:" among them — a "From:" line of
 *     the customer's own is text;
 *   - the signature delimiter "-- " (exactly, RFC 3676 §4.3: a bare "--"
 *     is text).
 * Quoted lines without an attribution or our marker above them are kept:
 * a pasted log or error message is the customer's text.
 * A forward marker ("---------- Forwarded message ---------" and its
 * kin, "Begin forwarded message:"; in a reply whose subject says it
 * forwards, SP_MAIL_REPLY_FORWARD, also Outlook's header blocks) is
 * never a cut: from it on, everything is the forwarded mail and kept,
 * and a cut above it drops only the lines up to it.
 * Trailing whitespace lines are dropped; leading blank lines too.
 * Returns "" when nothing is left (a reply with only quoted history).
 * Must not: know SQL, tickets or mail parsing (its input is text).
 */
#ifndef SP_MAIL_REPLY_H
#define SP_MAIL_REPLY_H

#include <stdbool.h>

struct sp_arena;

#define SP_MAIL_REPLY_MARKER "##- Please type your reply above this line -##"

enum sp_mail_kind {
    SP_MAIL_REPLY,          /* a reply to one of our mails */
    SP_MAIL_REPLY_FORWARD,  /* such a reply whose subject says it forwards */
    SP_MAIL_FIRST,          /* a first mail: a new ticket */
};

/* text: UTF-8, LF line ends (CRLF tolerated). Arena-owned result, never
 * longer than text. */
const char *sp_mail_reply_cut(struct sp_arena *a, const char *text, enum sp_mail_kind kind);

/* sp_mail_reply_cut(a, text, SP_MAIL_REPLY). */
const char *sp_mail_reply_text(struct sp_arena *a, const char *text);

/* Whether a subject's first prefix is a forward's: "Fwd:", "Fw:", "FW:",
 * "WG:", "TR:", "RV:", "Doorst:" (any case). NULL: no. */
bool sp_mail_reply_forward_subject(const char *subject);

#endif
