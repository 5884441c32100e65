/*
 * mail_reply: the new text of a reply mail, without the quoted history
 * mail clients add below (or above) it. The text is cut at the first of:
 *   - the marker line (SP_MAIL_REPLY_MARKER, anywhere on the line, also
 *     behind quote marks) that our own mails carry above their text;
 *   - an attribution line: "On <…> wrote:" (English, also when a client
 *     wrapped it over two lines), "Am <…> schrieb <…>:", "Le <…> a écrit :",
 *     "El <…> escribió:", "Op <…> schreef <…>:";
 *   - Outlook's "-----Original Message-----", or a line "From: …" followed
 *     within the next three lines by "Sent: " or "Date: ";
 *   - the signature delimiter "-- " (exactly; also "--" alone);
 *   - a block of lines starting with '>' that runs to the end of the text
 *     (blank lines allowed in it): quoted history at the bottom. Quotes
 *     interleaved with new text (inline answers) are kept.
 * Trailing whitespace lines are dropped; leading blank lines too.
 * Returns "" when nothing is left (a reply with only quoted text).
 * Must not: know SQL, tickets or mail parsing (its input is text).
 */
#ifndef SP_MAIL_REPLY_H
#define SP_MAIL_REPLY_H

struct sp_arena;

#define SP_MAIL_REPLY_MARKER "##- Please type your reply above this line -##"

/* text: UTF-8, LF line ends (CRLF tolerated). Arena-owned result. */
const char *sp_mail_reply_text(struct sp_arena *a, const char *text);

#endif
