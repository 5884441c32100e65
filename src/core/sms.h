/*
 * sms: the short text of an SMS or a push notification, made from a
 * notification's rendered text (domain/channels). Must not: know
 * templates, HTTP or SQL.
 */
#ifndef SP_SMS_H
#define SP_SMS_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena;

/* One paid SMS: 160 GSM 03.38 septets; a text with a character outside
 * the GSM alphabet goes as UCS-2, 70 UTF-16 units, or 67 a segment when
 * longer: such a text is held to two segments. A push's text: 160 code
 * points. */
#define SP_SMS_GSM_MAX 160
#define SP_SMS_UCS2_MAX 134
#define SP_PUSH_TEXT_MAX 160

/* s (valid UTF-8) as an SMS counts it: GSM septets (1 a character of the
 * basic set, 2 of the extension set: ^ { } \ [ ~ ] | €) when *gsm (set:
 * every character is GSM), else UTF-16 units. */
size_t sp_sms_units(const char *s, bool *gsm);

/* text (valid UTF-8) as one line (runs of whitespace one space) that
 * fits one paid SMS (sms) or a push (SP_PUSH_TEXT_MAX code points): when
 * longer, cut after a word to end in "..." for an SMS (GSM has no "…",
 * which made the whole SMS UCS-2: three segments for 157 characters,
 * QA) and "…" for a push. link (may be NULL), when text holds it, is
 * never cut: its line (its label and it) is kept whole at the end and
 * the words before it are cut instead, or, when the line alone leaves
 * room for less than a few words, label and link are dropped together
 * (the notification service sends the link beside the text anyway).
 * Arena-owned. */
const char *sp_sms_text(struct sp_arena *a, const char *text, const char *link, bool sms);

#endif
