/*
 * redact: personal data taken out of free text before it is stored in the
 * AI query log or sent to a model (API.md §9), or queued for a webhook
 * with redact_text (§11): e-mail addresses (quoted local parts too)
 * become [email], card numbers (13-19 digits, spaces, dashes, '/' or '_'
 * between groups) [card], phone numbers (9-15 digits,
 * or 7-15 after a "+", with those, dots or parentheses) [phone], any
 * longer run of digits (a card and a phone back to back?) [number]. It
 * errs towards redacting: a long order number reads as a card. Dates
 * (8 digits) and short numbers stay. The text is normalised first and
 * returned normalised: full-width forms become ASCII, a Unicode space or
 * dash after a digit an ASCII one, so they hide no number.
 * A scanner, not regular expressions: one pass, no state, fuzzed
 * (t/fuzz/fuzz_redact.c).
 * Must not: know where the text goes.
 */
#ifndef SP_REDACT_H
#define SP_REDACT_H

#include <stddef.h>

struct sp_arena;

/* text (len bytes) with every match replaced; arena-owned, NUL-terminated.
 * *count (when not NULL) = how many were replaced. */
char *sp_redact(struct sp_arena *a, const char *text, size_t len, size_t *count);

#endif
